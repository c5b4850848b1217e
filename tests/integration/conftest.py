"""Fixtures for the integration tests: the stack (nginx -> guildhalld -> PostgreSQL, memcached) they drive.

With GUILDHALL_STACK_ENV set (scripts/test-all sets it), the tests use the running stack that file
describes. Otherwise the first test that needs the stack starts a throwaway one with scripts/stack on
free ports in a temp dir (test routes on, binaries from $GUILDHALL_BIN_DIR or src/) and stops it when
the session ends (KEEP_STACK=1 keeps it).

With GUILDHALL_SANITIZER_DIR set (scripts/test-all's integration-asan layer: the stack runs ASan/UBSan
binaries whose reports land in that folder), each test after which a report appeared there is
recorded in its by-test.txt, so that test-all can say which test was running.
"""
pytest_plugins = ["openapi_plugin"]

import collections  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import requests  # noqa: E402

from harness import child_pids, free_ports, process_title, read_env_file, wait_for  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
STACK_SCRIPT = REPO / "scripts" / "stack"
# Variables that configure scripts/stack itself: its stack.env must win over them once the stack is up.
STACK_SETTINGS = ("DIR", "PUBLIC_ADDR", "PUBLIC_PORT", "OPS_ADDR", "OPS_PORT", "PG_PORT", "MC_PORT", "WORKERS",
                  "TEST_ROUTES", "BIN_DIR", "TRUSTED_PROXIES", "WEBHOOK_ERROR_URL", "WEBHOOK_AUDIT_URL",
                  "CORS_ORIGINS",
                  "SKIP_GUILDHALLD")

STACK_ENV_FILE = os.environ.get("GUILDHALL_STACK_ENV")
STACK_ENV = read_env_file(STACK_ENV_FILE) if STACK_ENV_FILE else None

_current = None  # the Stack of this session, once started (for the failure report hook)

SANITIZER_DIR = os.environ.get("GUILDHALL_SANITIZER_DIR")
# the patterns scripts/test-all counts as sanitizer reports
SANITIZER_REPORT = re.compile(rb"ERROR: (AddressSanitizer|LeakSanitizer)|Sanitizer has encountered a fatal error"
                              rb"|Sanitizer: CHECK failed|: runtime error: ")


def _clean_environ() -> dict:
    drop = {f"GUILDHALL_{name}" for name in STACK_SETTINGS}
    return {k: v for k, v in os.environ.items() if k not in drop}


class CommandError(subprocess.CalledProcessError):
    def __str__(self):
        return f"{super().__str__()}\n{self.stdout or ''}{self.stderr or ''}"


def _run(argv, env, check=True, timeout=120):
    proc = subprocess.run([str(a) for a in argv], env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=timeout)
    if check and proc.returncode != 0:
        raise CommandError(proc.returncode, proc.args, proc.stdout, proc.stderr)
    return proc


