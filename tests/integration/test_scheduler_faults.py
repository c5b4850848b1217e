"""Fault tests of the scheduler engine (CONTRACT 7.3): two guildhalld hosts on one database never run a
job twice, a scheduler process killed mid-run leaves no run stuck in `running`, a run missed while
the engine was down runs once (coalesced) when it comes back, /scheduler/health with PostgreSQL
or memcached down, a job DELETE racing the end of its run never deadlocks, and due jobs run on
time while every webhook hangs (the outbox has its own process).

Every wait is bounded; whatever a test stops or starts it puts back in a ``finally``. The first test
starts a second guildhalld master itself (a copy of the stack's configuration with its own socket,
pid file and log) and stops it, by its pid, before it returns.
"""
from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg2
import pytest

from harness import child_pids, each_worker, process_title, wait_for
from test_scheduler import Api, Receiver, check_run, new_key, parse_ts, settings, utcnow


# ---------------------------------------------------------------------- helpers
def _alive(pid):
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2:].split()[0] not in ("Z", "X")


@pytest.fixture
def api(stack, public):
    a = Api(public, new_key(stack))
    yield a
    a.cleanup()


@pytest.fixture(autouse=True)
def healthy_scheduler(stack, public):
    """Every test starts with a healthy stack and a running scheduler."""
    stack.wait_healthy(30)
    wait_for(lambda: public.get("/scheduler/health").json().get("scheduler_running") is True, 20, 0.2,
             "the scheduler to be running")
    yield


class PostgresLog:
    """The stack's PostgreSQL log from now on. A marker error is logged and seen first, so a test that
    finds nothing in it knows the server does write there."""

    def __init__(self, stack):
        self.path = Path(stack.dir) / "log" / "postgres.log"
        self.offset = self.path.stat().st_size
        marker = f"guildhall_log_marker_{os.getpid()}_{time.monotonic_ns()}"
        with pytest.raises(psycopg2.Error):
            stack.sql(f"SELECT {marker}()")
        wait_for(lambda: marker in self.text(), 10, 0.1, "the marker error in the PostgreSQL log")

    def text(self):
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            return f.read().decode(errors="replace")


class SecondHost:
    """A second guildhalld master on the same database and memcached: the stack's configuration with its
    own listen socket, pid file and log file (and one worker)."""

    def __init__(self, stack):
        self.stack = stack
        self.dir = tempfile.mkdtemp(prefix="guildhall-host2-")
        os.chmod(self.dir, 0o755)
        self.config = f"{self.dir}/guildhall.conf"
        self.log = f"{self.dir}/guildhalld.log"
        own = {"listen": f"{self.dir}/guildhall.sock", "pid_file": f"{self.dir}/guildhalld.pid",
               "log_file": self.log, "workers": "1"}
        lines = []
        with open(stack.config) as f:
            for line in f:
                key = line.split("=", 1)[0].strip()
                if key not in own:
                    lines.append(line.rstrip("\n"))
        lines += [f"{k} = {v}" for k, v in own.items()]
        Path(self.config).write_text("\n".join(lines) + "\n")
        self.proc = None

    def start(self, **extra_env):
        env = {k: v for k, v in os.environ.items() if not k.startswith("GUILDHALL_")}
        env.update(extra_env)
        self.out = open(f"{self.dir}/stdout.log", "ab")
        self.proc = subprocess.Popen([str(Path(self.stack.bin_dir) / "guildhalld"), "-c", self.config],
                                     stdin=subprocess.DEVNULL, stdout=self.out, stderr=subprocess.STDOUT,
                                     env=env, start_new_session=True)
        return wait_for(self.scheduler_pid, 20, 0.1, "the second host's scheduler process")

    def scheduler_pid(self):
        if self.proc is None or self.proc.poll() is not None:
            raise AssertionError(f"the second guildhalld exited: {self.log_tail()}")
        return next((p for p in child_pids(self.proc.pid) if "scheduler" in process_title(p)), None)

    def log_tail(self, n=30):
        try:
            return "".join(Path(self.log).read_text(errors="replace").splitlines(True)[-n:])
        except OSError as e:
            return f"({e})"

    def stop(self):
        if self.proc is None:
            shutil.rmtree(self.dir, ignore_errors=True)
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)  # the group this test started
                self.proc.wait(5)
        self.out.close()
        shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------------- (a) two hosts, one database
