"""The Roblox family's games, keys, tokens and display objects (spec 004, CONTRACT 7.4): keys of
the form RBXG-<48 hex> shown once and stored hashed, rotation revoking the old key and its tokens
(or after a grace period), tokens of 24 hours, X-API-Key calls, and every display route scoped to
the caller's own game."""
import re
import uuid

import pytest

from test_dispatch import new_key


@pytest.fixture(scope="module")
def admin(stack):
    return {"Authorization": f"Bearer {new_key(stack, 'roblox_admin')}"}


def register(public, admin, name="Test Game", **fields):
    r = public.post("/api/v1/games", json={"name": name, **fields}, headers=admin)
    assert r.status_code == 201, r.text
    return r.json()


def rotate(public, admin, game_id, **body):
    r = public.post(f"/api/v1/games/{game_id}", json=body or None, headers=admin)
    assert r.status_code == 200, r.text
    return r.json()["apiKey"]


def token_for(public, key):
    r = public.post("/api/v1/authenticate", json={"api_key": key})
    assert r.status_code == 200, r.text
    assert r.json()["expires_in"] == 86400
    return {"Authorization": f"Bearer {r.json()['token']}"}


@pytest.fixture
def game(public, admin):
    g = register(public, admin)
    key = rotate(public, admin, g["id"])
    return {"id": g["id"], "key": key, "token": token_for(public, key)}


def displays(public, creds, game_id):
    return public.get(f"/api/v1/game/{game_id}/display", headers=creds)


def test_a_game_is_registered_by_an_admin_key(public, admin, stack):
    g = register(public, admin, "Obby Tycoon", thumbnail="https://cdn.example.com/t.png")
    assert set(g) == {"id", "name", "thumbnail", "createdAt"}
    assert (g["name"], g["thumbnail"]) == ("Obby Tycoon", "https://cdn.example.com/t.png")
    assert re.fullmatch(r"game_[0-9a-f]{12}", g["id"])
    named = register(public, admin, "Named", id=f"g-{uuid.uuid4().hex[:8]}")
    again = public.post("/api/v1/games", json={"name": "Again", "id": named["id"]}, headers=admin)
    assert again.status_code == 409 and again.json() == {"error": "A game with this id already exists"}
    assert register(public, admin, "Obby Tycoon")["id"] != g["id"]   # names need not be unique
    bad = public.post("/api/v1/games", json={"thumbnail": 5}, headers=admin)
    assert bad.status_code == 400 and bad.json()["error"] == "Validation failed"
    assert {d["field"] for d in bad.json()["details"]} == {"name", "thumbnail"}
    mikros = {"Authorization": f"Bearer {new_key(stack, 'mikros')}"}
    assert public.post("/api/v1/games", json={"name": "x"}, headers=mikros).status_code == 403
    assert public.post("/api/v1/games", json={"name": "x"}).status_code == 401
    [(audited,)] = stack.sql("SELECT count(*) FROM audit_logs WHERE action = 'roblox.game_create' "
                             "AND details->>'game_id' = %s", g["id"])
    assert audited == 1


def test_guildhall_admin_adds_and_lists_games(public, admin, stack):
    game_id = f"cli-{uuid.uuid4().hex[:8]}"
    out = stack.admin("games", "add", "CLI Game", "--id", game_id, "--thumbnail", "https://x.example/t.png")
    assert out.stdout.strip() == game_id
    assert stack.admin("games", "add", "Twice", "--id", game_id, check=False).returncode == 3
    listed = [line.split() for line in stack.admin("games", "list").stdout.splitlines()]
    [row] = [cols for cols in listed if cols[0] == game_id]
    assert row[-2:] == ["0", "-"]   # no key yet, never used
    key = rotate(public, admin, game_id)
    assert displays(public, {"X-API-Key": key}, game_id).status_code == 200
    [row] = [line.split() for line in stack.admin("games", "list").stdout.splitlines() if line.startswith(game_id)]
    assert row[-2] == "1" and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", row[-1])


