"""Browsers on another origin (CONTRACT 5.1): the public places GETs (and their 304s) are readable from
any origin; writes and authenticated routes answer preflights only for the origins of cors_origins
(the test stack allows http://allowed.example); a plain OPTIONS stays 405. The last test drives a real
headless Chromium through its DevTools protocol."""
import asyncio
import json
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
import websockets

from harness import wait_for
from test_places import client_ip, ip_headers, reset, svc  # noqa: F401 (svc: fixture)

EXPOSED = {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "retry-after", "x-request-id", "etag"}


def allowed_origin(stack):
    origin = stack.env.get("CORS_ORIGINS", "")
    assert origin, "the test stack is started with GUILDHALL_CORS_ORIGINS (scripts/test-all, conftest.py)"
    return origin.split(",")[0].strip()


def call(public, method, path, **headers):
    """A request outside the OpenAPI check: preflights are OPTIONS, which the document does not list."""
    return requests.request(method, public.url(path), headers=dict(ip_headers(), **headers), timeout=30)


def preflight(public, path, method, origin, **headers):
    return call(public, "OPTIONS", path, Origin=origin, **{"Access-Control-Request-Method": method}, **headers)


def exposed(r):
    return {h.strip().lower() for h in r.headers.get("Access-Control-Expose-Headers", "").split(",") if h.strip()}


def test_public_places_gets_and_their_304s_are_readable_from_any_origin(public):
    origin = "https://some-frontend.example"
    for path in ("/api/game-modes/current", "/api/game-modes", "/api/leaderboard/current", "/api/canvas"):
        ip = client_ip()
        r = requests.get(public.url(path), headers={"Origin": origin, "X-Forwarded-For": ip}, timeout=30)
        assert r.status_code == 200, path
        assert r.headers.get("Access-Control-Allow-Origin") == "*", path
        assert EXPOSED <= exposed(r), (path, r.headers.get("Access-Control-Expose-Headers"))
        again = requests.get(public.url(path), headers={"Origin": origin, "X-Forwarded-For": ip,
                                                        "If-None-Match": r.headers["ETag"]}, timeout=30)
        assert again.status_code == 304 and again.headers.get("Access-Control-Allow-Origin") == "*", path
    # without an Origin (a bot, a CDN) the answer is the same
    r = public.get("/api/game-modes/current", headers=ip_headers())
    assert r.headers.get("Access-Control-Allow-Origin") == "*"


def test_a_refused_public_read_is_readable_too_so_a_page_sees_its_429(public):
    ip = client_ip()
    statuses = []
    for _ in range(51):
        r = requests.get(public.url("/api/archives"), headers={"Origin": "https://x.example", "X-Forwarded-For": ip},
                         timeout=30)
        statuses.append(r.status_code)
    assert statuses[-1] == 429 and r.headers.get("Access-Control-Allow-Origin") == "*"
    assert "retry-after" in exposed(r)


def test_public_read_preflight_is_answered_for_any_origin(public):
    r = preflight(public, "/api/game-modes/current", "GET", "https://some-frontend.example",
                  **{"Access-Control-Request-Headers": "if-none-match"})
    assert r.status_code == 204, r.text
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert r.headers["Access-Control-Allow-Methods"] == "GET, HEAD"
    assert "if-none-match" in r.headers["Access-Control-Allow-Headers"].lower()
    assert "if-modified-since" in r.headers["Access-Control-Allow-Headers"].lower()
    assert "X-RateLimit-Limit" not in r.headers   # a preflight is not counted


