"""Scheduling sync (spec 000 §27–29, CONTRACT 7.2): a server's scheduler configs are jobs of the
built-in engine (bot_type mikros, listed with include_system), status answers the engine's own
next_run/last_run, trigger asks for a run now and answers the id that run gets, and each kind does
real work: game_reset opens a session, monthly_report writes last month's figures into a report row
and the outbox, promotion_check records the active promotions not yet pushed to the server."""
import random
from datetime import datetime, timedelta, timezone

import psycopg2
import pytest

from harness import wait_for
from test_dispatch import new_key


@pytest.fixture(scope="module")
def h(stack):
    return {"Authorization": f"Bearer {new_key(stack, 'mikros')}"}


@pytest.fixture(scope="module")
def ingest(stack):
    return {"Authorization": f"Bearer {new_key(stack, 'mikros_ingest')}"}


@pytest.fixture(scope="module")
def sched(stack):
    return {"X-API-Key": new_key(stack, "scheduler")}


def snowflake():
    return str(random.randrange(10**17, 10**18))


def sync(public, h, server, kind, **config):
    body = {"server_id": server, "scheduler_type": kind, "config": config, "updated_at": "2025-01-27T12:00:00Z"}
    return public.post("/api/schedulers/sync-config", json=body, headers=h)


def synced(public, h, server, kind, **config):
    r = sync(public, h, server, kind, **config)
    assert r.status_code == 200, r.text
    assert r.json()["success"] is True and r.json()["message"] == "Scheduler configuration synced"
    return r.json()["config_id"]


def trigger(public, h, server, kind):
    return public.post("/api/schedulers/trigger", headers=h, json={
        "server_id": server, "scheduler_type": kind, "triggered_by": "admin_user_123",
        "timestamp": "2025-01-27T12:00:00Z"})