def test_keys_are_rbxg_48_hex_shown_once_and_stored_hashed(public, admin, stack, game):
    assert re.fullmatch(r"RBXG-[0-9a-f]{48}", game["key"])
    rows = stack.sql("SELECT encode(key_hash, 'hex') FROM roblox_game_keys WHERE game_id = %s", game["id"])
    assert len(rows) == 1 and game["key"][5:] not in rows[0][0] and len(rows[0][0]) == 64
    assert stack.sql("SELECT count(*) FROM audit_logs WHERE action = 'roblox.key_create' "
                     "AND details->>'game_id' = %s", game["id"]) == [(1,)]
    r = public.post("/api/v1/games/no-such-game", headers=admin)
    assert r.status_code == 404 and r.json() == {"error": "Game not found"}
    r = public.post(f"/api/v1/games/{game['id']}", headers=game["token"])
    assert r.status_code == 403   # a game cannot rotate keys


def test_authenticate_refuses_unknown_and_malformed_keys(public):
    for key in ("RBXG-" + "0" * 48, "RBXG-short", "not a key", "RBXG-" + "A" * 48):
        r = public.post("/api/v1/authenticate", json={"api_key": key})
        assert r.status_code == 401 and r.json() == {"error": "Invalid API key"}, key
    r = public.post("/api/v1/authenticate", json={})
    assert r.status_code == 400 and r.json()["details"][0]["field"] == "api_key"


def test_a_game_calls_with_its_token_or_its_key(public, game):
    assert displays(public, game["token"], game["id"]).json() == {"displays": []}
    assert displays(public, {"X-API-Key": game["key"]}, game["id"]).status_code == 200
    assert displays(public, {"X-API-Key": "RBXG-" + "1" * 48}, game["id"]).status_code == 401
    assert displays(public, {"Authorization": "Bearer RBXT-" + "2" * 64}, game["id"]).status_code == 401
    assert displays(public, {}, game["id"]).status_code == 401


def test_rotation_revokes_the_old_key_and_its_tokens(public, admin, stack, game):
    new = rotate(public, admin, game["id"])
    assert new != game["key"]
    assert displays(public, game["token"], game["id"]).status_code == 401
    assert displays(public, {"X-API-Key": game["key"]}, game["id"]).status_code == 401
    assert public.post("/api/v1/authenticate", json={"api_key": game["key"]}).status_code == 401
    assert displays(public, token_for(public, new), game["id"]).status_code == 200
    assert stack.sql("SELECT count(*) FROM audit_logs WHERE action = 'roblox.key_rotate' "
                     "AND details->>'game_id' = %s", game["id"]) == [(1,)]


def test_a_grace_period_keeps_the_old_key_until_it_ends(public, admin, stack, game):
    new = rotate(public, admin, game["id"], grace_seconds=3600)
    for creds in (game["token"], {"X-API-Key": game["key"]}, {"X-API-Key": new}):
        assert displays(public, creds, game["id"]).status_code == 200
    assert public.post("/api/v1/authenticate", json={"api_key": game["key"]}).status_code == 200
    # a second rotation does not stretch the first key's grace
    rotate(public, admin, game["id"], grace_seconds=604800)
    [(first_end,)] = stack.sql("SELECT extract(epoch FROM revoked_at - now()) FROM roblox_game_keys "
                               "WHERE game_id = %s ORDER BY created_at LIMIT 1", game["id"])
    assert float(first_end) <= 3600
    stack.sql("UPDATE roblox_game_keys SET revoked_at = now() - interval '1 second' "
              "WHERE game_id = %s AND revoked_at < now() + interval '2 hours'", game["id"])
    assert displays(public, game["token"], game["id"]).status_code == 401
    assert displays(public, {"X-API-Key": game["key"]}, game["id"]).status_code == 401
    assert displays(public, {"X-API-Key": new}, game["id"]).status_code == 200   # still in its own grace
    for bad in (-1, 604801, "soon"):
        r = public.post(f"/api/v1/games/{game['id']}", json={"grace_seconds": bad}, headers=admin)
        assert r.status_code == 400 and r.json()["details"][0]["field"] == "grace_seconds"


def test_tokens_expire(public, stack, game):
    stack.sql("UPDATE roblox_tokens SET expires_at = now() - interval '1 second' WHERE game_id = %s", game["id"])
    assert displays(public, game["token"], game["id"]).status_code == 401
    assert displays(public, {"X-API-Key": game["key"]}, game["id"]).status_code == 200