def test_two_hosts_never_run_a_job_twice(stack, api):
    """Two masters (two schedulers) on one database, 40 dry-run jobs (more than one engine claims in one
    batch, so both engines take rows at the same instant). First ~70 s of a real `* * * * *` schedule,
    then eight more due instants set a second apart (each once the previous runs have finished).
    Every due instant of every job runs exactly once, and no run is left `running`."""
    host = SecondHost(stack)
    jobs = []
    t0 = stack.sql("SELECT now()")[0][0]
    try:
        other_scheduler = host.start()
        ours = stack.scheduler_pid()
        assert ours and other_scheduler and ours != other_scheduler
        for i in range(40):
            jobs.append(api.create(name=f"two hosts {i}", schedule_type="cron",
                                   schedule_config={"cron_expression": "* * * * *"}, bot_config={"dry_run": True}))
        ids = [j["id"] for j in jobs]
        deadline = datetime.now(timezone.utc) + timedelta(seconds=70)
        while datetime.now(timezone.utc) < deadline:
            assert _alive(other_scheduler) and stack.scheduler_pid() == ours, "a scheduler died during the test"
            time.sleep(1.0)
        stack.sql("UPDATE scheduler_jobs SET enabled = false, next_run_at = NULL WHERE id = ANY(%s::uuid[])", ids)
        time.sleep(1.5)  # let a run that started just now finish

        rows = stack.sql("SELECT job_id::text, to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS'), "
                         "status, runner_pid FROM scheduler_runs WHERE job_id = ANY(%s::uuid[])", ids)
        by_job = {i: [] for i in ids}
        for job_id, started, status, _ in rows:
            by_job[job_id].append((parse_ts(started), status))
        for j in jobs:
            runs = by_job[j["id"]]
            per_minute = Counter(t.replace(second=0) for t, _ in runs)
            dups = {m.isoformat(): n for m, n in per_minute.items() if n > 1}
            assert not dups, f"job {j['id']} ran more than once in a minute: {dups}"
            # every minute boundary that passed with both engines up (3 s left for the run to show) ran once
            t = parse_ts(j["next_run_at"])
            assert t <= deadline - timedelta(seconds=3), "no scheduled minute passed"
            while t <= deadline - timedelta(seconds=3):
                assert per_minute.get(t) == 1, f"job {j['id']}: no run for {t.isoformat()}: {runs}"
                t += timedelta(minutes=1)
            assert all(status == "success" for _, status in runs), runs
        dup_rows = stack.sql("SELECT job_id, scheduled_for, count(*) FROM scheduler_runs WHERE job_id = ANY(%s::uuid[]) "
                             "GROUP BY 1, 2 HAVING count(*) > 1", ids)
        assert dup_rows == [], dup_rows
        for j in jobs[:3]:  # and through the API (schema-checked)
            for r in api.history(j["id"]):
                check_run(r, j["id"])

        # More due instants, faster: every job due at the same second, eight times, each time once
        # the previous runs have finished (as with a minute schedule, only quicker).
        stack.sql("UPDATE scheduler_jobs SET enabled = true, schedule_config = '{\"cron_expression\": \"0 0 1 1 *\"}', "
                  "next_run_at = now() + interval '1 day' WHERE id = ANY(%s::uuid[])", ids)
        instants = []
        for _ in range(8):
            time.sleep(1.02 - time.time() % 1)  # a new second: every instant is distinct
            at = stack.sql("UPDATE scheduler_jobs SET next_run_at = date_trunc('second', now()) "
                           "WHERE id = ANY(%s::uuid[]) RETURNING next_run_at", ids)[0][0]
            instants.append(at)

            def settled():
                done, running = stack.sql(
                    "SELECT count(*) FILTER (WHERE scheduled_for = %s), count(*) FILTER (WHERE status = 'running') "
                    "FROM scheduler_runs WHERE job_id = ANY(%s::uuid[])", at, ids)[0]
                return done >= len(ids) and running == 0
            try:
                wait_for(settled, 10, 0.1, "the runs of one due instant")
            except TimeoutError:
                break  # the assertions below say what went wrong
            time.sleep(0.3)
        stack.sql("UPDATE scheduler_jobs SET enabled = false, next_run_at = NULL WHERE id = ANY(%s::uuid[])", ids)
        time.sleep(1.0)
        rows2 = stack.sql("SELECT job_id::text, scheduled_for, status, runner_pid FROM scheduler_runs "
                          "WHERE job_id = ANY(%s::uuid[]) AND (scheduled_for IS NULL OR scheduled_for >= %s)",
                          ids, instants[0])
        not_due = [r for r in rows2 if r[1] is None]
        assert not not_due, f"{len(not_due)} extra runs claimed as if run now (scheduled_for NULL): {not_due[:5]}"
        per = Counter((r[0], r[1]) for r in rows2)
        dups = [k for k, n in per.items() if n > 1]
        assert not dups, f"{len(dups)} (job, instant) pairs ran more than once: {dups[:5]}"
        for at in instants:
            missing = [i for i in ids if per.get((i, at)) != 1]
            assert not missing, f"{len(missing)} jobs did not run once for the instant {at}: {missing[:5]}"
        stuck = [r for r in rows2 if r[2] == "running"]
        assert not stuck, f"runs left 'running' by a live scheduler (never recovered): {stuck[:5]}"
        assert all(r[2] == "success" for r in rows2), Counter(r[2] for r in rows2)
        rows += [(r[0], None, r[2], r[3]) for r in rows2]

        # Which host ran what: the second host's scheduler connected after t0, ours before.
        hosts = dict(stack.sql("SELECT a.pid, a.backend_start > %s FROM pg_stat_activity a "
                               "WHERE a.pid = ANY(%s)", t0, list({r[3] for r in rows})))
        second = sum(1 for r in rows if hosts.get(r[3]))
        print(f"{len(rows)} runs: {second} by the second host, {len(rows) - second} by the stack's")

        # The second host's engine really works: with the stack's scheduler paused, it runs a job alone.
        probe = api.create(name="two hosts probe", bot_config={"dry_run": True})
        os.kill(ours, signal.SIGSTOP)
        try:
            api.run(probe["id"])
            run = api.wait_run(probe["id"], timeout=10)[0]
        finally:
            os.kill(ours, signal.SIGCONT)
        assert run["status"] == "success", run
        pid = stack.sql("SELECT runner_pid FROM scheduler_runs WHERE id = %s", run["id"])[0][0]
        assert stack.sql("SELECT backend_start > %s FROM pg_stat_activity WHERE pid = %s", t0, pid) == [(True,)]
    finally:
        host.stop()