class Stack:
    """One running stack, described by the stack.env file scripts/stack up wrote."""

    def __init__(self, env: dict, owned_tmp: str | None = None):
        self.env = env
        self.dir = env["GUILDHALL_DIR"]
        self.public = env["PUBLIC_URL"]
        self.ops = env["OPS_URL"]
        self.config = env["CONFIG"]
        self.bin_dir = env["BIN_DIR"]
        self.dsn = f"host={env['PG_SOCKET_DIR']} port={env['PG_PORT']} dbname=guildhall user=postgres"
        self.log_file = env["GUILDHALLD_LOG"]
        self._owned_tmp = owned_tmp

    # -- commands
    def stack(self, command: str, check: bool = True) -> subprocess.CompletedProcess:
        """Runs `scripts/stack COMMAND` for this stack."""
        return _run([STACK_SCRIPT, command], {**_clean_environ(), "GUILDHALL_DIR": self.dir}, check)

    def admin(self, *args, check: bool = True) -> subprocess.CompletedProcess:
        """Runs guildhall-admin -c CONFIG ARGS...; raises (with its output) on failure when check."""
        return _run([Path(self.bin_dir) / "guildhall-admin", "-c", self.config, *args], _clean_environ(), check)

    def pg_stop(self):
        self.stack("pg-stop")

    def pg_start(self):
        self.stack("pg-start")

    def mc_stop(self):
        self.stack("mc-stop")

    def mc_start(self):
        self.stack("mc-start")

    def gh_stop(self):
        self.stack("gh-stop")

    def gh_start(self):
        self.stack("gh-start")

    def reload(self):
        """SIGHUP to the master: workers are replaced one at a time."""
        os.kill(self.master_pid(), signal.SIGHUP)

    def wait_healthy(self, timeout: float = 30.0):
        """Waits until the ops listener's /health answers 200."""
        def ok():
            try:
                return requests.get(f"{self.ops}/health", timeout=2).status_code == 200
            except requests.RequestException:
                return False
        wait_for(ok, timeout, 0.1, f"{self.ops}/health")

    # -- processes
    def master_pid(self) -> int | None:
        try:
            return int(Path(self.env["GUILDHALLD_PID_FILE"]).read_text().strip())
        except (OSError, ValueError):
            return None

    def _child_titles(self) -> dict[int, str]:
        master = self.master_pid()
        return {pid: process_title(pid) for pid in child_pids(master)} if master else {}

    def worker_pids(self) -> list[int]:
        """The master's worker processes (titled `guildhalld: worker`), without the scheduler and outbox."""
        titles = self._child_titles()
        workers = [pid for pid, t in titles.items() if "worker" in t]
        return workers or [pid for pid, t in titles.items() if "scheduler" not in t and "outbox" not in t]

    def scheduler_pid(self) -> int | None:
        return next((pid for pid, t in self._child_titles().items() if "scheduler" in t), None)

    def outbox_pid(self) -> int | None:
        """The outbox process (`guildhalld: outbox`): webhooks and nchan events."""
        return next((pid for pid, t in self._child_titles().items() if "outbox" in t), None)

    # -- logs and database
    def log_tail(self, n: int = 50, path: str | None = None) -> str:
        try:
            with open(path or self.log_file, encoding="utf-8", errors="replace") as fh:
                return "".join(collections.deque(fh, maxlen=n))
        except OSError as e:
            return f"({e})"

    def sql(self, query: str, *params):
        """Runs one statement as superuser postgres (autocommit); returns its rows ([] if none)."""
        import psycopg2

        conn = psycopg2.connect(self.dsn)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(query, params or None)
                return cur.fetchall() if cur.description else []
        finally:
            conn.close()

    # -- a stack this session started
    @classmethod
    def start_throwaway(cls) -> "Stack":
        tmp = tempfile.mkdtemp(prefix="guildhall-pytest-")
        os.chmod(tmp, 0o755)  # the postgres user must reach the cluster inside
        public, ops, pg, mc = free_ports(4)
        env = {**os.environ, "GUILDHALL_DIR": f"{tmp}/stack", "GUILDHALL_PUBLIC_ADDR": "127.0.0.1",
               "GUILDHALL_PUBLIC_PORT": str(public), "GUILDHALL_OPS_PORT": str(ops),
               "GUILDHALL_PG_PORT": str(pg), "GUILDHALL_MC_PORT": str(mc), "GUILDHALL_TEST_ROUTES": "on",
               "GUILDHALL_CORS_ORIGINS": "http://allowed.example",
               "GUILDHALL_BIN_DIR": os.environ.get("GUILDHALL_BIN_DIR", str(REPO / "src"))}
        proc = _run([STACK_SCRIPT, "up"], env, check=False, timeout=300)
        if proc.returncode != 0:
            _run([STACK_SCRIPT, "down"], {**_clean_environ(), "GUILDHALL_DIR": f"{tmp}/stack"}, check=False)
            shutil.rmtree(tmp, ignore_errors=True)
            raise RuntimeError(f"scripts/stack up failed:\n{proc.stdout}{proc.stderr}")
        return cls(read_env_file(f"{tmp}/stack/stack.env"), owned_tmp=tmp)

    def teardown(self):
        if self._owned_tmp is None:
            return
        if os.environ.get("KEEP_STACK") == "1":
            print(f"\nstack kept: GUILDHALL_DIR={self.dir} scripts/stack down")
            return
        self.stack("down", check=False)
        shutil.rmtree(self._owned_tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def stack():
    """The stack under test: see the module docstring."""
    global _current
    _current = Stack(STACK_ENV) if STACK_ENV is not None else Stack.start_throwaway()
    try:
        yield _current
    finally:
        _current.teardown()


def _sanitizer_files() -> dict[str, int]:
    sizes = {}
    with os.scandir(SANITIZER_DIR) as entries:
        for entry in entries:
            if entry.name.startswith(("asan.", "ubsan.", "stderr.")) and entry.is_file(follow_symlinks=False):
                sizes[entry.name] = entry.stat().st_size
    return sizes


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Records the files of GUILDHALL_SANITIZER_DIR in which a report appeared while this test ran."""
    if not SANITIZER_DIR or not os.path.isdir(SANITIZER_DIR):
        yield
        return
    before = _sanitizer_files()
    yield
    hits = []
    for name, size in _sanitizer_files().items():
        offset = before.get(name, 0)
        if size <= offset:
            continue
        with open(os.path.join(SANITIZER_DIR, name), "rb") as fh:
            fh.seek(offset)
            if SANITIZER_REPORT.search(fh.read()):
                hits.append(name)
    if hits:
        with open(os.path.join(SANITIZER_DIR, "by-test.txt"), "a", encoding="utf-8") as out:
            out.writelines(f"{name}\t{item.nodeid}\n" for name in hits)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test's report ends with the tail of guildhalld's log (and nginx's error log)."""
    outcome = yield
    report = outcome.get_result()
    if report.failed and _current is not None:
        report.sections.append(("guildhalld log (last 50 lines)", _current.log_tail(50)))
        nginx_log = Path(_current.dir) / "log" / "nginx-error.log"
        report.sections.append(("nginx error log (last 10 lines)", _current.log_tail(10, str(nginx_log))))
