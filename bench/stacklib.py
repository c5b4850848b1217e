"""stacklib — what the Python benches share: a throwaway stack from scripts/stack on free ports,
its keys and workers, and the percentile of a list of latencies. Figures, not tests."""
import os
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN_DIR = os.environ.get("GUILDHALL_BIN_DIR", str(REPO / "src"))


def free_port():
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in (8080, 9090, 55432, 21211):
            return port


class Stack:
    """settings: GUILDHALL_* values for scripts/stack and guildhalld (limits lifted, workers, …)."""

    def __init__(self, root, name, **settings):
        self.name = name
        self.dir = root / "stack"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("GUILDHALL_")}
        self.env.update(GUILDHALL_DIR=str(self.dir), GUILDHALL_PUBLIC_ADDR="127.0.0.1",
                        GUILDHALL_PUBLIC_PORT=str(free_port()), GUILDHALL_OPS_PORT=str(free_port()),
                        GUILDHALL_PG_PORT=str(free_port()), GUILDHALL_MC_PORT=str(free_port()),
                        GUILDHALL_WORKERS=os.environ.get("BENCH_WORKERS", "2"), GUILDHALL_TEST_ROUTES="off",
                        GUILDHALL_BIN_DIR=BIN_DIR, GUILDHALL_MAX_REQUESTS="0")
        self.env.update({f"GUILDHALL_{k.upper()}": str(v) for k, v in settings.items()})
        self.log = root / "log"
        self.log.mkdir(parents=True)

    def run(self, *args, **kw):
        return subprocess.run([str(REPO / "scripts" / "stack"), *args], env=self.env, check=True,
                              capture_output=True, text=True, **kw)

    def up(self):
        try:
            self.run("up")
        except subprocess.CalledProcessError as e:
            sys.exit(f"bench/{self.name}: scripts/stack up failed\n{e.stdout}{e.stderr}")
        self.vars = dict(line.split("=", 1) for line in (self.dir / "stack.env").read_text().splitlines())
        self.port = int(self.vars["PUBLIC_PORT"])
        self.mc_port = int(self.vars["MC_PORT"])

    def psql(self, *args):
        return self.run("psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", *args).stdout

    def admin(self, *args):
        return subprocess.run([f"{BIN_DIR}/guildhall-admin", "-c", self.vars["CONFIG"], *args], env=self.env,
                              check=True, capture_output=True, text=True).stdout.strip()

    def key(self, scope):
        return {"Authorization": f"Bearer {self.admin('keys', 'create', '--scope', scope, '--label', 'bench')}"}

    def worker_rss_kib(self):
        master = Path(self.vars["GUILDHALLD_PID_FILE"]).read_text().strip()
        rss = []
        children = subprocess.run(["pgrep", "-P", master], capture_output=True, text=True).stdout.split()
        for child in children:
            try:
                if Path(f"/proc/{child}/cmdline").read_bytes().startswith(b"guildhalld: worker"):
                    status = Path(f"/proc/{child}/status").read_text()
                    rss.append(int(next(l for l in status.splitlines() if l.startswith("VmRSS:")).split()[1]))
            except FileNotFoundError:
                pass
        return sorted(rss)


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, -(-p * len(ordered) // 100) - 1))]