# ---------------------------------------------------------------------- (b) scheduler killed mid-run
def test_scheduler_killed_mid_run_marks_the_run_failed_and_recovers(stack, api):
    receiver = Receiver()
    receiver.answer(200, {"messages_sent": 2}, delay=5.0)
    try:
        with settings(stack, [f"scheduler_birthday_webhook_url = {receiver.base}/birthday"]):
            job = api.create()
            api.run(job["id"])
            api.wait_running(job["id"], timeout=10)
            victim = stack.scheduler_pid()
            assert victim
            os.kill(victim, signal.SIGKILL)
            killed = time.monotonic()
            wait_for(lambda: stack.scheduler_pid() not in (None, victim), 10, 0.1, "a new scheduler process")

            def failed():
                runs = api.history(job["id"])
                return runs if runs[0]["status"] == "failed" else None
            runs = wait_for(failed, 10, 0.25, "the orphaned run to be marked failed")
            assert time.monotonic() - killed <= 10.5
            assert len(runs) == 1, runs
            run = check_run(runs[0], job["id"])
            assert run["finished_at"] is not None and run["error"], run
            after = api.job(job["id"])
            assert after["last_run_status"] == "failed" and after["last_run_error"] == run["error"], after

            receiver.answer(200, {"messages_sent": 2})
            api.run(job["id"])  # not 409: nothing is running any more
            runs = api.wait_run(job["id"], count=2, timeout=10)
            assert [r["status"] for r in runs] == ["success", "failed"], runs
            assert runs[0]["messages_sent"] == 2
            assert api.job(job["id"])["last_run_status"] == "success"
    finally:
        receiver.close()


