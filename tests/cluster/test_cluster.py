"""guildhall on `scripts/cluster`: two guildhalld hosts behind one nginx upstream, two memcached servers
with consistent hashing, PgBouncer in transaction pooling mode, a primary and a streaming replica.
What the tests show holds across hosts: limits, cached answers and their invalidation; what a failure
costs: one host or one memcached server killed under load, PgBouncer or the primary restarted; and
that a read from the replica never contradicts a write the primary acknowledged."""
import os
import signal
import threading
import time
import uuid
from collections import Counter

import requests

from harness import fcgi_request, wait_for

HOST_NAMES = ("a", "b")


def ip():
    return f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}"


def get(cluster, host, path, query="", **headers):
    """GET straight to one host (FastCGI over TCP), from a client address of its own (per-IP limits)."""
    return fcgi_request(cluster.fcgi(host), "GET", path, query, headers=headers, remote_addr=ip(), timeout=15)


def host_metric(cluster, host, name):
    import re
    text = fcgi_request(cluster.fcgi(host), "GET", "/metrics", listener="ops").text
    m = re.search(rf"^{re.escape(name)} (\d+)$", text, re.M)
    return int(m.group(1)) if m else 0


def test_a_cached_answer_from_one_host_is_a_hit_on_the_other_and_an_invalidation_reaches_both(cluster):
    user = str(uuid.uuid4().int % 10**9)
    cluster.sql("INSERT INTO users (id, global_name) VALUES (%s, %s)", user, f"cluster-{user}")
    first = get(cluster, "a", "/_test/cached", f"id={user}")
    assert first.status_code == 200 and first.headers["x-cache"] == "MISS", first.text
    second = get(cluster, "b", "/_test/cached", f"id={user}")
    assert second.status_code == 200 and second.headers["x-cache"] == "HIT", "host b reads what host a stored"
    assert second.content == first.content
    bumped = fcgi_request(cluster.fcgi("b"), "POST", "/_test/bump")
    assert bumped.status_code == 200, bumped.text
    for host in HOST_NAMES:   # the generation lives in memcached: both hosts see the bump
        assert get(cluster, host, "/_test/cached", f"id={user}").headers["x-cache"] == ("MISS" if host == "a" else "HIT")


def test_a_rate_limit_spread_over_both_hosts_holds_exactly(cluster):
    """mikros: 100 a minute per key, burst 200 (GCRA in memcached). Requests alternate between the hosts;
    exactly the burst plus what refilled while they ran is let through, not a burst per host."""
    key = cluster.admin("keys", "create", "--scope", "mikros", "--label", "cluster-limit")
    assert key.startswith("gh_"), key
    started = time.monotonic()
    codes = Counter()
    for i in range(260):
        r = get(cluster, HOST_NAMES[i % 2], "/api/promotions/active", Authorization=f"Bearer {key}")
        codes[(HOST_NAMES[i % 2], r.status_code == 429)] += 1
    elapsed = time.monotonic() - started
    allowed = codes[("a", False)] + codes[("b", False)]
    refill = elapsed * 100 / 60
    assert codes[("a", False)] and codes[("b", False)], codes
    assert 200 <= allowed <= 200 + int(refill) + 1, f"{allowed} allowed in {elapsed:.1f} s: {codes}"
    assert codes[("a", True)] and codes[("b", True)], "both hosts refuse once the shared bucket is empty"
    time.sleep(0.7)   # about one more request's worth (0.6 s) refills, for either host
    refilled = [get(cluster, h, "/api/promotions/active", Authorization=f"Bearer {key}").status_code for h in ("b", "a")]
    assert refilled.count(429) >= 1 and refilled.count(429) <= 2, refilled


class Load:
    """Threads sending GETs through nginx until stopped; every answer's status is kept."""

    def __init__(self, cluster, paths, threads=4):
        self.cluster, self.paths, self.stop_flag = cluster, paths, threading.Event()
        self.statuses, self.errors = Counter(), []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True) for i in range(threads)]

    def run(self, n):
        s = requests.Session()
        i = 0
        while not self.stop_flag.is_set():
            path = self.paths[(n + i) % len(self.paths)]
            i += 1
            try:
                code = s.get(self.cluster.public + path, timeout=10, headers={"X-Forwarded-For": ip()}).status_code
            except requests.RequestException as e:
                code = type(e).__name__
            with self.lock:
                self.statuses[code] += 1

    def __enter__(self):
        for t in self.threads:
            t.start()
        time.sleep(1.0)
        return self

    def __exit__(self, *exc):
        time.sleep(1.0)
        self.stop_flag.set()
        for t in self.threads:
            t.join(15)

    def failed(self):
        return sum(n for code, n in self.statuses.items() if code != 200)


