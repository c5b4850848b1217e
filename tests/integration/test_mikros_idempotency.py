"""Idempotency-Key on the mikros POSTs (CONTRACT 4, the IETF httpapi draft): the first answer is
stored with its write for 24 hours, per API key; a replay with the same key and body gets the same
status and body plus `Idempotent-Replayed: true` and changes nothing; another body (or path) → 422;
a replay while the first is in progress → 409; 2xx and 4xx are stored, 429 and 5xx are not."""
import random
import threading
import time
import uuid

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


def snowflake():
    return str(random.randrange(10**17, 10**18))


def action(player, server, xp=10):
    return {"discord_id": player, "server_id": server, "action_type": "quest", "character_level": 3,
            "xp_gained": xp, "outcome": "victory", "timestamp": "2025-01-27T12:00:00Z"}


def post(public, h, path, body, key):
    return public.post(path, json=body, headers={**h, "Idempotency-Key": key})


def actions_of(stack, player):
    return stack.sql("SELECT count(*) FROM mikros_rpg_actions WHERE discord_id = %s", player)[0][0]


def test_a_replay_gets_the_first_answer_and_changes_nothing(public, h, stack):
    player, server, key = snowflake(), snowflake(), str(uuid.uuid4())
    first = post(public, h, "/api/rpg/actions", action(player, server), key)
    assert first.status_code == 200, first.text
    assert "Idempotent-Replayed" not in first.headers
    again = post(public, h, "/api/rpg/actions", action(player, server), key)
    assert again.status_code == 200 and again.text == first.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Content-Type"].startswith("application/json")
    assert actions_of(stack, player) == 1
    # without the header every POST is a new request
    for _ in range(2):
        assert public.post("/api/rpg/actions", json=action(player, server), headers=h).status_code == 200
    assert actions_of(stack, player) == 3


def test_the_same_key_for_another_request_is_422(public, h, stack):
    player, server, key = snowflake(), snowflake(), str(uuid.uuid4())
    assert post(public, h, "/api/rpg/actions", action(player, server), key).status_code == 200
    other = post(public, h, "/api/rpg/actions", action(player, server, xp=11), key)
    assert other.status_code == 422, other.text
    assert other.json()["success"] is False and other.json()["error"]["code"] == "INVALID_REQUEST"
    assert "Idempotency-Key" in other.json()["error"]["message"]
    elsewhere = post(public, h, "/api/leaderboards/spelling", {"server_id": server, "leaderboard": []}, key)
    assert elsewhere.status_code == 422, elsewhere.text
    assert actions_of(stack, player) == 1


def test_keys_are_scoped_per_api_key(public, h, stack):
    other = {"Authorization": f"Bearer {new_key(stack, 'mikros')}"}
    player, server, key = snowflake(), snowflake(), str(uuid.uuid4())
    a = post(public, h, "/api/rpg/actions", action(player, server), key)
    b = post(public, other, "/api/rpg/actions", action(player, server), key)
    assert a.status_code == b.status_code == 200
    assert "Idempotent-Replayed" not in b.headers and a.json()["action_id"] != b.json()["action_id"]
    assert actions_of(stack, player) == 2


def test_4xx_answers_are_stored_and_replayed(public, h, ingest, stack):
    game_id, server, key = random.randrange(10**11, 10**12), snowflake(), str(uuid.uuid4())
    push = {"game_id": game_id, "server_id": server, "channel_id": snowflake()}
    first = post(public, h, "/api/promotions/mark-pushed", push, key)
    assert first.status_code == 404, first.text
    r = public.put(f"/api/promotions/{game_id}", headers=ingest, json={
        "game_name": "G", "description": "A game.", "promotion_url": "https://example.com/g", "platform": "steam",
        "genre": "Action"})
    assert r.status_code == 200, r.text
    again = post(public, h, "/api/promotions/mark-pushed", push, key)
    assert again.status_code == 404 and again.headers["Idempotent-Replayed"] == "true"
    assert stack.sql("SELECT 1 FROM mikros_promotion_pushes WHERE game_id = %s", game_id) == []
    # a body the schema refuses is a 4xx answer too
    bad_key, refused = str(uuid.uuid4()), {**action(snowflake(), server), "xp_gained": "lots"}
    bad = post(public, h, "/api/rpg/actions", refused, bad_key)
    assert bad.status_code == 400
    again = post(public, h, "/api/rpg/actions", refused, bad_key)
    assert again.status_code == 400 and again.text == bad.text and again.headers["Idempotent-Replayed"] == "true"


