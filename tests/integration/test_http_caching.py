"""Cacheable answers as a CDN and a browser use them (CONTRACT 6): compressed once at render time and
served as stored to gzip clients (nginx does not compress again), inflated for the others, a strong
ETag per encoding, and 304 for a matching If-None-Match, which still counts against the limit; an
archive's answers also carry Last-Modified and honour If-Modified-Since."""
import datetime
import email.utils
import gzip
import json
import uuid

import requests

from test_places import (client_ip, ip_headers, new_agent, place, reset, svc,  # noqa: F401 (svc: fixture)
                         unique_limit)

PLAIN = {"Accept-Encoding": "identity"}
GZIP = {"Accept-Encoding": "gzip"}


def fetch(public, path, ip, encoding, **headers):
    """GET with the body exactly as sent (no gzip decoding by requests)."""
    r = requests.get(public.url(path), headers=dict(ip_headers(ip), **encoding, **headers), stream=True, timeout=30)
    body = r.raw.read(decode_content=False)
    r.close()
    return r, body


def cacheable_routes(stack, public, svc):
    archive = reset(public, svc, "classic")["archive_id"]
    agent = new_agent(stack)
    place(stack, 3, 4, 5, agent=agent)
    limit = unique_limit()
    return [
        "/api/game-modes", "/api/game-modes/current", f"/api/archives?limit={limit}", f"/api/archives/{archive}",
        f"/api/archives/{archive}/canvas", f"/api/archives/{archive}/image.png",
        f"/api/archives/{archive}/thumbnail.png", f"/api/leaderboard/current?limit={limit}",
        f"/api/leaderboard/archives/{archive}?type=users", f"/api/agents/{agent}/stats",
        f"/api/agents/{agent}/stats/current-week", "/api/canvas",
    ]


def test_every_cacheable_answer_is_the_same_bytes_gzipped_or_plain_with_an_etag_per_encoding(stack, public, svc):
    problems = []
    compressed = 0
    for path in cacheable_routes(stack, public, svc):
        ip = client_ip()
        gz_miss, gz_body = fetch(public, path, ip, GZIP)
        gz_hit, gz_hit_body = fetch(public, path, ip, GZIP)
        plain, plain_body = fetch(public, path, ip, PLAIN)
        assert gz_miss.status_code == gz_hit.status_code == plain.status_code == 200, path
        if gz_hit.headers["X-Cache"] != "HIT" or plain.headers["X-Cache"] != "HIT":
            problems.append(f"{path}: want HITs after the first answer")
        if gz_body != gz_hit_body or gz_miss.headers["ETag"] != gz_hit.headers["ETag"]:
            problems.append(f"{path}: the stored answer differs from the rendered one")
        etag = gz_miss.headers.get("ETag", "")
        if not (etag.startswith('"') and etag.endswith('"')):
            problems.append(f"{path}: ETag {etag!r} is not a strong entity tag")
        if "Content-Encoding" in plain.headers:
            problems.append(f"{path}: a client without gzip got Content-Encoding {plain.headers['Content-Encoding']}")
        if gz_miss.headers.get("Content-Encoding") == "gzip":
            compressed += 1
            if gzip.decompress(gz_body) != plain_body:
                problems.append(f"{path}: the gzip body does not inflate to the plain one")
            if not path.endswith("canvas") and len(plain_body) >= 4096 and len(gz_body) * 2 > len(plain_body):
                problems.append(f"{path}: gzip {len(gz_body)} bytes for {len(plain_body)} plain")
            if plain.headers["ETag"] == etag:
                problems.append(f"{path}: the two encodings share the ETag {etag}")
            for r in (gz_miss, plain):
                if r.headers.get("Vary") != "Accept-Encoding":
                    problems.append(f"{path}: Vary {r.headers.get('Vary')!r}")
        elif gz_body != plain_body or plain.headers["ETag"] != etag:
            problems.append(f"{path}: an uncompressed answer differs between the two clients")
        elif plain.headers["Content-Type"].startswith("application/json") and len(plain_body) >= 1024:
            problems.append(f"{path}: {len(plain_body)} bytes of JSON sent uncompressed to a gzip client")
    assert not problems, "\n".join(problems)
    assert compressed >= 3   # at least the game modes and the two canvases, whatever earlier tests left behind


def test_large_json_is_gzipped_once_by_guildhall_not_again_by_nginx(public):
    ip = client_ip()
    r, body = fetch(public, "/api/game-modes", ip, GZIP)
    assert r.status_code == 200 and r.headers["Content-Encoding"] == "gzip"
    inflated = gzip.decompress(body)
    assert inflated.startswith(b"{") and b'"modes"' in inflated   # one layer of gzip, then JSON
    # nginx's own gzip would send it chunked; guildhall's stored body has its length
    assert int(r.headers["Content-Length"]) == len(body)


def test_if_none_match_answers_304_without_a_body_and_still_counts(public):
    for encoding in (GZIP, PLAIN):
        ip = client_ip()
        first, _ = fetch(public, "/api/game-modes", ip, encoding)
        etag = first.headers["ETag"]
        again, body = fetch(public, "/api/game-modes", ip, encoding, **{"If-None-Match": etag})
        assert again.status_code == 304 and body == b""
        for header in ("ETag", "Cache-Control", "Vary"):
            assert again.headers.get(header) == first.headers.get(header), header
        assert "Content-Encoding" not in again.headers
        assert int(again.headers["X-RateLimit-Remaining"]) == int(first.headers["X-RateLimit-Remaining"]) - 1
        weak, _ = fetch(public, "/api/game-modes", ip, encoding, **{"If-None-Match": f'"x", W/{etag}'})
        assert weak.status_code == 304
        other, body = fetch(public, "/api/game-modes", ip, encoding, **{"If-None-Match": '"not-this-one"'})
        assert other.status_code == 200 and body
    # the gzip ETag does not validate the plain answer, nor the other way round
    ip = client_ip()
    gz, _ = fetch(public, "/api/game-modes", ip, GZIP)
    plain, _ = fetch(public, "/api/game-modes", ip, PLAIN, **{"If-None-Match": gz.headers["ETag"]})
    assert plain.status_code == 200


