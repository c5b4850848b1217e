"""What the master does without being asked: recycles workers after max_requests, kills a worker
stuck past request_timeout, and records failed authentications in bulk. Each test reloads the
configuration with small limits (SIGHUP) and restores it afterwards."""
import time

import pytest
import requests

from harness import metric, wait_for, worker_settings


settings = pytest.fixture(name="settings")(worker_settings)


def test_worker_recycled_after_max_requests_without_failures(stack, settings):
    settings(max_requests=25)
    restarts = metric(stack, "guildhall_worker_restarts_total")
    first = set(stack.worker_pids())
    codes = [requests.get(f"{stack.public}/_test/ping", timeout=5).status_code for _ in range(120)]
    assert codes == [200] * 120
    seen_later = set(stack.worker_pids())
    assert first - seen_later, "at least one worker was recycled"
    assert metric(stack, "guildhall_worker_restarts_total") == restarts, "a recycle is not a crash"


def test_stuck_worker_is_killed_after_request_timeout(stack, settings):
    settings(request_timeout=1)
    timeouts = metric(stack, "guildhall_worker_timeouts_total")
    started = time.monotonic()
    r = requests.get(f"{stack.public}/_test/sleep?ms=6000", timeout=15)
    elapsed = time.monotonic() - started
    assert r.status_code in (502, 504)
    assert elapsed < 4, "the master kills the worker after about a second"
    assert r.headers["Content-Type"].startswith("application/json")
    wait_for(lambda: metric(stack, "guildhall_worker_timeouts_total") == timeouts + 1, timeout=5,
             what="the timeout counted")
    wait_for(lambda: len(stack.worker_pids()) == 2, timeout=5, what="the worker respawned")
    assert requests.get(f"{stack.public}/_test/ping", timeout=5).status_code == 200


def test_failed_authentications_are_audited_in_bulk(stack, settings):
    settings(auth_failure_report_seconds=1)
    start = stack.sql("SELECT now() AT TIME ZONE 'UTC'")[0][0]
    for _ in range(3):
        assert requests.get(f"{stack.public}/_test/mikros-auth", timeout=5,
                            headers={"Authorization": "Bearer gh_000000000000_" + "x" * 43}).status_code == 401

    def audited():
        rows = stack.sql("SELECT (details->>'count')::int, category, user_id FROM audit_logs "
                         "WHERE action = 'security.auth_failures' AND created_at >= %s", start)
        return rows if sum(r[0] for r in rows) >= 3 else None

    rows = wait_for(audited, timeout=10, what="a bulk audit entry")
    assert all(r[1] == "security" and r[2] == "system" for r in rows)
    assert len(rows) <= 3, "failures are grouped, not one entry each"
