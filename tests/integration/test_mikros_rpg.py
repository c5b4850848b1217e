"""RPG progression (spec 000 §19–22, CONTRACT 7.2): characters unique per (discord_id, server_id),
the leaderboard ranked with rank(), `me` beyond the top, and the action log."""
import random

import pytest

from test_dispatch import new_key


@pytest.fixture(scope="module")
def h(stack):
    return {"Authorization": f"Bearer {new_key(stack, 'mikros')}"}


def snowflake():
    return str(random.randrange(10**17, 10**18))


def save(public, h, discord_id, server_id, **fields):
    body = {"discord_id": discord_id, "server_id": server_id, "character_name": "Aragorn",
            "character_class": "WARRIOR", "level": 5, "xp": 1250,
            "stats": {"hp": 120, "str": 18}, "inventory": [], **fields}
    r = public.post("/api/rpg/characters", json=body, headers=h)
    assert r.status_code == 200, r.text
    return r.json()


def test_saving_again_updates_the_same_character(stack, public, h):
    d, s = snowflake(), snowflake()
    first = save(public, h, d, s)
    assert first["success"] is True and first["message"] == "Character saved successfully"
    again = save(public, h, d, s, level=6, xp=1500, character_name="Strider")
    assert again["character_id"] == first["character_id"]
    got = public.get(f"/api/rpg/characters/{d}", params={"server_id": s}, headers=h).json()["data"]
    assert (got["character_name"], got["level"], got["xp"], got["stats"]) == ("Strider", 6, 1500, {"hp": 120, "str": 18})
    assert stack.sql("SELECT count(*) FROM mikros_rpg_characters WHERE discord_id = %s", d) == [(1,)]


def test_without_server_id_the_latest_character_answers(public, h):
    d = snowflake()
    save(public, h, d, snowflake(), character_name="Old")
    save(public, h, d, snowflake(), character_name="New")
    got = public.get(f"/api/rpg/characters/{d}", headers=h).json()["data"]
    assert got["character_name"] == "New"


def test_unknown_and_malformed_characters(public, h):
    r = public.get(f"/api/rpg/characters/{snowflake()}", headers=h)
    assert r.status_code == 404 and r.json()["error"]["code"] == "NOT_FOUND"
    r = public.get("/api/rpg/characters/12ab", headers=h)
    assert r.status_code == 400


@pytest.mark.parametrize("change,field", [
    ({"discord_id": "123"}, "discord_id"), ({"server_id": "x"}, "server_id"), ({"level": 0}, "level"),
    ({"xp": -1}, "xp"), ({"character_name": ""}, "character_name"), ({"stats": {"hp": -3}}, "stats"),
    ({"stats": [1]}, "stats"), ({"inventory": {}}, "inventory"), ({"last_action_time": "soon"}, "last_action_time"),
])
def test_character_fields_are_checked(public, h, change, field):
    body = {"discord_id": snowflake(), "server_id": snowflake(), "character_name": "A", "character_class": "MAGE",
            "level": 1, "xp": 0, **change}
    r = public.post("/api/rpg/characters", json=body, headers=h)
    assert r.status_code == 400 and field in r.json()["error"]["message"], r.text


def test_the_leaderboard_ranks_with_rank_and_shows_me(public, h):
    server = snowflake()
    players = [(snowflake(), lvl, xp) for lvl, xp in [(15, 5000), (12, 3800), (12, 3800), (9, 9000), (3, 10)]]
    for d, lvl, xp in players:
        save(public, h, d, server, level=lvl, xp=xp)
    body = public.get("/api/rpg/leaderboard", params={"server_id": server, "limit": 3}, headers=h).json()
    assert body["total_players"] == 5 and "me" not in body
    assert [(r["level"], r["xp"], r["rank"]) for r in body["data"]] == [(15, 5000, 1), (12, 3800, 2), (12, 3800, 2)]
    by_xp = public.get("/api/rpg/leaderboard", params={"server_id": server, "sort_by": "xp"}, headers=h).json()
    assert [r["xp"] for r in by_xp["data"]] == [9000, 5000, 3800, 3800, 10]
    assert [r["rank"] for r in by_xp["data"]] == [1, 2, 3, 3, 5]
    oldest = public.get("/api/rpg/leaderboard", params={"server_id": server, "sort_by": "created_at"},
                        headers=h).json()
    assert [r["discord_id"] for r in oldest["data"]] == [p[0] for p in players]
    last = players[-1][0]
    mine = public.get("/api/rpg/leaderboard", params={"server_id": server, "limit": 2, "discord_id": last},
                      headers=h).json()
    assert len(mine["data"]) == 2 and mine["me"]["discord_id"] == last and mine["me"]["rank"] == 5
    nobody = public.get("/api/rpg/leaderboard", params={"server_id": server, "discord_id": snowflake()},
                        headers=h).json()
    assert nobody["me"] is None


def test_the_global_board_spans_servers(public, h):
    top = snowflake()
    save(public, h, top, snowflake(), level=999999, xp=1)
    body = public.get("/api/rpg/leaderboard", headers=h).json()
    assert body["data"][0]["discord_id"] == top and body["data"][0]["rank"] == 1
    assert body["total_players"] >= 1


@pytest.mark.parametrize("params", [{"sort_by": "name"}, {"limit": "x"}, {"server_id": "abc"}])
def test_leaderboard_parameters_are_checked(public, h, params):
    r = public.get("/api/rpg/leaderboard", params=params, headers=h)
    assert r.status_code == 400


def test_actions_are_logged_with_their_xp(stack, public, h):
    d, s = snowflake(), snowflake()
    r = public.post("/api/rpg/actions", headers=h, json={
        "discord_id": d, "server_id": s, "action_type": "explore", "character_level": 5, "xp_gained": 35,
        "outcome": "success", "narrative_encounter": "You discovered an ancient treasure!",
        "timestamp": "2025-01-27T12:00:00Z"})
    assert r.status_code == 200 and r.json()["message"] == "Action logged successfully", r.text
    rows = stack.sql("SELECT id::text, xp_gained, extract(epoch FROM happened_at)::bigint FROM mikros_rpg_actions "
                     "WHERE discord_id = %s", d)
    assert rows == [(r.json()["action_id"], 35, 1737979200)]
    r = public.post("/api/rpg/actions", headers=h, json={"discord_id": d, "server_id": s, "action_type": "x",
                                                          "character_level": 1, "outcome": "ok"})
    assert r.status_code == 400 and "xp_gained" in r.json()["error"]["message"]