def kill_host(cluster, host):
    pid = cluster.pid(cluster.hosts[host]["pid_file"])
    assert pid, f"host {host} is not running"
    os.killpg(pid, signal.SIGKILL)   # the master and its workers: the host is gone mid-request
    wait_for(lambda: cluster.pid(cluster.hosts[host]["pid_file"]) is None, 10, what=f"host {host} gone")


def test_one_host_killed_under_load_fails_at_most_its_in_flight_requests(cluster, repair):
    paths = ["/api/game-modes", "/api/game-modes/current", "/health"]
    with Load(cluster, paths) as load:
        kill_host(cluster, "b")
    assert load.statuses[200] > 100, load.statuses
    assert load.failed() <= len(load.threads), f"more than the in-flight requests failed: {load.statuses}"
    after = [requests.get(cluster.public + "/api/game-modes", timeout=10, headers={"X-Forwarded-For": ip()}).status_code
             for _ in range(20)]
    assert after == [200] * 20, "nginx sends everything to the host left"


def test_due_jobs_run_exactly_once_with_one_host_or_two(cluster, repair):
    key = cluster.admin("keys", "create", "--scope", "scheduler", "--label", "cluster-jobs")
    ids = []
    for i in range(12):
        r = requests.post(cluster.public + "/scheduler/jobs", timeout=10, headers={"X-API-Key": key},
                          json={"name": f"cluster {i} {uuid.uuid4().hex[:6]}", "bot_type": "birthday",
                                "schedule_type": "cron", "schedule_config": {"cron_expression": "0 0 1 1 *"},
                                "bot_config": {"dry_run": True}})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])

    def nudge_and_count(expected):
        cluster.sql("UPDATE scheduler_jobs SET next_run_at = now() WHERE id = ANY(%s::uuid[])", ids)
        wait_for(lambda: cluster.sql("SELECT count(*) FROM scheduler_runs WHERE job_id = ANY(%s::uuid[]) AND "
                                     "status <> 'running'", ids)[0][0] >= expected, 20, what=f"{expected} runs")
        time.sleep(1.5)   # a second claim of the same instant would show by now
        return dict(cluster.sql("SELECT job_id::text, count(*) FROM scheduler_runs WHERE job_id = ANY(%s::uuid[]) "
                                "GROUP BY job_id", ids))

    runs = nudge_and_count(len(ids))
    assert sorted(runs.values()) == [1] * len(ids), f"two schedulers: {runs}"
    kill_host(cluster, "a")
    runs = nudge_and_count(2 * len(ids))
    assert sorted(runs.values()) == [2] * len(ids), f"host b alone: {runs}"
    cluster.sql("UPDATE scheduler_jobs SET enabled = false WHERE id = ANY(%s::uuid[])", ids)


def stop_pgbouncer(cluster):
    pid_file = cluster.dir / "pgbouncer" / "pgbouncer.pid"
    pid = cluster.pid(pid_file)
    assert pid
    os.kill(pid, signal.SIGTERM)
    wait_for(lambda: cluster.pid(pid_file) is None, 15, what="pgbouncer stopped")


def test_pgbouncer_restarted_gives_503_envelopes_then_recovers_without_restarting_guildhalld(cluster, repair):
    hosts_before = {h: cluster.pid(cluster.hosts[h]["pid_file"]) for h in HOST_NAMES}
    user = str(uuid.uuid4().int % 10**9)
    cluster.sql("INSERT INTO users (id, global_name) VALUES (%s, %s)", user, f"cluster-{user}")
    stop_pgbouncer(cluster)
    for host in HOST_NAMES:
        r = get(cluster, host, "/_test/query", f"id={user}")
        assert r.status_code == 503, (host, r.status_code, r.text)
        assert r.json() == {"error": "Database unavailable"} or "unavailable" in r.text.lower(), r.text
        assert "pgbouncer" not in r.text.lower() and "connection" not in r.text.lower(), "no libpq text leaks"
    assert cluster.cluster("up").returncode == 0
    for host in HOST_NAMES:
        wait_for(lambda: get(cluster, host, "/_test/query", f"id={user}").status_code == 200, 15,
                 what=f"host {host} back on the database")
    assert {h: cluster.pid(cluster.hosts[h]["pid_file"]) for h in HOST_NAMES} == hosts_before


