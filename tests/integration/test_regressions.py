"""Regression tests for defects found by hostile testing, one section per area; each test names the
issue it pins down. Every response is checked against docs/openapi.yaml (openapi_plugin)."""
from __future__ import annotations


# ====================================================================== scheduler
# Issues 1 (concurrent changes of a job lost updates), 8 (concurrent "run now" requests merged into
# fewer runs than 202s), 9 (a partial update replaced a nested config instead of merging it) and
# 15 (built-in jobs half-existed by id). The helpers come from test_scheduler.py.
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections import Counter  # noqa: E402
from datetime import datetime, timedelta, timezone  # noqa: E402

import pytest  # noqa: E402

from openapi_plugin import ApiSession  # noqa: E402
from test_scheduler import (  # noqa: E402,F401 - api and bots are fixtures
    BIRTHDAY_DEFAULTS, VISITOR_DEFAULTS, Api, api, bots, check_job, cron_next, daily_next, detail,
    expected_between, parse_ts, settings, utcnow)


def _sessions(stack, openapi_doc, n):
    """n sessions of their own (one connection each), already connected, so that requests sent
    together reach nginx together."""
    sessions = [ApiSession(stack.public, "public", openapi_doc) for _ in range(n)]
    for s in sessions:
        assert s.get("/scheduler/health").status_code in (200, 503)
    return sessions


