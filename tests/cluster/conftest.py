"""Fixtures for the cluster tests: a running `scripts/cluster up` (its cluster.json in GUILDHALL_CLUSTER_ENV),
the helpers of tests/integration, and `repair`, which brings back whatever a test stopped."""
import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))


class Cluster:
    def __init__(self, path: str):
        self.env_file = path
        self.c = json.loads(Path(path).read_text())
        self.dir = Path(self.c["dir"])
        self.public, self.ops = self.c["public_url"], self.c["ops_url"]
        self.hosts = self.c["hosts"]

    def fcgi(self, host: str) -> str:
        return self.hosts[host]["fcgi"]

    def cluster(self, command: str) -> subprocess.CompletedProcess:
        env = dict(os.environ, GUILDHALL_CLUSTER_DIR=str(self.dir), GUILDHALL_BIN_DIR=self.c["bin_dir"])
        return subprocess.run([str(REPO / "scripts" / "cluster"), command], env=env, capture_output=True, text=True,
                              timeout=120)

    def sql(self, query: str, *args, replica: bool = False):
        url = self.c["database_replica_url" if replica else "database_direct_url"].replace("user=guildhall",
                                                                                            "user=postgres")
        with psycopg2.connect(url) as conn, conn.cursor() as cur:
            conn.autocommit = True
            cur.execute(query, args or None)
            return cur.fetchall() if cur.description else None

    def admin(self, *args) -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GUILDHALL_")}
        out = subprocess.run([f"{self.c['bin_dir']}/guildhall-admin", "-c", self.hosts["a"]["config"], *args],
                             capture_output=True, text=True, env=env, timeout=30)
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()

    def pid(self, pid_file) -> int | None:
        try:
            pid = int(Path(pid_file).read_text().split()[0])
            os.kill(pid, 0)
            return pid
        except (OSError, ValueError, IndexError):
            return None


@pytest.fixture(scope="session")
def cluster():
    path = os.environ.get("GUILDHALL_CLUSTER_ENV")
    if not path:
        pytest.skip("GUILDHALL_CLUSTER_ENV is not set: run through scripts/test-all (layer cluster)")
    return Cluster(path)


@pytest.fixture
def repair(cluster):
    """After the test: `scripts/cluster up` starts whatever the test stopped, and every part must be up."""
    yield
    up = cluster.cluster("up")
    assert up.returncode == 0, up.stdout + up.stderr
    status = cluster.cluster("status")
    assert status.returncode == 0, status.stdout