# ---------------------------------------------------------------------- (c) engine down across a due time
def test_missed_runs_coalesce_into_one_on_start(stack, public, api):
    with settings(stack, ["scheduler = off"], scheduler_running=False):
        assert stack.scheduler_pid() is None
        h = public.get("/scheduler/health").json()
        assert h["scheduler_running"] is False and h["status"] == "unhealthy", h
        job = api.create(schedule_type="cron", schedule_config={"cron_expression": "* * * * *"},
                         bot_config={"dry_run": True})
        stack.sql("UPDATE scheduler_jobs SET next_run_at = now() - interval '3 minutes' WHERE id = %s", job["id"])
        missed = api.job(job["id"])["next_run_at"]
        assert parse_ts(missed) < utcnow() - timedelta(minutes=2)
        time.sleep(1.5)
        assert api.history(job["id"]) == [], "nothing runs while the engine is off"
    back = time.monotonic()  # settings() restored the file and waited for the new scheduler

    runs = api.wait_run(job["id"], count=1, timeout=10, interval=0.25)
    assert time.monotonic() - back <= 10
    time.sleep(3.0)  # any further catch-up run would show by now
    runs = [check_run(r, job["id"]) for r in api.history(job["id"])]
    after = api.job(job["id"])
    nxt = parse_ts(after["next_run_at"])
    before_next = [r for r in runs if parse_ts(r["started_at"]) < nxt]
    assert len(before_next) == 1, f"the missed minutes ran {len(before_next)} times, not once: {runs}"
    run = before_next[-1]
    assert run["status"] == "success", run
    started = parse_ts(run["started_at"])
    assert nxt > started and nxt == started.replace(second=0) + timedelta(minutes=1), (run, after)
    assert nxt > utcnow() - timedelta(seconds=2), "next_run_at moved to the future"
    assert after["last_run_at"] == run["started_at"]
    # the run was for the missed instant (stored to the second; the UPDATE above left a fraction)
    rows = stack.sql("SELECT extract(epoch FROM scheduled_for) FROM scheduler_runs WHERE id = %s", run["id"])
    assert len(rows) == 1 and abs(float(rows[0][0]) - parse_ts(missed).timestamp()) <= 1, (rows, missed)
    api.put(f"/scheduler/jobs/{job['id']}", {"enabled": False})


# ---------------------------------------------------------------------- (d) PostgreSQL and memcached down
def test_health_and_jobs_with_postgres_down(stack, public, api):
    job = api.create(bot_config={"dry_run": True})
    assert api.get("/scheduler/jobs").status_code == 200  # the key is known (and cached) now
    try:
        stack.pg_stop()
        r = public.get("/scheduler/health", timeout=10)
        assert r.status_code == 503, r.text
        h = r.json()
        assert h["database_connected"] is False and h["status"] == "unhealthy", h
        assert h["total_jobs"] is None and h["enabled_jobs"] is None, h
        r = api.get(f"/scheduler/jobs/{job['id']}", timeout=10)
        assert r.status_code == 503, r.text
        assert set(r.json()) == {"detail"}, r.text
        for word in ("connect", "postgres", "socket", "select"):
            assert word not in r.text.lower(), r.text
    finally:
        stack.pg_start()
    stack.wait_healthy(30)

    def recovered():
        h = public.get("/scheduler/health").json()
        return h["database_connected"] and h["scheduler_running"] and h["total_jobs"] is not None
    wait_for(recovered, 20, 0.5, "/scheduler/health to recover")
    api.run(job["id"])
    assert api.wait_run(job["id"], timeout=15)[0]["status"] == "success", "the engine works again"


def test_health_with_memcached_down(stack, public, api):
    try:
        stack.mc_stop()
        r = public.get("/scheduler/health")
        assert r.status_code == 200, r.text
        h = r.json()
        assert h["redis_connected"] is False and h["cache_connected"] is False, h
        assert h["database_connected"] is True, h
        # the per-key limit fails open
        assert api.get("/scheduler/jobs").status_code == 200
    finally:
        stack.mc_start()
    # every worker sees memcached again from its first request (not only the first worker asked:
    # tests after this one need all of them)
    for pid, rs in each_worker(stack, lambda: public.get("/scheduler/health")).items():
        assert [r.json()["redis_connected"] for r in rs] == [True] * len(rs), f"worker {pid}"


