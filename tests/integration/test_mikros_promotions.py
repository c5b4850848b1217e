"""Promotions (spec 000 §14–16, CONTRACT 7.2): the feed's PUT, the active list (order, since_id,
platform, is_pushed per server), mark-pushed once per (game, server), leads with promo codes whose
email is queued in the outbox."""
import random
import re
from datetime import datetime, timedelta, timezone

import pytest

from test_dispatch import new_key


@pytest.fixture(scope="module")
def keys(stack):
    return {"Authorization": f"Bearer {new_key(stack, 'mikros')}"}, \
        {"Authorization": f"Bearer {new_key(stack, 'mikros_ingest')}"}


def snowflake():
    return str(random.randrange(10**17, 10**18))


def iso(**delta):
    return (datetime.now(timezone.utc) + timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


def put(public, ingest, game_id, **fields):
    body = {"game_name": f"Game {game_id}", "description": "A game.", "promotion_url": "https://example.com/g",
            "platform": "steam", "genre": "Action", "deadline": iso(days=3), **fields}
    r = public.put(f"/api/promotions/{game_id}", json=body, headers=ingest)
    assert r.status_code == 200, r.text
    assert r.json()["game_id"] == game_id
    return game_id


@pytest.fixture(scope="module")
def games(public, keys):
    _, ingest = keys
    base = random.randrange(10**9, 10**10)
    return {"steam": put(public, ingest, base + 1), "itch": put(public, ingest, base + 2, platform="itch"),
            "expired": put(public, ingest, base + 3, deadline=iso(days=-1)),
            "open": put(public, ingest, base + 4, deadline=None, platform="epic"), "base": base}


def active(public, bot, **params):
    r = public.get("/api/promotions/active", params={"limit": 100, **params}, headers=bot)
    assert r.status_code == 200, r.text
    return r.json()["data"]


def test_the_active_list_pages_by_game_id(public, keys, games):
    bot, _ = keys
    rows = active(public, bot, since_id=games["base"])
    ids = [r["game_id"] for r in rows]
    assert ids == sorted(ids)
    assert games["steam"] in ids and games["itch"] in ids and games["open"] in ids
    assert games["expired"] not in ids
    after = active(public, bot, since_id=games["steam"])
    assert games["steam"] not in [r["game_id"] for r in after] and games["itch"] in [r["game_id"] for r in after]
    assert len(active(public, bot, since_id=games["base"], limit=1)) == 1
    row = next(r for r in rows if r["game_id"] == games["open"])
    assert row["deadline"] is None and row["platform"] == "epic" and row["is_pushed"] is False


def test_platform_filters(public, keys, games):
    bot, _ = keys
    assert {r["platform"] for r in active(public, bot, since_id=games["base"], platform="itch")} == {"itch"}
    r = public.get("/api/promotions/active", params={"platform": "gog"}, headers=bot)
    assert r.status_code == 400 and "platform" in r.json()["error"]["message"]


def test_mark_pushed_is_once_per_server_and_is_pushed_follows(stack, public, keys, games):
    bot, _ = keys
    server, other = snowflake(), snowflake()
    body = {"game_id": games["steam"], "server_id": server, "channel_id": snowflake(),
            "pushed_at": "2025-01-27T12:00:00Z", "bot_instance_id": "bot_1"}
    first = public.post("/api/promotions/mark-pushed", json=body, headers=bot)
    again = public.post("/api/promotions/mark-pushed", json=dict(body, pushed_at="2025-02-01T00:00:00Z"), headers=bot)
    assert first.status_code == again.status_code == 200
    assert first.json()["message"] == "Promotion marked as pushed" and first.json()["game_id"] == games["steam"]
    assert stack.sql("SELECT extract(epoch FROM pushed_at)::bigint FROM mikros_promotion_pushes "
                     "WHERE game_id = %s AND server_id = %s", games["steam"], server) == [(1737979200,)]
    def pushed(**p):
        return next(r["is_pushed"] for r in active(public, bot, since_id=games["base"], **p)
                    if r["game_id"] == games["steam"])
    assert pushed(server_id=server) is True
    assert pushed(server_id=other) is False
    assert pushed() is True


def test_mark_pushed_for_a_game_without_promotion_is_404(public, keys):
    bot, _ = keys
    r = public.post("/api/promotions/mark-pushed", headers=bot,
                    json={"game_id": 1, "server_id": snowflake(), "channel_id": snowflake()})
    assert r.status_code == 404 and r.json()["error"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize("change,field", [({"server_id": "1"}, "server_id"), ({"game_id": 0}, "game_id"),
                                          ({"channel_id": None}, "channel_id")])
def test_mark_pushed_fields_are_checked(public, keys, change, field):
    bot, _ = keys
    body = {"game_id": 5, "server_id": snowflake(), "channel_id": snowflake(), **change}
    r = public.post("/api/promotions/mark-pushed", json=body, headers=bot)
    assert r.status_code == 400 and field in r.json()["error"]["message"]


def test_a_lead_gets_a_unique_code_and_a_queued_email(stack, public, keys):
    bot, _ = keys
    body = {"discord_id": snowflake(), "username": "devguy#9999", "server_id": snowflake(),
            "campaign_interest": "Game Launch", "email": "dev@example.com", "timestamp": "2025-01-27T12:00:00Z",
            "message_context": "We're launching next month!"}
    codes = set()
    for _ in range(3):
        r = public.post("/api/promotions/submit-lead", json=body, headers=bot)
        assert r.status_code == 200, r.text
        b = r.json()
        assert re.fullmatch(rf"MIKROS{datetime.now(timezone.utc).year}-[A-Z0-9]{{6}}", b["promo_code"])
        assert "sent" not in b["message"].lower() and "queued" in b["message"].lower()
        codes.add(b["promo_code"])
        mail = stack.sql("SELECT payload->>'to', payload->>'promo_code', delivered_at FROM outbox "
                         "WHERE kind = 'email' AND payload->>'lead_id' = %s", b["lead_id"])
        assert mail == [("dev@example.com", b["promo_code"], None)]
    assert len(codes) == 3


@pytest.mark.parametrize("email", ["nope", "a@b", "@example.com", "a b@example.com", "a@@example.com", "a@example."])
def test_a_lead_needs_an_email_address(public, keys, email):
    bot, _ = keys
    r = public.post("/api/promotions/submit-lead", headers=bot, json={
        "discord_id": snowflake(), "username": "u", "server_id": snowflake(), "campaign_interest": "x", "email": email})
    assert r.status_code == 400 and "email" in r.json()["error"]["message"]


def test_the_promotion_feed_checks_its_input(public, keys):
    bot, ingest = keys
    body = {"game_name": "G", "description": "", "promotion_url": "u", "platform": "steam", "genre": "A"}
    assert public.put("/api/promotions/abc", json=body, headers=ingest).status_code == 400
    r = public.put("/api/promotions/7", json=dict(body, platform="gog"), headers=ingest)
    assert r.status_code == 400 and "platform" in r.json()["error"]["message"]
    assert public.put("/api/promotions/7", json=body, headers=bot).status_code == 403
