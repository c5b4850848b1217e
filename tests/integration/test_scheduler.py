"""The scheduler family (spec 003, CONTRACT 7.3): every route's status, shape, validation and auth,
the schedule arithmetic (next_run_at for the four schedule types, in UTC), run now and the run
history, the bots' webhooks (against a local receiver), and a job that runs on time by itself.

Every response through ``public`` is also checked against docs/openapi.yaml (openapi_plugin).
Tests that change guildhalld's settings append to the stack's config file, reload, wait for the
scheduler process to be replaced, and put the file back afterwards (as test_webhooks.py does).
Each test uses a key of its own, so the 120-per-minute limit per key is never reached by accident.
"""
from __future__ import annotations

import contextlib
import json
import re
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from harness import refused_audit, wait_for

TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")
JOB_FIELDS = {"id", "name", "description", "bot_type", "enabled", "schedule_type", "schedule_config",
              "bot_config", "created_at", "updated_at", "last_run_at", "last_run_status", "last_run_error",
              "next_run_at"}
RUN_FIELDS = {"id", "job_id", "started_at", "finished_at", "status", "result", "error", "messages_sent",
              "profiles_visited"}
BIRTHDAY_DEFAULTS = {"dry_run": False, "process_late": False, "max_days_late": 7, "max_messages_per_run": 10}
VISITOR_DEFAULTS = {"dry_run": False, "limit": 50}
SYSTEM_KINDS = {"places: weekly reset", "places: stats snapshot", "places: archive cleanup",
                "idempotency keys: prune", "mikros: avg-gameplay-time window"}
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]  # Python's weekday() order


# ---------------------------------------------------------------------- helpers
def new_key(stack, scope="scheduler"):
    out = stack.admin("keys", "create", "--scope", scope, "--label", "scheduler-test").stdout.strip()
    assert out.startswith("gh_"), out
    return out


def parse_ts(text):
    assert isinstance(text, str) and TS.match(text), f"not a scheduler timestamp: {text!r}"
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)


def utcnow():
    return datetime.now(timezone.utc).replace(microsecond=0)


def detail(r):
    body = r.json()
    assert set(body) == {"detail"}, body
    assert isinstance(body["detail"], str) and body["detail"], body
    return body["detail"]


class Api:
    """The public session with one scheduler key; remembers the jobs it created (deleted at teardown)."""

    def __init__(self, public, key):
        self.public = public
        self.key = key
        self.created = []

    def h(self, extra=None):
        return {"X-API-Key": self.key, **(extra or {})}

    def get(self, path, **kw):
        return self.public.get(path, headers=self.h(kw.pop("headers", None)), **kw)

    def post(self, path, body=None, **kw):
        if body is not None:
            kw["json"] = body
        return self.public.post(path, headers=self.h(kw.pop("headers", None)), **kw)

    def put(self, path, body=None, **kw):
        if body is not None:
            kw["json"] = body
        return self.public.put(path, headers=self.h(kw.pop("headers", None)), **kw)

    def delete(self, path, **kw):
        return self.public.delete(path, headers=self.h(kw.pop("headers", None)), **kw)

    def create(self, **fields):
        body = {"name": f"test {uuid.uuid4().hex[:8]}", "bot_type": "birthday", "schedule_type": "daily"}
        body.update(fields)
        r = self.post("/scheduler/jobs", body)
        assert r.status_code == 201, r.text
        job = r.json()
        self.created.append(job["id"])
        return job

    def job(self, job_id):
        r = self.get(f"/scheduler/jobs/{job_id}")
        assert r.status_code == 200, r.text
        return r.json()

    def history(self, job_id, limit=None):
        r = self.get(f"/scheduler/jobs/{job_id}/history", params={"limit": limit} if limit else None)
        assert r.status_code == 200, r.text
        return r.json()

    def run(self, job_id):
        r = self.post(f"/scheduler/jobs/{job_id}/run")
        assert r.status_code == 202, r.text
        assert r.json() == {"message": f"Job {job_id} queued for immediate execution", "status": "queued"}
        return r

    def wait_run(self, job_id, count=1, timeout=10.0, interval=0.25):
        """Waits until the job has `count` runs and none is `running`; returns the history (newest first)."""
        def done():
            runs = self.history(job_id)
            return runs if len(runs) >= count and all(x["status"] != "running" for x in runs) else None
        return wait_for(done, timeout, interval, f"{count} finished run(s) of job {job_id}")

    def wait_running(self, job_id, timeout=10.0):
        def running():
            runs = self.history(job_id)
            return runs if runs and runs[0]["status"] == "running" else None
        return wait_for(running, timeout, 0.1, f"a running run of job {job_id}")

    def cleanup(self):
        for job_id in self.created:
            try:
                self.public.delete(f"/scheduler/jobs/{job_id}", headers=self.h())
            except Exception:  # noqa: BLE001 - best effort; the stack may be gone
                pass


@pytest.fixture
def api(stack, public):
    a = Api(public, new_key(stack))
    yield a
    a.cleanup()


def check_job(job):
    assert set(job) == JOB_FIELDS, sorted(job)
    uuid.UUID(job["id"])
    for f in ("created_at", "updated_at"):
        parse_ts(job[f])
    for f in ("last_run_at", "next_run_at"):
        if job[f] is not None:
            parse_ts(job[f])
    if not job["enabled"]:
        assert job["next_run_at"] is None, job
    return job


def check_run(run, job_id):
    assert set(run) == RUN_FIELDS, sorted(run)
    assert run["job_id"] == job_id
    started = parse_ts(run["started_at"])
    if run["status"] == "running":
        assert run["finished_at"] is None, run
    else:
        assert parse_ts(run["finished_at"]) >= started, run
    assert run["status"] in ("running", "success", "failed", "skipped"), run
    return run


# ---------------------------------------------------------------------- schedule arithmetic (expectations)
def _cron_field(spec, lo, hi, names=None):
    values = set()
    for part in spec.lower().split(","):
        base, sep, step = part.partition("/")
        step = int(step) if step else 1

        def val(t):
            if names and t in names:
                return names[t]
            return int(t)
        if base == "*":
            a, b = lo, hi
        elif "-" in base:
            a, b = (val(t) for t in base.split("-"))
        else:
            a = val(base)
            b = hi if sep else a  # N/step is N-max/step
        values.update(range(a, b + 1, step))
    return values


MONTHS = {m: i + 1 for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split())}
WEEKDAYS = {d: i for i, d in enumerate("sun mon tue wed thu fri sat".split())}


def cron_next(expr, after):
    """The first minute strictly after `after` matching a 5-field cron(8) expression (brute force)."""
    minute, hour, dom, month, dow = expr.split()
    mins, hours = _cron_field(minute, 0, 59), _cron_field(hour, 0, 23)
    doms, months = _cron_field(dom, 1, 31), _cron_field(month, 1, 12, MONTHS)
    dows = {d % 7 for d in _cron_field(dow, 0, 7, WEEKDAYS)}
    dom_r, dow_r = not dom.startswith("*"), not dow.startswith("*")
    t = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    for _ in range(600000):
        cron_dow = (t.weekday() + 1) % 7
        day_ok = ((t.day in doms) or (cron_dow in dows)) if dom_r and dow_r else \
            (t.day in doms) and (cron_dow in dows)
        if t.month in months and day_ok and t.hour in hours and t.minute in mins:
            return t
        if t.month not in months or not day_ok:
            t = (t + timedelta(days=1)).replace(hour=0, minute=0)
        elif t.hour not in hours:
            t = (t + timedelta(hours=1)).replace(minute=0)
        else:
            t += timedelta(minutes=1)
    raise AssertionError(f"{expr} matches nothing soon")