# ---------------------------------------------------------------------- (e) job DELETE vs the end of its run
def test_job_delete_while_its_run_finishes_does_not_deadlock(stack, api):
    """A DELETE locks the job row, then its cascade the run rows. The engine, finishing a run, must take
    the same order: here the test holds the job row (as a DELETE does first) until the engine's end of
    run waits for it, then deletes the job in that transaction. Locking the run row first, the engine
    would deadlock with it. Five times; then the engine still runs jobs."""
    log = PostgresLog(stack)
    receiver = Receiver()
    receiver.answer(200, {"messages_sent": 1}, delay=1.5)
    try:
        with settings(stack, [f"scheduler_birthday_webhook_url = {receiver.base}/birthday"]):
            for _ in range(5):
                job = api.create()
                api.run(job["id"])
                api.wait_running(job["id"])
                ((runner,),) = stack.sql("SELECT runner_pid FROM scheduler_runs WHERE job_id = %s "
                                         "AND status = 'running'", job["id"])
                conn = psycopg2.connect(stack.dsn)
                try:
                    with conn.cursor() as cur:
                        cur.execute("SELECT 1 FROM scheduler_jobs WHERE id = %s FOR UPDATE", (job["id"],))
                        wait_for(lambda: stack.sql("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s",
                                                   runner) == [("Lock",)], 10, 0.05,
                                 "the engine's end of the run waiting for the job row")
                        cur.execute("DELETE FROM scheduler_jobs WHERE id = %s", (job["id"],))
                    conn.commit()
                finally:
                    conn.close()
                assert stack.sql("SELECT count(*) FROM scheduler_runs WHERE job_id = %s", job["id"]) == [(0,)]
                wait_for(lambda: stack.sql("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s",
                                           runner) != [("Lock",)], 10, 0.05, "the engine to go on")
        probe = api.create(bot_config={"dry_run": True})
        api.run(probe["id"])
        assert api.wait_run(probe["id"], timeout=10)[0]["status"] == "success"
    finally:
        receiver.close()
    text = log.text()
    assert "deadlock detected" not in text, text[text.find("deadlock detected") - 500:][:2000]
    assert "could not record the end of run" not in stack.log_tail(500)


def test_job_deletes_racing_run_ends_many_times(stack):
    """Jobs asked to run again and again (dry runs, so each run ends at once) while they are deleted one
    by one, in random order and at random moments, eight rounds of 25: no deadlock in the PostgreSQL log,
    every DELETE succeeds, and no run is left `running`."""
    log = PostgresLog(stack)
    name = f"delete race {os.getpid()}"
    deleted = 0
    try:
        for round_ in range(8):
            ids = [r[0] for r in stack.sql(
                "INSERT INTO scheduler_jobs (name, bot_type, enabled, schedule_type, schedule_config, bot_config) "
                "SELECT %s || ' ' || g, 'birthday', false, 'daily', '{\"hour\": 8, \"minute\": 0}', "
                "'{\"dry_run\": true}' FROM generate_series(1, 25) g RETURNING id::text", f"{name} {round_}")]
            stop = threading.Event()
            errors = []

            def ask():
                while not stop.is_set():
                    try:
                        stack.sql("UPDATE scheduler_jobs SET run_requested_at = now() "
                                  "WHERE id = ANY(%s::uuid[]) AND run_requested_at IS NULL", ids)
                    except psycopg2.Error as e:  # noqa: PERF203 - a deadlock here is a finding too
                        errors.append(e)
                    time.sleep(0.002)
            asker = threading.Thread(target=ask, daemon=True)
            asker.start()
            try:
                wait_for(lambda: stack.sql("SELECT count(DISTINCT job_id) FROM scheduler_runs "
                                           "WHERE job_id = ANY(%s::uuid[])", ids)[0][0] >= 5, 10, 0.02,
                         "runs of the racing jobs")
                for job_id in random.sample(ids, len(ids)):
                    time.sleep(random.uniform(0, 0.02))
                    stack.sql("DELETE FROM scheduler_jobs WHERE id = %s", job_id)
                    deleted += 1
            finally:
                stop.set()
                asker.join(5)
            assert not errors, errors[:3]
            assert stack.sql("SELECT count(*) FROM scheduler_runs WHERE job_id = ANY(%s::uuid[])", ids) == [(0,)]
    finally:
        stack.sql("DELETE FROM scheduler_jobs WHERE name LIKE %s", f"{name} %")
    assert deleted == 200
    text = log.text()
    assert "deadlock detected" not in text, text[text.find("deadlock detected") - 500:][:2000]
    stuck = stack.sql("SELECT count(*) FROM scheduler_runs r WHERE status = 'running' "
                      "AND started_at < now() - interval '5 seconds'")
    assert stuck == [(0,)], "a run is stuck in 'running'"
    assert "could not record the end of run" not in stack.log_tail(500)


