"""guildhalld behind a real PgBouncer in transaction pooling mode (docs/pgbouncer.md).

Each test starts its own pgbouncer (the system's /usr/sbin/pgbouncer, as the user the stack's PostgreSQL
runs as when we are root: pgbouncer refuses root) in front of the stack's PostgreSQL, with a pool of
POOL_SIZE server connections, and a second guildhalld master (test_scheduler_faults.SecondHost: a copy
of the stack's configuration with its own socket, pid file and log) with more workers than that, whose
workers reach the database through the pgbouncer and whose scheduler, outbox and guildhall-admin go
straight to PostgreSQL (database_direct_url). The second guildhalld has no nginx: the tests talk
FastCGI to its socket (harness.fcgi_request) with the parameters nginx would pass.

The pgbouncer's server connections start in another time zone (its database entry sets
timezone=America/New_York), so only a TimeZone the workers send themselves, and pgbouncer sets on
whichever server connection it lends them, makes their statements run in UTC.

With database_pooler = transaction every request succeeds; without it the same setup fails: pgbouncer
refuses the workers' `options` startup parameter, and where it is told to ignore it
(ignore_startup_parameters = options) the workers' named prepared statements meet other clients'
server connections, and their TimeZone never arrives.
"""
from __future__ import annotations

import os
import pwd
import random
import re
import shutil
import socket
import subprocess
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg2
import pytest

from harness import child_pids, fcgi_request, free_port, process_title, wait_for
from test_scheduler_faults import SecondHost

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
POOL_SIZE = 2
WORKERS = 4          # more than POOL_SIZE: workers share server connections between transactions
TIMEOUT_MS = 10000   # db_statement_timeout_ms, and the role default the tests set for it
SERVER_ZONE = "America/New_York"

pytestmark = pytest.mark.skipif(not os.access(PGBOUNCER, os.X_OK), reason="pgbouncer is not installed")


class PgBouncer:
    """One pgbouncer in a temp dir on a free 127.0.0.1 port, for database `guildhall` of the stack."""

    def __init__(self, stack, ignore_options: bool = False):
        self.dir = tempfile.mkdtemp(prefix="guildhall-pgbouncer-")
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.log = f"{self.dir}/pgbouncer.log"
        self.user = stack.env.get("RUN_AS") if os.geteuid() == 0 else None
        lines = [
            "[databases]",
            f"guildhall = host={stack.env['PG_SOCKET_DIR']} port={stack.env['PG_PORT']} dbname=guildhall "
            f"timezone={SERVER_ZONE}",
            "[pgbouncer]",
            "listen_addr = 127.0.0.1",
            f"listen_port = {self.port}",
            "unix_socket_dir =",
            "auth_type = trust",
            f"auth_file = {self.dir}/userlist.txt",
            "admin_users = pgbouncer_admin",
            "pool_mode = transaction",
            f"default_pool_size = {POOL_SIZE}",
            "max_client_conn = 100",
            f"logfile = {self.log}",
            f"pidfile = {self.dir}/pgbouncer.pid",
        ]
        if ignore_options:
            lines.append("ignore_startup_parameters = options")
        Path(f"{self.dir}/pgbouncer.ini").write_text("\n".join(lines) + "\n")
        Path(f"{self.dir}/userlist.txt").write_text('"guildhall" ""\n"pgbouncer_admin" ""\n')
        if self.user:
            pw = pwd.getpwnam(self.user)
            for path in (self.dir, f"{self.dir}/pgbouncer.ini", f"{self.dir}/userlist.txt"):
                os.chown(path, pw.pw_uid, pw.pw_gid)
        self.proc = None

    @property
    def url(self) -> str:
        return f"host=127.0.0.1 port={self.port} dbname=guildhall user=guildhall"

    def start(self):
        self.out = open(f"{self.dir}/stdout.log", "ab")
        self.proc = subprocess.Popen([PGBOUNCER, f"{self.dir}/pgbouncer.ini"], stdin=subprocess.DEVNULL,
                                     stdout=self.out, stderr=subprocess.STDOUT, start_new_session=True,
                                     user=self.user, group=pwd.getpwnam(self.user).pw_gid if self.user else None)

        def listening():
            if self.proc.poll() is not None:
                raise AssertionError(f"pgbouncer exited: {self.log_tail()}")
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", self.port)) == 0
        wait_for(listening, 10, 0.05, "pgbouncer to listen")
        return self

    def show(self, what: str) -> list[dict]:
        """SHOW CLIENTS / SERVERS / POOLS on pgbouncer's admin console, as dicts."""
        conn = psycopg2.connect(host="127.0.0.1", port=self.port, dbname="pgbouncer", user="pgbouncer_admin")
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f"SHOW {what}")
                names = [d[0] for d in cur.description]
                return [dict(zip(names, row)) for row in cur.fetchall()]
        finally:
            conn.close()

    def log_tail(self, n: int = 20) -> str:
        try:
            return "".join(Path(self.log).read_text(errors="replace").splitlines(True)[-n:])
        except OSError as e:
            return f"({e})"

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc is not None:
            self.out.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def stack_database_url(stack) -> str:
    with open(stack.config) as f:
        for line in f:
            key, sep, value = line.partition("=")
            if sep and key.strip() == "database_url":
                return value.strip()
    raise AssertionError(f"no database_url in {stack.config}")


