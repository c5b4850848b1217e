"""Fault tests (ARCHITECTURE "Tests, in layers": faults) against the same stack as the other tests.

A worker killed under load, SIGHUP under load, one slow request beside the pool, PostgreSQL stopped and
started, memcached stopped and started, and SIGTERM drain. Every test is bounded in time (load loops
stop at a request count and a deadline, every request has a timeout) and puts back what it stopped in
a ``finally``. The SIGTERM test takes guildhalld down, so it is the last test of this module and starts
guildhalld again with ``scripts/stack gh-start`` (``stack.gh_start()``) before it returns.

Not covered here: the master killing a worker stuck past ``request_timeout`` needs a stack with a small
``request_timeout`` (the session stack runs with the default 30 s), so only the other half is checked:
one slow request does not block the rest of the pool.
"""

import os
import random
import re
import signal
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests

from harness import each_worker

TIMEOUT = 5.0  # per request
LEAK_WORDS = ("connect", "pq", "postgres", "socket", "select")


# ---------------------------------------------------------------------- helpers
def fresh_ip():
    r = random.SystemRandom()
    return f"10.{r.randint(100, 199)}.{r.randint(0, 255)}.{r.randint(1, 254)}"


def metric(ops, name, labels=""):
    """The value of one sample of ops /metrics (`labels` as written inside the braces), 0 if absent."""
    r = ops.get("/metrics", timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    want = f"{name}{{{labels}}}" if labels else name
    for line in r.text.splitlines():
        if line.startswith("#"):
            continue
        parts = line.rsplit(None, 1)
        if len(parts) == 2 and parts[0] == want:
            return float(parts[1])
    return 0.0


def wait_until(predicate, timeout, interval=0.05):
    """predicate()'s first truthy value, or its last value once timeout seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def strings(value):
    """Every string value (not key) inside a decoded JSON document."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


def proc_state(pid):
    """The state letter of /proc/PID/stat, or None when there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2:].split()[0]


def exited(pid):
    return proc_state(pid) in (None, "Z", "X")


class Load:
    """Threads issuing GETs against the public listener until a deadline (or a request budget).

    Each thread has its own requests.Session; every outcome is kept as (path, status or exception text).
    """

    def __init__(self, base, paths, threads=4, seconds=3.0, max_requests=20000):
        self.base = base
        self.paths = paths
        self.threads = threads
        self.seconds = seconds
        self.max_requests = max_requests
        self.results = []
        self._lock = threading.Lock()
        self._workers = []

    def _run(self, n):
        session = requests.Session()
        deadline = time.monotonic() + self.seconds
        i = 0
        try:
            while time.monotonic() < deadline:
                with self._lock:
                    if len(self.results) >= self.max_requests:
                        return
                path = self.paths[(n + i) % len(self.paths)]
                i += 1
                try:
                    r = session.get(self.base + path, timeout=TIMEOUT)
                    outcome = (path, r.status_code, r.text[:200])
                except requests.RequestException as e:
                    outcome = (path, None, repr(e)[:300])
                    session.close()
                    session = requests.Session()
                with self._lock:
                    self.results.append(outcome)
        finally:
            session.close()

    def __enter__(self):
        for n in range(self.threads):
            t = threading.Thread(target=self._run, args=(n,), daemon=True)
            t.start()
            self._workers.append(t)
        return self

    def __exit__(self, *exc):
        self.join()
        return False

    def join(self):
        for t in self._workers:
            t.join(self.seconds + 2 * TIMEOUT + 5)
        assert not any(t.is_alive() for t in self._workers), "load threads did not stop"

    @property
    def failures(self):
        return [r for r in self.results if r[1] != 200]


class Timed:
    """One GET in a thread: status, body, elapsed seconds, and when it finished (monotonic)."""

    def __init__(self, url, timeout=15.0):
        self.url = url
        self.timeout = timeout
        self.status = None
        self.text = None
        self.error = None
        self.elapsed = None
        self.done_at = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        t0 = time.monotonic()
        try:
            r = requests.get(self.url, timeout=self.timeout)
            self.status, self.text = r.status_code, r.text
        except requests.RequestException as e:
            self.error = repr(e)
        self.done_at = time.monotonic()
        self.elapsed = self.done_at - t0

    def start(self):
        self.thread.start()
        return self

    def join(self):
        self.thread.join(self.timeout + 5)
        assert not self.thread.is_alive(), f"{self.url} did not finish"


def wait_busy_workers(ops, n, timeout=3.0):
    """Waits until /metrics shows at least n busy workers besides the one serving /metrics."""
    return wait_until(lambda: metric(ops, "guildhall_workers", 'state="busy"') >= n + 1, timeout)


def wait_pool(stack, count, exclude=(), timeout=10.0):
    """Waits until the master has `count` workers none of which is in `exclude`; returns their pids."""
    def ok():
        pids = stack.worker_pids()
        return pids if len(pids) == count and not set(pids) & set(exclude) else None
    return wait_until(ok, timeout, 0.1) or stack.worker_pids()


# ---------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def user_id(stack):
    uid = "9" + str(uuid.uuid4().int)[:17]
    stack.sql("INSERT INTO users (id, global_name) VALUES (%s, %s)", uid, "fault-test")
    yield uid
    try:
        stack.sql("DELETE FROM users WHERE id = %s", uid)
    except Exception:  # the stack may be gone if a test broke it; nothing to clean then
        pass


@pytest.fixture(autouse=True)
def healthy_stack(stack):
    """Every fault test starts from (and should leave) a stack whose /health is 200."""
    stack.wait_healthy(20)
    yield


# ---------------------------------------------------------------------- 1. worker killed
def test_worker_killed_under_load_is_respawned(stack, public, ops, user_id):
    before = stack.worker_pids()
    assert len(before) >= 2, f"expected at least 2 workers, got {before}"
    master = stack.master_pid()
    restarts0 = metric(ops, "guildhall_worker_restarts_total")
    victim = before[0]

    with Load(stack.public, [f"/_test/query?id={user_id}"], threads=4, seconds=3.0) as load:
        time.sleep(0.8)
        os.kill(victim, signal.SIGKILL)
        killed_at = time.monotonic()
        after = wait_pool(stack, len(before), exclude=[victim], timeout=5.0)
        respawn_s = time.monotonic() - killed_at

    assert victim not in after and len(after) == len(before), \
        f"workers before {before}, after kill -9 of {victim}: {after}"
    assert set(after) - set(before), f"no new worker pid appeared: before {before}, after {after}"
    assert respawn_s < 5.0
    assert stack.master_pid() == master

    wait_until(lambda: metric(ops, "guildhall_worker_restarts_total") >= restarts0 + 1, 3.0)
    restarts = metric(ops, "guildhall_worker_restarts_total")
    assert restarts == restarts0 + 1, f"guildhall_worker_restarts_total {restarts0} -> {restarts}"

    assert len(load.results) > 50, f"the load loop barely ran: {len(load.results)} requests"
    failures = load.failures
    assert len(failures) <= 2, f"{len(failures)} of {len(load.results)} requests failed: {failures[:10]}"
    # The pool still serves afterwards.
    for _ in range(4):
        r = public.get("/_test/query", params={"id": user_id}, timeout=TIMEOUT)
        assert r.status_code == 200, r.text


# ---------------------------------------------------------------------- 2. SIGHUP under load
def test_sighup_under_load_fails_no_request(stack, user_id):
    before = stack.worker_pids()
    assert before
    master = stack.master_pid()

    paths = ["/_test/ping", f"/_test/query?id={user_id}"]
    with Load(stack.public, paths, threads=4, seconds=4.0) as load:
        time.sleep(0.8)
        os.kill(master, signal.SIGHUP)
        time.sleep(1.0)
        os.kill(master, signal.SIGHUP)

    failures = load.failures
    assert len(load.results) > 100, f"the load loop barely ran: {len(load.results)} requests"
    assert not failures, (f"{len(failures)} of {len(load.results)} requests failed during SIGHUP reloads: "
                          f"{failures[:10]}")
    after = wait_pool(stack, len(before), exclude=before, timeout=10.0)
    assert len(after) == len(before) and not set(after) & set(before), \
        f"workers before reload {before}, after {after}: not all replaced"
    assert stack.master_pid() == master


# ---------------------------------------------------------------------- 3. one slow request
def test_slow_request_does_not_block_the_pool(stack, public, ops, user_id):
    # (The master killing a worker stuck past request_timeout is not tested: the stack runs with 30 s.)
    workers = stack.worker_pids()
    assert len(workers) >= 2
    slow = Timed(f"{stack.public}/_test/sleep?ms=1500").start()
    assert wait_busy_workers(ops, 1), "no worker took the slow request"
    served_by, quick = set(), []
    for _ in range(10):
        t0 = time.monotonic()
        r = public.get("/_test/query", params={"id": user_id}, timeout=TIMEOUT)
        quick.append(time.monotonic() - t0)
        assert r.status_code == 200, r.text
        served_by.add(r.json()["served_by"])
    quick_done = time.monotonic()
    slow.join()

    assert slow.error is None and slow.status == 200, (slow.status, slow.text, slow.error)
    assert slow.elapsed >= 1.45, f"the sleep answered after {slow.elapsed:.3f} s"
    assert quick_done < slow.done_at, "the quick requests did not finish while the slow one was in flight"
    assert max(quick) < 1.0, f"quick requests took up to {max(quick):.3f} s beside the slow one"
    assert served_by <= set(stack.worker_pids()), served_by


# ---------------------------------------------------------------------- 4. PostgreSQL stopped
def test_postgres_down_then_back(stack, public, ops, user_id):
    master = stack.master_pid()
    workers = stack.worker_pids()
    try:
        stack.pg_stop()
        for _ in range(6):  # enough to reach every worker
            t0 = time.monotonic()
            r = public.get("/_test/query", params={"id": user_id}, timeout=TIMEOUT)
            assert time.monotonic() - t0 < 4.0, "a 503 for a stopped database should be fast"
            assert r.status_code == 503, r.text
            body = r.json()
            assert set(body) == {"error", "code", "details"}, body
            assert isinstance(body["error"], str) and body["error"], body
            assert body["code"] == "SERVICE_UNAVAILABLE" and body["details"] == {}, body
            for word in LEAK_WORDS:
                assert word not in r.text.lower(), f"{word!r} leaks into the body: {r.text}"

        r = ops.get("/health", timeout=TIMEOUT)
        assert r.status_code == 503, r.text
        h = r.json()
        assert h["status"] == "unhealthy", h
        assert h["checks"]["database"]["status"] == "unhealthy", h
        for value in strings(h):  # keys such as "connections" are the document's, not leaks
            for word in LEAK_WORDS:
                assert word not in value.lower(), f"{word!r} leaks into /health: {r.text}"

        r = ops.get("/ready", timeout=TIMEOUT)
        assert r.status_code == 503, r.text
        assert r.json()["ready"] is False, r.text

        r = ops.get("/api/stats", headers={"X-Forwarded-For": fresh_ip()}, timeout=TIMEOUT)
        assert r.status_code == 503, r.text
        body = r.json()
        assert body["code"] == "E001" and isinstance(body.get("error"), str), body
        for word in LEAK_WORDS:
            assert word not in r.text.lower(), f"{word!r} leaks into /api/stats: {r.text}"

        assert stack.master_pid() == master and not exited(master), "guildhalld's master changed or died"
    finally:
        stack.pg_start()

    def recovered():
        codes = [public.get("/_test/query", params={"id": user_id}, timeout=TIMEOUT).status_code
                 for _ in range(4)]
        return all(c == 200 for c in codes) and ops.get("/health", timeout=TIMEOUT).status_code == 200
    assert wait_until(recovered, 10.0, 0.2), "no recovery within 10 s of PostgreSQL starting again"
    assert stack.master_pid() == master
    now = stack.worker_pids()
    changed = len(set(workers) - set(now))
    assert changed == 0, f"{changed} worker(s) were replaced to recover: before {workers}, after {now}"


# ---------------------------------------------------------------------- 5. memcached stopped
def test_memcached_down_then_back(stack, public, ops, user_id):
    def cached():
        return public.get("/_test/cached", params={"id": user_id}, timeout=TIMEOUT)

    failopen0 = metric(ops, "guildhall_ratelimit_failopen_total")
    cache_err0 = metric(ops, "guildhall_cache_requests_total", 'result="error"')
    try:
        stack.mc_stop()
        for _ in range(4):
            t0 = time.monotonic()
            r = public.get("/_test/cached", params={"id": user_id}, timeout=TIMEOUT)
            assert time.monotonic() - t0 < 1.0, "a dead memcached must not stall the request"
            assert r.status_code == 200, r.text
            assert r.headers.get("X-Cache") == "MISS", r.headers
            assert r.json()["id"] == user_id

        ip = fresh_ip()
        codes = [public.get("/_test/limited", headers={"X-Forwarded-For": ip}, timeout=TIMEOUT).status_code
                 for _ in range(10)]
        assert codes == [200] * 10, f"rate limit did not fail open: {codes}"

        r = ops.get("/health", timeout=TIMEOUT)
        assert r.status_code == 200, r.text
        h = r.json()
        assert h["status"] == "degraded", h
        assert h["checks"]["cache"]["status"] == "unhealthy", h
        assert h["checks"]["database"]["status"] == "healthy", h

        failopen = metric(ops, "guildhall_ratelimit_failopen_total")
        cache_err = metric(ops, "guildhall_cache_requests_total", 'result="error"')
        assert failopen >= failopen0 + 10, f"guildhall_ratelimit_failopen_total {failopen0} -> {failopen}"
        assert cache_err >= cache_err0 + 4, f'guildhall_cache_requests_total{{result="error"}} {cache_err0} -> {cache_err}'

        # every worker meets the dead server, so each holds libmemcached's failure state when it returns
        for pid, rs in each_worker(stack, cached).items():
            assert [(r.status_code, r.headers.get("X-Cache")) for r in rs] == [(200, "MISS")] * len(rs), pid
    finally:
        stack.mc_start()

    # Every worker uses memcached again from its first request after memcached is back, without
    # waiting out a retry interval: one round stores the entry (whoever comes first misses), then
    # each worker's repeat is a HIT, and each worker's limited response has its rate-limit headers
    # again (a limit skipped because memcached is unreachable sends none).
    each_worker(stack, cached)
    for pid, rs in each_worker(stack, cached).items():
        assert [(r.status_code, r.headers.get("X-Cache")) for r in rs] == [(200, "HIT")] * len(rs), \
            f"worker {pid} does not read the cache again after memcached came back"
    for pid, rs in each_worker(stack, lambda: public.get("/_test/limited", headers={"X-Forwarded-For": fresh_ip()},
                                                         timeout=TIMEOUT)).items():
        for r in rs:
            assert r.status_code == 200, r.text
            assert r.headers.get("X-RateLimit-Limit") == "5" and "X-RateLimit-Remaining" in r.headers, \
                f"worker {pid} does not rate-limit again after memcached came back: {dict(r.headers)}"

    seen = []

    def limits_again():
        ip = fresh_ip()
        codes = [public.get("/_test/limited", headers={"X-Forwarded-For": ip}, timeout=TIMEOUT).status_code
                 for _ in range(6)]
        seen.append(codes)
        return codes == [200] * 5 + [429]
    assert wait_until(limits_again, 5.0, 0.2), f"/_test/limited does not limit again: {seen}"

    assert wait_until(lambda: ops.get("/health", timeout=TIMEOUT).json()["status"] == "healthy", 5.0, 0.2), \
        "/health did not become healthy again"


def test_rate_limit_fail_open_is_logged_once_when_it_starts_and_once_when_it_recovers(stack, public):
    """Each worker logs one warn line when its rate limits start failing open (memcached
    unreachable) and one when they work again, not one line per request."""
    def limited():
        return public.get("/_test/limited", headers={"X-Forwarded-For": fresh_ip()}, timeout=TIMEOUT)

    def lines_since(offset, word):
        with open(stack.log_file, "rb") as fh:
            fh.seek(offset)
            text = fh.read().decode("utf-8", "replace")
        counts = {}
        for line in text.splitlines():
            m = re.match(r"^(\d+):worker \S+ warn .*" + word, line)
            if m:
                counts[int(m.group(1))] = counts.get(int(m.group(1)), 0) + 1
        return counts

    def limiting_everywhere():
        served = each_worker(stack, limited)
        return served if all("X-RateLimit-Limit" in r.headers for rs in served.values() for r in rs) else None

    # every worker limits normally first (an earlier test may have left one failing open)
    assert wait_until(limiting_everywhere, 5.0, 0.2), "rate limits do not work before memcached is stopped"
    start = os.path.getsize(stack.log_file)
    try:
        stack.mc_stop()
        served = each_worker(stack, limited)
        each_worker(stack, limited)
        for rs in served.values():
            assert all(r.status_code == 200 for r in rs), [r.status_code for r in rs]
        failing = lines_since(start, "failing open")
        assert failing == {pid: 1 for pid in served}, f"failing-open lines per worker: {failing}"
    finally:
        stack.mc_start()
    back = os.path.getsize(stack.log_file)
    served = wait_until(limiting_everywhere, 5.0, 0.2)
    assert served, "rate limits do not work again after memcached came back"
    each_worker(stack, limited)
    recovered = lines_since(back, "recovered")
    assert recovered == {pid: 1 for pid in served}, f"recovery lines per worker: {recovered}"
    assert not lines_since(back, "failing open"), "failing open logged again after the recovery"


# ---------------------------------------------------------------------- 6. SIGTERM drain (last)
def test_sigterm_drains_in_flight_requests(stack, public, ops):
    """Takes guildhalld down; starts it again with scripts/stack gh-start before returning."""
    master = stack.master_pid()
    assert master and not exited(master)
    children = stack.worker_pids() + [p for p in [stack.scheduler_pid(), stack.outbox_pid()] if p]
    slow = Timed(f"{stack.public}/_test/sleep?ms=1500").start()
    try:
        assert wait_busy_workers(ops, 1), "no worker took the slow request"
        assert slow.done_at is None
        t0 = time.monotonic()
        os.kill(master, signal.SIGTERM)
        gone = wait_until(lambda: exited(master), 10.0)
        exit_s = time.monotonic() - t0
        slow.join()
        assert gone, f"master {master} still running 10 s after SIGTERM"
        assert exit_s < 5.0, f"master took {exit_s:.2f} s to exit"
        assert slow.error is None and slow.status == 200, (slow.status, slow.text, slow.error)
        assert slow.elapsed >= 1.45, \
            f"the in-flight 1500 ms sleep answered after {slow.elapsed:.3f} s: cut short by the drain"
        assert all(exited(p) for p in children), f"children left behind: {[p for p in children if not exited(p)]}"
    finally:
        if not exited(master):
            stack.gh_stop()
        stack.gh_start()
        stack.wait_healthy(30)
    assert stack.master_pid() != master
    r = public.get("/_test/ping", timeout=TIMEOUT)
    assert r.status_code == 200, r.text
