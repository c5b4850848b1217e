"""The 13 MIKROS analytics GETs (spec 000 §1–13, CONTRACT 7.2), each figure checked against a direct
computation in Python over the sessions this module ingests itself.

The module empties the feed's tables and ingests a seeded data set through mikros_ingest_sessions (the
feed's own SQL, which writes the raw rows and the rollups together); memcached is restarted so no answer
cached by an earlier module is served. No session starts within two minutes of a window boundary, so the
few seconds between computing the expectation and the request cannot move a session across one.
"""
import json
import random
import statistics
import time
from collections import defaultdict
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal

import pytest

from test_dispatch import new_key
from harness import wait_for

DAY = 86400
GENRES = {  # app_id: (genre, content_genre, gameplay_type, active)
    "an-a1": ("Action", "Co-op", "Competitive", True),
    "an-a2": ("Action", "Story", "Casual", True),
    "an-a3": ("Puzzle", "Co-op", "Casual", True),
    "an-a4": ("Roguelike", "Story", "Competitive", False),
    "an-a5": ("Racing", "Arcade", "Hyper-casual", True),
}
CONTENT_TYPES = ["level", "boss", "character", "item"]
BOUNDARIES = [7, 14, 30, 60, 90, 180]


def round1(x):
    return float(Decimal(str(x)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def iso(t):
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_sessions(now):
    rng = random.Random(9)
    sessions = []
    while len(sessions) < 600:
        back = rng.uniform(0.001, 70) * DAY
        if any(abs(back - b * DAY) < 300 for b in BOUNDARIES) or back < 300:
            continue
        app = rng.choice(list(GENRES))
        if app == "an-a5" and back > 7 * DAY:
            continue  # Racing is new: no baseline, so the trending lists leave it out
        # Puzzle grows: most of its sessions are recent
        if app == "an-a3" and back > 30 * DAY and rng.random() < 0.7:
            continue
        s = {"app_id": app, "user_id": f"an-u{rng.randrange(40)}", "started_at": int(now - back),
             "duration_seconds": rng.randrange(30, 3600)}
        if rng.random() < 0.5:
            s["content"] = [{"content_id": f"{app}-c{k}", "content_name": f"Content {app} {k}",
                             "content_type": CONTENT_TYPES[k % 4], "playtime_seconds": rng.randrange(10, 900)}
                            for k in rng.sample(range(6), rng.randrange(1, 3))]
        sessions.append(s)
    return sessions


@pytest.fixture(scope="module")
def data(stack):
    stack.sql("TRUNCATE mikros_session_content, mikros_sessions, mikros_daily_content, "
              "mikros_users, mikros_contents, mikros_apps, mikros_contributors, "
              "mikros_key_days, mikros_key_day_prev, mikros_key_hours, mikros_key_durations, mikros_pair_seconds, "
              "mikros_pair_lengths CASCADE")
    stack.sql("UPDATE mikros_pair_window SET upto = now(), last_id = 0")
    for app, (g, cg, gt, active) in GENRES.items():
        stack.sql("INSERT INTO mikros_apps (app_id, name, genre, content_genre, gameplay_type, active) "
                  "VALUES (%s, %s, %s, %s, %s, %s)", app, f"Game {app}", g, cg, gt, active)
    sessions = make_sessions(time.time())
    batch = [dict(s, started_at=iso(s["started_at"])) for s in sessions]
    for i in range(0, len(batch), 200):
        rows = stack.sql("SELECT accepted FROM mikros_ingest_sessions(%s::jsonb)", json.dumps(batch[i:i + 200]))
        assert rows[0][0] == len(batch[i:i + 200])
    stack.sql("INSERT INTO mikros_contributors (user_id, role) SELECT 'an-c' || g, "
              "(ARRAY['developer','tester','player','player'])[1 + g % 4] FROM generate_series(1, 23) g")
    stack.mc_stop()
    stack.mc_start()
    return sessions


@pytest.fixture(scope="module")
def key(stack):
    return new_key(stack, "mikros")


def get(public, key, path, **params):
    r = public.get(path, params=params, headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 200, r.text
    return r.json()


def window(length, back=0):
    end = int(time.time()) + 1 - length * back
    return end - length, end


def within(sessions, length, back=0):
    lo, hi = window(length, back)
    return [s for s in sessions if lo <= s["started_at"] < hi]


def dim_of(s, dim):
    return GENRES[s["app_id"]][{"genre": 0, "content_genre": 1, "gameplay_type": 2}[dim]]


def ranked(rows, key_fn):
    """rank() over key_fn descending: ties share a rank, the next rank skips."""
    rows = sorted(rows, key=key_fn, reverse=True)
    out, prev, rank = [], object(), 0
    for i, row in enumerate(rows, 1):
        if key_fn(row) != prev:
            rank, prev = i, key_fn(row)
        out.append(dict(row, rank=rank))
    return out


def figures(sessions, dim, measure, length, back):
    acc = defaultdict(set) if measure == "players" else defaultdict(int)
    for s in within(sessions, length, back):
        if measure == "players":
            acc[dim_of(s, dim)].add(s["user_id"])
        else:
            acc[dim_of(s, dim)] += 1
    return {k: (len(v) if measure == "players" else v) for k, v in acc.items()}


def expected_trending(sessions, dim, measure, period_days):
    cur = figures(sessions, dim, measure, period_days * DAY, 0)
    prev = figures(sessions, dim, measure, period_days * DAY, 1)
    rows = [{"name": k, "c": c, "p": prev[k], "growth": round1((c - prev[k]) * 100 / prev[k])}
            for k, c in cur.items() if prev.get(k)]
    return ranked(rows, lambda r: r["growth"])


def by_rank_then_name(rows, name):
    return sorted(rows, key=lambda r: (r["rank"], r[name]))


@pytest.mark.parametrize("period", ["7d", "30d", "90d"])
def test_trending_genres_are_player_growth_against_the_previous_period(public, key, data, period):
    body = get(public, key, "/api/gamestats/trending-genres", period=period, limit=10)
    want = expected_trending(data, "genre", "players", int(period[:-1]))
    got = by_rank_then_name(body["data"], "genre")
    assert [(r["genre"], r["growth_percentage"], r["current_players"], r["previous_players"], r["rank"]) for r in got] \
        == sorted([(r["name"], r["growth"], r["c"], r["p"], r["rank"]) for r in want], key=lambda t: (t[4], t[0]))
    assert body["period"] == period and body["success"] is True
    assert "Racing" not in {r["genre"] for r in got}  # no baseline


def test_trending_content_genres_are_session_growth(public, key, data):
    body = get(public, key, "/api/gamestats/trending-content-genres", limit=10)
    want = expected_trending(data, "content_genre", "sessions", 30)
    got = by_rank_then_name(body["data"], "genre")
    assert [(r["genre"], r["growth_percentage"], r["current_engagement"], r["previous_engagement"], r["rank"])
            for r in got] == sorted([(r["name"], r["growth"], r["c"], r["p"], r["rank"]) for r in want],
                                    key=lambda t: (t[4], t[0]))
    assert "period" not in body


def test_trending_gameplay_types_echo_the_period(public, key, data):
    body = get(public, key, "/api/gamestats/trending-gameplay-types", period="7d", limit=10)
    want = expected_trending(data, "gameplay_type", "players", 7)
    got = by_rank_then_name(body["data"], "type")
    assert [(r["type"], r["growth_percentage"], r["current_players"], r["rank"]) for r in got] \
        == sorted([(r["name"], r["growth"], r["c"], r["rank"]) for r in want], key=lambda t: (t[3], t[0]))
    assert body["period"] == "7d"


def test_the_default_limit_and_clamping(public, key, data):
    assert len(get(public, key, "/api/gamestats/trending-genres")["data"]) <= 3
    assert len(get(public, key, "/api/gamestats/popular-content", limit=500)["data"]) <= 20
    assert len(get(public, key, "/api/gamestats/popular-content")["data"]) == 5


def content_playtime(sessions, length, back):
    acc = defaultdict(int)
    for s in within(sessions, length, back):
        for c in s.get("content", []):
            acc[(s["app_id"], c["content_id"])] += c["playtime_seconds"]
    return acc


def test_trending_content_is_playtime_growth_over_seven_days(public, key, data):
    cur, prev = content_playtime(data, 7 * DAY, 0), content_playtime(data, 7 * DAY, 1)
    total = sum(cur.values())
    rows = [{"id": k, "growth": round1((v - prev[k]) * 100 / prev[k]), "pt": v} for k, v in cur.items() if prev.get(k)]
    want = ranked(rows, lambda r: (r["growth"], r["pt"]))[:20]
    body = get(public, key, "/api/gamestats/trending-content", limit=20)
    got = body["data"]
    assert [((r["game_id"], r["content_id"]), r["growth_percentage"], r["rank"]) for r in got] \
        == [(r["id"], r["growth"], r["rank"]) for r in sorted(want, key=lambda r: (r["rank"], r["id"]))]
    for r in got:
        v = cur[(r["game_id"], r["content_id"])]
        assert r["usage_percentage"] == round1(v * 100 / total)
        assert r["playtime_hours"] == round1(v / 3600)
        assert r["game_name"] == f"Game {r['game_id']}"
    bosses = get(public, key, "/api/gamestats/trending-content", limit=20, content_type="boss")["data"]
    assert {r["content_type"] for r in bosses} <= {"boss"}
    assert [r["content_id"] for r in bosses] == [r["content_id"] for r in got if r["content_type"] == "boss"]


def test_popular_genres_have_market_share(public, key, data):
    recent = within(data, 30 * DAY)
    everyone = {s["user_id"] for s in recent}
    players = figures(data, "genre", "players", 30 * DAY, 0)
    want = ranked([{"genre": g, "n": n} for g, n in players.items()], lambda r: r["n"])
    got = get(public, key, "/api/gamestats/popular-genres", limit=10)["data"]
    assert sorted((r["genre"], r["total_players"], r["market_share"], r["rank"]) for r in got) \
        == sorted((r["genre"], r["n"], round1(r["n"] * 100 / len(everyone)), r["rank"]) for r in want)


def test_popular_content_genres_and_gameplay_types(public, key, data):
    sessions = figures(data, "content_genre", "sessions", 30 * DAY, 0)
    got = get(public, key, "/api/gamestats/popular-content-genres", limit=10)["data"]
    assert sorted((r["genre"], r["total_engagement"], r["rank"]) for r in got) \
        == sorted((r["genre"], r["n"], r["rank"]) for r in ranked(
            [{"genre": g, "n": n} for g, n in sessions.items()], lambda r: r["n"]))
    players = figures(data, "gameplay_type", "players", 30 * DAY, 0)
    got = get(public, key, "/api/gamestats/popular-gameplay-types", limit=10)["data"]
    assert sorted((r["type"], r["total_players"], r["rank"]) for r in got) \
        == sorted((r["t"], r["n"], r["rank"]) for r in ranked(
            [{"t": g, "n": n} for g, n in players.items()], lambda r: r["n"]))


def test_popular_content_is_playtime_in_minutes_with_distinct_players(public, key, data):
    pt = content_playtime(data, 30 * DAY, 0)
    who = defaultdict(set)
    for s in within(data, 30 * DAY):
        for c in s.get("content", []):
            who[(s["app_id"], c["content_id"])].add(s["user_id"])
    want = ranked([{"id": k, "pt": v} for k, v in pt.items()], lambda r: r["pt"])
    got = get(public, key, "/api/gamestats/popular-content", limit=20)["data"]
    cut = max(r["rank"] for r in got)
    for r in got:
        k = (r["game_id"], r["content_id"])
        assert r["total_playtime"] == round1(pt[k] / 60)
        assert r["unique_players"] == len(who[k])
        assert r["rank"] == next(w["rank"] for w in want if w["id"] == k)
    # every content ranked above the last one shown is shown
    assert {w["id"] for w in want if w["rank"] < cut} <= {(r["game_id"], r["content_id"]) for r in got}


def test_totals(public, key, data):
    apps = get(public, key, "/api/gamestats/total-apps")
    assert apps["data"]["total_apps"] == len(GENRES)
    assert apps["data"]["active_apps"] == sum(1 for g in GENRES.values() if g[3])
    assert apps["data"]["inactive_apps"] == sum(1 for g in GENRES.values() if not g[3])
    assert "timestamp" in apps["data"] and "timestamp" not in apps
    c = get(public, key, "/api/gamestats/total-contributors")["data"]
    roles = [["developer", "tester", "player", "player"][g % 4] for g in range(1, 24)]
    assert (c["total_contributors"], c["developers"], c["testers"], c["players"]) == \
        (23, roles.count("developer"), roles.count("tester"), roles.count("player"))
    u = get(public, key, "/api/gamestats/total-users")["data"]
    last = defaultdict(int)
    for s in data:
        last[s["user_id"]] = max(last[s["user_id"]], s["started_at"])
    now = time.time()
    assert u["total_users"] == len(last)
    assert u["active_last_30d"] == sum(1 for t in last.values() if t >= now - 30 * DAY)
    assert u["active_last_7d"] == sum(1 for t in last.values() if t >= now - 7 * DAY)


def median1(values):
    return round1(statistics.median(values)) if values else None


@pytest.mark.parametrize("genre", [None, "Action", "Puzzle"])
def test_average_gameplay_time_is_over_app_player_pairs(public, key, data, genre):
    pairs = defaultdict(int)
    for s in within(data, 30 * DAY):
        if genre is None or GENRES[s["app_id"]][0] == genre:
            pairs[(s["app_id"], s["user_id"])] += s["duration_seconds"]
    minutes = [v / 60 for v in pairs.values()]
    body = get(public, key, "/api/gamestats/avg-gameplay-time", **({"genre": genre} if genre else {}))["data"]
    assert body["sample_size"] == len(minutes)
    assert body["average_minutes"] == round1(sum(minutes) / len(minutes))
    assert body["median_minutes"] == median1(minutes)
    assert body["genre"] == genre


def test_average_gameplay_time_after_its_window_moves(stack, public, key, data):
    """The built-in job mikros.pair_window keeps the pairs' totals; the answer stays the direct one."""
    sched = {"X-API-Key": new_key(stack, "scheduler")}
    [(job,)] = stack.sql("SELECT id::text FROM scheduler_jobs WHERE job_kind = 'mikros.pair_window'")
    [(before,)] = stack.sql("SELECT count(*) FROM scheduler_runs WHERE job_id = %s AND status = 'success'", job)
    assert public.post(f"/scheduler/jobs/{job}/run", headers=sched).status_code == 202
    wait_for(lambda: stack.sql("SELECT count(*) FROM scheduler_runs WHERE job_id = %s AND status = 'success'",
                               job)[0][0] > before, timeout=20, what="the pair_window run")
    [(kept,)] = stack.sql("SELECT count(*) FROM mikros_pair_seconds")
    assert kept == len({(s["app_id"], s["user_id"]) for s in within(data, 30 * DAY)})
    stack.mc_stop()
    stack.mc_start()
    test_average_gameplay_time_is_over_app_player_pairs(public, key, data, None)
    test_average_gameplay_time_is_over_app_player_pairs(public, key, data, "Action")


@pytest.mark.parametrize("genre", [None, "Action"])
def test_average_session_time_is_over_sessions(public, key, data, genre):
    minutes = [s["duration_seconds"] / 60 for s in within(data, 30 * DAY)
               if genre is None or GENRES[s["app_id"]][0] == genre]
    body = get(public, key, "/api/gamestats/avg-session-time", **({"genre": genre} if genre else {}))["data"]
    assert body["sample_size"] == len(minutes)
    assert body["average_minutes"] == round1(sum(minutes) / len(minutes))
    assert body["median_minutes"] == median1(minutes)


def test_an_unknown_genre_has_nothing_to_average(public, key, data):
    body = get(public, key, "/api/gamestats/avg-session-time", genre="Nope")["data"]
    assert body["sample_size"] == 0 and body["average_minutes"] is None and body["median_minutes"] is None


@pytest.mark.parametrize("path,params,field", [
    ("trending-genres", {"limit": "abc"}, "limit"),
    ("trending-genres", {"limit": "0"}, "limit"),
    ("trending-genres", {"period": "1d"}, "period"),
    ("trending-content", {"content_type": "song"}, "content_type"),
    ("avg-gameplay-time", {"genre": "x" * 101}, "genre"),
])
def test_bad_parameters_are_400_naming_them(public, key, data, path, params, field):
    r = public.get(f"/api/gamestats/{path}", params=params, headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 400
    body = r.json()
    assert body["success"] is False and body["error"]["code"] == "INVALID_REQUEST"
    assert field in body["error"]["message"]


def test_scope_and_key_are_required(stack, public, data):
    assert public.get("/api/gamestats/total-apps").status_code == 401
    ingest = new_key(stack, "mikros_ingest")
    r = public.get("/api/gamestats/total-apps", headers={"Authorization": f"Bearer {ingest}"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "FORBIDDEN"


def test_answers_are_cached_privately(public, key, data):
    h = {"Authorization": f"Bearer {key}"}
    first = public.get("/api/gamestats/popular-genres", params={"limit": 7}, headers=h)
    again = public.get("/api/gamestats/popular-genres", params={"limit": "7"}, headers=h)
    assert first.headers["X-Cache"] == "MISS" and again.headers["X-Cache"] == "HIT"
    assert first.headers["Cache-Control"] == "private, max-age=60"
    assert first.json()["data"] == again.json()["data"]
