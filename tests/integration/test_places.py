"""The AI Places family (spec 001, CONTRACT 5, 6 and 7.1), through nginx on the public listener.

Every JSON response is checked against docs/openapi.yaml by the `public` session (openapi_plugin).
The tests share one stack and one database with every other test module, and several of them reset
the week (global state): each one sets up what it needs itself (fresh agents and users with new
uuids, a reset where it needs a clean week or a particular game mode) and compares before/after
instead of assuming absolute numbers. Every admin call comes from a fresh client address because
the admin limit is 5 per minute per IP, rejected calls included.
"""
import gzip
import math
import re
import struct
import time
import uuid
import zlib
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
import requests

from harness import refused_audit

WIDTH_DEFAULT = 500
PALETTE = ["#FFFFFF", "#E4E4E4", "#888888", "#222222", "#FFA7D1", "#E50000", "#E59500", "#A06A42",
           "#E5D900", "#94E044", "#02BE01", "#00D3DD", "#0083C7", "#0000EA", "#CF6EE4", "#820080"]
SEEDED_MODES = ["classic", "color-factions", "territory-wars", "speed-run", "limited-palette", "collaboration",
                "pixel-budget", "chaos"]
CC = {
    "modes": "public, s-maxage=3600",
    "current": "public, s-maxage=60, stale-while-revalidate=120",
    "archives": "public, s-maxage=86400",
    "archive": "public, s-maxage=604800, immutable",
    "forever": "public, max-age=31536000, immutable",
    "canvas": "public, s-maxage=5",
    "board": "public, s-maxage=30, stale-while-revalidate=60",
    "agent": "public, s-maxage=300",
    "agent_week": "public, s-maxage=60",
}


# --------------------------------------------------------------------------------------- helpers
def client_ip():
    """A fresh client address: nginx trusts loopback as a proxy and takes X-Forwarded-For."""
    n = uuid.uuid4().int
    return f"10.{n % 250}.{(n >> 8) % 250}.{(n >> 16) % 250 + 1}"


def ip_headers(ip=None, key=None):
    h = {"X-Forwarded-For": ip or client_ip()}
    if key:
        h["Authorization"] = f"Bearer {key}"
    return h


_limits = iter(range(21, 100))   # above the default page size (20), below the maximum (values above clamp)


def unique_limit():
    """A `limit` value no other request of this session used: a cache key of its own. Drawn in turn,
    not at random: two random draws from so few values collide often enough to flake."""
    return next(_limits)


def new_key(stack, scope, subject=None):
    args = ["keys", "create", "--scope", scope, "--label", "test-places"]
    if subject:
        args += ["--subject", subject]
    out = stack.admin(*args).stdout.strip()
    assert out.startswith("gh_"), out
    return out


def new_agent(stack, faction=None, display_name=None):
    aid = str(uuid.uuid4())
    stack.sql("INSERT INTO agents (id, name, display_name, faction_id) VALUES (%s, %s, %s, %s)",
              aid, f"agent-{aid}", display_name, faction)
    return aid


def new_user(stack, faction=None):
    uid = str(uuid.uuid4())
    stack.sql("INSERT INTO places_users (id, username, faction_id) VALUES (%s, %s, %s)", uid, f"user-{uid}", faction)
    return uid


def no_cooldown(stack, statement, *params):
    """Runs statement (placements straight into PostgreSQL) in one transaction in which no mode has a
    cooldown (place_pixel enforces it, sql/008_places_cooldown.sql): one placer may place many pixels
    at once, and whatever cooldown it has is neither checked nor renewed. The modes are put back before
    the commit, so no one else ever sees the change."""
    import psycopg2

    conn = psycopg2.connect(stack.dsn)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("CREATE TEMP TABLE saved_modes ON COMMIT DROP AS SELECT id, rules FROM game_modes")
            cur.execute("""UPDATE game_modes SET rules = rules || '{"cooldown_ms": 0}'""")
            cur.execute(statement, params or None)
            cur.execute("UPDATE game_modes m SET rules = s.rules FROM saved_modes s WHERE s.id = m.id")
    finally:
        conn.close()


def place(stack, x, y, color, agent=None, user=None):
    """A placement straight into PostgreSQL (no cooldown): place_pixel(user, agent, x, y, color)."""
    no_cooldown(stack, "SELECT place_pixel(%s::uuid, %s::uuid, %s, %s, %s)", user, agent, x, y, color)


def current_week(stack):
    """The open week from the database: (week id, slug, week_number, year, started_at, resets_at)."""
    (row,) = stack.sql("SELECT w.id::text, m.slug, w.week_number, w.year, w.started_at, w.resets_at "
                       "FROM weeks w JOIN game_modes m ON m.id = w.game_mode_id WHERE w.closed_at IS NULL")
    return row


def archive_count(stack):
    return stack.sql("SELECT count(*) FROM canvas_archives")[0][0]


def canvas_size(stack):
    return stack.sql("SELECT width, height FROM places_settings")[0]


def reset(public, key, mode=None, force=True, omit_mode=False, expect=200):
    body = {"force": force}
    if not omit_mode:
        body["next_game_mode"] = mode
    r = public.post("/api/admin/reset-week", json=body, headers=ip_headers(key=key))
    assert r.status_code == expect, r.text
    assert r.headers["Cache-Control"] == "no-store"
    return r.json()


