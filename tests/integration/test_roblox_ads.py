"""Roblox game ads (spec 004, CONTRACT 7.4) at /api/game-ads and /api/v1/game-ads: validation naming
every failing field, case-insensitive unique names (409), pages of 10 newest first, search and
filters AND-ed, PUT replacing, scoping between games, events summed in place with no lost update,
event_id replays counted once, and the failed-attempts limit of POST /api/v1/authenticate."""
import threading
import uuid

import pytest
import requests

from test_dispatch import client_ip, new_key
from test_roblox import register, rotate, token_for


@pytest.fixture(scope="module")
def admin(stack):
    return {"Authorization": f"Bearer {new_key(stack, 'roblox_admin')}"}


@pytest.fixture(scope="module")
def games(public, admin):
    out = []
    for name in ("Ads A", "Ads B"):
        g = register(public, admin, name)
        key = rotate(public, admin, g["id"])
        out.append({"id": g["id"], "key": key, "token": token_for(public, key)})
    return out


def asset(n=1):
    return {"assetType": "image", "assetId": f"a{n}", "robloxAssetId": f"rbxassetid://{n}"}


def ad_body(**fields):
    return {"name": f"Ad {uuid.uuid4().hex[:10]}", "templateType": "billboard", "assets": [asset()], **fields}


def create(public, creds, prefix="/api/game-ads", **fields):
    r = public.post(prefix, json=ad_body(**fields), headers=creds)
    assert r.status_code == 200, r.text
    return r.json()


def test_an_ad_is_created_with_its_game_and_performance(public, games):
    a = games[0]
    ad = create(public, a["token"], schedule={"start": "2026-01-01"})
    assert ad["gameId"] == a["id"] and ad["status"] == "active"
    assert ad["game"] == {"id": a["id"], "name": "Ads A", "thumbnail": None}
    assert ad["performance"] == {"impressions": 0, "clicks": 0, "conversions": 0}
    assert (ad["schedule"], ad["targeting"], ad["metrics"]) == ({"start": "2026-01-01"}, None, None)
    got = public.get(f"/api/v1/game-ads/{ad['id']}", headers=a["token"])   # both prefixes are one API
    assert got.status_code == 200 and got.json() == ad


def test_validation_lists_every_failing_field(public, games):
    r = public.post("/api/game-ads", json={"templateType": 5, "assets": [{"assetType": "image"}], "metrics": [1]},
                    headers=games[0]["token"])
    assert r.status_code == 400 and r.json()["error"] == "Validation failed", r.text
    fields = {d["field"] for d in r.json()["details"]}
    assert {"name", "templateType", "assets[0].assetId", "assets[0].robloxAssetId"} <= fields
    r = public.post("/api/game-ads", json=ad_body(assets=[]), headers=games[0]["token"])
    assert r.status_code == 400 and r.json()["details"][0]["field"] == "assets"
    r = public.post("/api/game-ads", json=ad_body(metrics=[1]), headers=games[0]["token"])
    assert r.status_code == 400 and r.json()["details"] == [{"field": "metrics",
                                                             "message": "metrics must be an object or null"}]


def test_names_are_unique_case_insensitively(public, games):
    name = f"Unique {uuid.uuid4().hex[:8]}"
    create(public, games[0]["token"], name=name)
    r = public.post("/api/game-ads", json=ad_body(name=name.upper()), headers=games[1]["token"])
    assert r.status_code == 409 and r.json() == {"error": "A game ad with this name already exists"}
    other = create(public, games[0]["token"])
    r = public.put(f"/api/game-ads/{other['id']}", json=ad_body(name=name.lower()), headers=games[0]["token"])
    assert r.status_code == 409 and r.json() == {"error": "A game ad with this name already exists"}