def daily_next(after, hour, minute, days=None):
    t = after.replace(hour=hour, minute=minute, second=0, microsecond=0)
    for _ in range(15):
        if t > after and (days is None or DAYS[t.weekday()] in days):
            return t
        t += timedelta(days=1)
    raise AssertionError("no day matched")


def expected_between(before, after, fn):
    """fn(instant) for the second before the request and the second after it (usually the same)."""
    return {fn(before.replace(microsecond=0)), fn(after.replace(microsecond=0))}


def create_timed(api, **fields):
    before = datetime.now(timezone.utc)
    job = api.create(**fields)
    after = datetime.now(timezone.utc)
    return job, before, after


# ---------------------------------------------------------------------- settings and the bots' receiver
class Receiver:
    """A local stand-in for the birthday and visitor bots. Each POST is recorded; the answer is
    (status, JSON body) after `delay` seconds, as set by the test."""

    def __init__(self):
        self.posts = []
        self.status, self.body, self.delay = 200, {"messages_sent": 0}, 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.posts.append({"path": self.path, "content_type": self.headers.get("Content-Type"),
                                       "body": raw, "at": time.time()})
                time.sleep(receiver.delay)
                payload = json.dumps(receiver.body).encode()
                try:
                    self.send_response(receiver.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:  # the scheduler gave up (timeout) and closed the connection
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, status=200, body=None, delay=0.0):
        self.status, self.body, self.delay = status, ({} if body is None else body), delay

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _wait_scheduler(stack, before, running=True, timeout=20.0):
    if running:
        return wait_for(lambda: stack.scheduler_pid() not in (None, before), timeout, 0.1,
                        "the scheduler process restarted with the new configuration")
    return wait_for(lambda: stack.scheduler_pid() is None, timeout, 0.1, "the scheduler process stopped")


def _wait_outbox(stack, before, timeout=20.0):
    """The outbox process is replaced on SIGHUP too (it may first finish a delivery: webhook_timeout_ms)."""
    return wait_for(lambda: stack.outbox_pid() not in (None, before), timeout, 0.1,
                    "the outbox process restarted with the new configuration")


@contextlib.contextmanager
def settings(stack, lines, scheduler_running=True):
    """Appends `lines` to guildhalld's config and reloads; restores the file (and reloads) afterwards."""
    with open(stack.config) as f:
        original = f.read()
    before, outbox_before = stack.scheduler_pid(), stack.outbox_pid()
    with open(stack.config, "a") as f:
        f.write("\n" + "\n".join(lines) + "\n")
    try:
        stack.reload()
        _wait_scheduler(stack, before, scheduler_running)
        _wait_outbox(stack, outbox_before)
        yield
    finally:
        with open(stack.config, "w") as f:
            f.write(original)
        current, outbox_current = stack.scheduler_pid(), stack.outbox_pid()
        stack.reload()
        _wait_scheduler(stack, current, True)
        _wait_outbox(stack, outbox_current)
        stack.wait_healthy(20)


@pytest.fixture(scope="module")
def bots(stack):
    """Both bots' webhooks point at one local receiver (paths /birthday and /visitor)."""
    receiver = Receiver()
    with settings(stack, [f"scheduler_birthday_webhook_url = {receiver.base}/birthday",
                          f"scheduler_visitor_webhook_url = {receiver.base}/visitor"]):
        yield receiver
    receiver.close()


# ====================================================================== health
def test_health_needs_no_key_and_reports_the_real_scheduler(stack, public):
    r = public.get("/scheduler/health")
    assert r.status_code == 200, r.text
    h = r.json()
    assert set(h) == {"status", "scheduler_running", "redis_connected", "cache_connected", "database_connected",
                      "total_jobs", "enabled_jobs"}
    assert h["status"] == "healthy" and h["scheduler_running"] is True, h
    assert h["database_connected"] is True and h["cache_connected"] is True, h
    assert h["redis_connected"] == h["cache_connected"], h
    assert isinstance(h["total_jobs"], int) and isinstance(h["enabled_jobs"], int), h
    assert 0 <= h["enabled_jobs"] <= h["total_jobs"], h
    assert "X-RateLimit-Limit" not in r.headers, "/scheduler/health is not rate limited"
    assert stack.scheduler_pid() is not None


def test_health_counts_only_the_bots_jobs(public, api):
    api.create(enabled=True)
    api.create(enabled=False)
    h = public.get("/scheduler/health").json()
    listed = api.get("/scheduler/jobs").json()
    enabled = api.get("/scheduler/jobs", params={"enabled_only": "true"}).json()
    assert h["total_jobs"] == len(listed), (h, len(listed))
    assert h["enabled_jobs"] == len(enabled), (h, len(enabled))
    everything = api.get("/scheduler/jobs", params={"include_system": "true"}).json()
    assert len(everything) >= h["total_jobs"] + len(SYSTEM_KINDS), "the built-in jobs are not counted"


# ====================================================================== authentication
def _routes(job_id):
    return [("GET", "/scheduler/jobs", None), ("POST", "/scheduler/jobs", {"name": "x"}),
            ("GET", f"/scheduler/jobs/{job_id}", None), ("PUT", f"/scheduler/jobs/{job_id}", {"enabled": False}),
            ("DELETE", f"/scheduler/jobs/{job_id}", None), ("POST", f"/scheduler/jobs/{job_id}/toggle", None),
            ("POST", f"/scheduler/jobs/{job_id}/run", None), ("GET", f"/scheduler/jobs/{job_id}/history", None)]


def test_every_route_but_health_needs_a_scheduler_key(stack, public, api):
    job = api.create()
    wrong_scope = new_key(stack, "mikros")
    for method, path, body in _routes(job["id"]):
        kw = {"json": body} if body is not None else {}
        r = public.request(method, path, **kw)
        assert r.status_code == 401, (method, path, r.text)
        assert "X-API-Key" in detail(r), (method, path, r.text)
        assert "X-RateLimit-Limit" not in r.headers, "401 is decided before the per-key limit"
        for bad in ("not-a-key", api.key[:-2] + ("AA" if not api.key.endswith("AA") else "BB")):
            r = public.request(method, path, headers={"X-API-Key": bad}, **kw)
            assert r.status_code == 401, (method, path, bad, r.text)
            detail(r)
        # the scheduler authenticates with X-API-Key, not with a Bearer header
        r = public.request(method, path, headers={"Authorization": f"Bearer {api.key}"}, **kw)
        assert r.status_code == 401, (method, path, r.text)
        r = public.request(method, path, headers={"X-API-Key": wrong_scope}, **kw)
        assert r.status_code == 403, (method, path, r.text)
        assert "scheduler" in detail(r)
    assert api.job(job["id"]) == job, "no refused request changed the job"


def test_rate_limit_is_per_key_with_headers(stack, public, api):
    r = api.get("/scheduler/jobs")
    assert r.status_code == 200
    assert r.headers["X-RateLimit-Limit"] == "120"
    remaining = int(r.headers["X-RateLimit-Remaining"])
    assert 0 <= remaining <= 119
    assert int(r.headers["X-RateLimit-Reset"]) >= time.time() - 1
    codes = []
    for _ in range(200):
        r = api.get(f"/scheduler/jobs/{uuid.uuid4()}")
        codes.append(r.status_code)
        if r.status_code == 429:
            break
    assert codes[-1] == 429, f"no 429 after {len(codes)} requests"
    assert set(codes[:-1]) == {404}, codes
    assert 110 <= len(codes) <= 140, f"the 429 came after {len(codes)} requests"
    assert "Rate limit" in detail(r) or "rate limit" in detail(r).lower()
    assert int(r.headers["Retry-After"]) >= 1
    assert r.headers["X-RateLimit-Remaining"] == "0"
    assert r.headers["X-RateLimit-Limit"] == "120"
    # another key has its own bucket; /scheduler/health needs none
    other = Api(public, new_key(stack))
    assert other.get("/scheduler/jobs").status_code == 200
    assert public.get("/scheduler/health").status_code == 200


