"""Community games (spec 000 §17–18, CONTRACT 7.2): sync-config stores the config and makes the
server's mikros.game_reset job on the scheduler engine; the job opens a word_unscramble session with a
word of the configured difficulty, scrambled; session-state answers it (404 before the first)."""
import random

import pytest

from harness import wait_for
from test_dispatch import new_key


@pytest.fixture(scope="module")
def h(stack):
    return {"Authorization": f"Bearer {new_key(stack, 'mikros')}"}


@pytest.fixture(scope="module")
def sched(stack):
    return {"X-API-Key": new_key(stack, "scheduler")}


def snowflake():
    return str(random.randrange(10**17, 10**18))


def sync(public, h, server, **fields):
    body = {"server_id": server, "game_channel_id": snowflake(), "reset_time_utc": "07:30",
            "enabled_games": ["word_unscramble"], "difficulty": "hard", "updated_at": "2025-01-27T12:00:00Z", **fields}
    return public.post("/api/games/sync-config", json=body, headers=h)


def job_of(stack, server):
    return stack.sql("SELECT id::text, enabled, schedule_config->>'hour', schedule_config->>'minute', "
                     "next_run_at IS NOT NULL FROM scheduler_jobs WHERE bot_type = 'mikros' "
                     "AND job_kind = 'mikros.game_reset' AND bot_config->>'server_id' = %s", server)


def test_sync_config_makes_and_updates_the_servers_job(stack, public, h, sched):
    server = snowflake()
    first = sync(public, h, server)
    assert first.status_code == 200, first.text
    assert first.json()["message"] == "Configuration synced successfully"
    [(job, enabled, hour, minute, scheduled)] = job_of(stack, server)
    assert (enabled, hour, minute, scheduled) == (True, "7", "30", True)
    again = sync(public, h, server, reset_time_utc="23:05", enabled_games=[])
    assert again.json()["config_id"] == first.json()["config_id"]
    assert job_of(stack, server) == [(job, False, "23", "5", False)]
    listed = public.get("/scheduler/jobs", params={"include_system": "true"}, headers=sched).json()
    jobs = listed if isinstance(listed, list) else listed.get("jobs", listed.get("data", []))
    assert any(j["id"] == job and j["bot_type"] == "mikros" for j in jobs)


def test_the_game_reset_job_opens_a_scrambled_session(stack, public, h, sched):
    server = snowflake()
    r = public.get("/api/games/session-state", params={"server_id": server}, headers=h)
    assert r.status_code == 404 and r.json()["error"]["code"] == "NOT_FOUND"
    assert sync(public, h, server, difficulty="easy").status_code == 200
    [(job, *_)] = job_of(stack, server)
    words = set()
    for _ in range(2):
        before = stack.sql("SELECT count(*) FROM mikros_game_sessions WHERE server_id = %s", server)[0][0]
        assert public.post(f"/scheduler/jobs/{job}/run", headers=sched).status_code == 202
        wait_for(lambda: stack.sql("SELECT count(*) FROM mikros_game_sessions WHERE server_id = %s",
                                   server)[0][0] > before, timeout=20, what="a new game session")
        wait_for(lambda: not stack.sql("SELECT 1 FROM scheduler_runs WHERE job_id = %s AND status = 'running'", job),
                 timeout=20, what="the run to finish")
        state = public.get("/api/games/session-state", params={"server_id": server}, headers=h).json()["data"]
        assert state["scrambled_word"] != state["word"]
        assert sorted(state["scrambled_word"]) == sorted(state["word"])
        assert (state["solved"], state["solver_count"], state["attempts"]) == (False, 0, [])
        assert stack.sql("SELECT difficulty FROM mikros_words WHERE word = %s", state["word"]) == [("easy",)]
        words.add(state["word"])
    assert len(words) == 2  # the next session never repeats the last word
    runs = public.get(f"/scheduler/jobs/{job}/history", headers=sched).json()
    history = runs if isinstance(runs, list) else runs.get("runs", runs.get("history", []))
    assert history and all(run["status"] == "success" for run in history)


@pytest.mark.parametrize("change,field", [
    ({"server_id": "1"}, "server_id"), ({"game_channel_id": "x"}, "game_channel_id"),
    ({"reset_time_utc": "24:00"}, "reset_time_utc"), ({"reset_time_utc": "7:30"}, "reset_time_utc"),
    ({"enabled_games": ["chess"]}, "enabled_games"), ({"difficulty": "insane"}, "difficulty"),
])
def test_sync_config_fields_are_checked(stack, public, h, change, field):
    server = snowflake()
    r = sync(public, h, server, **change)
    assert r.status_code == 400 and field in r.json()["error"]["message"], r.text
    assert job_of(stack, change.get("server_id", server)) == []


def test_session_state_needs_a_server(public, h):
    assert public.get("/api/games/session-state", headers=h).status_code == 400
    assert public.get("/api/games/session-state", params={"server_id": "abc"}, headers=h).status_code == 400


def test_the_word_list_ships_a_few_hundred_words_per_difficulty(stack):
    counts = dict(stack.sql("SELECT difficulty, count(*) FROM mikros_words GROUP BY difficulty"))
    assert set(counts) == {"easy", "medium", "hard"} and min(counts.values()) >= 180