def test_write_preflight_only_for_the_configured_origins(stack, public):
    origin = allowed_origin(stack)
    ok = preflight(public, "/api/canvas/pixels", "POST", origin,
                   **{"Access-Control-Request-Headers": "authorization, content-type"})
    assert ok.status_code == 204, ok.text
    assert ok.headers["Access-Control-Allow-Origin"] == origin
    assert "Origin" in ok.headers.get("Vary", "")
    allowed = {h.strip().lower() for h in ok.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type"} <= allowed
    assert "POST" in ok.headers["Access-Control-Allow-Methods"]
    assert int(ok.headers["Access-Control-Max-Age"]) > 0
    for other in ("https://evil.example", origin + ".evil.example", origin.replace("http:", "https:")):
        refused = preflight(public, "/api/canvas/pixels", "POST", other)
        assert refused.status_code == 403, other
        assert not [h for h in refused.headers if h.lower().startswith("access-control-")], refused.headers
        assert refused.json()["code"] == "FORBIDDEN"
    # an authenticated route of another family: the same rule
    assert preflight(public, "/api/gamestats/total-apps", "GET", origin).headers[
        "Access-Control-Allow-Origin"] == origin
    r = preflight(public, "/api/gamestats/total-apps", "GET", "https://evil.example")
    assert r.status_code == 403 and "Access-Control-Allow-Origin" not in r.headers


def test_the_answer_to_an_allowed_origin_names_it_and_no_one_else(stack, public, svc):
    origin = allowed_origin(stack)
    body = {"next_game_mode": "classic", "force": True}
    r = requests.post(public.url("/api/admin/reset-week"), json=body, timeout=30,
                      headers=dict(ip_headers(key=svc), Origin=origin))
    assert r.status_code == 200 and r.headers["Access-Control-Allow-Origin"] == origin
    assert "Origin" in r.headers.get("Vary", "")
    r = requests.post(public.url("/api/admin/reset-week"), json=body, timeout=30,
                      headers=dict(ip_headers(key=svc), Origin="https://evil.example"))
    assert "Access-Control-Allow-Origin" not in r.headers


def test_plain_options_and_unknown_methods_stay_405(public):
    r = call(public, "OPTIONS", "/api/game-modes/current")
    assert r.status_code == 405 and "GET" in r.headers["Allow"]
    r = preflight(public, "/api/game-modes/current", "DELETE", "https://some-frontend.example")
    assert r.status_code == 405 and "Access-Control-Allow-Origin" not in r.headers
    assert call(public, "OPTIONS", "/api/no-such-route", Origin="https://x.example",
                **{"Access-Control-Request-Method": "GET"}).status_code == 404


# ------------------------------------------------------------------------- a real browser (Chromium)
CHROMIUM = shutil.which("chromium")

PAGE = b"""<!doctype html><title>another origin</title><p>frontend"""

# Runs in the page: each part resolves to what the page could read, or the error it got.
SCRIPT = """
(async () => {
  const api = %(api)s, ws_url = %(ws)s, out = {};
  try {
    const r = await fetch(api + "/api/game-modes/current");
    out.read = {status: r.status, slug: (await r.json()).slug, limit: r.headers.get("X-RateLimit-Limit"),
                etag: r.headers.get("ETag")};
  } catch (e) { out.read = {error: String(e)}; }
  try {
    const r = await fetch(api + "/api/canvas/pixels", {method: "POST",
      headers: {"Authorization": "Bearer " + %(key)s, "Content-Type": "application/json"},
      body: JSON.stringify({x: 0, y: 0, color: 1})});
    out.write = {status: r.status};
  } catch (e) { out.write = {error: String(e)}; }
  const sse = new Promise((resolve) => {
    const es = new EventSource(api + "/api/events");
    const t = setTimeout(() => { es.close(); resolve({error: "no event in time"}); }, %(wait_ms)d);
    const got = (m) => { clearTimeout(t); es.close(); resolve({data: m.data}); };
    es.onmessage = got;   // nchan names each event (event: week_reset): listen for the names too
    es.addEventListener("week_reset", got);
    es.addEventListener("game_mode_changed", got);
  });
  const ws = new Promise((resolve) => {
    const ws = new WebSocket(ws_url);
    const t = setTimeout(() => { ws.close(); resolve({error: "no message in time"}); }, %(wait_ms)d);
    ws.onmessage = (m) => { clearTimeout(t); ws.close(); resolve({data: m.data}); };
  });
  [out.sse, out.ws] = await Promise.all([sse, ws]);
  return JSON.stringify(out);
})()
"""


class PageServer(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's API
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args):
        pass


async def evaluate(ws_url, page_url, expression, timeout):
    async with websockets.connect(ws_url, max_size=None) as ws:
        ids = iter(range(1, 1000))

        async def cdp(method, **params):
            my = next(ids)
            await ws.send(json.dumps({"id": my, "method": method, "params": params}))
            while True:
                msg = json.loads(await asyncio.wait_for(ws.recv(), timeout))
                if msg.get("id") == my:
                    assert "error" not in msg, msg
                    return msg["result"]

        await cdp("Page.enable")
        await cdp("Page.navigate", url=page_url)
        for _ in range(100):
            state = await cdp("Runtime.evaluate", expression="document.readyState + ' ' + location.href")
            if state["result"]["value"] == f"complete {page_url}":
                break
            await asyncio.sleep(0.1)
        result = await cdp("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        assert "exceptionDetails" not in result, result
        return json.loads(result["result"]["value"])


@pytest.fixture
def chromium():
    if not CHROMIUM:
        pytest.fail("chromium is not installed (scripts/packages.txt lists it)")
    profile = tempfile.mkdtemp(prefix="guildhall-chromium-")
    proc = subprocess.Popen([CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                             "--disable-dev-shm-usage", "--remote-debugging-port=0", f"--user-data-dir={profile}",
                             "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = Path(profile) / "DevToolsActivePort"
        wait_for(lambda: port_file.exists() and len(port_file.read_text().split()) >= 2, 30)
        port = int(port_file.read_text().split()[0])
        pages = [t for t in requests.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
                 if t["type"] == "page"]
        yield pages[0]["webSocketDebuggerUrl"]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(profile, ignore_errors=True)


def test_a_chromium_page_on_another_origin_reads_the_api_the_sse_stream_and_the_websocket(
        stack, public, svc, chromium):
    page = ThreadingHTTPServer(("127.0.0.1", 0), PageServer)
    threading.Thread(target=page.serve_forever, daemon=True).start()
    page_url = f"http://127.0.0.1:{page.server_address[1]}/"
    api = public.url("/").rstrip("/")
    assert api.split("//")[1] != page_url.split("//")[1].rstrip("/")   # another origin: another port
    key = "gh_" + uuid.uuid4().hex   # never sent: the browser stops at the refused preflight
    expression = SCRIPT % {"api": json.dumps(api), "ws": json.dumps(api.replace("http:", "ws:") + "/api/ws"),
                           "key": json.dumps(key), "wait_ms": 15000}
    # the page subscribes, then a reset publishes an event on both streams
    result = {}
    runner = threading.Thread(target=lambda: result.update(asyncio.run(evaluate(chromium, page_url, expression, 40))))
    runner.start()
    time.sleep(2)
    for _ in range(10):   # until both streams have had an event
        if not runner.is_alive():
            break
        reset(public, svc, "classic")
        runner.join(2)
    runner.join(60)
    page.shutdown()
    assert result, "the page script did not finish"
    current = public.get("/api/game-modes/current", headers=ip_headers()).json()
    assert result["read"].get("status") == 200, result
    assert result["read"]["slug"] == current["slug"] and result["read"]["limit"] == "200", result
    assert result["read"]["etag"], result   # exposed to the page
    # the page's origin is not in cors_origins: the browser refuses the write before sending it
    assert "error" in result["write"], result
    for stream in ("sse", "ws"):
        assert "data" in result[stream], result
        assert json.loads(result[stream]["data"]).get("type"), result