class PooledHost(SecondHost):
    """A second guildhalld whose workers reach PostgreSQL through `bouncer`; its scheduler, outbox and
    guildhall-admin connect directly (the stack's own database_url)."""

    def __init__(self, stack, bouncer: PgBouncer, pooler: str):
        super().__init__(stack)
        settings = {"workers": WORKERS, "database_url": bouncer.url, "database_pooler": pooler,
                    "database_direct_url": stack_database_url(stack), "db_statement_timeout_ms": TIMEOUT_MS}
        with open(self.config, "a") as f:   # the last line of a key wins
            f.write("".join(f"{k} = {v}\n" for k, v in settings.items()))
        self.socket = f"{self.dir}/guildhall.sock"

    def request(self, method, path, query="", body=b"", headers=None, listener="public"):
        # a client address of its own per request: the per-IP limits (memcached, shared with the
        # stack) never answer 429 to a test that sends a few hundred requests
        addr = f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"
        return fcgi_request(self.socket, method, path, query, body, headers, listener, addr)

    def admin(self, *args, check=True):
        env = {k: v for k, v in os.environ.items() if not k.startswith("GUILDHALL_")}
        return subprocess.run([str(Path(self.stack.bin_dir) / "guildhall-admin"), "-c", self.config, *args],
                              capture_output=True, text=True, env=env, timeout=60, check=check)

    def outbox_pid(self):
        return next((p for p in child_pids(self.proc.pid) if "outbox" in process_title(p)), None)

    def log_text(self) -> str:
        try:
            return Path(self.log).read_text(errors="replace")
        except OSError:
            return ""

    def wait_workers_connected(self, bouncer: PgBouncer):
        """Every worker holds its client connection to the pgbouncer (each connects when it starts)."""
        return wait_for(lambda: len(clients(bouncer)) >= WORKERS, 15, 0.1, f"{WORKERS} pgbouncer clients")


def clients(bouncer: PgBouncer) -> list[dict]:
    return [c for c in bouncer.show("CLIENTS") if c["database"] == "guildhall"]


@pytest.fixture
def role_statement_timeout(stack):
    """statement_timeout as the guildhall role's default in its database: what docs/pgbouncer.md tells an
    operator to set, since a pooled worker cannot send it. Set before the pgbouncer opens a connection."""
    stack.sql(f"ALTER ROLE guildhall IN DATABASE guildhall SET statement_timeout = {TIMEOUT_MS}")
    try:
        yield
    finally:
        stack.sql("ALTER ROLE guildhall IN DATABASE guildhall RESET statement_timeout")


@pytest.fixture
def setup(stack, role_statement_timeout):
    """setup(pooler=…, ignore_options=…) starts a pgbouncer and a second guildhalld behind it; both are
    stopped at the end of the test."""
    started = []

    def start(pooler: str, ignore_options: bool = False):
        bouncer = PgBouncer(stack, ignore_options)
        started.append(bouncer)
        bouncer.start()
        host = PooledHost(stack, bouncer, pooler)
        started.append(host)
        host.start()
        return bouncer, host

    yield start
    for thing in reversed(started):
        thing.stop()


def hammer(host, calls, threads=8):
    """Runs the calls (each: a function of host returning a response) from `threads` threads at once."""
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(lambda call: call(host), calls))


def session(host):
    return host.request("GET", "/_test/session")


def read_user(uid):
    return lambda host: host.request("GET", "/_test/query", f"id={uid}")


def new_user(stack) -> str:
    uid = str(uuid.uuid4().int % 10**18)
    stack.sql("INSERT INTO users (id, global_name) VALUES (%s, 'pooled')", uid)
    return uid