def test_display_objects_are_created_read_changed_and_deleted(public, game):
    base = f"/api/v1/game/{game['id']}/display"
    r = public.post(base, json={"asset_id": "rbxassetid://1", "asset_type": "image"}, headers=game["token"])
    assert r.status_code == 200 and r.json()["status"] == "success", r.text
    one = r.json()["display_id"]
    placed = public.post(base, json={"asset_id": "a2", "asset_type": "video", "position": {"x": 1.5, "y": -2, "z": 3e2}},
                         headers=game["token"]).json()["display_id"]
    got = public.get(f"{base}/{one}", headers=game["token"]).json()
    assert got == {"display_id": one, "asset_id": "rbxassetid://1", "asset_type": "image",
                   "position": {"x": 0, "y": 0, "z": 0}}
    listed = displays(public, game["token"], game["id"]).json()["displays"]
    assert [d["display_id"] for d in listed] == [one, placed]
    assert listed[1]["position"] == {"x": 1.5, "y": -2, "z": 300}
    r = public.put(f"{base}/{placed}", json={"asset_type": "image"}, headers=game["token"])
    assert r.status_code == 200 and r.json() == {"status": "success"}
    after = public.get(f"{base}/{placed}", headers=game["token"]).json()
    assert (after["asset_id"], after["asset_type"], after["position"]) == ("a2", "image", {"x": 1.5, "y": -2, "z": 300})
    public.put(f"{base}/{placed}", json={"position": {"x": 0, "y": 9, "z": 0}}, headers=game["token"])
    assert public.get(f"{base}/{placed}", headers=game["token"]).json()["position"] == {"x": 0, "y": 9, "z": 0}
    assert public.delete(f"{base}/{one}", headers=game["token"]).json() == {"status": "success"}
    for method in ("GET", "PUT", "DELETE"):
        r = public.request(method, f"{base}/{one}", json={} if method == "PUT" else None, headers=game["token"])
        assert r.status_code == 404 and r.json() == {"error": "Display object not found"}, method
    r = public.get(f"{base}/not-a-uuid", headers=game["token"])
    assert r.status_code == 404 and r.json() == {"error": "Display object not found"}
    r = public.patch(f"{base}/{placed}", json={}, headers=game["token"])
    assert r.status_code == 405 and set(r.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "PUT", "DELETE"}


@pytest.mark.parametrize("body,fields", [
    ({}, {"asset_id", "asset_type"}),
    ({"asset_id": "a", "asset_type": "gif"}, {"asset_type"}),
    ({"asset_id": "", "asset_type": "video", "position": {"x": "1"}}, {"asset_id", "position.x"}),
    ('{"asset_id": "a", "asset_type": "image", "position": {"x": 1e999}}', {"position.x"}),   # infinity
    ({"asset_id": "a", "asset_type": "image", "position": {"w": 1}}, {"position.w"}),
])
def test_display_input_is_checked_naming_every_field(public, game, body, fields):
    path = f"/api/v1/game/{game['id']}/display"
    r = public.post(path, data=body, headers={**game["token"], "Content-Type": "application/json"}) \
        if isinstance(body, str) else public.post(path, json=body, headers=game["token"])
    assert r.status_code == 400 and r.json()["error"] == "Validation failed", r.text
    assert {d["field"] for d in r.json()["details"]} == fields


def test_a_game_acts_only_on_its_own_game(public, admin, game):
    other = register(public, admin, "Other")
    other_key = rotate(public, admin, other["id"])
    theirs = public.post(f"/api/v1/game/{other['id']}/display", json={"asset_id": "x", "asset_type": "image"},
                         headers={"X-API-Key": other_key}).json()["display_id"]
    assert displays(public, game["token"], other["id"]).status_code == 403
    assert public.get(f"/api/v1/game/{other['id']}/display/{theirs}", headers=game["token"]).status_code == 403
    r = public.get(f"/api/v1/game/{game['id']}/display/{theirs}", headers=game["token"])
    assert r.status_code == 404   # another game's object is not found under one's own game
    assert public.post(f"/api/v1/game/{other['id']}/display", json={"asset_id": "x", "asset_type": "image"},
                       headers=game["token"]).status_code == 403
    # an admin key acts on any game's display objects
    assert [d["display_id"] for d in displays(public, admin, other["id"]).json()["displays"]] == [theirs]
    assert displays(public, admin, "no-such-game").status_code == 404
