"""guildhalld under systemd (Type=notify): the sd_notify messages the unit relies on — READY=1 only
once every worker accepts, RELOADING=1 then READY=1 around a SIGHUP, STOPPING=1 on SIGTERM — read
from a datagram socket standing in for systemd's NOTIFY_SOCKET."""
import signal
import socket

from harness import child_pids, process_title, wait_for
from test_scheduler_faults import SecondHost


def workers_of(host):
    return {p for p in child_pids(host.proc.pid) if "worker" in process_title(p)}


def next_state(sock) -> dict[str, str]:
    data = sock.recv(4096).decode()
    return dict(line.split("=", 1) for line in data.splitlines() if "=" in line)


def test_readiness_reload_and_stop_reach_the_service_manager(stack, tmp_path):
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(20)
    host = SecondHost(stack)
    try:
        host.start(NOTIFY_SOCKET=str(path))
        ready = next_state(sock)
        assert ready.get("READY") == "1", ready
        assert "1 worker accepting" in ready.get("STATUS", ""), ready
        first = workers_of(host)
        assert len(first) == 1, "ready means the worker exists and accepts"

        host.proc.send_signal(signal.SIGHUP)
        reloading = next_state(sock)
        assert reloading.get("RELOADING") == "1", reloading
        again = next_state(sock)
        assert again.get("READY") == "1" and "generation 1" in again.get("STATUS", ""), again
        wait_for(lambda: workers_of(host) and not workers_of(host) & first, timeout=10,
                 what="the old worker gone once the reload is reported done")

        host.proc.send_signal(signal.SIGTERM)
        assert next_state(sock).get("STOPPING") == "1"
        host.proc.wait(15)
        assert host.proc.returncode == 0
    finally:
        host.stop()
        sock.close()