# ---------------------------------------------------------------------- with database_pooler = transaction
def test_workers_run_every_statement_through_a_transaction_pooler(stack, setup):
    bouncer, host = setup("transaction")
    host.wait_workers_connected(bouncer)

    # guildhall-admin with the pooled configuration goes straight to PostgreSQL (its session lock and
    # `options` would not pass the pgbouncer): a key made with it works through the pooled workers
    key = host.admin("keys", "create", "--scope", "scheduler", "--label", "pgbouncer-test").stdout.strip()
    assert key.startswith("gh_"), key
    uid = new_user(stack)
    h = {"X-API-Key": key, "Content-Type": "application/json"}

    def write(host):
        """A job created, read and deleted: two write transactions (each with its audit entry) and a read."""
        body = b'{"name": "pooled %s", "bot_type": "birthday", "schedule_type": "daily"}' % uuid.uuid4().hex[:8].encode()
        created = host.request("POST", "/scheduler/jobs", body=body, headers=h)
        if created.status_code != 201:
            return ("create", created, None, None)
        job_id = created.json()["id"]
        got = host.request("GET", f"/scheduler/jobs/{job_id}", headers=h)
        return ("write", created, got, host.request("DELETE", f"/scheduler/jobs/{job_id}", headers=h))

    calls = [session] * 120 + [read_user(uid)] * 120 + [write] * 12
    random.shuffle(calls)
    t0 = datetime.now(timezone.utc).replace(microsecond=0)
    results = hammer(host, calls)
    t1 = datetime.now(timezone.utc)
    writes = [r for r in results if isinstance(r, tuple)]
    answers = [r for r in results if not isinstance(r, tuple)]
    failed = [(a.status_code, a.text[:200]) for a in answers if a.status_code != 200]
    failed += [(w[0], w[1].status_code, w[1].text[:200]) for w in writes if w[0] != "write"]
    failed += [("read/delete", w[2].status_code, w[3].status_code) for w in writes
               if w[0] == "write" and (w[2].status_code, w[3].status_code) != (200, 204)]
    assert not failed, f"{len(failed)} of {len(calls)} calls failed, e.g. {failed[:3]}\n{host.log_tail()}"

    sessions = [a.json() for a in answers if "timezone" in a.text]
    assert len(sessions) == 120
    # UTC and the statement timeout on every server connection the workers were lent
    assert {s["timezone"] for s in sessions} == {"UTC"}, sessions[:3]
    assert {s["statement_timeout"] for s in sessions} == {f"{TIMEOUT_MS // 1000}s"}, sessions[:3]
    assert all(s["now"].endswith("+00") for s in sessions), sessions[:3]
    users = [a.json() for a in answers if '"global_name"' in a.text]
    assert len(users) == 120 and all(u["id"] == uid and u["global_name"] == "pooled" for u in users)
    # more workers than server connections served them
    served = {s["served_by"] for s in sessions} | {u["served_by"] for u in users}
    assert len(served) > POOL_SIZE, served

    # the 12 jobs were written, read back the same, deleted; their timestamps are UTC
    assert len(writes) == 12
    created = [w[1].json() for w in writes]
    for job, (_, _, got, _) in zip(created, writes):
        assert got.json()["id"] == job["id"] and got.json()["created_at"] == job["created_at"]
        at = datetime.strptime(job["created_at"], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
        assert t0 - timedelta(seconds=1) <= at <= t1, (job["created_at"], t0, t1)
    ids = [j["id"] for j in created]
    assert stack.sql("SELECT count(*) FROM scheduler_jobs WHERE id = ANY(%s::uuid[])", ids) == [(0,)]
    audited = stack.sql("SELECT count(*) FROM audit_logs WHERE action IN ('scheduler.job_create', "
                        "'scheduler.job_delete') AND details->>'job_id' = ANY(%s)", ids)
    assert audited == [(24,)]

    # only the workers are pgbouncer's clients (the scheduler and the outbox connect directly), and
    # they never had more than POOL_SIZE server connections
    assert len(clients(bouncer)) == WORKERS, clients(bouncer)
    servers = [s for s in bouncer.show("SERVERS") if s["database"] == "guildhall"]
    assert 1 <= len(servers) <= POOL_SIZE, servers
    assert host.scheduler_pid() and host.outbox_pid()

    log = host.log_text()
    for bad in ("prepared statement", "query failed", "command failed", "database connect failed",
                "database_pooler:"):
        assert bad not in log, f"{bad!r} in the second guildhalld's log:\n{host.log_tail()}"


# ---------------------------------------------------------------------- the same setup without it
def test_without_the_pooler_mode_pgbouncer_refuses_the_workers(stack, setup):
    """The workers' startup packet carries `options` (TimeZone, statement_timeout): pgbouncer 1.18
    refuses the connection, so every database route answers 503."""
    bouncer, host = setup("none")
    answers = hammer(host, [session] * 8, threads=4)
    assert {a.status_code for a in answers} == {503}, [(a.status_code, a.text[:100]) for a in answers]
    wait_for(lambda: "unsupported startup parameter: options" in host.log_text(), 5, 0.1,
             "the refused connection in the second guildhalld's log")


def test_without_the_pooler_mode_prepared_statements_break(stack, setup):
    """With `options` ignored, the workers connect, but a statement one prepared on a server connection
    is missing (or another worker's) on the next: requests fail. And the TimeZone they sent in `options`
    never reaches PostgreSQL: what does run, runs in the server connections' zone."""
    bouncer, host = setup("none", ignore_options=True)
    host.wait_workers_connected(bouncer)
    uid = new_user(stack)
    calls = [session] * 60 + [read_user(uid)] * 60
    random.shuffle(calls)
    answers = hammer(host, calls)
    failed = [a for a in answers if a.status_code == 500]
    assert failed, "every request succeeded without database_pooler = transaction"
    assert {a.status_code for a in answers} <= {200, 500}
    assert re.search(r'prepared statement "s\d+"', host.log_text())   # already exists, does not exist, requires N parameters
    zones = {a.json()["timezone"] for a in answers if a.status_code == 200 and "timezone" in a.text}
    assert zones and "UTC" not in zones, zones