# ====================================================================== ids, paths, methods
@pytest.mark.parametrize("bad_id", ["abc", "123", "00000000-0000-0000-0000-00000000000", "not-a-uuid-at-all-xxxxxxxxxxxxxxxxxxx",
                                    "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz", "00000000-0000-0000-0000-0000000000000",
                                    "%27%3B", "1" * 40])
def test_malformed_job_ids_are_404_not_500(api, bad_id):
    for method, path, body in _routes(bad_id)[2:]:
        r = api.public.request(method, path, headers=api.h(), **({"json": body} if body else {}))
        assert r.status_code == 404, (method, path, r.status_code, r.text)
        assert detail(r) == "Job not found"


def test_unknown_job_is_404_everywhere(api):
    for method, path, body in _routes(str(uuid.uuid4()))[2:]:
        r = api.public.request(method, path, headers=api.h(), **({"json": body} if body else {}))
        assert r.status_code == 404, (method, path, r.text)
        assert detail(r) == "Job not found"


def test_unknown_paths_and_methods_use_the_detail_envelope(api, public):
    r = api.get("/scheduler/nope")
    assert r.status_code == 404
    detail(r)
    r = api.public.patch("/scheduler/jobs", headers=api.h(), json={})
    assert r.status_code == 405
    detail(r)
    assert {m.strip() for m in r.headers["Allow"].split(",")} >= {"GET", "POST"}
    r = public.delete("/scheduler/health")
    assert r.status_code == 405
    detail(r)


def test_trailing_slash_is_not_significant(api):
    job = api.create()
    assert api.get(f"/scheduler/jobs/{job['id']}/").json()["id"] == job["id"]
    assert api.get("/scheduler/jobs/").status_code == 200


# ====================================================================== create: defaults
def test_create_birthday_job_fills_the_defaults(api):
    before = utcnow()
    r = api.post("/scheduler/jobs", {"name": "Daily Birthday Messages", "bot_type": "birthday",
                                     "schedule_type": "daily"})
    after = utcnow()
    assert r.status_code == 201, r.text
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["X-RateLimit-Limit"] == "120"
    job = check_job(r.json())
    api.created.append(job["id"])
    assert job["name"] == "Daily Birthday Messages"
    assert job["description"] is None
    assert job["bot_type"] == "birthday"
    assert job["enabled"] is True
    assert job["schedule_type"] == "daily"
    assert job["schedule_config"] == {"hour": 8, "minute": 0}
    assert job["bot_config"] == BIRTHDAY_DEFAULTS
    assert before <= parse_ts(job["created_at"]) <= after
    assert job["updated_at"] == job["created_at"]
    assert job["last_run_at"] is None and job["last_run_status"] is None and job["last_run_error"] is None
    assert parse_ts(job["next_run_at"]) in expected_between(before, after, lambda t: daily_next(t, 8, 0))
    assert api.job(job["id"]) == job


def test_create_visitor_job_fills_the_defaults(api):
    job = check_job(api.create(bot_type="visitor", description="visits", enabled=False))
    assert job["bot_config"] == VISITOR_DEFAULTS
    assert job["description"] == "visits"
    assert job["enabled"] is False and job["next_run_at"] is None


def test_create_with_the_spec_example(api):
    body = {"name": "Daily Birthday Messages", "description": "Send birthday messages every day at 8am",
            "bot_type": "birthday", "enabled": True, "schedule_type": "daily",
            "schedule_config": {"hour": 8, "minute": 0},
            "bot_config": {"dry_run": False, "process_late": True, "max_days_late": 7, "max_messages_per_run": 10}}
    job = api.create(**body)
    for k, v in body.items():
        assert job[k] == v, (k, job[k], v)


@pytest.mark.parametrize("bot_type,given,expected", [
    ("birthday", {}, BIRTHDAY_DEFAULTS),
    ("birthday", {"process_late": True}, dict(BIRTHDAY_DEFAULTS, process_late=True)),
    ("birthday", {"dry_run": True, "max_days_late": 365, "max_messages_per_run": 1},
     {"dry_run": True, "process_late": False, "max_days_late": 365, "max_messages_per_run": 1}),
    ("birthday", {"max_days_late": 1}, dict(BIRTHDAY_DEFAULTS, max_days_late=1)),
    ("birthday", {"max_days_late": None}, BIRTHDAY_DEFAULTS),
    ("visitor", {}, VISITOR_DEFAULTS),
    ("visitor", {"limit": 1}, {"dry_run": False, "limit": 1}),
    ("visitor", {"limit": 500, "dry_run": True}, {"dry_run": True, "limit": 500}),
])
def test_bot_config_defaults_and_bounds(api, bot_type, given, expected):
    job = api.create(bot_type=bot_type, bot_config=given)
    assert job["bot_config"] == expected


@pytest.mark.parametrize("schedule_type,given,expected", [
    ("daily", None, {"hour": 8, "minute": 0}),
    ("daily", {}, {"hour": 8, "minute": 0}),
    ("daily", {"hour": 23}, {"hour": 23, "minute": 0}),
    ("daily", {"hour": 0, "minute": 59}, {"hour": 0, "minute": 59}),
    ("weekly", None, {"hour": 8, "minute": 0, "day_of_week": "mon"}),
    ("weekly", {"hour": 14, "minute": 30, "day_of_week": "mon,wed,fri"},
     {"hour": 14, "minute": 30, "day_of_week": "mon,wed,fri"}),
    ("weekly", {"day_of_week": "FRI,mon,wed,mon"}, {"hour": 8, "minute": 0, "day_of_week": "mon,wed,fri"}),
    ("weekly", {"day_of_week": "mon-fri"}, {"hour": 8, "minute": 0, "day_of_week": "mon,tue,wed,thu,fri"}),
    ("interval", None, {"hours": 1, "minutes": 0}),
    ("interval", {"hours": 2, "minutes": 0}, {"hours": 2, "minutes": 0}),
    ("interval", {"hours": 0, "minutes": 1}, {"hours": 0, "minutes": 1}),
    ("cron", {"cron_expression": "0 8-18 * * 1-5"}, {"cron_expression": "0 8-18 * * 1-5"}),
])
def test_schedule_config_defaults_per_type(api, schedule_type, given, expected):
    fields = {"schedule_type": schedule_type}
    if given is not None:
        fields["schedule_config"] = given
    job = check_job(api.create(**fields))
    assert job["schedule_config"] == expected
    assert job["next_run_at"] is not None


# ====================================================================== create: validation
LONG = "x" * 201