# ---------------------------------------------------------------------- (f) every webhook hangs
class Blackhole:
    """A TCP server that accepts every connection and never answers (a dead webhook endpoint)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"
        self.accepted = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:  # the timeout, or the socket closed
                continue
            self.accepted.append(conn)  # held open, never read, never answered

    def close(self):
        self.stopped.set()
        self.thread.join(5)
        for conn in self.accepted:
            conn.close()
        self.sock.close()


def test_due_jobs_run_on_time_while_every_webhook_hangs(stack, api, ops):
    """The error and audit webhooks and the nchan publisher all point at a server that accepts and never
    answers (each delivery waits webhook_timeout_ms, 5 s), with 180 rows in the outbox. Two jobs fall
    due 3 s and 6 s later: each run starts within 2 s of its due time, while the outbox is still stuck."""
    hole = Blackhole()
    (before,) = stack.sql("SELECT coalesce(max(id), 0) FROM outbox")[0]
    try:
        with settings(stack, [f"webhook_error_url = {hole.url}", f"webhook_audit_url = {hole.url}",
                              f"nchan_publish_url = {hole.url}"]):
            try:
                stack.sql("INSERT INTO outbox (kind, payload) SELECT k, CASE k WHEN 'nchan' THEN "
                          "jsonb_build_object('event', 'test', 'message', jsonb_build_object('n', g)) "
                          "ELSE jsonb_build_object('content', 'hanging webhook test ' || g) END "
                          "FROM unnest(ARRAY['audit_webhook', 'error_webhook', 'nchan']) k, generate_series(1, 60) g")
                wait_for(lambda: hole.accepted, 10, 0.05, "the outbox process to be stuck in a delivery")
                jobs = [api.create(bot_config={"dry_run": True}) for _ in range(2)]
                dues = []
                for i, job in enumerate(jobs):
                    dues.append(stack.sql("UPDATE scheduler_jobs SET next_run_at = date_trunc('second', now()) "
                                          "+ %s * interval '1 second' WHERE id = %s RETURNING next_run_at",
                                          3 * (i + 1), job["id"])[0][0])
                for job in jobs:
                    api.wait_run(job["id"], timeout=15, interval=0.2)
                rows = stack.sql("SELECT j.id::text, r.status, extract(epoch FROM r.started_at - r.scheduled_for) "
                                 "FROM scheduler_runs r JOIN scheduler_jobs j ON j.id = r.job_id "
                                 "WHERE j.id = ANY(%s::uuid[]) ORDER BY r.started_at", [j["id"] for j in jobs])
                assert [r[0] for r in rows] == [j["id"] for j in jobs], rows
                for job_id, status, late in rows:
                    assert status == "success", rows
                    assert 0 <= float(late) <= 2.0, f"job {job_id} started {float(late):.3f} s after it was due"
                (pending,) = stack.sql("SELECT count(*) FROM outbox WHERE id > %s AND delivered_at IS NULL", before)[0]
                assert pending >= 170, f"only {pending} of 180 rows left: the webhooks did not hang"
                health = ops.get("/health").json()
                assert health["checks"]["outbox"]["status"] == "healthy", "one hanging delivery is not a dead process"
                assert health["checks"]["scheduler"]["status"] == "healthy", health["checks"]
            finally:
                # never deliver these rows to the real endpoints once the settings are restored
                stack.sql("UPDATE outbox SET delivered_at = now(), last_error = 'hanging webhook test' "
                          "WHERE id > %s AND delivered_at IS NULL", before)
    finally:
        hole.close()
