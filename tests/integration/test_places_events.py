"""The places events (CONTRACT 1 and 7.1): after a reset-week, `week_reset` then `game_mode_changed`
reach every subscriber of the WebSocket `/api/ws` (one JSON text frame each) and of the Server-Sent
Events stream `/api/events` (`event: <type>` and one `data:` line of JSON). nginx's nchan module
serves both; the scheduler process publishes them from the outbox the reset's transaction wrote.

A subscriber may also see events of resets other tests make, so each test waits for the events that
carry the archive id of its own reset.
"""
import asyncio
import json
import queue
import threading
import time
import uuid
from urllib.parse import urlsplit

import pytest
import requests
import websockets

from openapi_plugin import load_document

WAIT = 10.0     # the scheduler delivers within about a second


def client_ip():
    n = uuid.uuid4().int
    return f"10.{n % 250}.{(n >> 8) % 250}.{(n >> 16) % 250 + 1}"


@pytest.fixture(scope="module")
def svc(stack):
    out = stack.admin("keys", "create", "--scope", "service_role", "--label", "test-places-events").stdout.strip()
    assert out.startswith("gh_"), out
    return out


def reset(public, key, mode):
    r = public.post("/api/admin/reset-week", json={"next_game_mode": mode, "force": True},
                    headers={"Authorization": f"Bearer {key}", "X-Forwarded-For": client_ip()})
    assert r.status_code == 200, r.text
    return r.json()


def other_mode(stack):
    """A mode other than the current one, so that the event shows the change."""
    (current,) = stack.sql("SELECT m.slug FROM weeks w JOIN game_modes m ON m.id = w.game_mode_id "
                           "WHERE w.closed_at IS NULL")[0]
    return "territory-wars" if current != "territory-wars" else "collaboration"


def check_schema(name, event):
    doc = load_document()
    errors = doc.schema_errors({"$ref": f"#/components/schemas/{name}"}, event)
    assert not errors, f"{name} does not match docs/openapi.yaml: {errors}"


def mine(events, archive):
    """Indexes of the week_reset events of this reset."""
    return [i for i, e in enumerate(events)
            if e.get("type") == "week_reset" and (e.get("data") or {}).get("archive_id") == archive]


def complete(events, archive):
    """True once this reset's week_reset and an event after it have arrived."""
    idx = mine(events, archive)
    return bool(idx) and len(events) > idx[0] + 1


def expect_pair(events, done, stack):
    """events: the JSON objects received, in order. This reset's week_reset must be followed at once by
    its game_mode_changed; both must say what the reset answered."""
    archive = done["archive_id"]
    idx = mine(events, archive)
    assert len(idx) == 1, f"week_reset for {archive} received {len(idx)} times: {events}"
    i = idx[0]
    assert i + 1 < len(events) and events[i + 1].get("type") == "game_mode_changed", (
        f"week_reset must come first, then game_mode_changed; received in this order: "
        f"{[e.get('type') for e in events]}: {events}")
    reset_event, changed = events[i], events[i + 1]
    week = done["new_week"]
    assert reset_event == {"type": "week_reset", "data": {"archive_id": archive, "new_week": week["week_number"],
                                                          "new_year": week["year"], "game_mode": week["game_mode"]}}
    (name, rules) = stack.sql("SELECT name, rules FROM game_modes WHERE slug = %s", week["game_mode"])[0]
    assert changed == {"type": "game_mode_changed",
                       "data": {"new_mode": {"slug": week["game_mode"], "name": name, "rules": rules},
                                "week_number": week["week_number"], "year": week["year"]}}
    check_schema("WeekResetEvent", reset_event)
    check_schema("GameModeChangedEvent", changed)


def collect(next_event, archive):
    """Reads events until this reset's pair is in (or WAIT passed; 2 s more after its week_reset
    when nothing follows it, so that a pair in the wrong order is reported as such)."""
    events = []
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline and not complete(events, archive):
        event = next_event(0.2)
        if event is not None:
            events.append(event)
            if mine(events, archive):
                deadline = min(deadline, time.monotonic() + 2.0)
    return events