def test_the_game_of_a_new_ad(public, admin, games, stack):
    r = public.post("/api/game-ads", json=ad_body(gameId=games[1]["id"]), headers=games[0]["token"])
    assert r.status_code == 403
    r = public.post("/api/game-ads", json=ad_body(gameId="never-registered"), headers=admin)
    assert r.status_code == 400 and r.json() == {"error": "Referenced game does not exist"}
    assert create(public, admin, gameId=games[1]["id"])["gameId"] == games[1]["id"]
    # an admin key's default is game_001, as the spec says
    default = public.post("/api/game-ads", json=ad_body(), headers=admin)
    registered = stack.sql("SELECT 1 FROM roblox_games WHERE id = 'game_001'")
    if registered:
        assert default.status_code == 200 and default.json()["gameId"] == "game_001"
    else:
        assert default.status_code == 400 and default.json() == {"error": "Referenced game does not exist"}
        stack.admin("games", "add", "Demo Game", "--id", "game_001")
        assert public.post("/api/game-ads", json=ad_body(), headers=admin).json()["gameId"] == "game_001"


def test_pages_search_and_filters(public, admin):
    g = register(public, admin, "Paged")
    key = rotate(public, admin, g["id"])
    creds = {"X-API-Key": key}
    tag = uuid.uuid4().hex[:6]
    made = [create(public, creds, name=f"{tag} Summer_{i:02d}% sale" if i % 2 else f"{tag} Winter {i:02d}",
                   status="paused" if i % 3 == 0 else "active") for i in range(23)]
    newest_first = [a["id"] for a in reversed(made)]

    def page(**params):
        r = public.get("/api/game-ads", params={"gameId": g["id"], **params}, headers=admin)
        assert r.status_code == 200, r.text
        return r.json()

    first, third = page(), page(page=3)
    assert (first["total"], first["page"], first["totalPages"]) == (23, 1, 3)
    assert [a["id"] for a in first["gameAds"]] == newest_first[:10]
    assert [a["id"] for a in third["gameAds"]] == newest_first[20:]
    assert page(page=4)["gameAds"] == []
    summer = page(search=f"{tag} SUMMER")
    assert summer["total"] == len(range(1, 23, 2)) and all("Summer" in a["name"] for a in summer["gameAds"])
    assert page(search="_01%")["total"] == 1   # % and _ are themselves, not patterns
    both = page(search="summer", status="paused")
    assert both["total"] == len([i for i in range(23) if i % 2 and i % 3 == 0])
    assert page(search="no such ad anywhere")["total"] == 0
    for bad in ("0", "-1", "x", "1.5"):
        r = public.get("/api/game-ads", params={"page": bad}, headers=admin)
        assert r.status_code == 400 and "page" in r.json()["error"], bad


def test_a_game_sees_and_changes_only_its_own_ads(public, games):
    a, b = games
    mine, theirs = create(public, a["token"]), create(public, b["token"])
    listed = public.get("/api/game-ads", params={"search": theirs["name"]}, headers=a["token"]).json()
    assert listed["total"] == 0
    assert public.get("/api/game-ads", params={"gameId": b["id"]}, headers=a["token"]).json()["total"] == 0
    for method in ("GET", "DELETE"):
        r = public.request(method, f"/api/game-ads/{theirs['id']}", headers=a["token"])
        assert r.status_code == 404 and r.json() == {"error": "Game ad not found"}, method
    r = public.put(f"/api/game-ads/{theirs['id']}", json=ad_body(), headers=a["token"])
    assert r.status_code == 404
    r = public.post(f"/api/game-ads/{theirs['id']}/events", json={"type": "click"}, headers=a["token"])
    assert r.status_code == 404
    assert public.get(f"/api/game-ads/{mine['id']}", headers=a["token"]).status_code == 200
    assert public.get("/api/game-ads/not-a-uuid", headers=a["token"]).json() == {"error": "Game ad not found"}


def test_put_replaces_the_ad_but_not_its_game(public, games):
    a = games[0]
    ad = create(public, a["token"], status="paused", targeting={"age": "13+"}, metrics={"goal": 5})
    body = {"name": ad["name"] + " v2", "templateType": "banner", "assets": [asset(7), asset(8)]}
    r = public.put(f"/api/game-ads/{ad['id']}", json=body, headers=a["token"])
    assert r.status_code == 200, r.text
    new = r.json()
    assert (new["name"], new["templateType"], new["status"]) == (ad["name"] + " v2", "banner", "active")
    assert (new["targeting"], new["metrics"], len(new["assets"])) == (None, None, 2)
    assert new["createdAt"] == ad["createdAt"] and new["updatedAt"] > ad["updatedAt"]
    r = public.put(f"/api/game-ads/{ad['id']}", json={**body, "gameId": games[1]["id"]}, headers=a["token"])
    assert r.status_code == 400 and r.json()["details"][0]["field"] == "gameId"
    assert public.put(f"/api/game-ads/{ad['id']}", json={**body, "gameId": a["id"]}, headers=a["token"]).status_code == 200
    assert public.delete(f"/api/game-ads/{ad['id']}", headers=a["token"]).json() == {"success": True}
    assert public.get(f"/api/game-ads/{ad['id']}", headers=a["token"]).status_code == 404


