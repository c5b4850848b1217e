"""Regression tests, one per defect, named after what broke. Sections by area keep merges easy."""

import json
import random
import re
import uuid

import pytest


def _fresh_ip():
    r = random.SystemRandom()
    return f"10.{r.randint(200, 250)}.{r.randint(0, 255)}.{r.randint(1, 254)}"


def _strict_json(r):
    """The body as JSON, refusing invalid UTF-8 (requests would replace it silently)."""
    return json.loads(r.content.decode("utf-8", errors="strict"))


# ====================================================================== input and envelopes
def _key(stack, scope):
    out = stack.admin("keys", "create", "--scope", scope, "--label", "regression-input").stdout.strip()
    assert out.startswith("gh_"), out
    return out


@pytest.fixture(scope="module")
def scheduler_key(stack):
    return _key(stack, "scheduler")


@pytest.fixture(scope="module")
def service_key(stack):
    return _key(stack, "service_role")


def _post_job(public, key, raw):
    return public.post("/scheduler/jobs", data=raw,
                       headers={"X-API-Key": key, "Content-Type": "application/json"})


def _job_body(**over):
    body = {"name": "regression-input", "bot_type": "birthday", "schedule_type": "daily",
            "schedule_config": {"hour": 8, "minute": 0}}
    body.update(over)
    return body


@pytest.mark.parametrize("path,param,code", [
    ("/api/archives?game_mode=%ff", "game_mode", "INVALID_PARAMS"),
    ("/api/archives?game_mode=ok%c3", "game_mode", "INVALID_PARAMS"),
])
def test_invalid_utf8_in_a_places_query_string_is_400_naming_the_parameter(public, path, param, code):
    r = public.get(path, headers={"X-Forwarded-For": _fresh_ip()})
    assert r.status_code == 400, r.text
    b = r.json()
    assert b["code"] == code and param in b["error"], b


@pytest.mark.parametrize("query,param", [("action=%ff", "action"), ("guild_id=%ff", "guild_id"),
                                         ("category=%ff", "category")])
def test_invalid_utf8_in_an_ops_query_string_is_400_naming_the_parameter(ops, query, param):
    r = ops.get(f"/api/logs?{query}", headers={"X-Forwarded-For": _fresh_ip()})
    assert r.status_code == 400, r.text
    b = r.json()
    assert b["code"] == "E004" and param in b["error"], b


def test_postgres_error_log_line_carries_the_request_id(stack, public):
    r = public.get("/_test/fail")
    assert r.status_code == 500
    rid = r.headers["X-Request-Id"]
    lines = [line for line in stack.log_tail(400).splitlines() if "no_such_table" in line]
    assert lines, "the PostgreSQL error is not logged"
    assert any(f"rid={rid}" in line for line in lines), f"no error line names request {rid}: {lines}"
    assert all(re.match(r"^\d+:worker ", line) for line in lines), f"a log entry spans lines: {lines}"