@pytest.mark.parametrize("body,field", [
    ({"bot_type": "birthday", "schedule_type": "daily"}, "name"),
    ({"name": "", "bot_type": "birthday", "schedule_type": "daily"}, "name"),
    ({"name": LONG, "bot_type": "birthday", "schedule_type": "daily"}, "name"),
    ({"name": 5, "bot_type": "birthday", "schedule_type": "daily"}, "name"),
    ({"name": None, "bot_type": "birthday", "schedule_type": "daily"}, "name"),
    ({"name": "n", "description": "d" * 501, "bot_type": "birthday", "schedule_type": "daily"}, "description"),
    ({"name": "n", "description": 7, "bot_type": "birthday", "schedule_type": "daily"}, "description"),
    ({"name": "n", "schedule_type": "daily"}, "bot_type"),
    ({"name": "n", "bot_type": "system", "schedule_type": "daily"}, "bot_type"),
    ({"name": "n", "bot_type": 1, "schedule_type": "daily"}, "bot_type"),
    ({"name": "n", "bot_type": "birthday"}, "schedule_type"),
    ({"name": "n", "bot_type": "birthday", "schedule_type": "hourly"}, "schedule_type"),
    ({"name": "n", "bot_type": "birthday", "schedule_type": "daily", "enabled": "yes"}, "enabled"),
    ({"name": "n", "bot_type": "birthday", "schedule_type": "daily", "foo": 1}, "foo"),
    ({"name": "n", "bot_type": "birthday", "schedule_type": "daily", "schedule_config": [8, 0]}, "schedule_config"),
    ({"name": "n", "bot_type": "birthday", "schedule_type": "daily", "schedule_config": {"hour": 24}}, "hour"),
    ({"name": "n", "bot_type": "birthday", "schedule_type": "daily", "schedule_config": {"hour": -1}}, "hour"),
    ({"name": "n", "bot_type": "birthday", "schedule_type": "daily", "schedule_config": {"hour": "8"}}, "hour"),
    ({"name": "n", "bot_type": "birthday", "schedule_type": "daily", "schedule_config": {"minute": 60}}, "minute"),
    ({"name": "n", "bot_type": "birthday", "schedule_type": "daily",
      "schedule_config": {"cron_expression": "* * * * *"}}, "cron_expression"),
    ({"name": "n", "bot_type": "birthday", "schedule_type": "weekly",
      "schedule_config": {"day_of_week": "xyz"}}, "day_of_week"),
    ({"name": "n", "bot_type": "birthday", "schedule_type": "weekly",
      "schedule_config": {"day_of_week": ""}}, "day_of_week"),
    ({"name": "n", "bot_type": "birthday", "schedule_type": "interval",
      "schedule_config": {"hours": 0, "minutes": 0}}, "minutes"),
    ({"name": "n", "bot_type": "birthday", "schedule_type": "interval",
      "schedule_config": {"hours": -1}}, "hours"),
    ({"name": "n", "bot_type": "birthday", "schedule_type": "interval",
      "schedule_config": {"minutes": 60}}, "minutes"),
    ({"name": "n", "bot_type": "birthday", "schedule_type": "cron"}, "cron_expression"),
    ({"name": "n", "bot_type": "birthday", "schedule_type": "cron", "schedule_config": {}}, "cron_expression"),
    ({"name": "n", "bot_type": "birthday", "schedule_type": "cron",
      "schedule_config": {"cron_expression": "0 25 * * *"}}, "cron_expression"),
    ({"name": "n", "bot_type": "birthday", "schedule_type": "cron",
      "schedule_config": {"cron_expression": "61 * * * *"}}, "cron_expression"),
    ({"name": "n", "bot_type": "birthday", "schedule_type": "cron",
      "schedule_config": {"cron_expression": "* * *"}}, "cron_expression"),
    ({"name": "n", "bot_type": "birthday", "schedule_type": "cron",
      "schedule_config": {"cron_expression": "* * * * * *"}}, "cron_expression"),
    ({"name": "n", "bot_type": "birthday", "schedule_type": "cron",
      "schedule_config": {"cron_expression": "0 0 31 2 *"}}, "cron_expression"),
    ({"name": "n", "bot_type": "birthday", "schedule_type": "cron",
      "schedule_config": {"cron_expression": "@reboot"}}, "cron_expression"),
    ({"name": "n", "bot_type": "birthday", "schedule_type": "cron",
      "schedule_config": {"cron_expression": "*/0 * * * *"}}, "cron_expression"),
    ({"name": "n", "bot_type": "birthday", "schedule_type": "cron",
      "schedule_config": {"cron_expression": 5}}, "cron_expression"),
    ({"name": "n", "bot_type": "birthday", "schedule_type": "daily", "bot_config": {"max_days_late": 0}},
     "max_days_late"),
    ({"name": "n", "bot_type": "birthday", "schedule_type": "daily", "bot_config": {"max_days_late": 366}},
     "max_days_late"),
    ({"name": "n", "bot_type": "birthday", "schedule_type": "daily", "bot_config": {"max_days_late": "7"}},
     "max_days_late"),
    ({"name": "n", "bot_type": "birthday", "schedule_type": "daily", "bot_config": {"max_messages_per_run": 0}},
     "max_messages_per_run"),
    ({"name": "n", "bot_type": "birthday", "schedule_type": "daily", "bot_config": {"dry_run": "yes"}},
     "dry_run"),
    ({"name": "n", "bot_type": "birthday", "schedule_type": "daily", "bot_config": {"limit": 5}}, "limit"),
    ({"name": "n", "bot_type": "birthday", "schedule_type": "daily", "bot_config": []}, "bot_config"),
    ({"name": "n", "bot_type": "visitor", "schedule_type": "daily", "bot_config": {"limit": 0}}, "limit"),
    ({"name": "n", "bot_type": "visitor", "schedule_type": "daily", "bot_config": {"limit": 501}}, "limit"),
    ({"name": "n", "bot_type": "visitor", "schedule_type": "daily", "bot_config": {"process_late": True}},
     "process_late"),
])
def test_create_validation_names_the_field(api, body, field):
    r = api.post("/scheduler/jobs", body)
    assert r.status_code == 400, (body, r.status_code, r.text)
    assert field in detail(r), (body, r.text)


def test_unknown_enumerations_list_the_accepted_values(api):
    r = api.post("/scheduler/jobs", {"name": "n", "bot_type": "pirate", "schedule_type": "daily"})
    assert r.status_code == 400
    msg = detail(r)
    assert "bot_type" in msg and "birthday" in msg and "visitor" in msg, msg
    r = api.post("/scheduler/jobs", {"name": "n", "bot_type": "birthday", "schedule_type": "hourly"})
    assert r.status_code == 400
    msg = detail(r)
    assert "schedule_type" in msg and all(t in msg for t in ("daily", "weekly", "interval", "cron")), msg


def test_cron_errors_say_what_is_wrong(api):
    r = api.post("/scheduler/jobs", {"name": "n", "bot_type": "birthday", "schedule_type": "cron",
                                     "schedule_config": {"cron_expression": "0 25 * * *"}})
    assert r.status_code == 400
    msg = detail(r)
    assert "cron_expression" in msg and "hour" in msg and "25" in msg, msg


def test_length_limits_at_the_boundary(api):
    job = api.create(name="n" * 200, description="d" * 500)
    assert len(job["name"]) == 200 and len(job["description"]) == 500
    job = api.create(name="n", description="")
    assert job["name"] == "n"


def test_length_limits_count_characters_not_bytes(api):
    """CONTRACT 7.3: name 1–200 characters, description at most 500 (characters, not UTF-8 bytes)."""
    r = api.post("/scheduler/jobs", {"name": "é" * 200, "description": "ü" * 500, "bot_type": "birthday",
                                     "schedule_type": "daily"})
    assert r.status_code == 201, r.text
    api.created.append(r.json()["id"])
    assert r.json()["name"] == "é" * 200 and r.json()["description"] == "ü" * 500
    r = api.post("/scheduler/jobs", {"name": "é" * 201, "bot_type": "birthday", "schedule_type": "daily"})
    assert r.status_code == 400
    assert "name" in detail(r)


@pytest.mark.parametrize("data,ctype,status", [
    ("{not json", "application/json", 400),
    ("[1, 2]", "application/json", 400),
    ("", "application/json", 400),
    ('"name"', "application/json", 400),
    ('{"name": "n", "bot_type": "birthday", "schedule_type": "daily"}', "text/plain", 415),
])
def test_create_body_must_be_a_json_object(api, data, ctype, status):
    r = api.post("/scheduler/jobs", data=data, headers={"Content-Type": ctype})
    assert r.status_code == status, r.text
    detail(r)