def _together(sessions, key, calls):
    """Sends calls[i] = (method, path, json body or None) on sessions[i], all released at once by a
    barrier; returns the responses in order (an exception in any thread is raised here)."""
    barrier = threading.Barrier(len(calls))
    out, errors = [None] * len(calls), []

    def send(i, method, path, body):
        try:
            barrier.wait(10)
            out[i] = sessions[i].request(method, path, headers={"X-API-Key": key},
                                         **({"json": body} if body is not None else {}))
        except BaseException as e:  # noqa: BLE001 - re-raised in the test's thread
            errors.append(e)

    threads = [threading.Thread(target=send, args=(i, *c), daemon=True) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    if errors:
        raise errors[0]
    assert all(r is not None for r in out), "a request did not finish"
    return out


def _audits(stack, action, job_id):
    return stack.sql("SELECT count(*) FROM audit_logs WHERE action = %s AND details->>'job_id' = %s",
                     action, job_id)[0][0]


@pytest.fixture
def sessions(stack, openapi_doc):
    s = _sessions(stack, openapi_doc, 10)
    yield s
    for x in s:
        x.close()


def test_scheduler_1_concurrent_partial_updates_all_survive(api, sessions):
    """Issue 1: concurrent PUTs of different fields all answer 200 and all their changes are kept
    (each applies to the result of the one before it, under the job's row lock)."""
    job = api.create(bot_type="visitor", bot_config={"dry_run": True, "limit": 5},
                     schedule_config={"hour": 1, "minute": 1})
    url = f"/scheduler/jobs/{job['id']}"
    for trial in range(12):
        hour, limit = trial % 24, 100 + trial
        rs = _together(sessions, api.key, [
            ("PUT", url, {"name": f"name {trial}"}),
            ("PUT", url, {"description": f"description {trial}"}),
            ("PUT", url, {"schedule_config": {"hour": hour, "minute": 30}}),
            ("PUT", url, {"bot_config": {"limit": limit}}),
        ])
        assert [r.status_code for r in rs] == [200] * 4, [(r.status_code, r.text) for r in rs]
        got = api.job(job["id"])
        assert got["name"] == f"name {trial}", (trial, got)
        assert got["description"] == f"description {trial}", (trial, got)
        assert got["schedule_config"] == {"hour": hour, "minute": 30}, (trial, got)
        assert got["bot_config"] == {"dry_run": True, "limit": limit}, (trial, got)
        # each answer shows its own change
        assert rs[0].json()["name"] == f"name {trial}" and rs[1].json()["description"] == f"description {trial}"
        assert rs[2].json()["schedule_config"]["hour"] == hour and rs[3].json()["bot_config"]["limit"] == limit


def test_scheduler_1_concurrent_toggles_take_turns(api, stack, sessions):
    """Issue 1: ten body-less toggles sent together are ten flips: ten 200s, five answering
    enabled and five disabled, and the job ends where it started."""
    job = api.create(schedule_type="interval", schedule_config={"hours": 1, "minutes": 0})
    url = f"/scheduler/jobs/{job['id']}/toggle"
    for trial in range(4):
        rs = _together(sessions, api.key, [("POST", url, None)] * 10)
        assert [r.status_code for r in rs] == [200] * 10, [(r.status_code, r.text) for r in rs]
        states = Counter(check_job(r.json())["enabled"] for r in rs)
        assert states == {True: 5, False: 5}, (trial, states)
        after = api.job(job["id"])
        assert after["enabled"] is True and after["next_run_at"] is not None, (trial, after)
    assert _audits(stack, "scheduler.job_toggle", job["id"]) == 40


def test_scheduler_8_concurrent_run_now_queues_one_run(stack, api, sessions):
    """Issue 8: eight run-now requests sent together while no scheduler runs: one 202, seven 409,
    and exactly one run once the scheduler is back (a queued run counts as "already running")."""
    job = api.create(bot_config={"dry_run": True}, enabled=False)
    url = f"/scheduler/jobs/{job['id']}/run"
    with settings(stack, ["scheduler = off"], scheduler_running=False):
        rs = _together(sessions, api.key, [("POST", url, None)] * 8)
        codes = sorted(r.status_code for r in rs)
        assert codes == [202] + [409] * 7, [(r.status_code, r.text) for r in rs]
        assert all(r.json() == {"detail": "Job is already running"} for r in rs if r.status_code == 409)
        assert api.post(url).status_code == 409, "still queued"
    runs = api.wait_run(job["id"], count=1, timeout=15)
    time.sleep(1.5)  # a second run would show by now
    runs = api.history(job["id"])
    assert len(runs) == 1 and runs[0]["status"] == "success", runs
    assert _audits(stack, "scheduler.job_run", job["id"]) == 1
    api.run(job["id"])  # nothing queued or running any more
    assert len(api.wait_run(job["id"], count=2)) == 2


def test_scheduler_8_concurrent_run_now_while_running(stack, api, bots, sessions):
    """Issue 8: with the scheduler running and a run that takes a while, eight requests sent together
    give one 202 and seven 409s, and every 202 becomes exactly one recorded run, trial after trial."""
    bots.answer(200, {"messages_sent": 1}, delay=1.5)
    try:
        job = api.create()
        url = f"/scheduler/jobs/{job['id']}/run"
        for trial in range(1, 4):
            rs = _together(sessions, api.key, [("POST", url, None)] * 8)
            codes = sorted(r.status_code for r in rs)
            assert codes == [202] + [409] * 7, (trial, [(r.status_code, r.text) for r in rs])
            runs = api.wait_run(job["id"], count=trial, timeout=15)
            assert len(runs) == trial and all(x["status"] == "success" for x in runs), (trial, runs)
        assert _audits(stack, "scheduler.job_run", job["id"]) == 3
    finally:
        bots.answer(200, {"messages_sent": 0})


def test_scheduler_9_partial_bot_config_merges(api):
    """Issue 9: bot_config in a PUT is a JSON Merge Patch of the stored one (RFC 7396)."""
    job = api.create(bot_type="visitor", bot_config={"dry_run": True})
    url = f"/scheduler/jobs/{job['id']}"
    assert job["bot_config"] == {"dry_run": True, "limit": 50}
    r = api.put(url, {"bot_config": {"limit": 500}})
    assert r.status_code == 200, r.text
    assert r.json()["bot_config"] == {"dry_run": True, "limit": 500}
    assert api.put(url, {"bot_config": {}}).json()["bot_config"] == {"dry_run": True, "limit": 500}
    assert api.put(url, {"name": "x"}).json()["bot_config"] == {"dry_run": True, "limit": 500}
    # null removes the key: its default
    assert api.put(url, {"bot_config": {"dry_run": None}}).json()["bot_config"] == {"dry_run": False, "limit": 500}
    # the merged result is validated; a refused one changes nothing
    before = api.job(job["id"])
    r = api.put(url, {"bot_config": {"limit": 501}})
    assert r.status_code == 400 and "limit" in detail(r)
    r = api.put(url, {"bot_config": {"process_late": True}})
    assert r.status_code == 400 and "process_late" in detail(r)
    assert api.job(job["id"]) == before
    # null for the whole object: every default
    assert api.put(url, {"bot_config": None}).json()["bot_config"] == VISITOR_DEFAULTS

    bday = api.create(bot_config={"process_late": True, "max_days_late": 30, "dry_run": True})
    r = api.put(f"/scheduler/jobs/{bday['id']}", {"bot_config": {"max_messages_per_run": 3}})
    assert r.json()["bot_config"] == {"dry_run": True, "process_late": True, "max_days_late": 30,
                                      "max_messages_per_run": 3}
    # a new bot_type: the old bot's settings do not carry over
    r = api.put(f"/scheduler/jobs/{bday['id']}", {"bot_type": "visitor"})
    assert r.status_code == 200, r.text
    assert r.json()["bot_type"] == "visitor" and r.json()["bot_config"] == VISITOR_DEFAULTS
    r = api.put(f"/scheduler/jobs/{bday['id']}", {"bot_type": "birthday", "bot_config": {"max_days_late": 9}})
    assert r.json()["bot_config"] == {**BIRTHDAY_DEFAULTS, "max_days_late": 9}


def test_scheduler_9_partial_schedule_config_merges(api):
    """Issue 9: schedule_config in a PUT merges into the stored one while schedule_type is unchanged;
    a new schedule_type reads it as a whole (its defaults without one), as before."""
    job = api.create(schedule_config={"hour": 5, "minute": 45})
    url = f"/scheduler/jobs/{job['id']}"
    target = (utcnow() + timedelta(hours=2)).hour
    before = datetime.now(timezone.utc)
    r = api.put(url, {"schedule_config": {"hour": target}})
    after = datetime.now(timezone.utc)
    assert r.status_code == 200, r.text
    upd = r.json()
    assert upd["schedule_config"] == {"hour": target, "minute": 45}
    assert parse_ts(upd["next_run_at"]) in expected_between(before, after, lambda t: daily_next(t, target, 45))
    assert api.put(url, {"schedule_config": {"minute": None}}).json()["schedule_config"] == {"hour": target,
                                                                                           "minute": 0}
    # the same schedule_type sent again is no change of type: still a merge
    assert api.put(url, {"schedule_type": "daily", "schedule_config": {"minute": 7}}).json()["schedule_config"] == \
        {"hour": target, "minute": 7}
    assert api.put(url, {"schedule_type": "daily"}).json()["schedule_config"] == {"hour": target, "minute": 7}

    weekly = api.create(schedule_type="weekly", schedule_config={"hour": 14, "minute": 30, "day_of_week": "mon,wed"})
    r = api.put(f"/scheduler/jobs/{weekly['id']}", {"schedule_config": {"day_of_week": "fri"}})
    assert r.json()["schedule_config"] == {"hour": 14, "minute": 30, "day_of_week": "fri"}

    interval = api.create(schedule_type="interval", schedule_config={"hours": 2, "minutes": 30})
    r = api.put(f"/scheduler/jobs/{interval['id']}", {"schedule_config": {"minutes": 15}})
    assert r.json()["schedule_config"] == {"hours": 2, "minutes": 15}
    r = api.put(f"/scheduler/jobs/{interval['id']}", {"schedule_config": {"hours": 0, "minutes": None}})
    assert r.status_code == 400 and "minutes" in detail(r), r.text   # 0 h 0 min: refused
    assert api.job(interval["id"])["schedule_config"] == {"hours": 2, "minutes": 15}

    cron = api.create(schedule_type="cron", schedule_config={"cron_expression": "*/5 * * * *"})
    r = api.put(f"/scheduler/jobs/{cron['id']}", {"schedule_config": {"cron_expression": None}})
    assert r.status_code == 400 and "cron_expression" in detail(r), r.text   # no default
    r = api.put(f"/scheduler/jobs/{cron['id']}", {"schedule_config": {"hour": 3}})
    assert r.status_code == 400 and "hour" in detail(r), r.text   # not a cron field

    # a new type: the config is read whole for it, not merged with the old type's
    r = api.put(url, {"schedule_type": "weekly", "schedule_config": {"day_of_week": "tue"}})
    assert r.json()["schedule_config"] == {"hour": 8, "minute": 0, "day_of_week": "tue"}
    r = api.put(url, {"schedule_type": "interval"})
    assert r.json()["schedule_config"] == {"hours": 1, "minutes": 0}
    assert api.put(url, {"schedule_config": None}).json()["schedule_config"] == {"hours": 1, "minutes": 0}


def _system_job(api, name):
    return next(j for j in api.get("/scheduler/jobs", params={"include_system": "true"}).json()
                if j["name"] == name)


def test_scheduler_15_built_in_jobs_toggle_and_the_engine_honours_it(stack, api):
    """Issue 15: a built-in job toggles by id (200); disabled, it does not run on its schedule even
    when its stored due time has passed; enabled again, its next run is computed. PUT and DELETE
    answer 403 and change nothing."""
    job = _system_job(api, "places: stats snapshot")
    url = f"/scheduler/jobs/{job['id']}"
    try:
        r = api.post(url + "/toggle")
        assert r.status_code == 200, r.text
        off = check_job(r.json())
        assert off["enabled"] is False and off["next_run_at"] is None and off["name"] == job["name"]
        assert api.job(job["id"])["enabled"] is False
        for method, body in (("PUT", {"enabled": True}), ("DELETE", None)):
            r = api.public.request(method, url, headers=api.h(), **({"json": body} if body else {}))
            assert r.status_code == 403, (method, r.text)
            assert "Built-in" in detail(r)
        assert api.job(job["id"])["enabled"] is False

        before = len(api.history(job["id"], limit=200))
        stack.sql("UPDATE scheduler_jobs SET next_run_at = now() - interval '1 minute' WHERE id = %s", job["id"])
        time.sleep(3.0)
        assert len(api.history(job["id"], limit=200)) == before, "a disabled built-in job ran on its schedule"

        t0 = datetime.now(timezone.utc)
        r = api.post(url + "/toggle", {"enabled": True})
        t1 = datetime.now(timezone.utc)
        assert r.status_code == 200, r.text
        on = check_job(r.json())
        assert on["enabled"] is True
        assert parse_ts(on["next_run_at"]) in expected_between(t0, t1, lambda t: cron_next("0 * * * *", t))
        assert {k: on[k] for k in ("name", "schedule_type", "schedule_config", "bot_config")} == \
            {k: job[k] for k in ("name", "schedule_type", "schedule_config", "bot_config")}
    finally:
        if not api.job(job["id"])["enabled"]:
            api.post(url + "/toggle", {"enabled": True})
    assert _audits(stack, "scheduler.job_toggle", job["id"]) >= 2


def test_scheduler_15_mikros_jobs_toggle_but_change_through_sync_config(stack, api):
    """Issue 15: a mikros-sync job is read and toggled by id; PUT and DELETE answer 403 pointing at
    sync-config."""
    hour = (utcnow().hour + 12) % 24   # never due while the test runs
    (job_id,) = stack.sql(
        "INSERT INTO scheduler_jobs (name, bot_type, job_kind, enabled, schedule_type, schedule_config) "
        "VALUES (%s, 'mikros', 'mikros.game_reset', false, 'daily', %s::jsonb) RETURNING id::text",
        f"mikros test {uuid.uuid4().hex[:8]}", f'{{"hour": {hour}, "minute": 0}}')[0]
    url = f"/scheduler/jobs/{job_id}"
    try:
        job = api.job(job_id)
        assert job["bot_type"] == "mikros" and job["enabled"] is False
        for method, body in (("PUT", {"name": "x"}), ("DELETE", None)):
            r = api.public.request(method, url, headers=api.h(), **({"json": body} if body else {}))
            assert r.status_code == 403, (method, r.text)
            assert "sync-config" in detail(r)
        r = api.post(url + "/toggle")
        assert r.status_code == 200, r.text
        assert r.json()["enabled"] is True and r.json()["next_run_at"] is not None
        assert parse_ts(r.json()["next_run_at"]).hour == hour
        r = api.post(url + "/toggle", {"enabled": False})
        assert r.status_code == 200 and r.json()["enabled"] is False and r.json()["next_run_at"] is None
        assert api.job(job_id)["name"] == job["name"]
    finally:
        stack.sql("DELETE FROM scheduler_jobs WHERE id = %s", job_id)


# ---------------------------------------------------------------------- shared by the sections below
import json  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import uuid  # noqa: E402



def _fresh_ip():
    r = random.SystemRandom()
    return f"10.{r.randint(200, 250)}.{r.randint(0, 255)}.{r.randint(1, 254)}"


def _strict_json(r):
    """The body as JSON, refusing invalid UTF-8 (requests would replace it silently)."""
    return json.loads(r.content.decode("utf-8", errors="strict"))


# ====================================================================== input and envelopes
def _key(stack, scope):
    out = stack.admin("keys", "create", "--scope", scope, "--label", "regression-input").stdout.strip()
    assert out.startswith("gh_"), out
    return out


@pytest.fixture(scope="module")
def scheduler_key(stack):
    return _key(stack, "scheduler")


@pytest.fixture(scope="module")
def service_key(stack):
    return _key(stack, "service_role")


def _post_job(public, key, raw):
    return public.post("/scheduler/jobs", data=raw,
                       headers={"X-API-Key": key, "Content-Type": "application/json"})


def _job_body(**over):
    body = {"name": "regression-input", "bot_type": "birthday", "schedule_type": "daily",
            "schedule_config": {"hour": 8, "minute": 0}}
    body.update(over)
    return body


@pytest.mark.parametrize("path,param,code", [
    ("/api/archives?game_mode=%ff", "game_mode", "INVALID_PARAMS"),
    ("/api/archives?game_mode=ok%c3", "game_mode", "INVALID_PARAMS"),
])
def test_invalid_utf8_in_a_places_query_string_is_400_naming_the_parameter(public, path, param, code):
    r = public.get(path, headers={"X-Forwarded-For": _fresh_ip()})
    assert r.status_code == 400, r.text
    b = r.json()
    assert b["code"] == code and param in b["error"], b


@pytest.mark.parametrize("query,param", [("action=%ff", "action"), ("guild_id=%ff", "guild_id"),
                                         ("category=%ff", "category")])
def test_invalid_utf8_in_an_ops_query_string_is_400_naming_the_parameter(ops, query, param):
    r = ops.get(f"/api/logs?{query}", headers={"X-Forwarded-For": _fresh_ip()})
    assert r.status_code == 400, r.text
    b = r.json()
    assert b["code"] == "E004" and param in b["error"], b


def test_postgres_error_log_line_carries_the_request_id(stack, public):
    r = public.get("/_test/fail")
    assert r.status_code == 500
    rid = r.headers["X-Request-Id"]
    lines = [line for line in stack.log_tail(400).splitlines() if "no_such_table" in line]
    assert lines, "the PostgreSQL error is not logged"
    assert any(f"rid={rid}" in line for line in lines), f"no error line names request {rid}: {lines}"
    assert all(re.match(r"^\d+:worker ", line) for line in lines), f"a log entry spans lines: {lines}"


def test_nul_escape_in_a_job_key_is_400_not_bound_as_the_field(public, scheduler_key):
    raw = json.dumps(_job_body()).encode().replace(b'"name"', b'"name\\u0000x"')
    r = _post_job(public, scheduler_key, raw)
    assert r.status_code == 400, r.text
    d = r.json()["detail"]
    assert "name" in d and "NUL" in d, d


@pytest.mark.parametrize("over,field", [
    ({"name": "a\u0000b"}, "name"),
    ({"schedule_type": "weekly", "schedule_config": {"hour": 8, "minute": 0, "day_of_week": "mon\u0000zzz"}},
     "day_of_week"),
    ({"schedule_type": "cron", "schedule_config": {"cron_expression": "* * * * *\u0000x"}}, "cron_expression"),
    ({"bot_type": "birthday\u0000x"}, "bot_type"),
    ({"description": "d\u0000"}, "description"),
])
def test_nul_escape_anywhere_in_a_job_body_is_400_naming_the_field(public, scheduler_key, over, field):
    r = _post_job(public, scheduler_key, json.dumps(_job_body(**over)).encode())
    assert r.status_code == 400, r.text
    d = r.json()["detail"]
    assert field in d and "NUL" in d, d


@pytest.mark.parametrize("raw", [b'{"next_game_mode":"classic\\u0000zzz","force":true}',
                                 b'{"next_game_mode\\u0000zzz":"classic","force":true}'])
def test_nul_escape_in_next_game_mode_is_400_not_classic(stack, public, service_key, raw):
    """A key is a C string in json-c: "next_game_mode\\u0000zzz" was bound as next_game_mode."""
    before = stack.sql("SELECT count(*) FROM audit_logs WHERE action = 'places.reset_week'")[0][0]
    r = public.post("/api/admin/reset-week", data=raw,
                    headers={"Authorization": f"Bearer {service_key}", "Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    b = r.json()
    assert b["code"] == "INVALID_PARAMS" and "next_game_mode" in b["error"] and "NUL" in b["error"], b
    after = stack.sql("SELECT count(*) FROM audit_logs WHERE action = 'places.reset_week'")[0][0]
    assert after == before, "the week was reset"


@pytest.mark.parametrize("raw", [b'{"a\\u0000b":1}', b'{"a":["x","y\\u0000"]}', b'"\\u0000"'])
def test_nul_escape_in_an_echoed_body_is_400(public, raw):
    r = public.post("/_test/echo", data=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert "NUL" in r.json()["error"], r.text


@pytest.mark.parametrize("raw", [b'{"s":"\\ud800"}', b'{"s":"\\udc00"}', b'{"s":"\\ud800x"}',
                                 b'{"s":"\\ud800\\u0041"}', b'{"s":"\\uDBFF\\uDBFF"}', b'["\\udfff"]'])
def test_lone_surrogate_escape_is_400_not_replacement_character(public, raw):
    r = public.post("/_test/echo", data=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert "surrogate" in r.json()["error"], r.text


@pytest.mark.parametrize("raw,value", [(b'{"s":"\\\\ud800"}', "\\ud800"), (b'{"s":"\\ud83d\\ude00"}', "\U0001F600")])
def test_escaped_backslash_and_surrogate_pairs_still_pass(public, raw, value):
    r = public.post("/_test/echo", data=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    assert _strict_json(r)["s"] == value


def test_lone_surrogate_in_a_job_name_is_400(public, scheduler_key):
    r = _post_job(public, scheduler_key, json.dumps(_job_body(name="x\ud800")).encode())
    assert r.status_code == 400, r.text
    d = r.json()["detail"]
    assert "name" in d and "surrogate" in d, d


@pytest.mark.parametrize("expr", ["é * * * *", "1é * * * *", "* * * * mon-é", "@" + "é" * 20,
                                  "* * * * " + "x" + "é" * 20])
def test_error_quoting_a_multibyte_cron_value_is_valid_utf8(public, scheduler_key, expr):
    body = _job_body(schedule_type="cron", schedule_config={"cron_expression": expr})
    r = _post_job(public, scheduler_key, json.dumps(body, ensure_ascii=False).encode())
    assert r.status_code == 400, r.text
    d = _strict_json(r)["detail"]   # raises on a cut character
    assert "cron_expression" in d, d


def test_error_quoting_a_multibyte_day_of_week_is_valid_utf8(public, scheduler_key):
    body = _job_body(schedule_type="weekly", schedule_config={"hour": 1, "minute": 0, "day_of_week": "x" + "é" * 20})
    r = _post_job(public, scheduler_key, json.dumps(body, ensure_ascii=False).encode())
    assert r.status_code == 400, r.text
    d = _strict_json(r)["detail"]
    assert "day_of_week" in d, d


@pytest.mark.parametrize("listener,path", [("public", "/api/nope"), ("ops", "/api/nope"),
                                           ("ops", "/api/definitely-not-a-route"), ("public", "/api")])
def test_unknown_api_path_is_the_generic_not_found(public, ops, listener, path):
    s = public if listener == "public" else ops
    r = s.get(path, headers={"X-Forwarded-For": _fresh_ip()})
    assert r.status_code == 404, r.text
    assert r.json() == {"error": "Not found"}, r.text


@pytest.mark.parametrize("path", ["/api/stats/extra", "/api/logs/1"])
def test_unknown_path_under_an_ops_prefix_keeps_e006(ops, path):
    r = ops.get(path, headers={"X-Forwarded-For": _fresh_ip()})
    assert r.status_code == 404, r.text
    assert r.json() == {"error": "Not found", "code": "E006"}, r.text


# ====================================================================== nginx and the master
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

import pytest  # noqa: E402
import requests  # noqa: E402

from harness import metric, recv_to_eof, wait_for, worker_settings  # noqa: E402


reload_settings = pytest.fixture(name="reload_settings")(worker_settings)


# ====================================================================== nginx and the master

def test_master_does_not_kill_healthy_workers_under_load(stack, reload_settings):
    """#14: the master read `now` once and aged each BUSY slot unsigned, so a request that started
    after that reading was 2^64 µs old and its worker was killed for exceeding request_timeout.
    Many short requests with request_timeout = 1: no worker is killed."""
    wrk = shutil.which("wrk")
    if wrk is None:
        pytest.fail("wrk is not installed (scripts/packages.txt lists it)")
    reload_settings(request_timeout=1)
    restarts = metric(stack, "guildhall_worker_restarts_total")
    timeouts = metric(stack, "guildhall_worker_timeouts_total")
    log_start = os.path.getsize(stack.log_file)
    # The master checks its workers at every wake-up: besides its 100 ms tick, every SIGCHLD (a
    # worker recycled after max_requests, say). A stream of them makes many more checks race the
    # workers' request starts than the tick alone would in these 20 s.
    master, stop = stack.master_pid(), threading.Event()

    def wake_master():
        while not stop.is_set():
            os.kill(master, signal.SIGCHLD)
            time.sleep(0.0001)

    waker = threading.Thread(target=wake_master, daemon=True)
    waker.start()
    try:
        run = subprocess.run([wrk, "-t2", "-c16", "-d20s", f"{stack.public}/_test/ping"],
                             capture_output=True, text=True, timeout=60)
    finally:
        stop.set()
        waker.join()
    assert run.returncode == 0, run.stdout + run.stderr
    done = re.search(r"(\d+) requests in", run.stdout)
    assert done and int(done.group(1)) > 1000, run.stdout
    with open(stack.log_file, encoding="utf-8", errors="replace") as f:
        f.seek(log_start)
        killed = [line for line in f if "exceeded request_timeout" in line]
    assert killed == [], "".join(killed)
    assert metric(stack, "guildhall_worker_timeouts_total") == timeouts
    assert metric(stack, "guildhall_worker_restarts_total") == restarts
    assert "Non-2xx" not in run.stdout and "Socket errors" not in run.stdout, run.stdout


def test_nchan_publisher_is_not_reachable_over_tcp(stack):
    """#13: anything on the host could publish places events with a POST to the ops listener's
    /_nchan/pub/places. The publisher now listens only on a unix socket in a private directory,
    which the outbox reaches with nchan_publish_url = unix:SOCKET:/_nchan/pub/places; the places
    events still reach subscribers (test_places_events.py)."""
    forged = '{"type":"week_reset","archive_id":"forged"}'
    for base in (stack.ops, stack.public):
        for method in ("POST", "GET"):
            r = requests.request(method, f"{base}/_nchan/pub/places", data=forged, timeout=5,
                                 headers={"Content-Type": "application/json",
                                          "X-EventSource-Event": "week_reset"})
            assert r.status_code == 404, (base, method, r.status_code, r.text)
            assert r.json() == {"error": "Not found"}, r.text
    sock = stack.env.get("NCHAN_SOCKET")
    assert sock, "stack.env names the nchan publisher's socket"
    with open(stack.config) as f:
        assert f"nchan_publish_url = unix:{sock}:/_nchan/pub/places\n" in f.read()
    mode = os.stat(os.path.dirname(sock)).st_mode & 0o777
    assert mode == 0o700, f"the socket's directory is {oct(mode)}"


# Answers nginx writes itself (#10): every one is JSON in the envelope of the family the path falls
# under and carries X-Request-Id; a 405 carries Allow. Each request is sent on a raw socket (most are
# malformed on purpose) and read to the end: nginx closes the connection after these errors.

def raw_request(base, data: bytes):
    """Sends data as is to the listener at base (http://host:port); returns (status, headers, body)."""
    host, port = base.split("//", 1)[1].rsplit(":", 1)
    with socket.create_connection((host.strip("[]"), int(port)), timeout=10) as s:
        s.sendall(data)
        out = recv_to_eof(s)
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    return int(lines[0].split()[1]), headers, body


def assert_envelope(family, body, status):
    """The error envelope of CONTRACT 3 for family (generic: {"error": M})."""
    doc = json.loads(body)
    if family == "mikros":
        assert set(doc) == {"success", "error", "timestamp"} and doc["success"] is False, doc
        assert set(doc["error"]) == {"code", "message", "details"} and doc["error"]["message"], doc
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", doc["timestamp"]), doc
        code = doc["error"]["code"]
    elif family == "places":
        assert set(doc) == {"error", "code", "details"} and doc["details"] == {} and doc["error"], doc
        code = doc["code"]
    elif family == "ops":
        assert set(doc) == {"error", "code"} and re.fullmatch(r"E00\d", doc["code"]) and doc["error"], doc
        code = doc["code"]
    elif family == "scheduler":
        assert set(doc) == {"detail"} and doc["detail"], doc
        code = None
    else:
        assert set(doc) == {"error"} and doc["error"], doc
        code = None
    expected = {
        ("mikros", 400): "INVALID_REQUEST", ("mikros", 405): "METHOD_NOT_ALLOWED",
        ("mikros", 413): "PAYLOAD_TOO_LARGE", ("places", 400): "INVALID_PARAMS",
        ("places", 405): "METHOD_NOT_ALLOWED", ("places", 413): "PAYLOAD_TOO_LARGE",
        ("ops", 400): "E004", ("ops", 405): "E004", ("ops", 413): "E004",
        ("mikros", 502): "INTERNAL_ERROR", ("places", 502): "SERVER_ERROR", ("ops", 502): "E008",
    }.get((family, status))
    assert code == expected, (family, status, doc)


def request_line(method, target, *headers, body=b""):
    return (f"{method} {target} HTTP/1.1\r\nHost: guildhall\r\n".encode() + b"".join(h + b"\r\n" for h in headers)
            + b"Connection: close\r\n\r\n" + body)


NGINX_ERRORS = {
    # name: (listener, request, status, family)
    "nul_in_path": ("public", request_line("GET", "/api/gamestats/trending%00genres"), 400, "mikros"),
    "header_over_8k": ("public", request_line("GET", "/api/game-modes", b"X-Big: " + b"a" * 9000), 400,
                       "places"),
    "5000_headers": ("public", request_line("GET", "/scheduler/jobs", *(b"X-H%d: v" % i for i in range(5000))),
                     400, "scheduler"),
    "uri_over_8k": ("public", request_line("GET", "/scheduler/jobs/" + "a" * 9000), 414, "scheduler"),
    "content_length_minus_1": ("public", request_line("POST", "/api/gamestats/ingest", b"Content-Length: -1"),
                               400, "mikros"),
    "trace": ("public", request_line("TRACE", "/api/game-modes"), 405, "places"),
    "trace_unknown_path": ("public", request_line("TRACE", "/nope"), 405, "generic"),
    "connect_ops": ("ops", request_line("CONNECT", "/health"), 405, "ops"),
    "connect_authority": ("public", request_line("CONNECT", "example.com:443"), 400, "generic"),
    "body_over_the_largest_limit": ("public", request_line(
        "POST", "/api/admin/reset-week", b"Content-Type: application/json", b"Content-Length: 20000000",
        body=b"{}"), 413, "places"),
}


@pytest.mark.parametrize("name", sorted(NGINX_ERRORS))
def test_nginx_own_errors_are_json_in_the_family_envelope_with_request_id(stack, name):
    listener, data, status, family = NGINX_ERRORS[name]
    got, headers, body = raw_request(stack.public if listener == "public" else stack.ops, data)
    assert got == status, (got, body[:300])
    assert headers.get("content-type") == ["application/json"], (headers, body[:300])
    assert_envelope(family, body, status)
    assert len(headers.get("x-request-id", [])) == 1, headers
    assert re.fullmatch(r"[0-9a-f]{32}", headers["x-request-id"][0]), headers
    if status == 405:
        assert headers.get("allow"), headers
        assert name.split("_")[0].upper() not in headers["allow"][0], headers


def test_gateway_errors_are_json_in_the_family_envelope(stack):
    """#10: with guildhalld stopped nginx answers 502, in the path's family envelope."""
    stack.gh_stop()
    try:
        for path, family in (("/api/gamestats/trending-genres", "mikros"), ("/api/game-modes", "places"),
                             ("/scheduler/jobs", "scheduler"), ("/nope", "generic")):
            got, headers, body = raw_request(stack.public, request_line("GET", path))
            assert got == 502, (path, got, body[:300])
            assert_envelope(family, body, 502)
            assert len(headers.get("x-request-id", [])) == 1, headers
    finally:
        stack.gh_start()
        stack.wait_healthy()


def test_request_id_is_sent_once_and_joins_nginx_and_guildhalld_logs(stack):
    """#10: nginx adds X-Request-Id to every answer; on a worker's answer it is the same $request_id
    guildhalld got as REQUEST_ID (and logged), sent once."""
    got, headers, body = raw_request(stack.public, request_line("GET", "/_test/ping"))
    assert got == 200, body
    assert len(headers.get("x-request-id", [])) == 1, headers
    rid = headers["x-request-id"][0]
    wait_for(lambda: f"rid={rid} " in stack.log_tail(400), timeout=5, what="guildhalld's access line")
