"""Community-game and spelling leaderboards (spec 000 §23–26, CONTRACT 7.2): every save kept with its
time, answered per period (UTC day, ISO week, month, all time) with each player's latest figures."""
import random

import pytest

from test_dispatch import new_key


@pytest.fixture(scope="module")
def h(stack):
    return {"Authorization": f"Bearer {new_key(stack, 'mikros')}"}


def snowflake():
    return str(random.randrange(10**17, 10**18))


def save_community(public, h, server, rows, **extra):
    body = {"server_id": server, "game_type": "word_unscramble", "session_id": "s1",
            "leaderboard": [{"discord_id": d, "username": f"P{d[-3:]}", "score": s, "wins": w, "first_solves": f}
                            for d, s, w, f in rows], **extra}
    r = public.post("/api/leaderboards/community-games", json=body, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["message"] == "Leaderboard saved successfully"
    return r.json()["leaderboard_id"]


def board(public, h, server, path="community-games", **params):
    r = public.get(f"/api/leaderboards/{path}", params={"server_id": server, **params}, headers=h)
    assert r.status_code == 200, r.text
    return r.json()["data"]


def age(stack, save_id, interval):
    stack.sql("UPDATE mikros_board_saves SET saved_at = now() - %s::interval WHERE id = %s", interval, save_id)


def test_latest_figures_per_player_ranked_with_rank(public, h):
    server, a, b, c = snowflake(), snowflake(), snowflake(), snowflake()
    save_community(public, h, server, [(a, 10, 1, 0), (b, 50, 2, 1)])
    save_community(public, h, server, [(a, 80, 3, 1), (c, 50, 2, 2)])
    got = board(public, h, server)
    assert got["total_players"] == 3 and got["period"] == "all_time" and got["game_type"] == "all"
    assert [(r["discord_id"], r["score"], r["rank"]) for r in got["leaderboard"]] == \
        [(a, 80, 1)] + sorted([(b, 50, 2), (c, 50, 2)])
    assert got["leaderboard"][0]["wins"] == 3 and got["leaderboard"][0]["username"] == f"P{a[-3:]}"
    assert len(board(public, h, server, limit=1)["leaderboard"]) == 1


def test_periods_count_only_their_saves(stack, public, h):
    server, a, b = snowflake(), snowflake(), snowflake()
    old = save_community(public, h, server, [(a, 999, 9, 9), (b, 5, 0, 0)])
    age(stack, old, "400 days")
    save_community(public, h, server, [(a, 7, 1, 0)])
    assert [(r["discord_id"], r["score"]) for r in board(public, h, server, period="daily")["leaderboard"]] == [(a, 7)]
    assert board(public, h, server, period="monthly")["total_players"] == 1
    every = board(public, h, server, period="all_time")
    assert every["total_players"] == 2
    assert {r["discord_id"]: r["score"] for r in every["leaderboard"]} == {a: 7, b: 5}
    week = stack.sql("SELECT date_trunc('week', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' <= now() - interval '1 day'")
    mid = save_community(public, h, server, [(b, 60, 1, 1)])
    age(stack, mid, "1 day")
    weekly = board(public, h, server, period="weekly")
    assert (b in {r["discord_id"] for r in weekly["leaderboard"]}) == week[0][0]
    assert b not in {r["discord_id"] for r in board(public, h, server, period="daily")["leaderboard"]}


def test_spelling_boards_use_points(public, h):
    server, a, b = snowflake(), snowflake(), snowflake()
    r = public.post("/api/leaderboards/spelling", headers=h, json={"server_id": server, "leaderboard": [
        {"discord_id": a, "username": "Speller1", "total_points": 45, "total_solves": 12, "first_solves": 5, "rank": 1},
        {"discord_id": b, "username": "Speller2", "total_points": 50, "total_solves": 3, "first_solves": 0}]})
    assert r.status_code == 200 and r.json()["message"] == "Spelling leaderboard saved successfully"
    got = board(public, h, server, "spelling")
    assert [(x["discord_id"], x["total_points"], x["total_solves"], x["rank"]) for x in got["leaderboard"]] == \
        [(b, 50, 3, 1), (a, 45, 12, 2)]
    assert got["total_players"] == 2 and "game_type" not in got
    # the boards are separate
    assert board(public, h, server)["total_players"] == 0


@pytest.mark.parametrize("change,field", [
    ({"server_id": "12"}, "server_id"),
    ({"leaderboard": [{"discord_id": "1", "username": "x", "score": 1, "wins": 0, "first_solves": 0}]},
     "leaderboard[0].discord_id"),
    ({"leaderboard": [{"discord_id": "123456789012345678", "username": "x", "score": -1, "wins": 0,
                       "first_solves": 0}]}, "leaderboard[0].score"),
    ({"leaderboard": [{"discord_id": "123456789012345678", "username": "x", "score": 1, "wins": 0,
                       "first_solves": 0}] * 2}, "leaderboard[1].discord_id"),
    ({"game_type": "chess"}, "game_type"),
])
def test_saves_are_checked(stack, public, h, change, field):
    server = snowflake()
    body = {"server_id": server, "leaderboard": [], **change}
    r = public.post("/api/leaderboards/community-games", json=body, headers=h)
    assert r.status_code == 400 and field in r.json()["error"]["message"], r.text
    assert stack.sql("SELECT count(*) FROM mikros_board_saves WHERE server_id = %s", server) == [(0,)]


@pytest.mark.parametrize("params,field", [({}, "server_id"), ({"server_id": "x"}, "server_id"),
                                          ({"server_id": "123456789012345678", "period": "yearly"}, "period")])
def test_reads_are_checked(public, h, params, field):
    r = public.get("/api/leaderboards/community-games", params=params, headers=h)
    assert r.status_code == 400 and field in r.json()["error"]["message"]