# ====================================================================== list
def test_list_is_newest_first_and_filters(api):
    a = api.create(name="list a")
    b = api.create(name="list b", enabled=False)
    c = api.create(name="list c", bot_type="visitor")
    ours = {a["id"], b["id"], c["id"]}

    r = api.get("/scheduler/jobs")
    assert r.status_code == 200
    jobs = [check_job(j) for j in r.json()]
    assert [j["id"] for j in jobs if j["id"] in ours] == [c["id"], b["id"], a["id"]]
    created = [j["created_at"] for j in jobs]
    assert created == sorted(created, reverse=True), "newest first"
    assert all(j["bot_type"] in ("birthday", "visitor") for j in jobs), "built-in jobs only with include_system"

    for value in ("true", "1"):
        jobs = api.get("/scheduler/jobs", params={"enabled_only": value}).json()
        ids = {j["id"] for j in jobs}
        assert a["id"] in ids and c["id"] in ids and b["id"] not in ids, value
        assert all(j["enabled"] for j in jobs)
    for value in ("false", "0"):
        ids = {j["id"] for j in api.get("/scheduler/jobs", params={"enabled_only": value}).json()}
        assert ours <= ids, value


def test_include_system_shows_the_built_in_jobs(api):
    default = api.get("/scheduler/jobs").json()
    assert not [j for j in default if j["bot_type"] not in ("birthday", "visitor")]
    r = api.get("/scheduler/jobs", params={"include_system": "true"})
    assert r.status_code == 200
    jobs = [check_job(j) for j in r.json()]
    system = [j for j in jobs if j["bot_type"] == "system"]
    assert {j["name"] for j in system} == SYSTEM_KINDS, [j["name"] for j in system]
    assert all(j["enabled"] and j["next_run_at"] for j in system), system
    assert {j["id"] for j in default} <= {j["id"] for j in jobs}
    created = [j["created_at"] for j in jobs]
    assert created == sorted(created, reverse=True)
    # include_system and enabled_only together
    both = api.get("/scheduler/jobs", params={"include_system": "1", "enabled_only": "1"}).json()
    assert {j["name"] for j in both if j["bot_type"] == "system"} == SYSTEM_KINDS
    assert all(j["enabled"] for j in both)


def test_built_in_jobs_can_be_read_but_not_changed_or_deleted(api):
    """CONTRACT 7.3: built-in jobs are read, toggled and run by id; PUT and DELETE answer 403
    (toggle and run: tests/integration/test_regressions.py, section "scheduler")."""
    system = [j for j in api.get("/scheduler/jobs", params={"include_system": "true"}).json()
              if j["bot_type"] == "system"]
    job = system[0]
    assert api.get(f"/scheduler/jobs/{job['id']}").json()["id"] == job["id"]
    for method, body in (("PUT", {"enabled": False}), ("PUT", {"name": "renamed"}), ("PUT", {}), ("DELETE", None)):
        r = api.public.request(method, f"/scheduler/jobs/{job['id']}", headers=api.h(),
                               **({"json": body} if body is not None else {}))
        assert r.status_code == 403, (method, body, r.text)
        assert "cannot be changed or deleted" in detail(r)
    after = api.job(job["id"])
    assert after["enabled"] is True and after["name"] == job["name"]


@pytest.mark.parametrize("param", ["enabled_only", "include_system"])
@pytest.mark.parametrize("value", ["maybe", "2", "yes", ""])
def test_list_boolean_parameters_are_validated(api, param, value):
    r = api.get("/scheduler/jobs", params={param: value})
    if value == "":
        # an empty value is either the default or a 400, never a 500
        assert r.status_code in (200, 400), r.text
        return
    assert r.status_code == 400, r.text
    assert param in detail(r)


# ====================================================================== update
def test_update_only_enabled_keeps_everything_else(api):
    job = api.create(description="keep me", schedule_type="weekly",
                     schedule_config={"hour": 14, "minute": 30, "day_of_week": "mon,wed,fri"},
                     bot_config={"process_late": True})
    r = api.put(f"/scheduler/jobs/{job['id']}", {"enabled": False})
    assert r.status_code == 200, r.text
    upd = check_job(r.json())
    assert upd["enabled"] is False and upd["next_run_at"] is None
    for k in JOB_FIELDS - {"enabled", "next_run_at", "updated_at"}:
        assert upd[k] == job[k], k
    assert parse_ts(upd["updated_at"]) >= parse_ts(job["updated_at"])
    assert api.job(job["id"]) == upd

    before = datetime.now(timezone.utc)
    upd = api.put(f"/scheduler/jobs/{job['id']}", {"enabled": True}).json()
    after = datetime.now(timezone.utc)
    assert upd["enabled"] is True
    assert parse_ts(upd["next_run_at"]) in expected_between(
        before, after, lambda t: daily_next(t, 14, 30, {"mon", "wed", "fri"}))


def test_update_only_schedule_config_recomputes_next_run(api):
    job = api.create(description="d", bot_type="visitor", bot_config={"limit": 7, "dry_run": True})
    target = utcnow() + timedelta(hours=3)
    before = datetime.now(timezone.utc)
    r = api.put(f"/scheduler/jobs/{job['id']}", {"schedule_config": {"hour": target.hour, "minute": 15}})
    after = datetime.now(timezone.utc)
    assert r.status_code == 200, r.text
    upd = check_job(r.json())
    assert upd["schedule_config"] == {"hour": target.hour, "minute": 15}
    assert parse_ts(upd["next_run_at"]) in expected_between(
        before, after, lambda t: daily_next(t, target.hour, 15))
    for k in ("id", "name", "description", "bot_type", "enabled", "schedule_type", "bot_config", "created_at"):
        assert upd[k] == job[k], k


def test_update_schedule_type_without_config_gets_its_defaults(api):
    job = api.create(schedule_config={"hour": 3, "minute": 3})
    before = datetime.now(timezone.utc)
    upd = api.put(f"/scheduler/jobs/{job['id']}", {"schedule_type": "cron",
                                                   "schedule_config": {"cron_expression": "*/15 * * * *"}}).json()
    after = datetime.now(timezone.utc)
    assert upd["schedule_type"] == "cron" and upd["schedule_config"] == {"cron_expression": "*/15 * * * *"}
    assert parse_ts(upd["next_run_at"]) in expected_between(before, after, lambda t: cron_next("*/15 * * * *", t))
    upd = api.put(f"/scheduler/jobs/{job['id']}", {"schedule_type": "weekly"}).json()
    assert upd["schedule_config"] == {"hour": 8, "minute": 0, "day_of_week": "mon"}
    # a cron type without an expression is refused, and nothing changes
    r = api.put(f"/scheduler/jobs/{job['id']}", {"schedule_type": "cron"})
    assert r.status_code == 400 and "cron_expression" in detail(r)
    assert api.job(job["id"])["schedule_type"] == "weekly"


def test_update_other_fields(api):
    job = api.create(bot_type="visitor")
    upd = api.put(f"/scheduler/jobs/{job['id']}", {"name": "renamed", "description": "new",
                                                   "bot_config": {"limit": 120}}).json()
    assert upd["name"] == "renamed" and upd["description"] == "new"
    assert upd["bot_config"] == {"dry_run": False, "limit": 120}
    assert upd["schedule_config"] == job["schedule_config"] and upd["next_run_at"] == job["next_run_at"]
    upd = api.put(f"/scheduler/jobs/{job['id']}", {"description": None}).json()
    assert upd["description"] is None
    upd = api.put(f"/scheduler/jobs/{job['id']}", {}).json()
    assert upd["name"] == "renamed" and upd["next_run_at"] == job["next_run_at"]


