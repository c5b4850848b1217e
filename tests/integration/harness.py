"""Small helpers for the integration tests and their conftest (no pytest dependency)."""
from __future__ import annotations

import contextlib
import os
import re
import shlex
import socket
from pathlib import Path
import time


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (bind to port 0 and let the kernel choose)."""
    return free_ports(1, host)[0]


def free_ports(n: int, host: str = "127.0.0.1") -> list[int]:
    """n distinct free ports (the sockets are held together so the kernel cannot repeat one)."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(n)]
    try:
        for s in socks:
            s.bind((host, 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def read_env_file(path) -> dict[str, str]:
    """The KEY=value lines scripts/stack writes (values quoted for the shell)."""
    env = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            key, sep, value = line.strip().partition("=")
            if sep and key and not key.startswith("#"):
                env[key] = " ".join(shlex.split(value)) if value else ""
    return env


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05, what: str = "condition"):
    """Polls predicate() until it returns something truthy (returned); TimeoutError after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def process_title(pid: int) -> str:
    """A process's command line as ps shows it (guildhalld retitles its children), plus its comm."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""
    return f"{cmdline} {comm}"


def child_pids(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "
        if int(fields[1]) == pid and fields[0] != "Z":
            kids.append(int(entry.name))
    return sorted(kids)


class AccessLog:
    """Which worker served a response. guildhalld logs `<pid>:access rid=<request id> ...` (src/dispatch.c)
    before it writes the reply, and nginx sends the same id back as X-Request-Id, so the line of a
    response is in the log by the time the response arrives. Reads only what was logged after creation."""

    _LINE = re.compile(rb"^(\d+):access rid=(\S+)", re.M)

    def __init__(self, path):
        self.path = path
        self.pos = os.path.getsize(path)
        self.pids = {}

    def pid_of(self, response) -> int | None:
        rid = response.headers.get("X-Request-Id")
        if rid and rid not in self.pids:
            with open(self.path, "rb") as fh:
                fh.seek(self.pos)
                data = fh.read()
            end = data.rfind(b"\n") + 1  # whole lines only
            self.pos += end
            for m in self._LINE.finditer(data[:end]):
                self.pids[m[2].decode()] = int(m[1])
        return self.pids.get(rid)


def each_worker(stack, send, limit: int = 200) -> dict[int, list]:
    """Calls send() (one request; returns its response) until every worker of `stack` has served at
    least one of those requests; returns {worker pid: [its responses]}. Raises AssertionError when
    `limit` requests did not reach them all."""
    log = AccessLog(stack.log_file)
    workers = set(stack.worker_pids())
    served: dict[int, list] = {}
    for _ in range(limit):
        r = send()
        pid = log.pid_of(r)
        assert pid is not None, f"no access line for request {r.headers.get('X-Request-Id')}"
        served.setdefault(pid, []).append(r)
        if pid not in workers:  # a worker was replaced meanwhile
            workers = set(stack.worker_pids())
        if workers <= served.keys():
            return {pid: served[pid] for pid in workers}
    raise AssertionError(f"{limit} requests reached workers {sorted(served)}, not all of {sorted(workers)}")


@contextlib.contextmanager
def refused_audit(stack, action: str):
    """While inside: every audit entry `action` fails to insert (a trigger on audit_logs raises), so
    the request writing it meets a failed statement in the middle of its work."""
    stack.sql("CREATE OR REPLACE FUNCTION test_refuse_audit() RETURNS trigger LANGUAGE plpgsql AS "
              "$$ BEGIN RAISE EXCEPTION 'audit entry % refused by a test', NEW.action; END $$")
    stack.sql("DROP TRIGGER IF EXISTS test_refuse_audit ON audit_logs")
    stack.sql("CREATE TRIGGER test_refuse_audit BEFORE INSERT ON audit_logs FOR EACH ROW "
              "WHEN (NEW.action = %s) EXECUTE FUNCTION test_refuse_audit()", action)
    try:
        yield
    finally:
        stack.sql("DROP TRIGGER IF EXISTS test_refuse_audit ON audit_logs")
        stack.sql("DROP FUNCTION IF EXISTS test_refuse_audit()")


def metric(stack, name: str) -> int:
    """One unlabelled counter from the ops listener's /metrics (0 when absent)."""
    import requests
    text = requests.get(f"{stack.ops}/metrics", timeout=5).text
    m = re.search(rf"^{re.escape(name)} (\d+)$", text, re.M)
    return int(m.group(1)) if m else 0


def worker_settings(stack):
    """A fixture body (pytest.fixture(name=…)(worker_settings)): yields apply(**settings), which
    appends them to the stack's configuration, reloads and waits until every worker is replaced;
    the file is restored and reloaded afterwards."""
    with open(stack.config) as f:
        original = f.read()

    def apply(**values):
        before = set(stack.worker_pids())
        with open(stack.config, "a") as f:
            f.write("\n" + "".join(f"{k} = {v}\n" for k, v in values.items()))
        stack.reload()
        # every worker is replaced after a reload
        wait_for(lambda: len(stack.worker_pids()) >= 2 and not before & set(stack.worker_pids()),
                 timeout=15, what="workers replaced after SIGHUP")

    yield apply
    with open(stack.config, "w") as f:
        f.write(original)
    stack.reload()
    time.sleep(1.0)


class FcgiResponse:
    """What a FastCGI responder answered: status, headers (lower-case names) and body."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes):
        self.status_code = status
        self.headers = headers
        self.content = body

    @property
    def text(self) -> str:
        return self.content.decode(errors="replace")

    def json(self):
        import json
        return json.loads(self.content)


def recv_to_eof(sock) -> bytes:
    """Everything the peer sends until it closes the connection."""
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


def fcgi_request(socket_path: str, method: str, path: str, query: str = "", body: bytes = b"",
                 headers: dict[str, str] | None = None, listener: str = "public", remote_addr: str = "127.0.0.1",
                 timeout: float = 30.0) -> FcgiResponse:
    """One request to a FastCGI responder on a unix socket or host:port (guildhalld's `listen`) with the parameters
    nginx/guildhall.conf.in passes, so that a test can drive a guildhalld that has no nginx in front."""
    import struct
    import uuid

    def record(rtype: int, content: bytes = b"") -> bytes:
        return struct.pack("!BBHHBx", 1, rtype, 1, len(content), 0) + content

    def pair(name: str, value: str) -> bytes:
        out = b""
        for n in (len(name.encode()), len(value.encode())):
            out += bytes([n]) if n < 128 else struct.pack("!I", n | 0x80000000)
        return out + name.encode() + value.encode()

    params = {"REQUEST_METHOD": method, "DOCUMENT_URI": path, "QUERY_STRING": query,
              "REQUEST_URI": path + (f"?{query}" if query else ""), "SERVER_PROTOCOL": "HTTP/1.1",
              "REMOTE_ADDR": remote_addr, "GUILDHALL_LISTENER": listener, "REQUEST_ID": uuid.uuid4().hex,
              "CONTENT_LENGTH": str(len(body)) if body else ""}
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        params[key if key == "CONTENT_TYPE" else f"HTTP_{key}"] = value
    encoded = b"".join(pair(k, v) for k, v in params.items())
    out = record(1, struct.pack("!HB5x", 1, 0))                       # BEGIN_REQUEST, responder, close
    out += b"".join(record(4, encoded[i:i + 65535]) for i in range(0, len(encoded), 65535)) + record(4)
    out += b"".join(record(5, body[i:i + 65535]) for i in range(0, len(body), 65535)) + record(5)
    stdout = b""
    tcp = "/" not in socket_path   # "host:port", as a TCP `listen` is written
    with socket.socket(socket.AF_INET if tcp else socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect((socket_path.rsplit(":", 1)[0], int(socket_path.rsplit(":", 1)[1])) if tcp else socket_path)
        s.sendall(out)
        data = recv_to_eof(s)
    pos = 0
    while pos + 8 <= len(data):
        _, rtype, _, length, padding = struct.unpack("!BBHHB", data[pos:pos + 7])
        content = data[pos + 8:pos + 8 + length]
        pos += 8 + length + padding
        if rtype == 6:      # STDOUT
            stdout += content
        elif rtype == 3:    # END_REQUEST
            break
    head, _, payload = stdout.partition(b"\r\n\r\n")
    status, hdrs = 200, {}
    for line in head.decode(errors="replace").split("\r\n"):
        name, _, value = line.partition(":")
        if name.lower() == "status":
            status = int(value.split()[0])
        elif name:
            hdrs[name.strip().lower()] = value.strip()
    return FcgiResponse(status, hdrs, payload)