def parse_ts(s):
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", s), s
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def pack(cells, width, height):
    """The contract's packed canvas: 4 bits per cell, even cell in the high nibble."""
    out = bytearray((width * height + 1) // 2)
    for (x, y), color in cells.items():
        i = y * width + x
        if i % 2 == 0:
            out[i // 2] = (out[i // 2] & 0x0F) | (color << 4)
        else:
            out[i // 2] = (out[i // 2] & 0xF0) | color
    return bytes(out)


def cell_of(packed, width, x, y):
    i = y * width + x
    b = packed[i // 2]
    return b >> 4 if i % 2 == 0 else b & 0x0F


def decode_png(data):
    """A small PNG decoder (non-interlaced, colour types 0, 2, 3, 6): (width, height, rows of RGB tuples)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:8]
    pos, idat, palette, ihdr = 8, b"", None, None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        ctype, chunk = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert zlib.crc32(ctype + chunk) == crc, f"bad CRC in {ctype}"
        pos += 12 + length
        if ctype == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", chunk)
        elif ctype == b"PLTE":
            palette = [tuple(chunk[i:i + 3]) for i in range(0, len(chunk), 3)]
        elif ctype == b"IDAT":
            idat += chunk
        elif ctype == b"IEND":
            break
    width, height, depth, color_type, _, _, interlace = ihdr
    assert interlace == 0
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color_type]
    bpp = max(1, depth * channels // 8)
    stride = (width * channels * depth + 7) // 8
    raw = zlib.decompress(idat)
    assert len(raw) == height * (stride + 1), (len(raw), height, stride)
    rows, prev = [], bytearray(stride)
    for y in range(height):
        ftype, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 0xFF
            elif ftype == 2:
                line[i] = (line[i] + b) & 0xFF
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
            else:
                assert ftype == 0, f"filter {ftype}"
        prev = line
        if depth < 8:
            per = 8 // depth
            samples = [(line[i // per] >> (8 - depth * (i % per + 1))) & ((1 << depth) - 1) for i in range(width)]
        else:
            step = depth // 8
            samples = [int.from_bytes(line[i:i + step], "big") for i in range(0, stride, step)]
        if color_type == 3:
            pixels = [palette[s] for s in samples]
        elif color_type == 0:
            pixels = [(s, s, s) for s in samples]
        else:
            pixels = [tuple(samples[i:i + 3]) for i in range(0, len(samples), channels)]
        rows.append(pixels)
    return width, height, rows


def rgb(hex_color):
    return tuple(int(hex_color[i:i + 2], 16) for i in (1, 3, 5))


def raw_get(public, path, ip):
    """GET keeping the body exactly as sent (no gzip decoding). A plain request: the `public` session's
    response check reads (and so decodes) the body before the caller could see the raw bytes."""
    r = requests.get(public.url(path), headers=ip_headers(ip), stream=True, timeout=30)
    body = r.raw.read(decode_content=False)
    r.close()
    assert r.headers.get("X-Request-Id")
    return r, body


@pytest.fixture(scope="module")
def svc(stack):
    """A service_role key."""
    return new_key(stack, "service_role")


@pytest.fixture(scope="module", autouse=True)
def back_to_classic(stack, public, svc):
    """Leave the week in the classic mode for whatever runs next."""
    yield
    if current_week(stack)[1] != "classic":
        reset(public, svc, "classic")


@pytest.fixture
def classic_week(stack, public, svc):
    """A fresh week in the classic mode (empty canvas and leaderboards)."""
    return reset(public, svc, "classic")


# ------------------------------------------------------------------------------------ game modes
def test_game_modes_lists_the_seeded_modes_in_rotation_order(public):
    ip = client_ip()
    r = public.get("/api/game-modes", headers=ip_headers(ip))
    assert r.status_code == 200
    assert r.headers["Cache-Control"] == CC["modes"]
    assert r.headers["X-RateLimit-Limit"] == "200"
    modes = {m["slug"]: m for m in r.json()["modes"]}
    assert [m["slug"] for m in r.json()["modes"]][:len(SEEDED_MODES)] == SEEDED_MODES
    assert modes["classic"]["rules"]["cooldown_ms"] == 30000
    assert modes["speed-run"]["rules"]["cooldown_ms"] == 15000
    assert modes["chaos"]["rules"]["cooldown_ms"] == 7500
    assert modes["limited-palette"]["rules"]["palette"] == [0, 5, 10, 15]
    assert modes["pixel-budget"]["rules"]["pixel_budget"] == 500
    assert modes["color-factions"]["rules"].get("factions") is True
    assert modes["territory-wars"]["rules"].get("territory_scoring") is True
    assert modes["territory-wars"]["scoring_rules"]["territory_multiplier"] == 5
    assert all(m["is_active"] for m in modes.values())
    again = public.get("/api/game-modes", headers=ip_headers(ip))
    assert again.headers["X-Cache"] == "HIT"
    assert again.json() == r.json()


def test_current_game_mode_describes_the_open_week_and_the_canvas(stack, public):
    r = public.get("/api/game-modes/current", headers=ip_headers())
    assert r.status_code == 200
    assert r.headers["Cache-Control"] == CC["current"]
    body = r.json()
    _, slug, week_number, year, started_at, resets_at = current_week(stack)
    assert (body["slug"], body["week_number"], body["year"]) == (slug, week_number, year)
    assert parse_ts(body["week_started_at"]) == started_at.replace(microsecond=0)
    assert parse_ts(body["week_resets_at"]) == resets_at.replace(microsecond=0)
    iso = started_at.astimezone(timezone.utc).isocalendar()
    assert (body["year"], body["week_number"]) == (iso[0], iso[1])
    # the next reset is a Saturday 14:00 UTC by default, and time_remaining_ms counts down to it
    assert parse_ts(body["week_resets_at"]).isoweekday() == 6
    assert parse_ts(body["week_resets_at"]).strftime("%H:%M:%S") == "14:00:00"
    left = (resets_at - datetime.now(timezone.utc)).total_seconds() * 1000
    assert left - 2000 <= body["time_remaining_ms"] <= left + 61000
    width, height = canvas_size(stack)
    assert body["canvas"] == {"width": width, "height": height, "bits_per_pixel": 4, "palette": PALETTE}


# ---------------------------------------------------------------------------------------- caching
def test_every_cacheable_route_has_its_lifetime_and_hits(stack, public, svc):
    archive = reset(public, svc, "classic")["archive_id"]
    agent = new_agent(stack)
    place(stack, 7, 7, 3, agent=agent)
    ip = client_ip()
    limit = unique_limit()
    routes = [
        ("/api/game-modes", CC["modes"]),
        ("/api/game-modes/current", CC["current"]),
        (f"/api/archives?limit={limit}", CC["archives"]),
        (f"/api/archives/{archive}", CC["archive"]),
        (f"/api/archives/{archive}/canvas", CC["forever"]),
        (f"/api/archives/{archive}/image.png", CC["forever"]),
        (f"/api/archives/{archive}/thumbnail.png", CC["forever"]),
        (f"/api/leaderboard/current?limit={limit}", CC["board"]),
        (f"/api/leaderboard/archives/{archive}?type=users", CC["archive"]),
        (f"/api/agents/{agent}/stats", CC["agent"]),
        (f"/api/agents/{agent}/stats/current-week", CC["agent_week"]),
    ]
    problems = []
    for path, cache_control in routes:
        first = public.get(path, headers=ip_headers(ip))
        second = public.get(path, headers=ip_headers(ip))
        assert first.status_code == second.status_code == 200, (path, first.text)
        got = (first.headers.get("X-Cache"), second.headers.get("X-Cache"))
        if got != ("MISS", "HIT"):
            problems.append(f"{path}: X-Cache {got}, want ('MISS', 'HIT')")
        for r in (first, second):
            if r.headers["Cache-Control"] != cache_control:
                problems.append(f"{path}: Cache-Control {r.headers['Cache-Control']!r}, want {cache_control!r}")
        if first.content != second.content or first.headers["Content-Type"] != second.headers["Content-Type"]:
            problems.append(f"{path}: the cached response differs from the rendered one")
    assert not problems, "\n".join(problems)


def test_cache_keys_are_normalised_and_errors_are_not_cached(public):
    ip = client_ip()
    limit = unique_limit()
    a = public.get(f"/api/leaderboard/current?type=agents&limit={limit}", headers=ip_headers(ip))
    assert a.headers["X-Cache"] == "MISS"
    # other order, the default written out or left out: the same entry
    for path in (f"/api/leaderboard/current?limit={limit}&type=agents", f"/api/leaderboard/current?limit={limit}"):
        assert public.get(path, headers=ip_headers(ip)).headers["X-Cache"] == "HIT", path
    missing = f"/api/archives/{uuid.uuid4()}"
    for _ in range(2):
        r = public.get(missing, headers=ip_headers(ip))
        assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND"
        assert r.headers["Cache-Control"] == "no-store"
        assert r.headers.get("X-Cache", "MISS") == "MISS"


def test_current_canvas_reflects_placements_after_its_5_second_cache(stack, public):
    width, height = canvas_size(stack)
    agent = new_agent(stack)
    x, y = uuid.uuid4().int % width, uuid.uuid4().int % height
    before = public.get("/api/canvas").content
    color = (cell_of(before, width, x, y) + 1 + uuid.uuid4().int % 14) % 16
    place(stack, x, y, color, agent=agent)
    deadline = time.monotonic() + 8
    while True:
        r = public.get("/api/canvas")
        assert r.status_code == 200
        assert r.headers["Cache-Control"] == CC["canvas"]
        assert r.headers["Content-Encoding"] == "gzip"
        assert (int(r.headers["X-Canvas-Width"]), int(r.headers["X-Canvas-Height"])) == (width, height)
        assert len(r.content) == (width * height + 1) // 2
        if cell_of(r.content, width, x, y) == color:
            break
        assert r.headers["X-Cache"] == "HIT", "a fresh rendering does not show the placement"
        assert time.monotonic() < deadline, "the placement did not show within the 5 s lifetime"
        time.sleep(0.25)
    if r.headers["X-Cache"] == "MISS":
        hit = public.get("/api/canvas")
        assert hit.headers["X-Cache"] == "HIT"
        assert hit.content == r.content
    # the canvas lives in PostgreSQL
    assert stack.sql("SELECT color FROM canvas_cells WHERE cell = %s", y * width + x) == [(color,)]


# -------------------------------------------------------------------------------------- reset-week
def test_reset_week_invalidates_the_caches_it_changes(stack, public, svc):
    reset(public, svc, "classic")
    agent = new_agent(stack)
    place(stack, 11, 12, 5, agent=agent)
    ip = client_ip()
    limit = unique_limit()
    paths = ["/api/game-modes", "/api/game-modes/current", f"/api/leaderboard/current?limit={limit}",
             f"/api/archives?limit={limit}", f"/api/agents/{agent}/stats", f"/api/agents/{agent}/stats/current-week"]
    before = {}
    for path in paths:
        public.get(path, headers=ip_headers(ip))
        r = public.get(path, headers=ip_headers(ip))
        assert r.headers["X-Cache"] == "HIT", path
        before[path] = r.json()
    assert before[f"/api/agents/{agent}/stats"]["weekly_history"][0]["objectives_completed"] == []
    assert before[f"/api/agents/{agent}/stats/current-week"]["pixels_placed"] == 1

    done = reset(public, svc, "territory-wars")
    after = {}
    for path in paths:
        r = public.get(path, headers=ip_headers(ip))
        assert r.headers["X-Cache"] == "MISS", f"{path} still served from the cache after reset-week"
        after[path] = r.json()
    cur = after["/api/game-modes/current"]
    assert cur["slug"] == "territory-wars"
    assert parse_ts(cur["week_started_at"]) >= parse_ts(before["/api/game-modes/current"]["week_started_at"])
    board = after[f"/api/leaderboard/current?limit={limit}"]
    assert board["game_mode"] == "territory-wars" and board["rankings"] == []
    assert after[f"/api/archives?limit={limit}"]["archives"][0]["id"] == done["archive_id"]
    assert after[f"/api/archives?limit={limit}"]["pagination"]["total"] == \
        before[f"/api/archives?limit={limit}"]["pagination"]["total"] + 1
    stats = after[f"/api/agents/{agent}/stats"]
    assert stats["weekly_history"][0]["game_mode"] == "classic"
    assert "top_placer" in stats["weekly_history"][0]["objectives_completed"]
    week = after[f"/api/agents/{agent}/stats/current-week"]
    assert (week["pixels_placed"], week["last_pixel_at"], week["agent_rank"]) == (0, None, None)


def test_reset_week_not_due_without_force_is_409_and_changes_nothing(stack, public, svc):
    week_id, _, _, _, _, resets_at = current_week(stack)
    if resets_at <= datetime.now(timezone.utc):
        pytest.skip("the open week is due to reset: force:false would reset it")
    archives = archive_count(stack)
    for body in ({"force": False}, {}, {"next_game_mode": "classic"}, None):
        kwargs = {"json": body} if body is not None else {}
        r = public.post("/api/admin/reset-week", headers=ip_headers(key=svc), **kwargs)
        assert r.status_code == 409, (body, r.text)
        assert r.json()["code"] == "CONFLICT"
        assert r.headers["Cache-Control"] == "no-store"
    assert archive_count(stack) == archives
    assert current_week(stack)[0] == week_id


def test_reset_week_archives_and_opens_the_new_week_everywhere(stack, public, svc):
    reset(public, svc, "classic")
    agent, user = new_agent(stack, "red"), new_user(stack, "blue")
    for x in range(3):
        place(stack, 20 + x, 30, 5, agent=agent)
    place(stack, 40, 40, 13, user=user)
    week_id, old_slug, old_week, old_year, started_at, _ = current_week(stack)
    archives = archive_count(stack)
    t0 = datetime.now(timezone.utc).replace(microsecond=0)

    done = reset(public, svc, "speed-run")
    t1 = datetime.now(timezone.utc)
    assert done["success"] is True
    iso = t1.isocalendar()
    assert done["new_week"] == {"week_number": iso[1], "year": iso[0], "game_mode": "speed-run"}
    assert done["stats"]["pixels_archived"] == 4 and done["stats"]["contributors"] == 2
    assert 0 <= done["stats"]["duration_ms"] <= (t1 - t0).total_seconds() * 1000 + 1000
    archive = done["archive_id"]
    assert archive_count(stack) == archives + 1
    new_week_id, slug, _, _, new_started, _ = current_week(stack)
    assert new_week_id != week_id and slug == "speed-run" and new_started >= started_at
    assert stack.sql("SELECT count(*) FROM canvas_cells") == [(0,)]

    ip = client_ip()
    cur = public.get("/api/game-modes/current", headers=ip_headers(ip)).json()
    assert cur["slug"] == "speed-run" and cur["rules"]["cooldown_ms"] == 15000
    first = public.get("/api/archives", headers=ip_headers(ip)).json()["archives"][0]
    assert first["id"] == archive
    assert (first["week_number"], first["year"], first["game_mode_slug"]) == (old_week, old_year, old_slug)
    assert first["total_pixels_placed"] == 4 and first["unique_contributors"] == 2
    assert first["winner_agent_id"] == agent and first["winner_user_id"] is None
    assert first["image_url"].endswith(f"/api/archives/{archive}/image.png")
    assert first["thumbnail_url"].endswith(f"/api/archives/{archive}/thumbnail.png")
    assert first["video_url"] is None
    assert parse_ts(first["ended_at"]) >= t0

    width, height = canvas_size(stack)
    img = public.get(f"/api/archives/{archive}/image.png", headers=ip_headers(ip))
    assert img.status_code == 200 and img.headers["Content-Type"] == "image/png"
    w, h, rows = decode_png(img.content)
    assert (w, h) == (width, height)
    assert rows[30][21] == rgb(PALETTE[5]) and rows[40][40] == rgb(PALETTE[13]) and rows[0][0] == rgb(PALETTE[0])
    thumb = public.get(f"/api/archives/{archive}/thumbnail.png", headers=ip_headers(ip))
    assert thumb.status_code == 200 and thumb.headers["Content-Type"] == "image/png"
    tw, th, _ = decode_png(thumb.content)
    assert max(tw, th) == 128
    assert abs(tw / th - width / height) < 0.02

    # a retried cron call right after: not due, so nothing is archived twice
    again = public.post("/api/admin/reset-week", json={"force": False}, headers=ip_headers(key=svc))
    assert again.status_code == 409 and again.json()["code"] == "CONFLICT"
    assert archive_count(stack) == archives + 1
    assert current_week(stack)[0] == new_week_id

    # the audit log has the reset
    key_id = svc.split("_")[1]
    rows = stack.sql("SELECT action, category, user_id, details->>'forced' FROM audit_logs "
                     "WHERE details->>'archive_id' = %s", archive)
    assert rows == [("places.reset_week", "admin", key_id, "true")]


def test_reset_week_without_a_mode_rotates_in_seeded_order(stack, public, svc):
    order = [m["slug"] for m in public.get("/api/game-modes", headers=ip_headers()).json()["modes"] if m["is_active"]]

    def following(slug):
        return order[(order.index(slug) + 1) % len(order)]

    reset(public, svc, "territory-wars")
    done = reset(public, svc, omit_mode=True)
    assert done["new_week"]["game_mode"] == following("territory-wars") == "speed-run"
    done = reset(public, svc, None)     # an explicit null is the same as omitted
    assert done["new_week"]["game_mode"] == following("speed-run") == "limited-palette"
    reset(public, svc, "chaos")        # the last one wraps around to the first
    done = reset(public, svc, omit_mode=True)
    assert done["new_week"]["game_mode"] == following("chaos") == "classic"
    assert current_week(stack)[1] == "classic"


def test_reset_week_with_an_unknown_or_inactive_mode_is_400_and_changes_nothing(stack, public, svc):
    week_id = current_week(stack)[0]
    archives = archive_count(stack)
    for body, field in (({"next_game_mode": "no-such-mode", "force": True}, "next_game_mode"),
                        ({"next_game_mode": 5, "force": True}, "next_game_mode"),
                        ({"force": "yes"}, "force"),
                        ([1], "object")):
        r = public.post("/api/admin/reset-week", json=body, headers=ip_headers(key=svc))
        assert r.status_code == 400, (body, r.text)
        assert r.json()["code"] == "INVALID_PARAMS"
        assert field in r.json()["error"], r.json()["error"]
    stack.sql("UPDATE game_modes SET is_active = false WHERE slug = 'chaos'")
    try:
        r = public.post("/api/admin/reset-week", json={"next_game_mode": "chaos", "force": True},
                        headers=ip_headers(key=svc))
        assert r.status_code == 400 and "next_game_mode" in r.json()["error"]
    finally:
        stack.sql("UPDATE game_modes SET is_active = true WHERE slug = 'chaos'")
    assert archive_count(stack) == archives
    assert current_week(stack)[0] == week_id


def test_reset_week_whose_audit_entry_fails_is_500_and_changes_nothing(stack, public, svc):
    """A statement failing late in the transaction (here the audit entry) aborts all of it: the
    answer is the 500 of the failed statement, never the success of a transaction PostgreSQL rolled back."""
    reset(public, svc, "classic")
    agent = new_agent(stack)
    place(stack, 7, 7, 5, agent=agent)
    week, archives = current_week(stack), archive_count(stack)
    with refused_audit(stack, "places.reset_week"):
        r = public.post("/api/admin/reset-week", json={"force": True, "next_game_mode": "chaos"},
                        headers=ip_headers(key=svc))
    assert r.status_code == 500, r.text
    assert r.json()["code"] == "SERVER_ERROR", r.text
    assert r.headers["Cache-Control"] == "no-store"
    assert archive_count(stack) == archives, "an archive row was left by the failed reset"
    assert current_week(stack) == week, "the open week changed"
    assert stack.sql("SELECT agent_id::text FROM canvas_cells WHERE cell = %s", 7 * canvas_size(stack)[0] + 7) == \
        [(agent,)], "the canvas was cleared"
    # and the reset works again once the audit entry can be written
    assert reset(public, svc, "classic")["success"] is True
    assert archive_count(stack) == archives + 1


@pytest.mark.parametrize("path, action", [("/api/admin/update-agent-stats", "places.update_agent_stats"),
                                          ("/api/admin/snapshot-stats", "places.snapshot_stats"),
                                          ("/api/admin/cleanup-archives", "places.cleanup_archives")])
def test_admin_call_whose_audit_entry_fails_is_500_and_writes_nothing(stack, public, svc, path, action):
    agent = new_agent(stack)
    place(stack, 9, 9, 3, agent=agent)
    _, _, week_number, year, _, _ = current_week(stack)
    key_id = svc.split("_")[1]
    counts = {"agent weekly stats": ("SELECT count(*) FROM agent_weekly_stats WHERE agent_id = %s", agent),
              "stats snapshots": ("SELECT count(*) FROM stats_snapshots", None),
              "audit entries": ("SELECT count(*) FROM audit_logs WHERE user_id = %s", key_id),
              "audit webhooks": ("SELECT count(*) FROM outbox WHERE kind = 'audit_webhook' "
                                 "AND payload #>> '{embeds,0,fields,1,value}' = %s", key_id)}

    def count_all():
        return {name: stack.sql(q, *([p] if p else []))[0][0] for name, (q, p) in counts.items()}
    before = count_all()
    stack.sql("UPDATE canvas_archives SET thumbnail_png = NULL WHERE id = "
              "(SELECT id FROM canvas_archives ORDER BY ended_at DESC LIMIT 1)")
    missing = stack.sql("SELECT count(*) FROM canvas_archives WHERE thumbnail_png IS NULL")[0][0]
    with refused_audit(stack, action):
        r = public.post(path, json={"agent_id": agent, "week_number": week_number, "year": year},
                        headers=ip_headers(key=svc)) if "agent" in path else \
            public.post(path, headers=ip_headers(key=svc))
    assert r.status_code == 500, r.text
    assert r.json()["code"] == "SERVER_ERROR", r.text
    assert count_all() == before, "the failed call left rows behind"
    assert stack.sql("SELECT count(*) FROM canvas_archives WHERE thumbnail_png IS NULL")[0][0] == missing
    assert public.post("/api/admin/cleanup-archives", headers=ip_headers(key=svc)).status_code == 200


ADMIN_ROUTES = ["/api/admin/reset-week", "/api/admin/update-agent-stats", "/api/admin/snapshot-stats",
                "/api/admin/cleanup-archives"]


def test_admin_routes_need_a_service_role_key(stack, public):
    week_id, archives = current_week(stack)[0], archive_count(stack)
    agent = new_agent(stack)
    others = [new_key(stack, "places_agent", f"agent:{agent}"), new_key(stack, "mikros")]
    body = {"force": True, "agent_id": agent, "week_number": 1, "year": 2026}
    for path in ADMIN_ROUTES:
        ip = client_ip()
        r = public.post(path, json=body, headers=ip_headers(ip))
        assert r.status_code == 401, (path, r.text)
        assert r.json()["code"] == "UNAUTHORIZED"
        assert r.headers["Cache-Control"] == "no-store"
        r = public.post(path, json=body, headers=ip_headers(ip, "gh_000000000000_" + "x" * 43))
        assert r.status_code == 401, (path, r.text)
        for key in others:
            r = public.post(path, json=body, headers=ip_headers(ip, key))
            assert r.status_code == 403, (path, r.text)
            assert r.json()["code"] == "FORBIDDEN"
            assert r.headers["Cache-Control"] == "no-store"
    assert current_week(stack)[0] == week_id and archive_count(stack) == archives


def test_admin_limit_is_5_per_minute_per_ip_counting_rejected_calls(public, svc):
    ip = client_ip()
    remaining = []
    for _ in range(5):
        r = public.post("/api/admin/snapshot-stats", headers=ip_headers(ip))
        assert r.status_code == 401
        assert r.headers["X-RateLimit-Limit"] == "5"
        remaining.append(int(r.headers["X-RateLimit-Remaining"]))
    assert remaining == [4, 3, 2, 1, 0]
    r = public.post("/api/admin/snapshot-stats", headers=ip_headers(ip, svc))
    assert r.status_code == 429, r.text
    assert r.json()["code"] == "RATE_LIMIT"
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    assert r.headers["X-RateLimit-Remaining"] == "0"
    # another address is not affected
    assert public.post("/api/admin/snapshot-stats", headers=ip_headers(key=svc)).status_code == 200


# ------------------------------------------------------------------------------------ the canvas
def test_archived_canvas_is_exactly_the_packed_cells(stack, public, svc):
    reset(public, svc, "classic")
    width, height = canvas_size(stack)
    agent, other, user = new_agent(stack), new_agent(stack), new_user(stack)
    placed = [((0, 0), 15, agent), ((1, 0), 3, agent), ((2, 1), 7, user), ((3, 1), 12, other),
              ((width - 1, height - 1), 9, user), ((width - 2, height - 1), 1, agent),
              ((17, 33), 4, agent), ((17, 33), 10, other),            # overwritten: the last one counts
              ((250 % width, 125 % height), 14, user), ((0, height - 1), 2, other)]
    expected = {}
    for (x, y), color, who in placed:
        if who == user:
            place(stack, x, y, color, user=who)
        else:
            place(stack, x, y, color, agent=who)
        expected[(x, y)] = color
    # and one through the API
    key = new_key(stack, "places_agent", f"agent:{new_agent(stack)}")
    r = public.post("/api/canvas/pixels", json={"x": 5, "y": 6, "color": 11}, headers=ip_headers(key=key))
    assert r.status_code == 201, r.text
    expected[(5, 6)] = 11
    packed = pack(expected, width, height)
    assert len(packed) == (width * height + 1) // 2

    archive = reset(public, svc, "classic")["archive_id"]
    ip = client_ip()
    r, body = raw_get(public, f"/api/archives/{archive}/canvas", ip)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/octet-stream"
    assert r.headers["Content-Encoding"] == "gzip"
    assert body[:2] == b"\x1f\x8b", "the body is not gzip"
    assert gzip.decompress(body) == packed
    # a client that decodes Content-Encoding gets the packed cells
    decoded = public.get(f"/api/archives/{archive}/canvas", headers=ip_headers(ip))
    assert decoded.content == packed

    detail = public.get(f"/api/archives/{archive}", headers=ip_headers(ip)).json()
    assert detail["canvas"] == {"width": width, "height": height, "bits_per_pixel": 4, "palette": PALETTE}
    _, _, rows = decode_png(public.get(f"/api/archives/{archive}/image.png", headers=ip_headers(ip)).content)
    for (x, y), color in expected.items():
        assert rows[y][x] == rgb(PALETTE[color]), (x, y)
    assert rows[height // 2][width // 3] == rgb(PALETTE[0])


def test_archive_detail_and_archived_leaderboards(stack, public, svc):
    reset(public, svc, "classic")
    a1, a2, u1 = new_agent(stack, "red", "Alpha"), new_agent(stack), new_user(stack, "green")
    for i in range(4):
        place(stack, 100 + i, 5, 5, agent=a1)
    place(stack, 300, 5, 2, agent=a2)
    for i in range(2):
        place(stack, 200, 10 + i, 10, user=u1)
    done = reset(public, svc, "classic")
    archive = done["archive_id"]
    ip = client_ip()
    r = public.get(f"/api/archives/{archive}", headers=ip_headers(ip))
    assert r.status_code == 200 and r.headers["Cache-Control"] == CC["archive"]
    d = r.json()
    assert d["id"] == archive and d["game_mode"]["slug"] == "classic"
    assert d["total_pixels_placed"] == 7 and d["unique_contributors"] == 3
    assert (d["winner_agent_id"], d["winner_user_id"]) == (a1, None)
    assert d["stats"]["top_agents"] == [{"agent_id": a1, "name": f"agent-{a1}", "pixels_placed": 4},
                                        {"agent_id": a2, "name": f"agent-{a2}", "pixels_placed": 1}]
    assert d["stats"]["top_contributors"] == [{"user_id": u1, "username": f"user-{u1}", "pixels_placed": 2}]
    factions = {f["faction_id"]: f["territory_count"] for f in d["stats"]["top_factions"]}
    assert factions == {"red": 4, "green": 2, "blue": 0}
    agents = d["leaderboard"]["agents"]
    assert [(row["agent_id"], row["rank"], row["overall_rank"], row["largest_territory"]) for row in agents] == \
        [(a1, 1, 1, 4), (a2, 2, 3, 1)]
    assert agents[0]["agent_display_name"] == "Alpha"
    assert [(row["user_id"], row["rank"], row["overall_rank"]) for row in d["leaderboard"]["users"]] == [(u1, 1, 2)]
    for board_type in ("agents", "users", "factions"):
        r = public.get(f"/api/leaderboard/archives/{archive}?type={board_type}", headers=ip_headers(ip))
        assert r.status_code == 200 and r.headers["Cache-Control"] == CC["archive"]
        b = r.json()
        assert (b["archive_id"], b["type"], b["week_number"], b["year"]) == \
            (archive, board_type, d["week_number"], d["year"])
        assert b["rankings"] == d["leaderboard"][board_type]
    default = public.get(f"/api/leaderboard/archives/{archive}", headers=ip_headers(ip)).json()
    assert default["type"] == "agents"
    r = public.get(f"/api/leaderboard/archives/{archive}?type=bogus", headers=ip_headers(ip))
    assert r.status_code == 400 and "users, agents, factions" in r.json()["error"]


@pytest.mark.parametrize("suffix", ["", "/canvas", "/image.png", "/thumbnail.png"])
def test_archive_routes_malformed_id_400_unknown_404(public, suffix):
    ip = client_ip()
    r = public.get(f"/api/archives/not-a-uuid{suffix}", headers=ip_headers(ip))
    assert r.status_code == 400 and r.json()["code"] == "INVALID_PARAMS" and "id" in r.json()["error"]
    r = public.get(f"/api/archives/{uuid.uuid4()}{suffix}", headers=ip_headers(ip))
    assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND"
    if suffix == "":
        r = public.get(f"/api/leaderboard/archives/{uuid.uuid4()}", headers=ip_headers(ip))
        assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND"
        r = public.get("/api/leaderboard/archives/12345", headers=ip_headers(ip))
        assert r.status_code == 400 and r.json()["code"] == "INVALID_PARAMS"


# ------------------------------------------------------------------------------------------ pixels
def test_place_pixel_201_then_cooldown_429(stack, public, svc):
    if current_week(stack)[1] != "classic":
        reset(public, svc, "classic")
    width, height = canvas_size(stack)
    agent = new_agent(stack)
    key = new_key(stack, "places_agent", f"agent:{agent}")
    x, y = uuid.uuid4().int % width, uuid.uuid4().int % height
    t0 = datetime.now(timezone.utc).replace(microsecond=0)
    r = public.post("/api/canvas/pixels", json={"x": x, "y": y, "color": 6}, headers=ip_headers(key=key))
    assert r.status_code == 201, r.text
    assert r.headers["Cache-Control"] == "no-store"
    body = r.json()
    assert (body["success"], body["x"], body["y"], body["color"]) == (True, x, y, 6)
    placed, next_at = parse_ts(body["placed_at"]), parse_ts(body["next_placement_at"])
    assert t0 <= placed <= datetime.now(timezone.utc) + timedelta(seconds=1)
    assert timedelta(seconds=29) <= next_at - placed <= timedelta(seconds=31)
    assert stack.sql("SELECT color, agent_id::text FROM canvas_cells WHERE cell = %s", y * width + x) == [(6, agent)]
    assert stack.sql("SELECT count(*) FROM pixel_placements WHERE agent_id = %s", agent) == [(1,)]

    r = public.post("/api/canvas/pixels", json={"x": x, "y": y, "color": 7}, headers=ip_headers(key=key))
    assert r.status_code == 429, r.text
    assert r.json()["code"] == "RATE_LIMIT"
    # until next_placement_at: 30 s from placed_at rounded up to the whole second, so up to 31 s
    assert 1 <= int(r.headers["Retry-After"]) <= 31
    assert r.json()["error"] == f"Cooldown: the next placement is allowed at {body['next_placement_at']}", r.text
    assert r.headers["Cache-Control"] == "no-store"
    # validation comes before the cooldown: a bad request while cooling down is still a 400
    r = public.post("/api/canvas/pixels", json={"x": x, "y": y, "color": 16}, headers=ip_headers(key=key))
    assert r.status_code == 400 and r.json()["code"] == "INVALID_PARAMS"
    assert stack.sql("SELECT count(*) FROM pixel_placements WHERE agent_id = %s", agent) == [(1,)]

    # a user's key places for that user
    user = new_user(stack)
    ukey = new_key(stack, "places_user", f"user:{user}")
    r = public.post("/api/canvas/pixels", json={"x": x, "y": y, "color": 8}, headers=ip_headers(key=ukey))
    assert r.status_code == 201, r.text
    assert stack.sql("SELECT color, user_id::text FROM canvas_cells WHERE cell = %s", y * width + x) == [(8, user)]


def test_invalid_pixel_requests_are_400_and_do_not_consume_the_cooldown(stack, public, svc):
    if current_week(stack)[1] != "classic":
        reset(public, svc, "classic")
    width, height = canvas_size(stack)
    agent = new_agent(stack)
    key = new_key(stack, "places_agent", f"agent:{agent}")
    h = ip_headers(key=key)
    bad = [({"x": -1, "y": 0, "color": 1}, "x"), ({"x": width, "y": 0, "color": 1}, "x"),
           ({"x": 0, "y": height, "color": 1}, "y"), ({"x": 0, "y": -5, "color": 1}, "y"),
           ({"x": 0, "y": 0, "color": 16}, "color"), ({"x": 0, "y": 0, "color": -1}, "color"),
           ({"x": "1", "y": 0, "color": 1}, "x"), ({"x": 1.5, "y": 0, "color": 1}, "x"),
           ({"x": 0, "y": 0}, "color"), ({"y": 0, "color": 1}, "x"), ({"x": 0, "y": None, "color": 1}, "y")]
    for body, field in bad:
        r = public.post("/api/canvas/pixels", json=body, headers=h)
        assert r.status_code == 400, (body, r.text)
        assert r.json()["code"] == "INVALID_PARAMS"
        assert field in r.json()["error"], (body, r.json()["error"])
    r = public.post("/api/canvas/pixels", data="{not json", headers={**h, "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["code"] == "INVALID_PARAMS"
    r = public.post("/api/canvas/pixels", data='{"x":1,"y":1,"color":1}', headers={**h, "Content-Type": "text/plain"})
    assert r.status_code == 415 and r.json()["code"] == "UNSUPPORTED_MEDIA_TYPE"
    r = public.post("/api/canvas/pixels", data=b'{"x":"' + b"a" * (1 << 20) + b'"}',
                    headers={**h, "Content-Type": "application/json"})
    assert r.status_code == 413
    assert stack.sql("SELECT count(*) FROM pixel_placements WHERE agent_id = %s", agent) == [(0,)]
    r = public.post("/api/canvas/pixels", json={"x": 0, "y": 0, "color": 1}, headers=h)
    assert r.status_code == 201, f"a rejected request consumed the cooldown: {r.text}"


# places cooldown: it lived in memcached, whose TTL is whole seconds (a placement up to a second
# before the announced next_placement_at got in) and which took it along when it went down (no
# cooldown at all). It is now checked and taken inside place_pixel, in PostgreSQL.
def pixel_placer(stack, public, svc):
    if current_week(stack)[1] != "classic":
        reset(public, svc, "classic")
    agent = new_agent(stack)
    return agent, new_key(stack, "places_agent", f"agent:{agent}")


def stored_cooldown(stack, agent):
    rows = stack.sql("SELECT next_placement_at FROM placer_cooldowns WHERE placer_type = 'agent' AND placer_id = %s",
                     agent)
    return rows[0][0] if rows else None


def test_pixel_cooldown_is_enforced_while_memcached_is_down(stack, public, svc):
    agent, key = pixel_placer(stack, public, svc)
    try:
        stack.mc_stop()
        codes = [public.post("/api/canvas/pixels", json={"x": 20 + i, "y": 20, "color": 3},
                             headers=ip_headers(key=key)).status_code for i in range(5)]
    finally:
        stack.mc_start()
    assert codes == [201, 429, 429, 429, 429], f"the cooldown failed open without memcached: {codes}"
    assert stack.sql("SELECT count(*) FROM pixel_placements WHERE agent_id = %s", agent) == [(1,)]


def test_pixel_cooldown_holds_until_the_announced_next_placement_at(stack, public, svc):
    agent, key = pixel_placer(stack, public, svc)
    r = public.post("/api/canvas/pixels", json={"x": 30, "y": 30, "color": 4}, headers=ip_headers(key=key))
    assert r.status_code == 201, r.text
    announced = parse_ts(r.json()["next_placement_at"])
    # classic's 30000 ms from the exact placed_at, rounded up to the whole second the API writes
    (placed,) = stack.sql("SELECT placed_at FROM pixel_placements WHERE agent_id = %s", agent)[0]
    assert timedelta(seconds=30) <= announced - placed < timedelta(seconds=31), (placed, announced)
    assert stored_cooldown(stack, agent) == announced, "the cooldown must end exactly when the 201 says"

    # As if 29.2 s had gone by: the stored instant 800 ms ahead (not a whole second: memcached could
    # not hold that). Before it every placement is refused, after it one is allowed.
    (until,) = stack.sql("UPDATE placer_cooldowns SET next_placement_at = clock_timestamp() + interval '800 ms' "
                         "WHERE placer_type = 'agent' AND placer_id = %s RETURNING next_placement_at", agent)[0]
    r = public.post("/api/canvas/pixels", json={"x": 31, "y": 30, "color": 4}, headers=ip_headers(key=key))
    assert r.status_code == 429, r.text
    assert r.json()["code"] == "RATE_LIMIT" and r.headers["Retry-After"] == "1", (r.headers, r.text)
    until = until.astimezone(timezone.utc)
    whole = until if until.microsecond == 0 else until.replace(microsecond=0) + timedelta(seconds=1)
    assert r.json()["error"] == f"Cooldown: the next placement is allowed at {whole:%Y-%m-%dT%H:%M:%SZ}", r.text
    time.sleep(max(0.0, (until - datetime.now(timezone.utc)).total_seconds() - 0.1))
    r = public.post("/api/canvas/pixels", json={"x": 32, "y": 30, "color": 4}, headers=ip_headers(key=key))
    answered = datetime.now(timezone.utc)
    assert r.status_code == 429 or answered >= until, f"placed before the stored instant {until}: {r.text}"
    time.sleep(max(0.0, (until - datetime.now(timezone.utc)).total_seconds() + 0.02))
    r = public.post("/api/canvas/pixels", json={"x": 33, "y": 30, "color": 4}, headers=ip_headers(key=key))
    assert r.status_code == 201, f"refused after the stored instant {until}: {r.text}"
    assert stored_cooldown(stack, agent) == parse_ts(r.json()["next_placement_at"])
    assert stack.sql("SELECT count(*) FROM pixel_placements WHERE agent_id = %s", agent) == [(2,)]


def test_concurrent_placements_by_one_placer_place_exactly_one_pixel(stack, public, svc):
    agent, key = pixel_placer(stack, public, svc)
    url = public.url("/api/canvas/pixels")

    def one(i):
        return requests.post(url, json={"x": 40 + i, "y": 40, "color": 5}, headers=ip_headers(key=key),
                             timeout=30).status_code
    with ThreadPoolExecutor(8) as pool:
        codes = sorted(pool.map(one, range(8)))
    assert codes == [201] + [429] * 7, codes
    assert stack.sql("SELECT count(*) FROM pixel_placements WHERE agent_id = %s", agent) == [(1,)]


def test_limited_palette_accepts_only_its_colours(stack, public, svc):
    reset(public, svc, "limited-palette")
    try:
        for color in (0, 1, 3, 5, 10, 14, 15):
            agent = new_agent(stack)
            key = new_key(stack, "places_agent", f"agent:{agent}")
            r = public.post("/api/canvas/pixels", json={"x": 10 + color, "y": 10, "color": color},
                            headers=ip_headers(key=key))
            if color in (0, 5, 10, 15):
                assert r.status_code == 201, (color, r.text)
            else:
                assert r.status_code == 400, (color, r.text)
                assert r.json()["code"] == "INVALID_PARAMS" and "color" in r.json()["error"]
    finally:
        reset(public, svc, "classic")


def test_pixel_budget_applies_to_agents_only(stack, public, svc):
    """CONTRACT 7.1: `pixel-budget` gives each agent a weekly budget ("the budget applies to agents
    only"); a user places past it, an agent with the budget spent gets 403 FORBIDDEN."""
    reset(public, svc, "pixel-budget")
    try:
        (budget,) = stack.sql("SELECT (rules->>'pixel_budget')::int FROM game_modes WHERE slug = 'pixel-budget'")[0]
        width, _ = canvas_size(stack)
        user, agent = new_user(stack), new_agent(stack)
        spend = "SELECT count(place_pixel(%s::uuid, %s::uuid, g %% %s, g / %s, 3)) FROM generate_series(0, %s - 1) g"
        no_cooldown(stack, spend, user, None, width, width, budget)   # straight into PostgreSQL
        no_cooldown(stack, spend, None, agent, width, width, budget)

        r = public.post("/api/canvas/pixels", json={"x": 1, "y": 2, "color": 4},
                        headers=ip_headers(key=new_key(stack, "places_user", f"user:{user}")))
        assert r.status_code == 201, f"a user was refused past the agents' budget: {r.text}"
        place(stack, 2, 2, 4, user=user)   # and again, in PostgreSQL
        assert stack.sql("SELECT pixels_placed FROM week_placer_stats s JOIN weeks w ON w.id = s.week_id "
                         "AND w.closed_at IS NULL WHERE placer_id = %s", user) == [(budget + 2,)]

        r = public.post("/api/canvas/pixels", json={"x": 1, "y": 3, "color": 4},
                        headers=ip_headers(key=new_key(stack, "places_agent", f"agent:{agent}")))
        assert r.status_code == 403, r.text
        assert r.json()["code"] == "FORBIDDEN" and "budget" in r.json()["error"], r.text
        assert stack.sql("SELECT count(*) FROM pixel_placements WHERE agent_id = %s", agent) == [(budget,)]
    finally:
        reset(public, svc, "classic")


def test_pixel_placement_needs_a_bound_places_key(stack, public, svc):
    body = {"x": 1, "y": 1, "color": 1}
    r = public.post("/api/canvas/pixels", json=body, headers=ip_headers())
    assert r.status_code == 401 and r.json()["code"] == "UNAUTHORIZED"
    assert r.headers["Cache-Control"] == "no-store"
    r = public.post("/api/canvas/pixels", json=body, headers=ip_headers(key="gh_000000000000_" + "x" * 43))
    assert r.status_code == 401 and r.json()["code"] == "UNAUTHORIZED"
    for key in (svc, new_key(stack, "mikros"), new_key(stack, "scheduler")):
        r = public.post("/api/canvas/pixels", json=body, headers=ip_headers(key=key))
        assert r.status_code == 403, r.text
        assert r.json()["code"] == "FORBIDDEN"


def test_a_key_bound_to_a_missing_placer_is_refused_not_a_500(stack, public):
    ghost = str(uuid.uuid4())
    made = stack.admin("keys", "create", "--scope", "places_user", "--subject", f"user:{ghost}", check=False)
    if made.returncode != 0:
        return      # refusing to create such a key is fine too
    key = made.stdout.strip()
    r = public.post("/api/canvas/pixels", json={"x": 2, "y": 2, "color": 2}, headers=ip_headers(key=key))
    assert r.status_code in (401, 403), r.text


# ------------------------------------------------------------------------------------ leaderboards
def board(public, board_type, ip=None, limit=None):
    r = public.get(f"/api/leaderboard/current?type={board_type}&limit={limit or unique_limit() + 100}",
                   headers=ip_headers(ip))
    assert r.status_code == 200, r.text
    assert r.headers["Cache-Control"] == CC["board"]
    assert r.headers["X-RateLimit-Limit"] == "100"
    return r.json()


def test_leaderboards_rank_with_ties(stack, public, svc):
    reset(public, svc, "classic")
    a, b, c = new_agent(stack, "red"), new_agent(stack, "red"), new_agent(stack, "green")
    u1, u2 = new_user(stack, "blue"), new_user(stack, "green")
    row = iter(range(1000))
    for who, n, kind in ((a, 3, "agent"), (b, 3, "agent"), (c, 1, "agent"), (u1, 3, "user"), (u2, 2, "user")):
        y = next(row)
        for x in range(n):
            place(stack, 2 * x, 2 * y, 4, **{kind: who})      # cells apart: no two touch
    ip = client_ip()
    agents = board(public, "agents", ip)
    assert agents["type"] == "agents" and agents["game_mode"] == "classic"
    got = {r["agent_id"]: (r["rank"], r["agent_rank"], r["overall_rank"], r["pixels_placed"]) for r in agents["rankings"]}
    assert got == {a: (1, 1, 1, 3), b: (1, 1, 1, 3), c: (3, 3, 5, 1)}
    assert [r["rank"] for r in agents["rankings"]] == sorted(r["rank"] for r in agents["rankings"])
    users = board(public, "users", ip)
    got = {r["user_id"]: (r["rank"], r["overall_rank"], r["pixels_placed"], r["largest_territory"])
           for r in users["rankings"]}
    assert got == {u1: (1, 1, 3, 1), u2: (2, 4, 2, 1)}
    factions = board(public, "factions", ip)
    got = {r["faction_id"]: (r["rank"], r["territory_count"], r["pixels_placed"]) for r in factions["rankings"]}
    assert got == {"red": (1, 6, 6), "blue": (2, 3, 3), "green": (2, 3, 3)}
    assert factions["rankings"][0]["faction_id"] == "red"
    default = public.get("/api/leaderboard/current", headers=ip_headers(ip)).json()
    assert default["type"] == "agents"


def test_largest_territory_is_the_largest_4_connected_region(stack, public, svc):
    reset(public, svc, "classic")
    ell, diagonal, broken, breaker = (new_agent(stack) for _ in range(4))
    for x, y in ((100, 100), (101, 100), (100, 101), (200, 200)):     # an L of 3 and a single cell
        place(stack, x, y, 5, agent=ell)
    for i in range(3):                                                # diagonal cells do not connect
        place(stack, 300 + i, 300 + i, 6, agent=diagonal)
    for x in range(400, 405):                                         # a line of 5 cut at 401 and 403
        place(stack, x, 10, 7, agent=broken)
    place(stack, 401, 10, 8, agent=breaker)
    place(stack, 403, 10, 8, agent=breaker)
    ip = client_ip()
    rows = {r["agent_id"]: r for r in board(public, "agents", ip)["rankings"]}
    assert rows[ell]["largest_territory"] == 3
    assert rows[diagonal]["largest_territory"] == 1
    assert rows[broken]["largest_territory"] == 1 and rows[broken]["pixels_placed"] == 5
    assert rows[breaker]["largest_territory"] == 1
    week = public.get(f"/api/agents/{ell}/stats/current-week", headers=ip_headers(ip)).json()
    assert (week["pixels_placed"], week["largest_territory"]) == (4, 3)
    # joining the single cell's neighbourhood grows the region: (101,101) touches (100,101) and (101,100)
    place(stack, 101, 101, 5, agent=ell)
    rows = {r["agent_id"]: r for r in board(public, "agents", ip)["rankings"]}
    assert rows[ell]["largest_territory"] == 4


def test_leaderboard_type_and_limit_validation(stack, public, svc):
    ip = client_ip()
    r = public.get("/api/leaderboard/current?type=bogus", headers=ip_headers(ip))
    assert r.status_code == 400 and r.json()["code"] == "INVALID_PARAMS"
    for accepted in ("users", "agents", "factions"):
        assert accepted in r.json()["error"]
    for bad in ("0", "-3", "abc", "1.5"):
        r = public.get(f"/api/leaderboard/current?limit={bad}", headers=ip_headers(ip))
        assert r.status_code == 400 and "limit" in r.json()["error"], bad

    reset(public, svc, "classic")
    tag = uuid.uuid4().hex[:8]
    stack.sql("INSERT INTO agents (id, name) SELECT gen_random_uuid(), %s || '-' || n "
              "FROM generate_series(1, 501) n", f"bulk-{tag}")
    stack.sql("SELECT count(place_pixel(NULL::uuid, a.id, ((n - 1) %% 250 * 2)::int, (100 + (n - 1) / 250 * 2)::int, 1)) "
              "FROM (SELECT id, row_number() OVER (ORDER BY name) AS n FROM agents WHERE name LIKE %s) a",
              f"bulk-{tag}-%")
    assert len(board(public, "agents", ip, limit=600)["rankings"]) == 500
    assert len(board(public, "agents", ip, limit=500)["rankings"]) == 500
    assert len(board(public, "agents", ip, limit=3)["rankings"]) == 3
    assert len(public.get("/api/leaderboard/current", headers=ip_headers(ip)).json()["rankings"]) == 100
    reset(public, svc, "classic")


# ------------------------------------------------------------------------------------- agent stats
def test_agent_stats_history_weeks_are_clamped_at_52(stack, public):
    agent = new_agent(stack)
    # 60 archived weeks: 2001-W01..W30 and 2002-W01..W30, pixels = ranks = 1..60 (oldest first)
    stack.sql("INSERT INTO agent_weekly_stats (agent_id, year, week_number, game_mode_slug, pixels_placed, "
              "overall_rank, agent_rank, largest_territory) "
              "SELECT %s, 2001 + (g - 1) / 30, (g - 1) %% 30 + 1, 'classic', g, g, g, 0 FROM generate_series(1, 60) g",
              agent)
    ip = client_ip()
    r = public.get(f"/api/agents/{agent}/stats?weeks=100", headers=ip_headers(ip))
    assert r.status_code == 200 and r.headers["Cache-Control"] == CC["agent"]
    assert r.headers["X-RateLimit-Limit"] == "60"
    body = r.json()
    assert body["agent_id"] == agent and body["agent_name"] == f"agent-{agent}"
    history = body["weekly_history"]
    assert len(history) == 52
    assert [(h["year"], h["week_number"]) for h in history[:2]] == [(2002, 30), (2002, 29)]
    assert history[-1]["pixels_placed"] == 9            # the 52 newest of 60
    assert body["lifetime_stats"] == {"total_pixels": 1830, "weeks_participated": 60, "best_rank": 1,
                                      "average_rank": 30.5}
    assert body["trends"]["pixels_trend"] == "increasing" and body["trends"]["rank_trend"] == "declining"
    assert body["trends"]["participation_streak"] == 0
    assert public.get(f"/api/agents/{agent}/stats?weeks=52", headers=ip_headers(ip)).json()["weekly_history"] == history
    assert len(public.get(f"/api/agents/{agent}/stats", headers=ip_headers(ip)).json()["weekly_history"]) == 10
    assert len(public.get(f"/api/agents/{agent}/stats?weeks=5", headers=ip_headers(ip)).json()["weekly_history"]) == 5
    for bad in ("0", "-1", "abc"):
        r = public.get(f"/api/agents/{agent}/stats?weeks={bad}", headers=ip_headers(ip))
        assert r.status_code == 400 and "weeks" in r.json()["error"], bad


def test_agent_stats_unknown_404_malformed_400(public):
    ip = client_ip()
    for suffix in ("/stats", "/stats/current-week"):
        r = public.get(f"/api/agents/{uuid.uuid4()}{suffix}", headers=ip_headers(ip))
        assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND"
        for bad in ("not-a-uuid", "12345", "550e8400-e29b-41d4-a716-44665544000g"):
            r = public.get(f"/api/agents/{bad}{suffix}", headers=ip_headers(ip))
            assert r.status_code == 400 and r.json()["code"] == "INVALID_PARAMS", bad


def test_agent_current_week(stack, public):
    agent = new_agent(stack)
    ip = client_ip()
    r = public.get(f"/api/agents/{agent}/stats/current-week", headers=ip_headers(ip))
    assert r.status_code == 200 and r.headers["Cache-Control"] == CC["agent_week"]
    _, _, week_number, year, _, _ = current_week(stack)
    assert r.json() == {"agent_id": agent, "week_number": week_number, "year": year, "pixels_placed": 0,
                        "overall_rank": None, "agent_rank": None, "largest_territory": 0,
                        "objectives_completed": [], "last_pixel_at": None}
    other = new_agent(stack)
    t0 = datetime.now(timezone.utc).replace(microsecond=0)
    place(stack, 480, 480, 3, agent=other)
    place(stack, 482, 480, 3, agent=other)
    week = public.get(f"/api/agents/{other}/stats/current-week", headers=ip_headers(ip)).json()
    assert week["pixels_placed"] == 2 and week["agent_rank"] >= 1 and week["overall_rank"] >= week["agent_rank"]
    assert parse_ts(week["last_pixel_at"]) >= t0


def test_update_agent_stats_invalidates_the_agent_stats_cache(stack, public, svc):
    agent = new_agent(stack)
    stack.sql("INSERT INTO agent_weekly_stats (agent_id, year, week_number, game_mode_slug, pixels_placed, "
              "overall_rank, agent_rank) VALUES (%s, 2003, 10, 'classic', 5, 2, 1)", agent)
    ip = client_ip()
    path = f"/api/agents/{agent}/stats"
    assert public.get(path, headers=ip_headers(ip)).headers["X-Cache"] == "MISS"
    r = public.get(path, headers=ip_headers(ip))
    assert r.headers["X-Cache"] == "HIT" and r.json()["lifetime_stats"]["total_pixels"] == 5
    # the row is stale: there were no placements in 2003-W10; recomputing it removes it
    r = public.post("/api/admin/update-agent-stats", json={"agent_id": agent, "week_number": 10, "year": 2003},
                    headers=ip_headers(key=svc))
    assert r.status_code == 200, r.text
    assert r.json() == {"success": True, "stats_updated": False}
    assert r.headers["Cache-Control"] == "no-store"
    r = public.get(path, headers=ip_headers(ip))
    assert r.headers["X-Cache"] == "MISS", "update-agent-stats did not invalidate the agent's stats"
    assert r.json()["weekly_history"] == [] and r.json()["lifetime_stats"]["total_pixels"] == 0
    rows = stack.sql("SELECT action, category FROM audit_logs WHERE action = 'places.update_agent_stats' "
                     "AND details->>'agent_id' = %s", agent)
    assert rows == [("places.update_agent_stats", "admin")]


def test_update_agent_stats_validation(stack, public, svc):
    ip = client_ip()
    r = public.post("/api/admin/update-agent-stats", json={"agent_id": str(uuid.uuid4()), "week_number": 5, "year": 2026},
                    headers=ip_headers(ip, svc))
    assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND"
    for body, field in (({"agent_id": "nope", "week_number": 5, "year": 2026}, "agent_id"),
                        ({"agent_id": str(uuid.uuid4()), "year": 2026}, "week_number"),
                        ({"agent_id": str(uuid.uuid4()), "week_number": 54, "year": 2026}, "week_number")):
        r = public.post("/api/admin/update-agent-stats", json=body, headers=ip_headers(key=svc))
        assert r.status_code == 400 and field in r.json()["error"], (body, r.text)


def test_update_agent_stats_of_the_open_week_does_not_count_it_twice(stack, public, svc):
    """update-agent-stats for the open week's label writes that week's row; the stats must still
    count the week once (the live figures and the recomputed row are the same week)."""
    week_id, _, week_number, year, _, _ = current_week(stack)
    label = (2004, 1 + uuid.uuid4().int % 52)      # a label no other week has
    stack.sql("UPDATE weeks SET year = %s, week_number = %s WHERE id = %s", label[0], label[1], week_id)
    try:
        agent = new_agent(stack)
        place(stack, 490, 3, 9, agent=agent)
        r = public.post("/api/admin/update-agent-stats",
                        json={"agent_id": agent, "week_number": label[1], "year": label[0]},
                        headers=ip_headers(key=svc))
        assert r.status_code == 200 and r.json()["stats_updated"] is True, r.text
        body = public.get(f"/api/agents/{agent}/stats", headers=ip_headers()).json()
        assert [(h["year"], h["week_number"]) for h in body["weekly_history"]] == [label], body
        assert body["lifetime_stats"]["total_pixels"] == 1, body
        assert body["lifetime_stats"]["weeks_participated"] == 1, body
    finally:
        stack.sql("UPDATE weeks SET year = %s, week_number = %s WHERE id = %s", year, week_number, week_id)


# ---------------------------------------------------------------------------------------- archives
def test_archives_list_pagination_and_filters(stack, public, svc):
    while archive_count(stack) < 3:
        reset(public, svc, "classic")
    ids = [r[0] for r in stack.sql("SELECT id::text FROM canvas_archives ORDER BY ended_at DESC, id DESC")]
    total = len(ids)
    ip = client_ip()
    r = public.get("/api/archives", headers=ip_headers(ip))
    assert r.status_code == 200 and r.headers["Cache-Control"] == CC["archives"]
    assert r.headers["X-RateLimit-Limit"] == "50"
    body = r.json()
    assert body["pagination"] == {"page": 1, "limit": 20, "total": total, "total_pages": math.ceil(total / 20)}
    assert [a["id"] for a in body["archives"]] == ids[:20]
    for page in (1, 2):
        b = public.get(f"/api/archives?limit=2&page={page}", headers=ip_headers(ip)).json()
        assert [a["id"] for a in b["archives"]] == ids[2 * (page - 1):2 * page]
        assert b["pagination"] == {"page": page, "limit": 2, "total": total, "total_pages": math.ceil(total / 2)}
    beyond = public.get(f"/api/archives?limit=2&page={total}", headers=ip_headers(ip)).json()
    assert beyond["archives"] == [] and beyond["pagination"]["total"] == total
    assert public.get("/api/archives?limit=1000", headers=ip_headers(ip)).json()["pagination"]["limit"] == 100

    year = stack.sql("SELECT year FROM canvas_archives ORDER BY ended_at DESC LIMIT 1")[0][0]
    in_year = stack.sql("SELECT count(*) FROM canvas_archives WHERE year = %s", year)[0][0]
    b = public.get(f"/api/archives?year={year}&limit=100", headers=ip_headers(ip)).json()
    assert b["pagination"]["total"] == in_year and all(a["year"] == year for a in b["archives"])
    none = public.get("/api/archives?year=1999", headers=ip_headers(ip)).json()
    assert none == {"archives": [], "pagination": {"page": 1, "limit": 20, "total": 0, "total_pages": 0}}
    unknown = public.get("/api/archives?game_mode=no-such-mode", headers=ip_headers(ip)).json()
    assert unknown["archives"] == [] and unknown["pagination"]["total"] == 0
    assert unknown["pagination"]["total_pages"] == 0
    classic = stack.sql("SELECT count(*) FROM canvas_archives a JOIN game_modes m ON m.id = a.game_mode_id "
                        "WHERE m.slug = 'classic'")[0][0]
    b = public.get("/api/archives?game_mode=classic&limit=100", headers=ip_headers(ip)).json()
    assert b["pagination"]["total"] == classic
    assert all(a["game_mode_slug"] == "classic" for a in b["archives"])
    for bad in ("page=0", "page=abc", "limit=0", "limit=-5", "year=abc", "year=0"):
        r = public.get(f"/api/archives?{bad}", headers=ip_headers(ip))
        assert r.status_code == 400 and bad.split("=")[0] in r.json()["error"], bad


# ----------------------------------------------------------------------------- other admin routes
def test_snapshot_stats_stores_the_live_leaderboards(stack, public, svc):
    week_id = current_week(stack)[0]
    before = stack.sql("SELECT count(*) FROM stats_snapshots WHERE week_id = %s", week_id)[0][0]
    expected = sum(stack.sql(f"SELECT count(*) FROM {view}")[0][0] for view in
                   ("v_current_week_leaderboard", "v_current_week_leaderboard_users",
                    "v_current_week_leaderboard_factions"))
    r = public.post("/api/admin/snapshot-stats", headers=ip_headers(key=svc))
    assert r.status_code == 200, r.text
    assert r.headers["Cache-Control"] == "no-store"
    assert r.json() == {"success": True, "week_id": week_id, "rows": expected}
    assert stack.sql("SELECT count(*) FROM stats_snapshots WHERE week_id = %s", week_id)[0][0] == before + 1
    r = public.post("/api/admin/snapshot-stats", json={}, headers=ip_headers(key=svc))
    assert r.status_code == 200


def test_cleanup_archives_renders_missing_images(stack, public, svc):
    archive = reset(public, svc, "classic")["archive_id"]
    stack.sql("UPDATE canvas_archives SET image_png = NULL, thumbnail_png = NULL WHERE id = %s", archive)
    r = public.post("/api/admin/cleanup-archives", json={}, headers=ip_headers(key=svc))
    assert r.status_code == 200, r.text
    assert r.headers["Cache-Control"] == "no-store"
    body = r.json()
    assert body["success"] is True and body["archives"] == archive_count(stack)
    assert body["images_rendered"] >= 1 and body["images_failed"] == 0
    assert stack.sql("SELECT image_png IS NOT NULL AND thumbnail_png IS NOT NULL FROM canvas_archives "
                     "WHERE id = %s", archive) == [(True,)]
    width, height = canvas_size(stack)
    w, h, _ = decode_png(public.get(f"/api/archives/{archive}/image.png", headers=ip_headers()).content)
    assert (w, h) == (width, height)
    again = public.post("/api/admin/cleanup-archives", headers=ip_headers(key=svc)).json()
    assert again["images_rendered"] == 0


# ----------------------------------------------------------------------------- limits and routing
@pytest.mark.parametrize("path,limit", [("/api/archives", 50)])
def test_per_ip_limit_on_a_places_route(public, path, limit):
    ip = client_ip()
    started = time.monotonic()
    passed, remaining = 0, []
    while True:
        r = public.get(path, headers=ip_headers(ip))
        if r.status_code != 200:
            break
        passed += 1
        assert r.headers["X-RateLimit-Limit"] == str(limit)
        remaining.append(int(r.headers["X-RateLimit-Remaining"]))
        assert int(r.headers["X-RateLimit-Reset"]) >= int(time.time())
        assert passed <= 2 * limit, "no 429"
    # a full bucket lets `limit` requests through back to back; it refills at limit per minute, so a
    # slow run may see a few more pass
    refill = math.floor((time.monotonic() - started) * limit / 60)
    assert limit <= passed <= limit + refill, (passed, remaining)
    assert remaining[0] == limit - 1 and remaining[-1] == 0, remaining
    if refill == 0:     # all within one emission interval: an exact countdown
        assert remaining == list(range(limit - 1, -1, -1))
    assert r.status_code == 429, r.text
    assert r.json()["code"] == "RATE_LIMIT"
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    assert r.headers["X-RateLimit-Remaining"] == "0"
    # the archives bucket covers every /api/archives* route, and nothing else
    assert public.get(f"/api/archives/{uuid.uuid4()}", headers=ip_headers(ip)).status_code == 429
    assert public.get("/api/game-modes", headers=ip_headers(ip)).status_code == 200


def test_limit_headers_of_each_places_group(public):
    ip = client_ip()
    for path, limit in (("/api/game-modes", 200), ("/api/game-modes/current", 200), ("/api/archives", 50),
                        ("/api/leaderboard/current", 100), (f"/api/agents/{uuid.uuid4()}/stats", 60),
                        (f"/api/agents/{uuid.uuid4()}/stats/current-week", 60)):
        r = public.get(path, headers=ip_headers(ip))
        assert r.headers["X-RateLimit-Limit"] == str(limit), path
    assert "X-RateLimit-Limit" not in public.get("/api/canvas", headers=ip_headers(ip)).headers


def test_unknown_places_paths_and_methods(public):
    r = public.get("/api/archives/x/y/z", headers=ip_headers())
    assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND"
    r = public.delete("/api/canvas")
    assert r.status_code == 405 and r.json()["code"] == "METHOD_NOT_ALLOWED"
    r = public.get("/api/admin/reset-week", headers=ip_headers())
    assert r.status_code == 405 and r.headers["Allow"] == "POST"
    r = public.get("/api/canvas/pixels")
    assert r.status_code == 405 and "POST" in r.headers["Allow"]


def test_places_paths_are_not_served_on_the_ops_listener(ops):
    # CONTRACT 1: the ops listener serves the ops routes only (the ops session checks the 404)
    assert ops.get("/api/game-modes").status_code == 404
    assert ops.post("/api/admin/snapshot-stats").status_code == 404