@pytest.mark.parametrize("body,field", [
    ({"name": ""}, "name"),
    ({"name": LONG}, "name"),
    ({"name": None}, "name"),
    ({"description": "d" * 501}, "description"),
    ({"enabled": "no"}, "enabled"),
    ({"enabled": None}, "enabled"),
    ({"schedule_type": "yearly"}, "schedule_type"),
    ({"schedule_config": {"hour": 99}}, "hour"),
    ({"schedule_config": {"cron_expression": "* * * * *"}}, "cron_expression"),
    ({"bot_config": {"max_days_late": 400}}, "max_days_late"),
    ({"bot_config": {"limit": 10}}, "limit"),
    ({"bot_type": "pirate"}, "bot_type"),
    ({"foo": "bar"}, "foo"),
])
def test_update_validation_names_the_field_and_changes_nothing(api, body, field):
    job = api.create()
    r = api.put(f"/scheduler/jobs/{job['id']}", body)
    assert r.status_code == 400, (body, r.text)
    assert field in detail(r), (body, r.text)
    assert api.job(job["id"]) == job


def test_update_body_must_be_a_json_object(api):
    job = api.create()
    for data in ("{oops", "[]", ""):
        r = api.put(f"/scheduler/jobs/{job['id']}", data=data, headers={"Content-Type": "application/json"})
        assert r.status_code == 400, (data, r.text)
        detail(r)


def test_changing_the_bot_type_is_never_a_404(api):
    """PUT with a new bot_type (and a config valid for it) on an existing job: either the type changes
    (200) or the change is refused as a validation error (400 naming bot_type) — the job exists."""
    job = api.create(bot_type="visitor")
    r = api.put(f"/scheduler/jobs/{job['id']}", {"bot_type": "birthday", "bot_config": {}})
    assert r.status_code in (200, 400), (r.status_code, r.text)
    if r.status_code == 200:
        assert r.json()["bot_type"] == "birthday" and r.json()["bot_config"] == BIRTHDAY_DEFAULTS
    else:
        assert "bot_type" in detail(r)


# ====================================================================== delete
def test_delete_then_404(api, stack):
    job = api.create()
    r = api.delete(f"/scheduler/jobs/{job['id']}")
    assert r.status_code == 204, r.text
    assert r.content == b""
    for method, path, body in _routes(job["id"])[2:]:
        r = api.public.request(method, path, headers=api.h(), **({"json": body} if body else {}))
        assert r.status_code == 404, (method, path, r.text)
    assert job["id"] not in {j["id"] for j in api.get("/scheduler/jobs").json()}


def test_delete_removes_the_history(api, stack):
    job = api.create(bot_config={"dry_run": True})
    api.run(job["id"])
    api.wait_run(job["id"])
    assert api.delete(f"/scheduler/jobs/{job['id']}").status_code == 204
    assert stack.sql("SELECT count(*) FROM scheduler_runs WHERE job_id = %s", job["id"])[0][0] == 0


def test_a_job_change_whose_audit_entry_fails_is_500_and_changes_nothing(api, stack):
    """Each change and its audit entry are one transaction: when the entry cannot be written the
    change is not kept either, and the answer is a 500, not the change's success."""
    name = f"test {uuid.uuid4().hex[:8]}"
    with refused_audit(stack, "scheduler.job_create"):
        r = api.post("/scheduler/jobs", {"name": name, "bot_type": "birthday", "schedule_type": "daily"})
    assert r.status_code == 500, r.text
    detail(r)
    assert stack.sql("SELECT count(*) FROM scheduler_jobs WHERE name = %s", name) == [(0,)]

    job = api.create()
    url = f"/scheduler/jobs/{job['id']}"
    for action, method, path, body in (("scheduler.job_update", "PUT", url, {"enabled": False}),
                                       ("scheduler.job_toggle", "POST", url + "/toggle", None),
                                       ("scheduler.job_run", "POST", url + "/run", None),
                                       ("scheduler.job_delete", "DELETE", url, None)):
        with refused_audit(stack, action):
            r = api.public.request(method, path, headers=api.h(), **({"json": body} if body else {}))
        assert r.status_code == 500, (action, r.text)
        detail(r)
        assert api.job(job["id"]) == job, f"{action} changed the job"
        assert stack.sql("SELECT run_requested_at IS NULL, (SELECT count(*) FROM scheduler_runs WHERE job_id = id) "
                         "FROM scheduler_jobs WHERE id = %s", job["id"]) == [(True, 0)], f"{action} queued a run"


# ====================================================================== toggle
def test_toggle_flips_and_sets(api):
    job = api.create(schedule_type="interval", schedule_config={"hours": 2, "minutes": 30})
    url = f"/scheduler/jobs/{job['id']}/toggle"

    r = api.post(url)  # no body: flip
    assert r.status_code == 200, r.text
    off = check_job(r.json())
    assert off["enabled"] is False and off["next_run_at"] is None
    assert api.job(job["id"])["next_run_at"] is None

    before = datetime.now(timezone.utc)
    on = check_job(api.post(url).json())  # flip back: the interval counts from the enable
    after = datetime.now(timezone.utc)
    assert on["enabled"] is True
    assert parse_ts(on["next_run_at"]) in expected_between(before, after, lambda t: t + timedelta(hours=2, minutes=30))

    r = api.post(url, {"enabled": False})
    assert r.status_code == 200 and r.json()["enabled"] is False and r.json()["next_run_at"] is None
    r = api.post(url, {"enabled": False})  # setting, not flipping
    assert r.status_code == 200 and r.json()["enabled"] is False
    r = api.post(url, {"enabled": True})
    assert r.status_code == 200 and r.json()["enabled"] is True and r.json()["next_run_at"]
    r = api.post(url, {"enabled": True})
    assert r.status_code == 200 and r.json()["enabled"] is True
    r = api.post(url, {})  # an empty object flips too
    assert r.status_code == 200 and r.json()["enabled"] is False
    for k in ("name", "schedule_config", "bot_config", "created_at"):
        assert r.json()[k] == job[k]


def test_toggle_re_enable_recomputes_a_daily_next_run(api):
    job = api.create(schedule_config={"hour": 6, "minute": 45}, enabled=False)
    assert job["next_run_at"] is None
    before = datetime.now(timezone.utc)
    on = api.post(f"/scheduler/jobs/{job['id']}/toggle").json()
    after = datetime.now(timezone.utc)
    assert parse_ts(on["next_run_at"]) in expected_between(before, after, lambda t: daily_next(t, 6, 45))


@pytest.mark.parametrize("body", [{"enabled": "yes"}, {"enabled": None}, {"foo": 1}, {"enabled": True, "x": 1}, [True]])
def test_toggle_rejects_other_bodies(api, body):
    job = api.create()
    r = api.post(f"/scheduler/jobs/{job['id']}/toggle", body)
    assert r.status_code == 400, r.text
    detail(r)
    assert api.job(job["id"])["enabled"] is True


# ====================================================================== next_run_at
def _weekday_names(offsets, today):
    return [DAYS[(today.weekday() + o) % 7] for o in offsets]


def test_next_run_daily(api):
    now = utcnow()
    for delta in (timedelta(minutes=-90), timedelta(minutes=2), timedelta(hours=5)):
        t = now + delta
        job, before, after = create_timed(api, schedule_config={"hour": t.hour, "minute": t.minute})
        assert parse_ts(job["next_run_at"]) in expected_between(before, after, lambda x: daily_next(x, t.hour, t.minute))


def test_next_run_weekly(api):
    now = utcnow()
    cases = [
        (now + timedelta(hours=1), _weekday_names([3], now)),          # in three days
        (now - timedelta(hours=1), _weekday_names([0], now)),          # today, already past: next week
        (now + timedelta(minutes=30), _weekday_names([0, 2], now)),    # later today
        (now - timedelta(minutes=30), _weekday_names([1, 5], now)),    # tomorrow
    ]
    for t, days in cases:
        cfg = {"hour": t.hour, "minute": t.minute, "day_of_week": ",".join(days)}
        job, before, after = create_timed(api, schedule_type="weekly", schedule_config=cfg)
        got = parse_ts(job["next_run_at"])
        assert got in expected_between(before, after, lambda x: daily_next(x, t.hour, t.minute, set(days))), (cfg, got)
        assert DAYS[got.weekday()] in days


