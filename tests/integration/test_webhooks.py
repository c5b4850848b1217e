"""The audit webhook: entries reach Discord through the outbox, delivered by the scheduler process
with retries and back-off, never by the request that wrote them."""
import json
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


@pytest.fixture
def audit_receiver(stack):
    receiver = Receiver(failures=2)
    with open(stack.config) as f:
        original = f.read()
    scheduler_before = stack.scheduler_pid()
    with open(stack.config, "a") as f:
        f.write(f"\nwebhook_audit_url = {receiver.url}\n")
    stack.reload()
    wait_for(lambda: stack.scheduler_pid() not in (None, scheduler_before), timeout=15,
             what="the scheduler restarted with the new configuration")
    try:
        yield receiver
    finally:
        with open(stack.config, "w") as f:
            f.write(original)
        stack.reload()
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
