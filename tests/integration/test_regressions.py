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


def test_nul_escape_in_a_job_key_is_400_not_bound_as_the_field(public, scheduler_key):
    raw = json.dumps(_job_body()).encode().replace(b'"name"', b'"name\\u0000x"')
    r = _post_job(public, scheduler_key, raw)
    assert r.status_code == 400, r.text
    d = r.json()["detail"]
    assert "name" in d and "NUL" in d, d


@pytest.mark.parametrize("over,field", [
    ({"name": "a\u0000b"}, "name"),
    ({"schedule_type": "weekly", "schedule_config": {"hour": 8, "minute": 0, "day_of_week": "mon\u0000zzz"}},
     "day_of_week"),
    ({"schedule_type": "cron", "schedule_config": {"cron_expression": "* * * * *\u0000x"}}, "cron_expression"),
    ({"bot_type": "birthday\u0000x"}, "bot_type"),
    ({"description": "d\u0000"}, "description"),
])
def test_nul_escape_anywhere_in_a_job_body_is_400_naming_the_field(public, scheduler_key, over, field):
    r = _post_job(public, scheduler_key, json.dumps(_job_body(**over)).encode())
    assert r.status_code == 400, r.text
    d = r.json()["detail"]
    assert field in d and "NUL" in d, d


@pytest.mark.parametrize("raw", [b'{"next_game_mode":"classic\\u0000zzz","force":true}',
                                 b'{"next_game_mode\\u0000zzz":"classic","force":true}'])
def test_nul_escape_in_next_game_mode_is_400_not_classic(stack, public, service_key, raw):
    """A key is a C string in json-c: "next_game_mode\\u0000zzz" was bound as next_game_mode."""
    before = stack.sql("SELECT count(*) FROM audit_logs WHERE action = 'places.reset_week'")[0][0]
    r = public.post("/api/admin/reset-week", data=raw,
                    headers={"Authorization": f"Bearer {service_key}", "Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    b = r.json()
    assert b["code"] == "INVALID_PARAMS" and "next_game_mode" in b["error"] and "NUL" in b["error"], b
    after = stack.sql("SELECT count(*) FROM audit_logs WHERE action = 'places.reset_week'")[0][0]
    assert after == before, "the week was reset"


@pytest.mark.parametrize("raw", [b'{"a\\u0000b":1}', b'{"a":["x","y\\u0000"]}', b'"\\u0000"'])
def test_nul_escape_in_an_echoed_body_is_400(public, raw):
    r = public.post("/_test/echo", data=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert "NUL" in r.json()["error"], r.text


@pytest.mark.parametrize("raw", [b'{"s":"\\ud800"}', b'{"s":"\\udc00"}', b'{"s":"\\ud800x"}',
                                 b'{"s":"\\ud800\\u0041"}', b'{"s":"\\uDBFF\\uDBFF"}', b'["\\udfff"]'])
def test_lone_surrogate_escape_is_400_not_replacement_character(public, raw):
    r = public.post("/_test/echo", data=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert "surrogate" in r.json()["error"], r.text


@pytest.mark.parametrize("raw,value", [(b'{"s":"\\\\ud800"}', "\\ud800"), (b'{"s":"\\ud83d\\ude00"}', "\U0001F600")])
def test_escaped_backslash_and_surrogate_pairs_still_pass(public, raw, value):
    r = public.post("/_test/echo", data=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    assert _strict_json(r)["s"] == value


def test_lone_surrogate_in_a_job_name_is_400(public, scheduler_key):
    r = _post_job(public, scheduler_key, json.dumps(_job_body(name="x\ud800")).encode())
    assert r.status_code == 400, r.text
    d = r.json()["detail"]
    assert "name" in d and "surrogate" in d, d


@pytest.mark.parametrize("expr", ["é * * * *", "1é * * * *", "* * * * mon-é", "@" + "é" * 20,
                                  "* * * * " + "x" + "é" * 20])
def test_error_quoting_a_multibyte_cron_value_is_valid_utf8(public, scheduler_key, expr):
    body = _job_body(schedule_type="cron", schedule_config={"cron_expression": expr})
    r = _post_job(public, scheduler_key, json.dumps(body, ensure_ascii=False).encode())
    assert r.status_code == 400, r.text
    d = _strict_json(r)["detail"]   # raises on a cut character
    assert "cron_expression" in d, d


def test_error_quoting_a_multibyte_day_of_week_is_valid_utf8(public, scheduler_key):
    body = _job_body(schedule_type="weekly", schedule_config={"hour": 1, "minute": 0, "day_of_week": "x" + "é" * 20})
    r = _post_job(public, scheduler_key, json.dumps(body, ensure_ascii=False).encode())
    assert r.status_code == 400, r.text
    d = _strict_json(r)["detail"]
    assert "day_of_week" in d, d


@pytest.mark.parametrize("listener,path", [("public", "/api/nope"), ("ops", "/api/nope"),
                                           ("ops", "/api/definitely-not-a-route"), ("public", "/api")])
def test_unknown_api_path_is_the_generic_not_found(public, ops, listener, path):
    s = public if listener == "public" else ops
    r = s.get(path, headers={"X-Forwarded-For": _fresh_ip()})
    assert r.status_code == 404, r.text
    assert r.json() == {"error": "Not found"}, r.text


@pytest.mark.parametrize("path", ["/api/stats/extra", "/api/logs/1"])
def test_unknown_path_under_an_ops_prefix_keeps_e006(ops, path):
    r = ops.get(path, headers={"X-Forwarded-For": _fresh_ip()})
    assert r.status_code == 404, r.text
    assert r.json() == {"error": "Not found", "code": "E006"}, r.text