@pytest.mark.parametrize("hours,minutes", [(1, 0), (2, 30), (0, 5), (24, 0)])
def test_next_run_interval_counts_from_creation(api, hours, minutes):
    job = api.create(schedule_type="interval", schedule_config={"hours": hours, "minutes": minutes})
    gap = (parse_ts(job["next_run_at"]) - parse_ts(job["created_at"])).total_seconds()
    assert abs(gap - (hours * 3600 + minutes * 60)) <= 1, (job["created_at"], job["next_run_at"])


@pytest.mark.parametrize("expr", [
    "* * * * *", "*/15 * * * *", "30 4 * * *", "0 8-18 * * 1-5", "5,35 */2 * * *", "0 0 1 * *",
    "0 12 * * 0", "0 12 * * 7", "0 12 * * sun", "0 9 * jan,jul mon-fri", "0 9 13 * 5", "15 10 1-7 * 1",
    "0 0 29 2 *", "@hourly", "@daily", "@weekly", "@monthly", "@yearly",
])
def test_next_run_cron(api, expr):
    macros = {"@hourly": "0 * * * *", "@daily": "0 0 * * *", "@weekly": "0 0 * * 0", "@monthly": "0 0 1 * *",
              "@yearly": "0 0 1 1 *"}
    job, before, after = create_timed(api, schedule_type="cron", schedule_config={"cron_expression": expr})
    assert job["schedule_config"] == {"cron_expression": expr}
    want = expected_between(before, after, lambda x: cron_next(macros.get(expr, expr), x))
    assert parse_ts(job["next_run_at"]) in want, (expr, job["next_run_at"], sorted(want))


def test_cron_sunday_is_0_and_7(api):
    a = api.create(schedule_type="cron", schedule_config={"cron_expression": "0 12 * * 0"})
    b = api.create(schedule_type="cron", schedule_config={"cron_expression": "0 12 * * 7"})
    assert a["next_run_at"] == b["next_run_at"]
    assert parse_ts(a["next_run_at"]).weekday() == 6  # Sunday


# ====================================================================== run now and history
def test_run_now_dry_run_succeeds(api):
    job = api.create(bot_config={"dry_run": True})
    before = utcnow()
    r = api.run(job["id"])
    assert r.headers["Cache-Control"] == "no-store"
    runs = api.wait_run(job["id"])
    assert len(runs) == 1
    run = check_run(runs[0], job["id"])
    assert run["status"] == "success", run
    assert run["error"] is None
    assert run["result"] == {"dry_run": True}
    assert run["messages_sent"] == 0 and run["profiles_visited"] == 0
    assert before <= parse_ts(run["started_at"]) <= before + timedelta(seconds=5)
    after = api.job(job["id"])
    assert after["last_run_status"] == "success" and after["last_run_error"] is None
    assert after["last_run_at"] == run["started_at"]
    assert after["next_run_at"] == job["next_run_at"], "a run now does not move the schedule"


def test_run_now_of_a_disabled_job_runs_it(api):
    job = api.create(bot_type="visitor", bot_config={"dry_run": True}, enabled=False)
    api.run(job["id"])
    run = api.wait_run(job["id"])[0]
    assert run["status"] == "success"
    after = api.job(job["id"])
    assert after["enabled"] is False and after["next_run_at"] is None


def test_run_without_a_webhook_fails_with_a_reason(api, stack):
    if "scheduler_birthday_webhook_url" in open(stack.config).read():
        pytest.skip("the stack's configuration names a birthday webhook")
    job = api.create()  # dry_run false, no webhook configured
    api.run(job["id"])
    run = api.wait_run(job["id"])[0]
    assert run["status"] == "failed", run
    assert "webhook" in run["error"], run
    after = api.job(job["id"])
    assert after["last_run_status"] == "failed" and after["last_run_error"] == run["error"]


def test_history_limit_and_order(api):
    job = api.create(bot_config={"dry_run": True})
    url = f"/scheduler/jobs/{job['id']}/history"
    r = api.get(url)
    assert r.status_code == 200 and r.json() == []
    for n in (1, 2, 3):
        api.run(job["id"])
        api.wait_run(job["id"], count=n)
        time.sleep(1.05)  # distinct started_at seconds
    runs = [check_run(x, job["id"]) for x in api.history(job["id"])]
    assert len(runs) == 3
    started = [x["started_at"] for x in runs]
    assert started == sorted(started, reverse=True) and len(set(started)) == 3, started
    assert [x["id"] for x in api.history(job["id"], limit=2)] == [x["id"] for x in runs[:2]]
    assert [x["id"] for x in api.history(job["id"], limit=1)] == [runs[0]["id"]]
    assert len(api.history(job["id"], limit=200)) == 3
    for bad in ("0", "201", "abc", "-1", "1.5", "", "1e2"):
        r = api.get(url, params={"limit": bad})
        if bad == "":
            assert r.status_code in (200, 400), r.text
            continue
        assert r.status_code == 400, (bad, r.text)
        assert "limit" in detail(r), (bad, r.text)


def test_audit_entries_for_job_changes(api, stack):
    job = api.create(bot_config={"dry_run": True})
    api.put(f"/scheduler/jobs/{job['id']}", {"name": "audited"})
    api.post(f"/scheduler/jobs/{job['id']}/toggle")
    api.run(job["id"])
    api.wait_run(job["id"])
    assert api.delete(f"/scheduler/jobs/{job['id']}").status_code == 204
    rows = stack.sql("SELECT action, category, user_id FROM audit_logs WHERE details->>'job_id' = %s "
                     "ORDER BY created_at", job["id"])
    actions = [r[0] for r in rows]
    for a in ("scheduler.job_create", "scheduler.job_update", "scheduler.job_delete"):
        assert a in actions, actions
    assert actions[0] == "scheduler.job_create" and actions[-1] == "scheduler.job_delete", actions
    key_id = api.key.split("_")[1]
    assert all(r[2] == key_id for r in rows), rows
    assert all(r[1] == "admin" for r in rows), rows


# ====================================================================== the bots' webhooks
def test_webhook_success_fills_the_history(api, bots):
    bots.answer(200, {"messages_sent": 3, "note": "ok"})
    job = api.create(bot_config={"process_late": True, "max_days_late": 3})
    n = len(bots.posts)
    api.run(job["id"])
    run = check_run(api.wait_run(job["id"])[0], job["id"])
    assert run["status"] == "success", run
    assert run["messages_sent"] == 3 and run["profiles_visited"] == 0
    assert run["result"] == {"messages_sent": 3, "note": "ok"}
    assert run["error"] is None
    posts = bots.posts[n:]
    assert len(posts) == 1, posts
    assert posts[0]["path"] == "/birthday"
    assert (posts[0]["content_type"] or "").startswith("application/json")
    assert json.loads(posts[0]["body"]) == job["bot_config"]
    assert api.job(job["id"])["last_run_status"] == "success"


def test_visitor_webhook_reports_profiles_visited(api, bots):
    bots.answer(200, {"profiles_visited": 7})
    job = api.create(bot_type="visitor", bot_config={"limit": 9})
    n = len(bots.posts)
    api.run(job["id"])
    run = api.wait_run(job["id"])[0]
    assert run["status"] == "success", run
    assert run["profiles_visited"] == 7 and run["messages_sent"] == 0
    assert bots.posts[n]["path"] == "/visitor"
    assert json.loads(bots.posts[n]["body"]) == {"dry_run": False, "limit": 9}