def ws_url(stack):
    parts = urlsplit(stack.public)
    return f"ws://{parts.netloc}/api/ws"


class WsListener(threading.Thread):
    """Connects to /api/ws and collects every text frame (parsed as JSON) until stopped."""

    def __init__(self, url):
        super().__init__(daemon=True)
        self.url = url
        self.frames = queue.Queue()
        self.connected = threading.Event()
        self.error = None
        self._stopping = False

    def run(self):
        try:
            asyncio.run(self._main())
        except Exception as exc:  # noqa: BLE001 - reported by the test
            self.error = exc
            self.connected.set()

    async def _main(self):
        async with websockets.connect(self.url, open_timeout=10, ping_interval=None) as ws:
            self.connected.set()
            while not self._stopping:
                try:
                    frame = await asyncio.wait_for(ws.recv(), timeout=0.2)
                except asyncio.TimeoutError:
                    continue
                self.frames.put(frame)

    def stop(self):
        self._stopping = True
        self.join(5)


def test_websocket_receives_week_reset_then_game_mode_changed(stack, public, svc):
    listener = WsListener(ws_url(stack))
    listener.start()
    assert listener.connected.wait(10), "no WebSocket connection to /api/ws"
    assert listener.error is None, f"/api/ws: {listener.error!r}"
    try:
        time.sleep(0.3)         # the subscription is live once the upgrade is done; a little margin
        done = reset(public, svc, other_mode(stack))

        def next_event(timeout):
            try:
                frame = listener.frames.get(timeout=timeout)
            except queue.Empty:
                return None
            assert isinstance(frame, str), f"a binary frame: {frame!r}"
            event = json.loads(frame)
            assert isinstance(event, dict), frame
            return event

        events = collect(next_event, done["archive_id"])
        assert listener.error is None, f"/api/ws: {listener.error!r}"
        assert events, f"no event on /api/ws within {WAIT} s of the reset"
        expect_pair(events, done, stack)
    finally:
        listener.stop()


def test_server_sent_events_carry_event_name_and_json_data(stack, public, svc):
    lines = queue.Queue()
    opened = threading.Event()
    box = {}

    def read():
        try:
            with requests.get(public.url("/api/events"), stream=True, timeout=(5, WAIT + 5),
                              headers={"Accept": "text/event-stream"}) as r:
                box["status"], box["ctype"] = r.status_code, r.headers.get("Content-Type", "")
                opened.set()
                for line in r.iter_lines(chunk_size=1, decode_unicode=True):
                    lines.put(line)
                    if box.get("stop"):
                        break
        except Exception as exc:  # noqa: BLE001 - a read timeout ends the stream; reported below if early
            box.setdefault("error", exc)
        finally:
            opened.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert opened.wait(10), "no answer from /api/events"
    assert box.get("status") == 200, box
    assert box["ctype"].startswith("text/event-stream"), box["ctype"]
    time.sleep(0.3)
    done = reset(public, svc, other_mode(stack))
    pending = {}

    def next_event(timeout):
        """The next SSE message as its JSON object (checking its event: line)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                line = lines.get(timeout=max(0.01, end - time.monotonic()))
            except queue.Empty:
                return None
            if line == "":
                message = dict(pending)
                pending.clear()
                if "data" not in message:
                    continue
                event = json.loads(message["data"])
                assert message.get("event") == event["type"], \
                    f"event: line {message.get('event')!r} but the JSON says {event['type']!r}"
                return event
            if line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "data":
                assert "data" not in pending, f"a message with more than one data: line: {pending} + {value}"
            pending[field] = value
        return None

    events = collect(next_event, done["archive_id"])
    box["stop"] = True
    assert events, f"no event on /api/events within {WAIT} s of the reset ({box.get('error')!r})"
    expect_pair(events, done, stack)
