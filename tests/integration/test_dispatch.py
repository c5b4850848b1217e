"""The dispatcher's rules, through nginx: auth and envelopes per family, rate-limit headers and 429,
response caching with invalidation, request bodies, 404/405 and request ids.

The /_test/* routes (test_routes = on) put each rule on a route of its own; see docs/internals.md.
"""
import gzip
import json
import math
import time
import uuid

import pytest


def new_key(stack, scope, label="test"):
    out = stack.admin("keys", "create", "--scope", scope, "--label", label).stdout.strip()
    assert out.startswith("gh_"), out
    return out


def client_ip():
    """A fresh client address per test: nginx trusts loopback as a proxy and takes X-Forwarded-For."""
    n = uuid.uuid4().int
    return f"10.{n % 250}.{(n >> 8) % 250}.{(n >> 16) % 250 + 1}"


# --- authentication and envelopes ---------------------------------------------------------------

def test_mikros_missing_key_is_401_in_mikros_envelope(public):
    r = public.get("/_test/mikros-auth")
    assert r.status_code == 401
    body = r.json()
    assert body["success"] is False
    assert body["error"]["code"] == "UNAUTHORIZED"
    assert body["timestamp"].endswith("Z")
    assert r.headers["Cache-Control"] == "no-store"


def test_mikros_valid_key_passes_and_wrong_scope_is_403(stack, public):
    key = new_key(stack, "mikros")
    r = public.get("/_test/mikros-auth", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 200, r.text
    assert r.json()["key_id"] == key.split("_")[1]
    other = new_key(stack, "scheduler")
    r = public.get("/_test/mikros-auth", headers={"Authorization": f"Bearer {other}"})
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "FORBIDDEN"


def test_tampered_and_malformed_keys_are_401(stack, public):
    key = new_key(stack, "mikros")
    tampered = key[:-1] + ("A" if key[-1] != "A" else "B")
    for bad in (tampered, "gh_000000000000_" + "x" * 43, "not-a-key", ""):
        r = public.get("/_test/mikros-auth", headers={"Authorization": f"Bearer {bad}"})
        assert r.status_code == 401, bad
        assert r.json()["error"]["code"] == "UNAUTHORIZED"


def test_scheduler_uses_x_api_key_and_detail_envelope(stack, public):
    r = public.get("/_test/scheduler-auth")
    assert r.status_code == 401
    assert set(r.json()) == {"detail"}
    key = new_key(stack, "scheduler")
    # a Bearer header is not how the scheduler family authenticates
    assert public.get("/_test/scheduler-auth", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    r = public.get("/_test/scheduler-auth", headers={"X-API-Key": key})
    assert r.status_code == 200
    assert "scheduler" in r.json()["scopes"]
    r = public.get("/_test/scheduler-auth", headers={"X-API-Key": new_key(stack, "mikros")})
    assert r.status_code == 403
    assert set(r.json()) == {"detail"}


def test_revoked_key_stops_working_and_is_audited(stack, public):
    key = new_key(stack, "mikros")
    key_id = key.split("_")[1]
    h = {"Authorization": f"Bearer {key}"}
    assert public.get("/_test/mikros-auth", headers=h).status_code == 200   # now cached in memcached
    assert "revoked" in stack.admin("keys", "revoke", key_id).stdout
    assert public.get("/_test/mikros-auth", headers=h).status_code == 401
    listed = stack.admin("keys", "list").stdout
    (row,) = [line for line in listed.splitlines() if line.startswith(key_id)]
    assert row.split()[-1] != "-"      # revoked_at is set
    rows = stack.sql("SELECT action, category, user_id FROM audit_logs WHERE details->>'key_id' = %s "
                     "ORDER BY created_at", key_id)
    assert [r[0] for r in rows] == ["keys.create", "keys.revoke"]
    assert all(r[1] == "security" and r[2] == "system" for r in rows)


def test_keys_are_stored_hashed(stack):
    key = new_key(stack, "mikros")
    key_id, secret = key.split("_")[1], key.split("_", 2)[2]
    (stored,) = stack.sql("SELECT encode(secret_hash, 'hex') FROM api_keys WHERE id = %s", key_id)
    assert secret not in stored[0] and len(stored[0]) == 64
    assert secret not in open(stack.log_file, errors="replace").read()


def test_unknown_scope_is_refused_by_the_admin_command(stack):
    r = stack.admin("keys", "create", "--scope", "everything", check=False)
    assert r.returncode != 0
    assert "unknown scope" in r.stderr


# --- rate limits --------------------------------------------------------------------------------

def test_per_ip_limit_headers_and_429(public):
    ip = client_ip()
    h = {"X-Forwarded-For": ip}
    remaining = []
    for _ in range(5):
        r = public.get("/_test/limited", headers=h)
        assert r.status_code == 200
        assert r.headers["X-RateLimit-Limit"] == "5"
        remaining.append(int(r.headers["X-RateLimit-Remaining"]))
        assert int(r.headers["X-RateLimit-Reset"]) >= int(time.time())
    assert remaining == [4, 3, 2, 1, 0]
    r = public.get("/_test/limited", headers=h)
    assert r.status_code == 429
    assert r.json()["code"] == "RATE_LIMIT"
    assert int(r.headers["Retry-After"]) >= 1
    assert r.headers["X-RateLimit-Remaining"] == "0"
    # another client is unaffected
    assert public.get("/_test/limited", headers={"X-Forwarded-For": client_ip()}).status_code == 200


def test_mikros_burst_of_200_then_429(stack, public):
    key = new_key(stack, "mikros")
    h = {"Authorization": f"Bearer {key}"}
    started = time.monotonic()
    statuses = []
    while len(statuses) < 260 and (not statuses or statuses[-1].status_code != 429):
        statuses.append(public.get("/_test/mikros-auth", headers=h))
    elapsed = time.monotonic() - started
    passed = sum(1 for r in statuses if r.status_code == 200)
    # a full bucket passes 200 back to back; the bucket refills one per 0.6 s while we send
    assert 200 <= passed <= 200 + int(elapsed / 0.6) + 1, (passed, elapsed)
    first = statuses[0]
    assert first.headers["X-RateLimit-Limit"] == "100"
    assert int(first.headers["X-RateLimit-Remaining"]) == 199
    last = statuses[-1]
    assert last.status_code == 429
    assert last.json()["error"]["code"] == "RATE_LIMIT_EXCEEDED"
    assert last.headers["Retry-After"] == "1"
    # the bucket refills at one request per 0.6 s
    time.sleep(0.7)
    assert public.get("/_test/mikros-auth", headers=h).status_code == 200
    # the limit is per key: a second key is unaffected
    assert public.get("/_test/mikros-auth", headers={"Authorization": f"Bearer {new_key(stack, 'mikros')}"}).status_code == 200


# --- response cache -----------------------------------------------------------------------------

def test_cache_miss_then_hit_then_invalidated(stack, public):
    uid = str(uuid.uuid4().int % 10**18)
    stack.sql("INSERT INTO users (id, global_name) VALUES (%s, 'first')", uid)
    r1 = public.get(f"/_test/cached?id={uid}")
    assert r1.status_code == 200 and r1.headers["X-Cache"] == "MISS"
    assert r1.headers["Cache-Control"] == "public, s-maxage=60"
    stack.sql("UPDATE users SET global_name = 'second' WHERE id = %s", uid)
    r2 = public.get(f"/_test/cached?id={uid}")
    assert r2.headers["X-Cache"] == "HIT"
    assert r2.json()["global_name"] == "first"      # served from memcached, not the database
    assert r2.content == r1.content
    assert public.post("/_test/bump").status_code == 200
    r3 = public.get(f"/_test/cached?id={uid}")
    assert r3.headers["X-Cache"] == "MISS"
    assert r3.json()["global_name"] == "second"


def test_cache_key_ignores_unknown_parameters_but_not_known_ones(stack, public):
    a, b = (str(uuid.uuid4().int % 10**18) for _ in range(2))
    for uid in (a, b):
        stack.sql("INSERT INTO users (id, global_name) VALUES (%s, %s)", uid, uid[:8])
    assert public.get(f"/_test/cached?id={a}").headers["X-Cache"] == "MISS"
    assert public.get(f"/_test/cached?utm=x&id={a}").headers["X-Cache"] == "HIT"
    r = public.get(f"/_test/cached?id={b}")
    assert r.headers["X-Cache"] == "MISS" and r.json()["id"] == b


def test_errors_are_never_cached(public):
    missing = "9" * 19
    for _ in range(2):
        r = public.get(f"/_test/cached?id={missing}")
        assert r.status_code == 404
        assert r.headers["X-Cache"] == "MISS"
        assert r.headers["Cache-Control"] == "no-store"


def test_cached_responses_still_count_against_the_limit(public):
    # GET /api/archives has a cache rule (a day, keyed by the query) and a per-IP limit (50 a minute):
    # a HIT skips the handler but not the limit, so every HIT takes a slot and the empty bucket
    # answers 429 however cached the response is
    ip, other = client_ip(), client_ip()
    path = f"/api/archives?page={2 + uuid.uuid4().int % 999990}"   # a cache key no other request used
    started = time.monotonic()
    first = public.get(path, headers={"X-Forwarded-For": ip})
    assert first.status_code == 200 and first.headers["X-Cache"] == "MISS", first.headers
    limit = int(first.headers["X-RateLimit-Limit"])
    remaining = [int(first.headers["X-RateLimit-Remaining"])]
    while True:
        r = public.get(path, headers={"X-Forwarded-For": ip})
        if r.status_code != 200:
            break
        assert r.headers["X-Cache"] == "HIT", r.headers
        assert r.content == first.content
        remaining.append(int(r.headers["X-RateLimit-Remaining"]))
        assert len(remaining) <= 2 * limit, f"no 429 after {len(remaining)} requests: HITs are not counted"
    assert r.status_code == 429, r.text
    assert r.json()["code"] == "RATE_LIMIT" and r.headers.get("X-Cache") != "HIT", r.headers
    assert r.headers["X-RateLimit-Remaining"] == "0"
    # a full bucket lets `limit` requests through back to back, HITs included; it refills at `limit`
    # per minute, so a slow run may see a few more pass
    refill = math.floor((time.monotonic() - started) * limit / 60)
    assert limit <= len(remaining) <= limit + refill, (len(remaining), remaining)
    assert remaining[0] == limit - 1 and remaining[-1] == 0, remaining
    assert all(b <= a for a, b in zip(remaining, remaining[1:])), remaining
    if refill == 0:     # all within one emission interval: each HIT took exactly one slot
        assert remaining == list(range(limit - 1, -1, -1)), remaining
    # the entry is still there: another client gets the HIT from a bucket of its own
    r = public.get(path, headers={"X-Forwarded-For": other})
    assert r.status_code == 200 and r.headers["X-Cache"] == "HIT", r.headers
    assert int(r.headers["X-RateLimit-Remaining"]) == limit - 1


# --- bodies -------------------------------------------------------------------------------------

def test_echo_round_trip(public):
    doc = {"a": [1, 2, {"b": "é😀"}], "n": None}
    r = public.post("/_test/echo", json=doc)
    assert r.status_code == 200
    assert r.json() == doc
    assert r.headers["Cache-Control"] == "no-store"


def test_gzip_request_body_is_accepted(public):
    doc = {"hello": "world" * 100}
    r = public.post("/_test/echo", data=gzip.compress(json.dumps(doc).encode()),
                    headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert r.status_code == 200
    assert r.json() == doc


def test_body_over_1mib_is_413(public):
    big = json.dumps({"x": "a" * (1024 * 1024)})
    r = public.post("/_test/echo", data=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert r.json()["code"] == "PAYLOAD_TOO_LARGE"


def test_gzip_bomb_is_413(public):
    bomb = gzip.compress(b'{"x":"' + b"a" * (8 * 1024 * 1024) + b'"}')
    assert len(bomb) < 64 * 1024
    r = public.post("/_test/echo", data=bomb,
                    headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert r.status_code == 413


@pytest.mark.parametrize("body", [b"{", b"{'a':1}", b"[1,]", b"[NaN]", b'{"a":1}x', b"[" * 33 + b"]" * 33,
                                  b'"\xff"', b'"\xed\xa0\x80"'])
def test_malformed_bodies_are_400_without_internals(public, body):
    r = public.post("/_test/echo", data=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json()["code"] == "INVALID_PARAMS"
    assert "json_tokener" not in r.text


def test_depth_32_is_accepted(public):
    r = public.post("/_test/echo", data=b"[" * 32 + b"]" * 32, headers={"Content-Type": "application/json"})
    assert r.status_code == 200


def test_missing_body_and_wrong_type(public):
    r = public.post("/_test/echo", data=b"", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert "required" in r.json()["error"]
    r = public.post("/_test/echo", data=b"{}", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415


# --- routing --------------------------------------------------------------------------------------

@pytest.mark.parametrize("path,check", [
    ("/api/gamestats/nope", lambda b: b["success"] is False and b["error"]["code"] == "NOT_FOUND"),
    ("/api/archives/a/b/c/d", lambda b: b["code"] == "NOT_FOUND" and "details" in b),
    ("/scheduler/nope/nope", lambda b: set(b) == {"detail"}),
    ("/api/v1/nope/nope/nope/nope", lambda b: set(b) == {"error"}),
    ("/api/nope", lambda b: b == {"error": "Not found"}),
    ("/nope", lambda b: b == {"error": "Not found"}),
])
def test_unknown_paths_404_in_the_prefix_family_envelope(public, path, check):
    r = public.get(path)
    assert r.status_code == 404
    assert check(r.json()), r.text


def test_wrong_method_is_405_with_allow(public):
    r = public.delete("/_test/ping")
    assert r.status_code == 405
    assert r.headers["Allow"] == "GET, HEAD"
    r = public.get("/_test/echo")
    assert r.status_code == 405
    assert r.headers["Allow"] == "POST"


def test_trailing_slash_is_not_significant(public):
    assert public.get("/_test/ping/").status_code == 200


def test_every_response_has_a_request_id(public):
    ids = {public.get("/_test/ping").headers["X-Request-Id"] for _ in range(5)}
    assert len(ids) == 5
