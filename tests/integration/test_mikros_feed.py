"""The MIKROS data feed (CONTRACT 7.2, scope mikros_ingest): apps, session batches (gzip, 16 MiB,
10,000 a batch, all or nothing, unknown apps named), contributors — each answer checked against what
PostgreSQL holds right after it.
"""
import gzip
import json
import os
import threading
import time
from pathlib import Path
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from harness import each_worker
from test_dispatch import new_key


@pytest.fixture(scope="module")
def ingest(stack):
    return new_key(stack, "mikros_ingest")


def auth(key, **extra):
    return {"Authorization": f"Bearer {key}", **extra}


def new_app(public, key, **fields):
    app_id = "feed-" + uuid.uuid4().hex[:12]
    body = {"name": "Feed Game", "genre": "Action", "content_genre": "Co-op", "gameplay_type": "Casual", **fields}
    r = public.put(f"/api/gamestats/apps/{app_id}", json=body, headers=auth(key))
    assert r.status_code == 200, r.text
    return app_id


def ago(**delta):
    return (datetime.now(timezone.utc) - timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


def session(app_id, user="u1", **extra):
    return {"app_id": app_id, "user_id": user, "started_at": ago(hours=1), "duration_seconds": 600, **extra}


def post_sessions(public, key, sessions, **kw):
    return public.post("/api/gamestats/sessions", json={"sessions": sessions}, headers=auth(key), **kw)


def raw_count(stack, app_id):
    return stack.sql("SELECT count(*) FROM mikros_sessions WHERE app_id = %s", app_id)[0][0]


def test_an_app_is_registered_and_updated(stack, public, ingest):
    app_id = new_app(public, ingest, active=False)
    assert stack.sql("SELECT genre, active FROM mikros_apps WHERE app_id = %s", app_id) == [("Action", False)]
    r = public.put(f"/api/gamestats/apps/{app_id}", headers=auth(ingest),
                   json={"name": "Feed Game 2", "genre": "RPG", "content_genre": "Story", "gameplay_type": "Casual"})
    assert r.status_code == 200 and r.json()["app_id"] == app_id and r.json()["success"] is True
    assert stack.sql("SELECT name, genre, active FROM mikros_apps WHERE app_id = %s", app_id) == \
        [("Feed Game 2", "RPG", True)]


@pytest.mark.parametrize("body,field", [
    ({"genre": "A", "content_genre": "B", "gameplay_type": "C"}, "name"),
    ({"name": "", "genre": "A", "content_genre": "B", "gameplay_type": "C"}, "name"),
    ({"name": "N", "genre": 3, "content_genre": "B", "gameplay_type": "C"}, "genre"),
    ({"name": "N", "genre": "A", "content_genre": "B", "gameplay_type": "C", "active": "yes"}, "active"),
])
def test_app_fields_are_checked(public, ingest, body, field):
    r = public.put("/api/gamestats/apps/feed-bad", json=body, headers=auth(ingest))
    assert r.status_code == 400 and field in r.json()["error"]["message"], r.text


def test_a_malformed_app_id_is_400(public, ingest):
    r = public.put("/api/gamestats/apps/not%20an%20id", headers=auth(ingest),
                   json={"name": "N", "genre": "A", "content_genre": "B", "gameplay_type": "C"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "INVALID_REQUEST"


def test_the_feed_needs_the_ingest_scope(stack, public):
    bot = new_key(stack, "mikros")
    r = post_sessions(public, bot, [session("x")])
    assert r.status_code == 403 and r.json()["error"]["code"] == "FORBIDDEN"
    assert post_sessions(public, "gh_nope", [session("x")]).status_code == 401


def genre_key_rows(stack, genre):
    """The players with a chain row and the sessions counted under a genre's key."""
    players = stack.sql("SELECT u.user_id FROM mikros_key_days d JOIN mikros_users u USING (uid) "
                        "JOIN mikros_keys k USING (key) WHERE k.dim = 'genre' AND k.value = %s ORDER BY 1", genre)
    [(sessions,)] = stack.sql("SELECT COALESCE(sum(h.sessions), 0) FROM mikros_key_hours h "
                              "JOIN mikros_keys k USING (key) WHERE k.dim = 'genre' AND k.value = %s", genre)
    return [p for (p,) in players], sessions


def test_a_batch_and_its_rollups_are_committed_before_the_answer(stack, public, ingest):
    genre = "G-" + uuid.uuid4().hex[:8]
    app_id = new_app(public, ingest, genre=genre)
    start = ago(days=2)
    sessions = [session(app_id, "a", started_at=start, duration_seconds=100,
                        content=[{"content_id": "lvl1", "content_name": "Level 1", "content_type": "level",
                                  "playtime_seconds": 40}]),
                session(app_id, "a", started_at=start, duration_seconds=50),
                session(app_id, "b", started_at=start, duration_seconds=10)]
    r = post_sessions(public, ingest, sessions)
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 3 and r.json()["success"] is True
    assert raw_count(stack, app_id) == 3
    assert genre_key_rows(stack, genre) == (["a", "b"], 3)
    assert stack.sql("SELECT content_id, plays, playtime_seconds FROM mikros_daily_content WHERE app_id = %s",
                     app_id) == [("lvl1", 1, 40)]


def test_gzip_bodies_are_accepted(stack, public, ingest):
    app_id = new_app(public, ingest)
    body = gzip.compress(json.dumps({"sessions": [session(app_id, f"g{i}") for i in range(50)]}).encode())
    r = public.post("/api/gamestats/sessions", data=body,
                    headers=auth(ingest, **{"Content-Type": "application/json", "Content-Encoding": "gzip"}))
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 50 and raw_count(stack, app_id) == 50


def test_ten_thousand_sessions_pass_and_one_more_is_refused(stack, public, ingest):
    app_id = new_app(public, ingest)
    batch = [session(app_id, f"m{i % 700}") for i in range(10_000)]
    r = post_sessions(public, ingest, batch)
    assert r.status_code == 200 and r.json()["accepted"] == 10_000
    r = post_sessions(public, ingest, batch + [session(app_id)])
    assert r.status_code == 400 and "sessions" in r.json()["error"]["message"]
    assert raw_count(stack, app_id) == 10_000


def rss_kib(pid):
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1])


@pytest.mark.skipif(bool(os.environ.get("GUILDHALL_SANITIZER_DIR")), reason="ASan's shadow memory is not the heap")
def test_a_big_batch_does_not_leave_a_worker_big(stack, public, ingest):
    """glibc keeps a big request's freed heap; the worker hands it back (a fresh worker is ~5 MiB, one
    that kept a 10,000-session batch's parse ~35 MiB)."""
    app_id = new_app(public, ingest)
    body = gzip.compress(json.dumps({"sessions": [session(app_id, f"r{i}") for i in range(10_000)]}).encode())
    served = each_worker(stack, lambda: public.post("/api/gamestats/sessions", data=body, headers=auth(
        ingest, **{"Content-Type": "application/json", "Content-Encoding": "gzip"})))
    for pid, answers in served.items():
        assert all(a.status_code == 200 for a in answers)
        assert rss_kib(pid) < 12 * 1024, (pid, rss_kib(pid))


def test_an_unknown_app_in_the_last_session_writes_nothing(stack, public, ingest):
    genre = "G-" + uuid.uuid4().hex[:8]
    app_id = new_app(public, ingest, genre=genre)
    r = post_sessions(public, ingest, [session(app_id), session(app_id, "z"), session("feed-never-registered")])
    assert r.status_code == 400
    assert "feed-never-registered" in r.json()["error"]["message"]
    assert raw_count(stack, app_id) == 0
    assert genre_key_rows(stack, genre) == ([], 0)


@pytest.mark.parametrize("change,field", [
    ({"started_at": "yesterday"}, "sessions[1].started_at"),
    ({"duration_seconds": -1}, "sessions[1].duration_seconds"),
    ({"user_id": ""}, "sessions[1].user_id"),
    ({"content": [{"content_id": "c", "content_name": "C", "content_type": "song", "playtime_seconds": 1}]},
     "sessions[1].content[0].content_type"),
    ({"content": [{"content_id": "c", "content_name": "C", "content_type": "boss", "playtime_seconds": 1}] * 2},
     "sessions[1].content[1].content_id"),
    ({"started_at": (datetime.now(timezone.utc) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")},
     "sessions[1].started_at"),
])
def test_session_fields_are_checked_and_nothing_is_written(stack, public, ingest, change, field):
    app_id = new_app(public, ingest)
    r = post_sessions(public, ingest, [session(app_id), session(app_id, **change)])
    assert r.status_code == 400, r.text
    assert field in r.json()["error"]["message"]
    assert raw_count(stack, app_id) == 0


def test_offsets_are_converted_to_utc(stack, public, ingest):
    app_id = new_app(public, ingest)
    t = datetime.now(timezone.utc) - timedelta(days=1)
    local = t.astimezone(timezone(timedelta(hours=5, minutes=30))).strftime("%Y-%m-%dT%H:%M:%S+05:30")
    assert post_sessions(public, ingest, [session(app_id, started_at=local)]).status_code == 200
    got = stack.sql("SELECT extract(epoch FROM started_at)::bigint FROM mikros_sessions WHERE app_id = %s", app_id)
    assert got == [(int(t.timestamp()),)]


def padded_batch(app_id, size):
    """A valid batch of one session whose body is about `size` bytes (long whitespace)."""
    text = json.dumps({"sessions": [session(app_id)]})
    return text[:-1] + " " * (size - len(text)) + "}"


def test_the_feed_takes_bodies_up_to_16_mib(stack, public, ingest):
    app_id = new_app(public, ingest)
    h = auth(ingest, **{"Content-Type": "application/json"})
    r = public.post("/api/gamestats/sessions", data=padded_batch(app_id, 4 * 1024 * 1024), headers=h)
    assert r.status_code == 200, r.text
    r = public.post("/api/gamestats/sessions", data=padded_batch(app_id, 16 * 1024 * 1024 + 10), headers=h)
    assert r.status_code == 413
    bomb = gzip.compress(padded_batch(app_id, 17 * 1024 * 1024).encode())
    assert len(bomb) < 1024 * 1024
    r = public.post("/api/gamestats/sessions", data=bomb, headers=dict(h, **{"Content-Encoding": "gzip"}))
    assert r.status_code == 413
    assert raw_count(stack, app_id) == 1
    # another mikros write keeps the 1 MiB limit
    body = json.dumps({"name": "N" * 10, "genre": "A", "content_genre": "B", "gameplay_type": "C"})
    r = public.put(f"/api/gamestats/apps/{app_id}", data=body[:-1] + " " * (2 * 1024 * 1024) + "}", headers=h)
    assert r.status_code == 413


def test_contributors_have_one_role_each(stack, public, ingest):
    u = "feed-c-" + uuid.uuid4().hex[:8]
    r = public.post("/api/gamestats/contributors", headers=auth(ingest), json={"contributors": [
        {"user_id": u, "role": "tester"}, {"user_id": u + "x", "role": "developer"}, {"user_id": u, "role": "player"}]})
    assert r.status_code == 200 and r.json()["accepted"] == 3
    assert stack.sql("SELECT user_id, role FROM mikros_contributors WHERE user_id LIKE %s ORDER BY user_id",
                     u + "%") == [(u, "player"), (u + "x", "developer")]
    r = public.post("/api/gamestats/contributors", headers=auth(ingest),
                    json={"contributors": [{"user_id": u, "role": "boss"}]})
    assert r.status_code == 400 and "contributors[0].role" in r.json()["error"]["message"]


def test_a_batch_waiting_on_a_concurrent_one_past_ten_seconds_still_lands(stack, public, ingest):
    """A batch that shares a player with one in flight waits for it (the chains are spliced one batch
    at a time); the feed's transaction allows 30 s where the bot's statements stop at 10."""
    import psycopg2
    app_id, player = new_app(public, ingest), "feed-" + uuid.uuid4().hex[:8]
    assert post_sessions(public, ingest, [session(app_id, player)]).status_code == 200
    holder = psycopg2.connect(stack.dsn)
    try:
        with holder.cursor() as cur:   # what a concurrent batch holds while it splices this player's chains
            cur.execute("SELECT 1 FROM mikros_users WHERE user_id = %s FOR UPDATE", (player,))
        release = threading.Timer(11, holder.rollback)
        release.start()
        t = time.monotonic()
        r = post_sessions(public, ingest, [session(app_id, player, started_at=ago(minutes=5))], timeout=40)
        waited = time.monotonic() - t
    finally:
        release.join()
        holder.close()
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
    assert waited >= 10.5, waited
    assert raw_count(stack, app_id) == 2


def test_the_pair_window_move_gives_way_to_a_batch_in_flight(stack):
    """mikros_pair_refresh locks the sessions table against writers; behind a writer it waits 200 ms
    and leaves the window (-1) instead of holding every later batch in the lock's queue."""
    import psycopg2
    [(before,)] = stack.sql("SELECT upto FROM mikros_pair_window")
    holder = psycopg2.connect(stack.dsn)
    try:
        with holder.cursor() as cur:   # a batch writing: ROW EXCLUSIVE on mikros_sessions
            cur.execute("LOCK TABLE mikros_sessions IN ROW EXCLUSIVE MODE")
        t = time.monotonic()
        assert stack.sql("SELECT mikros_pair_refresh(now())") == [(-1,)]
        assert time.monotonic() - t < 2
        assert stack.sql("SELECT upto FROM mikros_pair_window") == [(before,)]
    finally:
        holder.rollback()
        holder.close()
    [(moved,)] = stack.sql("SELECT mikros_pair_refresh(now())")
    assert moved >= 0
    assert stack.sql("SELECT upto > %s FROM mikros_pair_window", before) == [(True,)]