def test_webhook_failure_fails_the_run(api, bots):
    bots.answer(500, {"error": "boom"})
    job = api.create()
    api.run(job["id"])
    run = check_run(api.wait_run(job["id"])[0], job["id"])
    assert run["status"] == "failed", run
    assert run["error"] and "500" in run["error"], run
    after = api.job(job["id"])
    assert after["last_run_status"] == "failed" and after["last_run_error"] == run["error"]
    assert after["last_run_at"] == run["started_at"]


def test_dry_run_does_not_call_the_bot(api, bots):
    bots.answer(200, {"messages_sent": 99})
    job = api.create(bot_config={"dry_run": True})
    n = len(bots.posts)
    api.run(job["id"])
    run = api.wait_run(job["id"])[0]
    time.sleep(0.5)
    assert run["status"] == "success" and run["result"] == {"dry_run": True} and run["messages_sent"] == 0
    assert len(bots.posts) == n, "a dry run must not call the bot"


def test_run_now_while_running_is_409(api, bots):
    bots.answer(200, {"messages_sent": 1}, delay=3.0)
    job = api.create()
    api.run(job["id"])
    runs = api.wait_running(job["id"], timeout=10)
    assert runs[0]["finished_at"] is None and runs[0]["result"] is None
    r = api.post(f"/scheduler/jobs/{job['id']}/run")
    assert r.status_code == 409, r.text
    assert r.json() == {"detail": "Job is already running"}
    bots.answer(200, {"messages_sent": 1})
    runs = api.wait_run(job["id"], timeout=15)
    assert len(runs) == 1 and runs[0]["status"] == "success", runs
    api.run(job["id"])  # free again
    runs = api.wait_run(job["id"], count=2, timeout=10)
    assert [x["status"] for x in runs] == ["success", "success"]


def test_webhook_timeout_fails_the_run(stack, api):
    receiver = Receiver()
    receiver.answer(200, {"messages_sent": 1}, delay=3.0)
    try:
        with settings(stack, [f"scheduler_birthday_webhook_url = {receiver.base}/slow",
                              "scheduler_webhook_timeout_ms = 1000"]):
            job = api.create()
            api.run(job["id"])
            run = check_run(api.wait_run(job["id"], timeout=15)[0], job["id"])
            assert run["status"] == "failed", run
            assert re.search(r"time(d)?[ -]?out", run["error"] or "", re.I), run
            took = (parse_ts(run["finished_at"]) - parse_ts(run["started_at"])).total_seconds()
            assert took <= 2.5, f"a 1000 ms timeout took {took} s"
            assert len(receiver.posts) == 1
    finally:
        receiver.close()


# ====================================================================== on time, by itself
def test_due_job_runs_on_time_without_run_now(api):
    """A cron job every minute: the run starts within ~2 s of next_run_at, once, and the schedule moves on."""
    job = api.create(schedule_type="cron", schedule_config={"cron_expression": "* * * * *"},
                     bot_config={"dry_run": True})
    due = parse_ts(job["next_run_at"])
    assert due.second == 0 and timedelta(seconds=-1) <= due - utcnow() <= timedelta(seconds=61), job
    wait = (due - datetime.now(timezone.utc)).total_seconds()
    time.sleep(max(0.0, wait - 0.5))
    runs = api.wait_run(job["id"], timeout=10, interval=0.5)
    assert len(runs) == 1, runs
    run = check_run(runs[0], job["id"])
    assert run["status"] == "success", run
    started = parse_ts(run["started_at"])
    assert due <= started <= due + timedelta(seconds=2), (job["next_run_at"], run["started_at"])
    after = api.job(job["id"])
    assert parse_ts(after["next_run_at"]) == due + timedelta(minutes=1), after
    assert after["last_run_at"] == run["started_at"] and after["last_run_status"] == "success"
    api.put(f"/scheduler/jobs/{job['id']}", {"enabled": False})


def test_built_in_places_reset_runs_the_reset_code(stack, api):
    """The weekly reset is a built-in job calling the admin handler's code: due → archived; not due → skipped."""
    job = next(j for j in api.get("/scheduler/jobs", params={"include_system": "true"}).json()
               if j["name"] == "places: weekly reset")
    before = len(api.history(job["id"], limit=200))
    (archives,) = stack.sql("SELECT count(*) FROM canvas_archives")[0]
    (week,) = stack.sql("SELECT id FROM weeks WHERE closed_at IS NULL")[0]
    # due now; a week opened within the last second (a reset just before) cannot end before it began
    stack.sql("UPDATE weeks SET resets_at = greatest(now() - interval '1 second', started_at + interval '1 microsecond') "
              "WHERE closed_at IS NULL")
    api.run(job["id"])
    runs = api.wait_run(job["id"], count=before + 1)
    assert runs[0]["status"] == "success", runs[0]
    assert runs[0]["result"]["success"] is True and runs[0]["result"]["archive_id"]
    assert stack.sql("SELECT count(*) FROM canvas_archives")[0][0] == archives + 1
    assert stack.sql("SELECT id FROM weeks WHERE closed_at IS NULL")[0][0] != week
    assert stack.sql("SELECT user_id FROM audit_logs WHERE action = 'places.reset_week' "
                     "AND details->>'archive_id' = %s", runs[0]["result"]["archive_id"]) == [("system",)]
    # run again at once: the new week is not due, so nothing is archived twice
    api.run(job["id"])
    runs = api.wait_run(job["id"], count=before + 2)
    assert runs[0]["status"] == "skipped", runs[0]
    assert stack.sql("SELECT count(*) FROM canvas_archives")[0][0] == archives + 1


# ====================================================================== history retention
def test_old_runs_are_pruned_keeping_the_last_200_per_job(stack, api):
    """The engine prunes the history when it starts (and hourly): runs older than
    scheduler_run_retention_days go, but each job keeps its newest 200 runs whatever their age."""
    jobs = {name: api.create(name=f"prune {name}", enabled=False)["id"] for name in ("many", "few", "young", "ten")}

    def add(name, n, age, step="1 minute"):
        stack.sql("INSERT INTO scheduler_runs (job_id, started_at, finished_at, status) "
                  "SELECT %s, now() - %s::interval - g * %s::interval, now() - %s::interval - g * %s::interval, "
                  "'success' FROM generate_series(1, %s) g", jobs[name], age, step, age, step, n)

    def runs(name):
        return stack.sql("SELECT id::text FROM scheduler_runs WHERE job_id = %s ORDER BY started_at DESC", jobs[name])

    add("many", 230, "40 days")   # 250 runs: the 50 oldest go
    add("many", 20, "1 hour")
    add("few", 10, "40 days")     # fewer than 200: kept, however old
    add("young", 210, "1 day")    # inside the retention: kept
    add("ten", 205, "10 days")    # kept at 30 days; 5 go at 5 days
    newest_many = [r[0] for r in runs("many")][:200]
    ten = [r[0] for r in runs("ten")]
    assert len(ten) == 205

    with settings(stack, ["scheduler_run_retention_days = 30"]):   # a new scheduler prunes when it starts
        wait_for(lambda: len(runs("many")) == 200, 20, 0.2, "the old runs of the first job to be pruned")
        assert [r[0] for r in runs("many")] == newest_many, "the newest 200 are the ones kept"
        assert len(runs("few")) == 10
        assert len(runs("young")) == 210
        assert [r[0] for r in runs("ten")] == ten
        history = api.history(jobs["many"], limit=200)
        assert [r["id"] for r in history] == newest_many
    with settings(stack, ["scheduler_run_retention_days = 5"]):
        wait_for(lambda: len(runs("ten")) == 200, 20, 0.2, "the 5-day retention to take the oldest 5 runs")
        assert [r[0] for r in runs("ten")] == ten[:200]
        assert [r[0] for r in runs("many")] == newest_many, "older than 5 days, but the newest 200"
        assert len(runs("few")) == 10 and len(runs("young")) == 210
    assert "pruned" in stack.log_tail(400)