def test_a_replay_while_the_first_runs_is_409(public, h, stack):
    player, server, key = snowflake(), snowflake(), str(uuid.uuid4())
    character = {"discord_id": player, "server_id": server, "character_name": "Aria", "character_class": "Mage",
                 "level": 2, "xp": 10}
    assert public.post("/api/rpg/characters", json=character, headers=h).status_code == 200
    holder = psycopg2.connect(stack.dsn)
    first = {}
    try:
        with holder.cursor() as cur:   # the save waits on this row lock, holding the key
            cur.execute("SELECT 1 FROM mikros_rpg_characters WHERE discord_id = %s FOR UPDATE", (player,))
        worker = threading.Thread(target=lambda: first.setdefault(
            "r", post(public, h, "/api/rpg/characters", {**character, "level": 3}, key)))
        worker.start()
        wait_for(lambda: stack.sql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted")[0][0],
                 timeout=10, what="the first request to hold its key")
        wait_for(lambda: stack.sql("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")[0][0],
                 timeout=10, what="the first request to wait on the row")
        second = post(public, h, "/api/rpg/characters", {**character, "level": 3}, key)
        assert second.status_code == 409 and second.json()["error"]["code"] == "CONFLICT", second.text
    finally:
        holder.rollback()
        holder.close()
    worker.join(timeout=20)
    assert first["r"].status_code == 200, first["r"].text
    third = post(public, h, "/api/rpg/characters", {**character, "level": 3}, key)
    assert third.status_code == 200 and third.text == first["r"].text
    assert third.headers["Idempotent-Replayed"] == "true"


def test_5xx_answers_are_not_stored(public, h, stack):
    player, server, key = snowflake(), snowflake(), str(uuid.uuid4())
    stack.sql("ALTER TABLE mikros_rpg_actions RENAME TO mikros_rpg_actions_away")
    try:
        failed = post(public, h, "/api/rpg/actions", action(player, server), key)
    finally:
        stack.sql("ALTER TABLE mikros_rpg_actions_away RENAME TO mikros_rpg_actions")
    assert failed.status_code == 500, failed.text
    assert "mikros_rpg_actions" not in failed.text   # no SQL leaks either
    retried = post(public, h, "/api/rpg/actions", action(player, server), key)
    assert retried.status_code == 200 and "Idempotent-Replayed" not in retried.headers
    assert actions_of(stack, player) == 1


def test_429_answers_are_not_stored(public, stack):
    h = {"Authorization": f"Bearer {new_key(stack, 'mikros')}"}
    for _ in range(400):
        if public.get("/_test/mikros-auth", headers=h).status_code == 429:
            break
    player, server, key = snowflake(), snowflake(), str(uuid.uuid4())
    limited = post(public, h, "/api/rpg/actions", action(player, server), key)
    assert limited.status_code == 429, limited.text
    time.sleep(1.5)   # 100 a minute: a request passes again after 0.6 s
    retried = post(public, h, "/api/rpg/actions", action(player, server), key)
    assert retried.status_code == 200 and "Idempotent-Replayed" not in retried.headers, retried.text
    assert actions_of(stack, player) == 1


@pytest.mark.parametrize("value", ["x" * 256, "caf\u00e9", "tab\there"])
def test_a_malformed_key_is_400(public, h, stack, value):
    player = snowflake()
    r = public.post("/api/rpg/actions", json=action(player, snowflake()),
                    headers={**h, "Idempotency-Key": value.encode("latin-1")})
    assert r.status_code == 400 and "Idempotency-Key" in r.json()["error"]["message"], r.text
    assert actions_of(stack, player) == 0


def test_keys_expire_after_24_hours_and_are_pruned(public, h, stack):
    player, server, key = snowflake(), snowflake(), "expiring-" + str(uuid.uuid4())
    assert post(public, h, "/api/rpg/actions", action(player, server), key).status_code == 200
    [(ttl,)] = stack.sql("SELECT extract(epoch FROM expires_at - created_at) FROM idempotency_keys WHERE key = %s", key)
    assert float(ttl) == 24 * 3600
    stack.sql("UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = %s", key)
    after = post(public, h, "/api/rpg/actions", action(player, server), key)
    assert after.status_code == 200 and "Idempotent-Replayed" not in after.headers
    assert actions_of(stack, player) == 2
    # the built-in prune job deletes expired answers
    stack.sql("UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = %s", key)
    sched = {"X-API-Key": new_key(stack, "scheduler")}
    [(job,)] = stack.sql("SELECT id::text FROM scheduler_jobs WHERE job_kind = 'core.idempotency_prune'")
    assert public.post(f"/scheduler/jobs/{job}/run", headers=sched).status_code == 202
    wait_for(lambda: not stack.sql("SELECT 1 FROM idempotency_keys WHERE key = %s", key), timeout=20,
             what="the expired key to be pruned")


def test_a_retried_trigger_is_the_same_run(public, h):
    server, key = snowflake(), str(uuid.uuid4())
    r = public.post("/api/schedulers/sync-config", headers=h, json={
        "server_id": server, "scheduler_type": "promotion_check", "config": {"interval_minutes": 30}})
    assert r.status_code == 200, r.text
    body = {"server_id": server, "scheduler_type": "promotion_check", "triggered_by": "admin"}
    first = post(public, h, "/api/schedulers/trigger", body, key)
    again = post(public, h, "/api/schedulers/trigger", body, key)
    assert first.status_code == again.status_code == 200
    assert again.json()["execution_id"] == first.json()["execution_id"]
    assert again.headers["Idempotent-Replayed"] == "true"
