"""The audit webhook: entries reach Discord through the outbox, delivered by the outbox process
with retries and back-off, never by the request that wrote them."""
import contextlib
import json
import os
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from harness import wait_for


class Receiver:
    """A local stand-in for a Discord webhook: fails the first `failures` posts with 500."""

    def __init__(self, failures=0):
        self.failures = failures
        self.posts = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.posts.append((time.monotonic(), self.headers.get("Content-Type"), body))
                status = 500 if len(receiver.posts) <= receiver.failures else 204
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/webhook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@contextlib.contextmanager
def config_lines(stack, lines, outbox_running=True):
    """Appends lines to the config, reloads and waits for the outbox process to be replaced (or gone);
    restores the file, reloads and waits for a new outbox process afterwards."""
    with open(stack.config) as f:
        original = f.read()
    outbox_before = stack.outbox_pid()
    with open(stack.config, "a") as f:
        f.write("\n" + "".join(f"{line}\n" for line in lines))
    stack.reload()
    try:
        if outbox_running:
            wait_for(lambda: stack.outbox_pid() not in (None, outbox_before), timeout=15,
                     what="the outbox process restarted with the new configuration")
        else:
            wait_for(lambda: stack.outbox_pid() is None, timeout=15, what="the outbox process stopped")
        yield
    finally:
        with open(stack.config, "w") as f:
            f.write(original)
        current = stack.outbox_pid()
        stack.reload()
        wait_for(lambda: stack.outbox_pid() not in (None, current), timeout=15,
                 what="the outbox process restarted with the restored configuration")


@pytest.fixture
def audit_receiver(stack):
    receiver = Receiver(failures=2)
    try:
        with config_lines(stack, [f"webhook_audit_url = {receiver.url}"]):
            yield receiver
    finally:
        receiver.close()


def test_audit_entry_is_delivered_with_retries(stack, audit_receiver):
    started = time.monotonic()
    out = stack.admin("keys", "create", "--scope", "mikros", "--label", "webhook-test")
    key_id = out.stdout.strip().split("_")[1]
    assert time.monotonic() - started < 5, "creating a key must not wait for the webhook"

    def delivered():
        return [p for p in audit_receiver.posts if b"keys.create" in p[2] and p[0] >= started]

    wait_for(lambda: len(delivered()) >= 3, timeout=30, what="two failed attempts and one delivery")
    attempts = delivered()
    assert attempts[1][0] - attempts[0][0] >= 1.5, "the first retry waits (back-off)"
    assert attempts[2][0] - attempts[1][0] > attempts[1][0] - attempts[0][0] - 0.5, "back-off grows"
    payload = json.loads(attempts[-1][2])
    embed = payload["embeds"][0]
    assert embed["title"] == "Audit Log Entry"
    assert embed["color"] == 39423
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Action"] == "keys.create"
    assert fields["User ID"] == "system"
    assert attempts[-1][1] == "application/json"
    rows = stack.sql("SELECT o.attempts, o.delivered_at IS NOT NULL FROM outbox o "
                     "WHERE o.kind = 'audit_webhook' AND o.payload::text LIKE %s AND o.created_at >= "
                     "(SELECT created_at FROM api_keys WHERE id = %s) ORDER BY o.id LIMIT 1",
                     "%keys.create%", key_id)
    assert rows and rows[0][1] is True
    assert rows[0][0] == 3
    time.sleep(1.0)
    assert len(delivered()) == 3, "a delivered entry is not sent again"


def test_internal_error_is_a_bare_500_and_queues_the_error_webhook(stack, public):
    before = stack.sql("SELECT coalesce(max(id), 0) FROM outbox")[0][0]
    r = public.get("/_test/fail")
    assert r.status_code == 500
    body = r.json()
    assert body["code"] == "SERVER_ERROR"
    assert r.headers["X-Request-Id"] in body["error"]
    for leak in ("no_such", "SELECT", "relation", "ERROR:", "postgres"):
        assert leak not in r.text
    rows = stack.sql("SELECT payload FROM outbox WHERE id > %s AND kind = 'error_webhook'", before)
    assert len(rows) == 1
    embed = rows[0][0]["embeds"][0]
    assert embed["title"] == "Critical Error" and embed["color"] == 16711680
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Request Id"] == r.headers["X-Request-Id"]
    assert fields["Route"] == "/_test/fail"
    assert "no_such" not in json.dumps(rows[0][0])
    assert "no_such_table" in stack.log_tail(200), "the details go to the log instead"


def _audit_posts(receiver, action, since):
    return [p for p in receiver.posts if action.encode() in p[2] and p[0] >= since]


def test_outbox_is_its_own_supervised_process(stack, ops):
    """The outbox process is neither the scheduler nor a worker; killed, it is started again and the
    entries queued meanwhile are delivered by the new one."""
    receiver = Receiver()
    try:
        with config_lines(stack, [f"webhook_audit_url = {receiver.url}"]):
            victim = stack.outbox_pid()
            assert victim and victim != stack.scheduler_pid() and victim not in stack.worker_pids()
            os.kill(victim, signal.SIGKILL)
            started = time.monotonic()
            stack.admin("keys", "create", "--scope", "mikros", "--label", "outbox-respawn")
            new = wait_for(lambda: (lambda p: p if p not in (None, victim) else None)(stack.outbox_pid()),
                           timeout=10, what="a new outbox process")
            wait_for(lambda: _audit_posts(receiver, "keys.create", started), timeout=15,
                     what="the entry queued while the outbox was down delivered by the new process")
            health = wait_for(lambda: (lambda h: h if h["checks"]["outbox"]["status"] == "healthy" else None)(
                ops.get("/health").json()), timeout=10, what="/health to report the new outbox")
            assert health["checks"]["outbox"]["pid"] == new, health["checks"]["outbox"]
    finally:
        receiver.close()


def test_outbox_off_leaves_rows_queued_and_health_says_disabled(stack, ops):
    before = stack.sql("SELECT coalesce(max(id), 0) FROM outbox")[0][0]
    with config_lines(stack, ["outbox = off"], outbox_running=False):
        # workers are replaced one at a time: wait for one with the new configuration to answer
        h = wait_for(lambda: (lambda h: h if h["checks"]["outbox"]["status"] == "disabled" else None)(
            ops.get("/health").json()), timeout=15, what="/health from a worker with outbox = off")
        assert h["checks"]["outbox"] == {"status": "disabled", "pid": None}, h["checks"]
        assert h["checks"]["scheduler"]["status"] == "healthy", "the scheduler runs without the outbox"
        stack.sql("INSERT INTO outbox (kind, payload) VALUES ('error_webhook', '{\"content\": \"outbox off\"}')")
        time.sleep(1.5)  # the scheduler would have delivered it by now, when it also drained the outbox
        assert stack.sql("SELECT count(*) FROM outbox WHERE id > %s AND delivered_at IS NULL", before)[0][0] == 1
    wait_for(lambda: stack.sql("SELECT count(*) FROM outbox WHERE id > %s AND delivered_at IS NULL",
                               before)[0][0] == 0, timeout=10, what="the queued row handled once the outbox is back")