def test_concurrent_event_reports_are_all_counted(public, games):
    a = games[0]
    ad = create(public, a["token"])
    path, errors = f"/api/game-ads/{ad['id']}/events", []

    kinds = ("impression", "click", "conversion")
    # one token per game server: each within its own 300 a minute
    tokens = [token_for(public, a["key"]) for _ in range(8)]

    def client(n):
        s = requests.Session()
        for i in range(100):
            kind = kinds[(n + i) % 3]
            r = s.post(public.url(path), json={"type": kind, "count": 5}, headers=tokens[n])
            if r.status_code != 200:
                errors.append(r.status_code)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    perf = public.get(f"/api/game-ads/{ad['id']}", headers=a["token"]).json()["performance"]
    assert sum(perf.values()) == 4000   # 8 clients x 100 reports of 5
    sent = [kinds[(n + i) % 3] for n in range(8) for i in range(100)]
    assert perf == {f"{k}s": 5 * sent.count(k) for k in kinds}


def test_an_event_id_is_counted_once(public, admin, games):
    a = games[0]
    ad = create(public, a["token"])
    path = f"/api/game-ads/{ad['id']}/events"
    first = public.post(path, json={"type": "impression", "count": 5, "event_id": "batch-1"}, headers=a["token"])
    assert first.status_code == 200 and first.json() == {"success": True, "counted": True}
    again = public.post(path, json={"type": "click", "count": 9, "event_id": "batch-1"}, headers=a["token"])
    assert again.status_code == 200 and again.json() == {"success": True, "counted": False}
    assert public.post(path, json={"type": "click", "event_id": "batch-2"}, headers=admin).status_code == 200
    perf = public.get(f"/api/game-ads/{ad['id']}", headers=a["token"]).json()["performance"]
    assert perf == {"impressions": 5, "clicks": 1, "conversions": 0}
    for bad in ({"type": "view"}, {"type": "click", "count": 0}, {"type": "click", "event_id": ""}):
        assert public.post(path, json=bad, headers=a["token"]).status_code == 400, bad


def test_authenticate_counts_failed_attempts_per_ip(public, games):
    ip = {"X-Forwarded-For": client_ip()}
    key = games[1]["key"]
    for _ in range(5):   # successes do not count
        assert public.post("/api/v1/authenticate", json={"api_key": key}, headers=ip).status_code == 200
    statuses = [public.post("/api/v1/authenticate", json={"api_key": "RBXG-" + "0" * 48}, headers=ip).status_code
                for _ in range(12)]
    assert statuses[:10] == [401] * 10 and statuses[10:] == [429, 429]
    blocked = public.post("/api/v1/authenticate", json={"api_key": key}, headers=ip)
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) >= 1
    other = {"X-Forwarded-For": client_ip()}
    assert public.post("/api/v1/authenticate", json={"api_key": key}, headers=other).status_code == 200


def test_idempotency_keys_are_scoped_to_the_game(public, games):
    a, b = games
    ad = create(public, a["token"])
    path, body = f"/api/game-ads/{ad['id']}/events", {"type": "click", "count": 3}
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = public.post(path, json=body, headers={**a["token"], **key})
    # the same game through another of its credentials: the same scope, so a replay
    again = public.post(path, json=body, headers={"X-API-Key": a["key"], **key})
    assert first.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    other = public.post(path, json={"type": "impression"}, headers={**a["token"], **key})
    assert other.status_code == 422
    # another game with the same key is another scope (and cannot see the ad)
    assert public.post(path, json=body, headers={**b["token"], **key}).status_code == 404
    assert public.get(f"/api/game-ads/{ad['id']}", headers=a["token"]).json()["performance"]["clicks"] == 3