def status(public, h, server):
    r = public.get("/api/schedulers/status", params={"server_id": server}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["data"]["server_id"] == server
    return {s["type"]: s for s in r.json()["data"]["schedulers"]}


def job(public, sched, job_id):
    r = public.get(f"/scheduler/jobs/{job_id}", headers=sched)
    assert r.status_code == 200, r.text
    return r.json()


def history(public, sched, job_id):
    runs = public.get(f"/scheduler/jobs/{job_id}/history", headers=sched).json()
    return runs if isinstance(runs, list) else runs.get("runs", runs.get("history", []))


def finished_run(public, sched, job_id, execution_id):
    """The run the trigger answered, once the engine has finished it."""
    def done():
        return next((run for run in history(public, sched, job_id)
                     if run["id"] == execution_id and run["status"] != "running"), None)
    return wait_for(done, timeout=20, what=f"run {execution_id} in the job's history")


def triggered(public, h, sched, server, kind, job_id):
    r = trigger(public, h, server, kind)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True and body["message"] == "Scheduler triggered successfully"
    run = finished_run(public, sched, job_id, body["execution_id"])
    assert run["status"] == "success", run
    return run


def next_daily(now, hour, minute):
    t = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return t if t > now else t + timedelta(days=1)


def engine_ts(text):
    """/scheduler writes 2025-01-27T12:00:00, mikros 2025-01-27T12:00:00Z: the same instant."""
    return None if text is None else text.rstrip("Z")


def test_configs_become_engine_jobs_listed_as_mikros(public, h, sched):
    server = snowflake()
    before = datetime.now(timezone.utc)
    ids = {"game_reset": synced(public, h, server, "game_reset", reset_time_utc="07:30", enabled=True,
                                timezone="UTC"),
           "monthly_report": synced(public, h, server, "monthly_report", reset_time_utc="09:15", day_of_month=3),
           "promotion_check": synced(public, h, server, "promotion_check", interval_minutes=90)}
    listed = public.get("/scheduler/jobs", params={"include_system": "true"}, headers=sched).json()
    listed = listed if isinstance(listed, list) else listed.get("jobs", listed.get("data", []))
    mine = {j["id"]: j for j in listed if j["bot_config"].get("server_id") == server}
    assert set(mine) == set(ids.values()) and all(j["bot_type"] == "mikros" for j in mine.values())
    default = public.get("/scheduler/jobs", headers=sched).json()
    default = default if isinstance(default, list) else default.get("jobs", default.get("data", []))
    assert not any(j["id"] in mine for j in default)
    assert mine[ids["game_reset"]]["schedule_type"] == "daily"
    assert mine[ids["game_reset"]]["schedule_config"] == {"hour": 7, "minute": 30}
    assert mine[ids["monthly_report"]]["schedule_type"] == "cron"
    assert mine[ids["monthly_report"]]["schedule_config"] == {"cron_expression": "15 9 3 * *"}
    assert mine[ids["promotion_check"]]["schedule_type"] == "interval"
    assert mine[ids["promotion_check"]]["schedule_config"] == {"hours": 1, "minutes": 30}
    reset = datetime.fromisoformat(mine[ids["game_reset"]]["next_run_at"]).replace(tzinfo=timezone.utc)
    assert reset in {next_daily(before, 7, 30), next_daily(datetime.now(timezone.utc), 7, 30)}
    # syncing again updates the same job
    assert synced(public, h, server, "game_reset", reset_time_utc="22:05", enabled=False) == ids["game_reset"]
    again = job(public, sched, ids["game_reset"])
    assert (again["enabled"], again["schedule_config"], again["next_run_at"]) == (False, {"hour": 22, "minute": 5}, None)
    # mikros jobs change through sync-config only
    assert public.delete(f"/scheduler/jobs/{ids['monthly_report']}", headers=sched).status_code == 403


def test_status_shows_the_engines_own_next_and_last_run(public, h, sched):
    server = snowflake()
    reset = synced(public, h, server, "game_reset", reset_time_utc="00:00")
    check = synced(public, h, server, "promotion_check", interval_minutes=60, enabled=False)
    triggered(public, h, sched, server, "game_reset", reset)
    shown = status(public, h, server)
    assert set(shown) == {"game_reset", "promotion_check"}
    for kind, job_id in (("game_reset", reset), ("promotion_check", check)):
        engine = job(public, sched, job_id)
        assert shown[kind]["config_id"] == job_id
        assert shown[kind]["enabled"] == engine["enabled"]
        assert engine_ts(shown[kind]["next_run"]) == engine["next_run_at"]
        assert engine_ts(shown[kind]["last_run"]) == engine["last_run_at"]
    assert shown["game_reset"]["last_run"] is not None and shown["game_reset"]["last_status"] == "success"
    assert shown["promotion_check"]["next_run"] is None and shown["promotion_check"]["last_run"] is None
    assert status(public, h, snowflake()) == {}


def test_game_reset_from_the_scheduling_sync_opens_a_session(public, h, sched, stack):
    server = snowflake()
    job_id = synced(public, h, server, "game_reset", reset_time_utc="12:00")
    run = triggered(public, h, sched, server, "game_reset", job_id)
    state = public.get("/api/games/session-state", params={"server_id": server}, headers=h).json()["data"]
    assert run["result"]["session_id"] == state["session_id"] and sorted(state["scrambled_word"]) == sorted(state["word"])
    # no community-game config: the word list's medium words
    assert stack.sql("SELECT difficulty FROM mikros_words WHERE word = %s", state["word"]) == [("medium",)]
    [(details,)] = stack.sql("SELECT details FROM audit_logs WHERE action = 'mikros.scheduler_trigger' "
                             "AND details->>'server_id' = %s", server)
    assert (details["execution_id"], details["job_id"], details["triggered_by"]) == (run["id"], job_id,
                                                                                   "admin_user_123")


def last_month():
    first = datetime.now(timezone.utc).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (first - timedelta(days=1)).replace(day=1), first


def test_monthly_report_writes_last_months_figures_and_queues_them(public, h, sched, stack):
    server = snowflake()
    start, end = last_month()
    players = [snowflake() for _ in range(3)]
    rows = [(players[0], 50, start + timedelta(hours=1)), (players[0], 25, end - timedelta(seconds=1)),
            (players[1], 60, start + timedelta(days=2)),
            (players[2], 999, end), (players[2], 999, start - timedelta(seconds=1))]   # outside the month
    for discord_id, xp, at in rows:
        stack.sql("INSERT INTO mikros_rpg_actions (discord_id, server_id, action_type, character_level, xp_gained, "
                  "outcome, happened_at) VALUES (%s, %s, 'quest', 3, %s, 'victory', %s)", discord_id, server, xp, at)
    stack.sql("INSERT INTO mikros_rpg_characters (discord_id, server_id, character_name, character_class, level, xp, "
              "created_at) VALUES (%s, %s, 'Aria', 'Mage', 3, 75, %s)", players[0], server, start + timedelta(days=1))
    stack.sql("INSERT INTO mikros_game_sessions (server_id, word, scrambled_word, started_at) "
              "VALUES (%s, 'ACORN', 'NROCA', %s)", server, start + timedelta(days=4))
    job_id = synced(public, h, server, "monthly_report", day_of_month=1, reset_time_utc="09:00")
    outbox_before = stack.sql("SELECT coalesce(max(id), 0) FROM outbox")[0][0]
    run = triggered(public, h, sched, server, "monthly_report", job_id)
    [(figures,)] = stack.sql("SELECT figures FROM mikros_monthly_reports WHERE server_id = %s AND month = %s",
                             server, start.date())
    assert figures["month"] == start.strftime("%Y-%m")
    assert (figures["new_characters"], figures["active_players"], figures["actions"], figures["xp_gained"],
            figures["game_sessions"], figures["leaderboard_saves"]) == (1, 2, 3, 135, 1, 0)
    assert figures["top_players"] == [{"discord_id": players[0], "xp_gained": 75, "actions": 2},
                                      {"discord_id": players[1], "xp_gained": 60, "actions": 1}]
    assert run["result"] == figures
    queued = stack.sql("SELECT payload FROM outbox WHERE id > %s AND kind = 'mikros_report' "
                       "AND payload->>'server_id' = %s", outbox_before, server)
    assert [p for (p,) in queued] == [figures]


def test_promotion_check_records_what_is_due_for_the_server(public, h, ingest, sched, stack):
    server = snowflake()
    base = random.randrange(10**9, 10**10)
    soon = (datetime.now(timezone.utc) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for game_id, deadline in ((base + 1, soon), (base + 2, None), (base + 3, "2020-01-01T00:00:00Z")):
        r = public.put(f"/api/promotions/{game_id}", headers=ingest, json={
            "game_name": f"Game {game_id}", "description": "A game.", "promotion_url": "https://example.com/g",
            "platform": "steam", "genre": "Action", "deadline": deadline})
        assert r.status_code == 200, r.text
    job_id = synced(public, h, server, "promotion_check", interval_minutes=15)

    def due():
        return sorted(g for (g,) in stack.sql("SELECT game_id FROM mikros_promotion_due WHERE server_id = %s "
                                               "AND game_id BETWEEN %s AND %s", server, base + 1, base + 3))

    run = triggered(public, h, sched, server, "promotion_check", job_id)
    assert due() == [base + 1, base + 2]
    assert {base + 1, base + 2} <= set(run["result"]["newly_due"]) and base + 3 not in run["result"]["due"]
    r = public.post("/api/promotions/mark-pushed", headers=h, json={
        "game_id": base + 1, "server_id": server, "channel_id": snowflake()})
    assert r.status_code == 200, r.text
    run = triggered(public, h, sched, server, "promotion_check", job_id)
    assert due() == [base + 2]
    assert run["result"]["no_longer_due"] == [base + 1] and run["result"]["newly_due"] == []


def test_trigger_needs_a_scheduler_of_that_type(public, h):
    server = snowflake()
    synced(public, h, server, "game_reset", reset_time_utc="10:00")
    r = trigger(public, h, server, "monthly_report")
    assert r.status_code == 404 and r.json()["error"]["code"] == "NOT_FOUND", r.text
    assert trigger(public, h, snowflake(), "game_reset").status_code == 404
    r = trigger(public, h, server, "weekly_digest")
    assert r.status_code == 400 and "scheduler_type" in r.json()["error"]["message"]


def test_trigger_while_a_run_is_in_progress_is_a_conflict(public, h, stack):
    server = snowflake()
    job_id = synced(public, h, server, "promotion_check", interval_minutes=60)
    # a run held open by a live connection (the engine's orphan recovery leaves it alone)
    holder = psycopg2.connect(stack.dsn)
    holder.autocommit = True
    try:
        with holder.cursor() as cur:
            cur.execute("INSERT INTO scheduler_runs (job_id, status, runner_pid) "
                        "VALUES (%s, 'running', pg_backend_pid())", (job_id,))
        r = trigger(public, h, server, "promotion_check")
        assert r.status_code == 409 and r.json()["error"]["code"] == "CONFLICT", r.text
    finally:
        with holder.cursor() as cur:
            cur.execute("DELETE FROM scheduler_runs WHERE job_id = %s AND status = 'running'", (job_id,))
        holder.close()


@pytest.mark.parametrize("kind,config,field", [
    ("game_reset", {"timezone": "America/New_York"}, "config.timezone"),
    ("game_reset", {"reset_time_utc": "24:00"}, "config.reset_time_utc"),
    ("monthly_report", {"reset_time_utc": "9:00"}, "config.reset_time_utc"),
    ("monthly_report", {"day_of_month": 29}, "config.day_of_month"),
    ("promotion_check", {"interval_minutes": 0}, "config.interval_minutes"),
    ("game_reset", {"enabled": "yes"}, "config.enabled"),
    ("game_reset", {"reset_time": "10:00"}, "reset_time"),
])
def test_sync_config_fields_are_checked(public, h, stack, kind, config, field):
    server = snowflake()
    r = sync(public, h, server, kind, **config)
    assert r.status_code == 400 and field in r.json()["error"]["message"], r.text
    assert stack.sql("SELECT 1 FROM scheduler_jobs WHERE bot_config->>'server_id' = %s", server) == []


@pytest.mark.parametrize("body,field", [
    ({"scheduler_type": "game_reset", "config": {}}, "server_id"),
    ({"server_id": "12", "scheduler_type": "game_reset", "config": {}}, "server_id"),
    ({"server_id": "123456789012345678", "scheduler_type": "hourly", "config": {}}, "scheduler_type"),
    ({"server_id": "123456789012345678", "scheduler_type": "game_reset"}, "config"),
])
def test_sync_config_body_is_checked(public, h, body, field):
    r = public.post("/api/schedulers/sync-config", json=body, headers=h)
    assert r.status_code == 400 and field in r.json()["error"]["message"], r.text


def test_status_needs_a_server(public, h):
    assert public.get("/api/schedulers/status", headers=h).status_code == 400
    r = public.get("/api/schedulers/status", params={"server_id": "abc"}, headers=h)
    assert r.status_code == 400 and "server_id" in r.json()["error"]["message"]