def test_a_304_is_refused_like_any_request_once_the_limit_is_spent(public):
    ip = client_ip()
    first, _ = fetch(public, "/api/archives", ip, GZIP)
    etag = first.headers["ETag"]
    statuses = [fetch(public, "/api/archives", ip, GZIP, **{"If-None-Match": etag})[0].status_code
                for _ in range(int(first.headers["X-RateLimit-Remaining"]) + 1)]
    assert set(statuses[:-1]) == {304} and statuses[-1] == 429


def test_an_etag_changes_with_the_answer(stack, public, svc):
    limit = unique_limit()
    ip = client_ip()
    path = f"/api/leaderboard/current?type=agents&limit={limit}"
    before, _ = fetch(public, path, ip, GZIP)
    reset(public, svc, "classic")   # invalidates the leaderboard (a new, empty week)
    agent = new_agent(stack, display_name=f"etag-{uuid.uuid4().hex[:8]}")
    place(stack, 1, 1, 2, agent=agent)
    after, _ = fetch(public, path, ip, GZIP, **{"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and after.headers["ETag"] != before.headers["ETag"]


def http_date(when):
    return email.utils.format_datetime(when.astimezone(datetime.timezone.utc), usegmt=True)


def test_an_archive_carries_its_end_as_last_modified_and_honours_if_modified_since(public, svc):
    archive = reset(public, svc, "classic")["archive_id"]
    ip = client_ip()
    meta, body = fetch(public, f"/api/archives/{archive}", ip, PLAIN)
    ended = datetime.datetime.fromisoformat(
        json.loads(body)["ended_at"].replace("Z", "+00:00"))
    paths = [f"/api/archives/{archive}", f"/api/archives/{archive}/canvas", f"/api/archives/{archive}/image.png",
             f"/api/archives/{archive}/thumbnail.png", f"/api/leaderboard/archives/{archive}?type=agents"]
    for path in paths:
        for _ in range(2):   # rendered, then read back from the cache
            r, _ = fetch(public, path, ip, GZIP)
            assert r.status_code == 200 and r.headers["Last-Modified"] == http_date(ended), path
            same, body = fetch(public, path, ip, GZIP, **{"If-Modified-Since": r.headers["Last-Modified"]})
            assert same.status_code == 304 and body == b"" and same.headers["ETag"] == r.headers["ETag"], path
            later, _ = fetch(public, path, ip, GZIP,
                             **{"If-Modified-Since": http_date(ended + datetime.timedelta(days=1))})
            assert later.status_code == 304, path
            earlier, body = fetch(public, path, ip, GZIP,
                                  **{"If-Modified-Since": http_date(ended - datetime.timedelta(seconds=1))})
            assert earlier.status_code == 200 and body, path
            # If-None-Match decides when both are sent (RFC 9110 13.2.2)
            both, _ = fetch(public, path, ip, GZIP,
                            **{"If-None-Match": '"other"', "If-Modified-Since": r.headers["Last-Modified"]})
            assert both.status_code == 200, path
            bad_date, _ = fetch(public, path, ip, GZIP, **{"If-Modified-Since": "yesterday"})
            assert bad_date.status_code == 200, path
    modes, _ = fetch(public, "/api/game-modes", ip, GZIP)
    assert "Last-Modified" not in modes.headers
    assert fetch(public, "/api/game-modes", ip, GZIP,
                 **{"If-Modified-Since": http_date(datetime.datetime.now(datetime.timezone.utc))})[0].status_code == 200


def test_uncacheable_and_error_answers_carry_no_etag(public):
    ip = client_ip()
    r, _ = fetch(public, f"/api/archives/{uuid.uuid4()}", ip, GZIP)
    assert r.status_code == 404 and "ETag" not in r.headers
    r, _ = fetch(public, "/api/admin/reset-week", ip, GZIP)
    assert r.status_code == 405 and "ETag" not in r.headers


def round_trips(ops):
    text = ops.get("/metrics").text
    (line,) = [ln for ln in text.splitlines() if ln.startswith("guildhall_memcached_round_trips_total ")]
    return int(line.split()[1])


def test_a_limited_cached_answer_costs_two_memcached_round_trips(public, ops):
    """One multi-get reads the per-IP limit's state, the cached answer and its generation; one CAS
    spends the limit. Before, the limit's read was a round trip of its own."""
    ip = client_ip()
    first, _ = fetch(public, "/api/game-modes", ip, GZIP)
    assert first.status_code == 200
    before = round_trips(ops)
    for _ in range(5):
        r, _ = fetch(public, "/api/game-modes", ip, GZIP)
        assert r.headers["X-Cache"] == "HIT"
    r, _ = fetch(public, "/api/game-modes", ip, GZIP, **{"If-None-Match": first.headers["ETag"]})
    assert r.status_code == 304
    assert round_trips(ops) - before == 6 * 2