def test_the_primary_restarted_gives_503_then_recovers(cluster, repair):
    import subprocess
    user = str(uuid.uuid4().int % 10**9)
    cluster.sql("INSERT INTO users (id, global_name) VALUES (%s, %s)", user, f"cluster-{user}")
    data = cluster.dir / "pg" / "primary"
    run_as = ["runuser", "-u", cluster.c["run_as"], "--"] if os.geteuid() == 0 else []
    subprocess.run(run_as + ["/usr/lib/postgresql/15/bin/pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop"],
                   check=True, capture_output=True, timeout=60)
    codes = {h: get(cluster, h, "/_test/query", f"id={user}").status_code for h in HOST_NAMES}
    assert codes == {"a": 503, "b": 503}, codes
    assert cluster.cluster("up").returncode == 0
    for host in HOST_NAMES:
        wait_for(lambda: get(cluster, host, "/_test/query", f"id={user}").status_code == 200, 20,
                 what=f"host {host} back on the primary")


def test_a_replica_read_never_contradicts_an_acknowledged_write(cluster):
    """Archived weeks are read from the replica (immutable rows); one the replica does not have yet
    is asked of the primary. With replay paused, a week archived a moment ago is still served (from
    the primary); once replay resumes, the same archive comes from the replica."""
    svc = cluster.admin("keys", "create", "--scope", "service_role", "--label", "cluster-replica")
    cluster.sql("SELECT pg_wal_replay_pause()", replica=True)
    try:
        fallbacks = sum(host_metric(cluster, h, "guildhall_db_replica_fallbacks_total") for h in HOST_NAMES)
        r = requests.post(cluster.public + "/api/admin/reset-week", json={"force": True}, timeout=60,
                          headers={"Authorization": f"Bearer {svc}", "X-Forwarded-For": ip()})
        assert r.status_code == 200, r.text
        archive = r.json()["archive_id"]
        assert not cluster.sql("SELECT 1 FROM canvas_archives WHERE id = %s", archive, replica=True), \
            "replay is paused: the replica lacks the new archive"
        for host in HOST_NAMES:   # the first renders it (from the primary), the second may hit the cache
            got = get(cluster, host, f"/api/archives/{archive}")
            assert got.status_code == 200, (host, got.text)
        assert sum(host_metric(cluster, h, "guildhall_db_replica_fallbacks_total") for h in HOST_NAMES) > fallbacks
    finally:
        cluster.sql("SELECT pg_wal_replay_resume()", replica=True)
    wait_for(lambda: cluster.sql("SELECT 1 FROM canvas_archives WHERE id = %s", archive, replica=True), 20,
             what="the replica catching up")
    reads = sum(host_metric(cluster, h, "guildhall_db_replica_reads_total") for h in HOST_NAMES)
    got = get(cluster, "b", f"/api/archives/{archive}/canvas")
    assert got.status_code == 200 and got.headers["x-cache"] == "MISS", got.text
    assert sum(host_metric(cluster, h, "guildhall_db_replica_reads_total") for h in HOST_NAMES) == reads + 1, \
        "the canvas came from the replica"


def mc_items(port: int) -> int:
    import socket
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.sendall(b"stats\r\n")
        data = b""
        while not data.endswith(b"END\r\n"):
            data += s.recv(65536)
    return int(dict(line.split()[1:3] for line in data.decode().splitlines() if line.startswith("STAT"))["curr_items"])


def test_one_memcached_killed_under_load_fails_nothing_and_limits_re_home(cluster, repair):
    mc2 = cluster.c["memcached"]["mc2"]
    users = [str(uuid.uuid4().int % 10**9) for _ in range(20)]
    for u in users:
        cluster.sql("INSERT INTO users (id, global_name) VALUES (%s, %s)", u, f"cluster-{u}")
    paths = [f"/_test/cached?id={u}" for u in users] + ["/api/game-modes"]
    with Load(cluster, paths) as load:
        assert mc_items(mc2["port"]) > 0, "both servers hold keys before the kill"
        os.kill(cluster.pid(mc2["pid_file"]), signal.SIGKILL)
        time.sleep(2.0)
    assert load.statuses[200] > 100 and load.failed() == 0, load.statuses

    # limits spread over both hosts: six clients, so about half had their counter on mc2 (which a
    # limit failing open would let through 7 times)
    for client in [ip() for _ in range(6)]:
        codes = [fcgi_request(cluster.fcgi(HOST_NAMES[i % 2]), "GET", "/_test/limited", remote_addr=client).status_code
                 for i in range(7)]
        assert codes == [200] * 5 + [429] * 2, (client, codes)

    assert cluster.cluster("up").returncode == 0   # mc2 back, empty
    wait_for(lambda: [get(cluster, h, "/_test/cached", f"id={u}") for h in HOST_NAMES for u in users]
             and mc_items(mc2["port"]) > 0, 15, what="keys hashing to the restarted server again")
