"""docs/openapi.yaml: a valid OpenAPI 3.1 document, in step with the server's route table, and a
response checker (openapi_plugin) that catches drift.

The document tests and the checker's self-tests need no running stack; the route-table tests need
the guildhalld binary (``$GUILDHALL_BIN_DIR``, the stack env's ``BIN_DIR``, or the in-tree build).
"""

import json
import re

import pytest
import requests
from jsonschema import Draft202012Validator
from requests.structures import CaseInsensitiveDict

import openapi_plugin
from openapi_plugin import HTTP_METHODS, OpenAPIDocument, route_entries

OPS_ONLY = {"/metrics", "/api/stats", "/api/logs", "/api/health"}
OPS_PATHS = {"/health", "/ready"} | OPS_ONLY
ENVELOPES = ["MikrosError", "PlacesError", "OpsError", "SchedulerError", "RobloxError",
             "RobloxValidationError"]


@pytest.fixture(scope="module")
def doc():
    # A fresh load, not the cached one: these tests are about the file as it is on disk.
    return OpenAPIDocument(openapi_plugin.OPENAPI_PATH)


def _walk(node, path=()):
    """Yield (json-path tuple, node) for every mapping and list in the document."""
    yield path, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _walk(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, path + (i,))


def _operations(doc):
    for template, item in doc.paths.items():
        for method, op in item.items():
            if method in HTTP_METHODS:
                yield template, method, op


def _schemas(doc):
    """Every place the document holds a JSON Schema, as (where, schema)."""
    d = doc.doc
    for name, schema in (d.get("components", {}).get("schemas") or {}).items():
        yield f"components/schemas/{name}", schema
    for name, h in (d.get("components", {}).get("headers") or {}).items():
        if "schema" in h:
            yield f"components/headers/{name}", h["schema"]
    for name, p in (d.get("components", {}).get("parameters") or {}).items():
        if "schema" in p:
            yield f"components/parameters/{name}", p["schema"]
    for name, fam in (d.get("x-families") or {}).items():
        if "errorSchema" in fam:
            yield f"x-families/{name}/errorSchema", fam["errorSchema"]
    for where, node in _walk(d):
        if not isinstance(node, dict):
            continue
        # media type objects, header objects and parameter objects carry "schema"
        if "schema" in node and isinstance(node["schema"], dict) and where[:2] != ("components", "schemas"):
            if where and where[0] == "paths" or where[:2] == ("components", "responses"):
                yield "/".join(map(str, where)) + "/schema", node["schema"]


# ---------------------------------------------------------------------- the document itself
def test_document_parses_and_is_openapi_3_1(doc):
    d = doc.doc
    assert re.fullmatch(r"3\.1\.\d+", str(d.get("openapi", ""))), f"openapi is {d.get('openapi')!r}, want 3.1.x"
    assert d.get("info", {}).get("title"), "info.title missing"
    assert d.get("info", {}).get("version"), "info.version missing"
    assert isinstance(d.get("paths"), dict) and d["paths"], "no paths"
    for template in d["paths"]:
        assert template.startswith("/"), f"path {template!r} does not start with /"
        assert template == "/" or not template.endswith("/"), f"path {template!r} ends with /"


def test_servers_are_public_and_ops(doc):
    urls = [s.get("url", "") for s in doc.doc.get("servers", [])]
    assert len(urls) == 2, f"want two servers (public, ops), got {urls}"
    assert any(u.endswith(":8080") for u in urls), f"no public :8080 server in {urls}"
    assert any(u.endswith("127.0.0.1:9090") for u in urls), f"no ops 127.0.0.1:9090 server in {urls}"


def test_every_ref_resolves(doc):
    bad = []
    for where, node in _walk(doc.doc):
        if isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            try:
                openapi_plugin._pointer_get(doc.doc, ref)
            except (KeyError, IndexError, ValueError) as exc:
                bad.append(f"{'/'.join(map(str, where))}: {ref} ({exc})")
    assert not bad, "unresolvable $ref:\n  " + "\n  ".join(bad)


def test_every_schema_is_valid_json_schema(doc):
    seen = 0
    bad = []
    for where, schema in _schemas(doc):
        seen += 1
        try:
            Draft202012Validator.check_schema(schema)
            # also compile it with the components in reach, so a broken $ref inside shows up
            doc.validator(schema).is_valid(None)
        except Exception as exc:  # noqa: BLE001 - report every kind of failure the same way
            bad.append(f"{where}: {exc}")
    assert seen > 20, f"only {seen} schemas found: the walker is broken"
    assert not bad, "invalid schemas:\n  " + "\n  ".join(bad)


def test_error_envelopes_of_all_families_are_defined(doc):
    schemas = doc.doc["components"]["schemas"]
    missing = [n for n in ENVELOPES if n not in schemas]
    assert not missing, f"missing error envelopes: {missing}"
    for name in ENVELOPES:
        assert schemas[name].get("additionalProperties") is False, f"{name} is not closed"
    fams = doc.doc.get("x-families", {})
    assert set(fams) >= {"mikros", "places", "ops", "scheduler", "roblox", "generic"}, sorted(fams)


@pytest.mark.parametrize("name,instance,ok", [
    ("OpsError", {"error": "Not found", "code": "E006"}, True),
    ("OpsError", {"error": "Not found", "code": "E009"}, False),
    ("OpsError", {"error": "Not found", "code": "E006", "extra": 1}, False),
    ("MikrosError", {"success": False, "error": {"code": "NOT_FOUND", "message": "m", "details": {}},
                     "timestamp": "2025-01-27T12:00:00Z"}, True),
    ("MikrosError", {"success": True, "error": {"code": "NOT_FOUND", "message": "m", "details": {}},
                     "timestamp": "2025-01-27T12:00:00Z"}, False),
    ("PlacesError", {"error": "m", "code": "RATE_LIMIT", "details": {}}, True),
    ("PlacesError", {"error": "m", "code": "E003", "details": {}}, False),
    ("SchedulerError", {"detail": "Job is already running"}, True),
    ("SchedulerError", {"detail": "x", "error": "y"}, False),
    ("RobloxError", {"error": "Game not found"}, True),
    ("RobloxValidationError", {"error": "Validation failed",
                               "details": [{"field": "name", "message": "required"}]}, True),
    ("RobloxValidationError", {"error": "Validation failed", "details": []}, False),
])
def test_envelope_schemas_accept_and_reject(doc, name, instance, ok):
    errs = doc.schema_errors({"$ref": f"#/components/schemas/{name}"}, instance)
    assert (not errs) == ok, errs or f"{name} accepted {instance}"


def test_operations_are_well_formed(doc):
    problems = []
    ids = {}
    for template, method, op in _operations(doc):
        where = f"{method.upper()} {template}"
        oid = op.get("operationId")
        if not oid:
            problems.append(f"{where}: no operationId")
        elif oid in ids:
            problems.append(f"{where}: operationId {oid} also used by {ids[oid]}")
        else:
            ids[oid] = where
        if not op.get("responses"):
            problems.append(f"{where}: no responses")
        for code in op.get("responses", {}):
            if not re.fullmatch(r"[1-5][0-9][0-9]|[1-5]XX|default", str(code)):
                problems.append(f"{where}: bad response key {code!r}")
        item = doc.paths[template]
        params = [doc.deref(p) for p in item.get("parameters", []) + op.get("parameters", [])]
        declared = {p["name"] for p in params if p.get("in") == "path"}
        in_template = set(re.findall(r"\{([^}]+)\}", template))
        if declared != in_template:
            problems.append(f"{where}: path parameters {sorted(declared)} != template {sorted(in_template)}")
        for p in params:
            if p.get("in") == "path" and p.get("required") is not True:
                problems.append(f"{where}: path parameter {p['name']} must be required")
    assert not problems, "\n".join(problems)


def test_every_path_names_a_known_family(doc):
    fams = set(doc.doc.get("x-families", {}))
    bad = {t: item.get("x-family") for t, item in doc.paths.items() if item.get("x-family") not in fams}
    assert not bad, f"paths without a known x-family: {bad}"


def test_ops_paths_and_listener_marks(doc):
    ops_paths = {t for t, item in doc.paths.items() if item.get("x-family") == "ops"}
    assert ops_paths == OPS_PATHS, f"ops family paths {sorted(ops_paths)} != {sorted(OPS_PATHS)}"
    marked = {t for t, item in doc.paths.items() if item.get("x-listener") == "ops-only"}
    assert marked == OPS_ONLY, f"x-listener: ops-only on {sorted(marked)}, want {sorted(OPS_ONLY)}"
    for t, item in doc.paths.items():
        assert item.get("x-listener") in (None, "ops-only"), f"{t}: unknown x-listener {item.get('x-listener')!r}"
    for t in OPS_ONLY:
        op = doc.paths[t]["get"]
        assert "404" in op["responses"], f"{t}: the public listener's 404 is not documented"


def test_every_response_documents_x_request_id(doc):
    missing = []
    for template, method, op in _operations(doc):
        for code, robj in op.get("responses", {}).items():
            robj = doc.deref(robj)
            if "X-Request-Id" not in (robj.get("headers") or {}):
                missing.append(f"{method.upper()} {template} {code}")
    assert not missing, "responses without X-Request-Id: " + ", ".join(missing)


def test_rate_limited_routes_document_limit_headers(doc):
    problems = []
    limited = [t for t, item in doc.paths.items() if item.get("x-rate-limit")]
    assert set(limited) == {"/api/stats", "/api/logs", "/api/health"}, limited
    for t in limited:
        responses = doc.paths[t]["get"]["responses"]
        ok = doc.deref(responses["200"])
        for h in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
            if h not in ok.get("headers", {}):
                problems.append(f"{t} 200: no {h}")
        if "429" not in responses:
            problems.append(f"{t}: no 429")
            continue
        r429 = doc.deref(responses["429"])
        for h in ("Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
            hobj = doc.deref(r429.get("headers", {}).get(h, {}))
            if not hobj.get("required"):
                problems.append(f"{t} 429: {h} not documented as required")
    for t in ("/health", "/ready", "/metrics"):
        if "429" in doc.paths[t]["get"]["responses"]:
            problems.append(f"{t} is never limited but documents a 429")
    assert not problems, "\n".join(problems)


def test_metrics_is_prometheus_text(doc):
    content = doc.paths["/metrics"]["get"]["responses"]["200"]["content"]
    assert list(content) == ["text/plain; version=0.0.4"], list(content)


def test_documented_examples_match_their_schemas(doc):
    bad = []
    for where, node in _walk(doc.doc):
        if isinstance(node, dict) and "schema" in node and "example" in node and where and where[-1] != "schema":
            if isinstance(node["schema"], dict) and node["schema"].get("type") != "string":
                for err in doc.schema_errors(node["schema"], node["example"]):
                    bad.append(f"{'/'.join(map(str, where))}: {err}")
    assert not bad, "\n".join(bad)


# ---------------------------------------------------------------------- document vs route table
@pytest.fixture(scope="module")
def routes():
    """guildhalld --print-routes as (METHOD, PATTERN, FAMILY) triples.

    The binary is the one the stack runs: $GUILDHALL_BIN_DIR, else BIN_DIR of $GUILDHALL_STACK_ENV,
    else the in-tree src/ (what conftest's throwaway stack uses) — no stack needs to be started.
    """
    entries = route_entries()
    assert entries, "guildhalld --print-routes printed no routes"
    return entries


def test_route_table_and_document_match(doc, routes):
    table = {(m, p) for m, p, _ in routes}
    documented = {(m.upper(), t) for t, m, _ in _operations(doc)}
    no_path = sorted(table - documented)
    no_route = sorted(documented - table)
    msg = []
    if no_path:
        msg.append("routes with no documented path/method in docs/openapi.yaml:\n    "
                   + "\n    ".join(f"{m} {p}" for m, p in no_path))
    if no_route:
        msg.append("documented path/methods that guildhalld --print-routes does not serve:\n    "
                   + "\n    ".join(f"{m} {p}" for m, p in no_route))
    assert not msg, "\n".join(msg)


def test_route_table_has_no_duplicates_or_test_routes(routes):
    seen = {}
    dups = []
    for m, p, f in routes:
        if (m, p) in seen:
            dups.append(f"{m} {p} ({seen[(m, p)]} and {f})")
        seen[(m, p)] = f
    assert not dups, f"duplicate routes: {dups}"
    test_routes = [f"{m} {p}" for m, p, _ in routes if p.startswith("/_test")]
    assert not test_routes, f"--print-routes prints the production table, but lists {test_routes}"


def test_route_families_match_x_family(doc, routes):
    bad = []
    for m, p, fam in routes:
        item = doc.paths.get(p)
        if item is not None and item.get("x-family") != fam:
            bad.append(f"{m} {p}: route family {fam}, document x-family {item.get('x-family')}")
    assert not bad, "\n".join(bad)


# ---------------------------------------------------------------------- the checker catches drift
T = "2024-01-01T00:00:00.000Z"


def _health(**over):
    body = {
        "status": "healthy", "timestamp": T, "uptime": 12, "version": "1.0.0",
        "checks": {
            "discord": {"status": "healthy", "latency": 1, "guilds": 3, "users": 5},
            "database": {"status": "healthy", "connections": {"active": 1, "idle": 1, "total": 2}},
            "memory": {"status": "healthy", "usage": {"heapUsed": 1, "heapTotal": 2, "rss": 3, "external": 0}},
            "cache": {"status": "healthy", "servers": 1},
            "scheduler": {"status": "healthy", "pid": 1234},
        },
    }
    body.update(over)
    return body


def _db_down_health():
    b = _health(status="unhealthy")
    b["checks"]["database"]["status"] = "unhealthy"
    b["checks"]["discord"] = {"status": "unhealthy", "latency": None, "guilds": None, "users": None}
    return b


def fake(method, path, status, body=None, headers=None, ctype="application/json",
         base="http://127.0.0.1:9090"):
    req = requests.Request(method, base + path).prepare()
    r = requests.Response()
    r.status_code = status
    r.request = req
    r.url = req.url
    h = {"X-Request-Id": "0123456789abcdef0123456789abcdef"}
    if ctype:
        h["Content-Type"] = ctype
    for k, v in (headers or {}).items():
        if v is None:
            h.pop(k, None)
        else:
            h[k] = v
    r.headers = CaseInsensitiveDict(h)
    if body is None:
        r._content = b""
    elif isinstance(body, bytes):
        r._content = body
    elif isinstance(body, str):
        r._content = body.encode()
    else:
        r._content = json.dumps(body).encode()
    return r


RL = {"X-RateLimit-Limit": "30", "X-RateLimit-Remaining": "29", "X-RateLimit-Reset": "1700000000"}
RL429 = {"X-RateLimit-Limit": "30", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1700000000",
         "Retry-After": "12"}
STATS = {
    "bot": {"guilds": 1, "users": 2, "channels": 0, "uptime": 5, "memory": {"heapUsed": 1, "heapTotal": 2}},
    "database": {"guilds": 1, "users": 2, "tracked_guilds": 1, "economy_users": 0, "open_tickets": 0,
                 "active_giveaways": 0},
    "activity": {"daily_actions": 0, "weekly_actions": 0, "daily_active_users": 0, "daily_active_guilds": 0},
    "topCommands": [{"command": "help", "count": 3}],
    "rateLimit": {"totalEntries": 0, "blacklistedCount": 0, "topOffenders": []},
}
LOG = {"id": "550e8400-e29b-41d4-a716-446655440000", "user_id": "system", "guild_id": "0",
       "action": "keys.create", "category": "security", "details": {"k": 1}, "created_at": T}
E006 = {"error": "Not found", "code": "E006"}


def _stats_with(**over):
    b = json.loads(json.dumps(STATS))
    b.update(over)
    return b


GOOD = [
    ("ops", fake("GET", "/health", 200, _health())),
    ("ops", fake("GET", "/health/", 200, _health(status="degraded"))),
    ("public", fake("GET", "/health", 503, _db_down_health())),
    ("ops", fake("GET", "/ready", 200, {"ready": True, "timestamp": T})),
    ("ops", fake("GET", "/ready", 503, {"ready": False, "timestamp": T, "reason": "database unavailable"})),
    ("ops", fake("GET", "/metrics", 200, "# TYPE x gauge\nx 1\n", ctype="text/plain; version=0.0.4; charset=utf-8")),
    ("ops", fake("HEAD", "/metrics", 200, None, ctype="text/plain; version=0.0.4")),
    ("ops", fake("GET", "/api/stats", 200, STATS, RL)),
    ("ops", fake("GET", "/api/stats", 503, {"error": "Database unavailable", "code": "E001"})),
    ("ops", fake("GET", "/api/logs?limit=2", 200, [LOG], RL)),
    ("ops", fake("GET", "/api/logs?limit=abc", 400, {"error": "Invalid limit", "code": "E004"}, RL)),
    ("ops", fake("GET", "/api/logs", 429, {"error": "Rate limit exceeded", "code": "E003"}, RL429)),
    ("ops", fake("GET", "/api/health", 200, {"status": "healthy", "timestamp": T,
                                             "checks": {"bot": True, "database": True, "memory": True}}, RL)),
    ("ops", fake("GET", "/api/health", 503, {"status": "unhealthy", "timestamp": T,
                                             "checks": {"bot": True, "database": False, "memory": True}})),
    ("public", fake("GET", "/api/stats", 404, E006)),
    ("public", fake("GET", "/metrics", 404, E006)),
    ("ops", fake("POST", "/health", 405, {"error": "Method not allowed", "code": "E004"}, {"Allow": "GET, HEAD"})),
    ("ops", fake("DELETE", "/api/logs", 405, {"error": "Method not allowed", "code": "E004"}, {"Allow": "GET"})),
    ("ops", fake("GET", "/api/stats/nope", 404, E006)),
    ("ops", fake("GET", "/api/nope", 404, {"error": "Not found"})),
    ("public", fake("GET", "/nope", 404, {"error": "Not found"})),
    ("public", fake("GET", "/nope", 502, "<html>bad gateway</html>", ctype="text/html")),
    ("public", fake("GET", "/_test/ping", 200, {"anything": "goes"})),
    ("public", fake("GET", "/health", 502, {"error": "Bad gateway"})),
    ("ops", fake("GET", "/api/logs", 504, {"error": "Gateway timeout"})),
    ("ops", fake("GET", "/api/logs", 504, {"error": "Operation timed out", "code": "E007"})),
    ("public", fake("POST", "/nope", 413, {"error": "Request body too large"})),
]

BAD = [
    ("missing X-Request-Id", "X-Request-Id",
     "ops", fake("GET", "/health", 200, _health(), {"X-Request-Id": None})),
    ("missing X-Request-Id on a test route", "X-Request-Id",
     "ops", fake("GET", "/_test/ping", 200, {"ok": True}, {"X-Request-Id": None})),
    ("extra property", "Additional properties",
     "ops", fake("GET", "/health", 200, _health(extra=1))),
    ("unhealthy with 200", "status",
     "ops", fake("GET", "/health", 200, _health(status="unhealthy"))),
    ("timestamp without milliseconds", "does not match",
     "ops", fake("GET", "/ready", 200, {"ready": True, "timestamp": "2024-01-01T00:00:00Z"})),
    ("db down but counts present", "is not of type",
     "ops", fake("GET", "/health", 503, dict(_db_down_health(), checks=dict(
         _db_down_health()["checks"], discord={"status": "unhealthy", "latency": 3, "guilds": 1, "users": 1})))),
    ("string where integer", "is not of type",
     "ops", fake("GET", "/api/stats", 200, _stats_with(bot=dict(STATS["bot"], guilds="1")), RL)),
    ("missing stats section", "required",
     "ops", fake("GET", "/api/stats", 200, {k: v for k, v in STATS.items() if k != "rateLimit"}, RL)),
    ("bad category in a log entry", "is not one of",
     "ops", fake("GET", "/api/logs", 200, [dict(LOG, category="other")], RL)),
    ("non-integer rate-limit header", "X-RateLimit-Remaining",
     "ops", fake("GET", "/api/logs", 200, [LOG], dict(RL, **{"X-RateLimit-Remaining": "many"}))),
    ("429 without Retry-After", "Retry-After",
     "ops", fake("GET", "/api/stats", 429, {"error": "Rate limit exceeded", "code": "E003"},
                 dict(RL429, **{"Retry-After": None}))),
    ("429 with the wrong code", "E003",
     "ops", fake("GET", "/api/stats", 429, {"error": "Rate limit exceeded", "code": "E004"}, RL429)),
    ("undocumented status with JSON", "not documented",
     "ops", fake("GET", "/api/stats", 418, {"error": "teapot", "code": "E004"})),
    ("ops-only path answered on the public listener", "must answer 404",
     "public", fake("GET", "/api/stats", 200, STATS, RL)),
    ("public 404 counted against the limit", "count against no limit",
     "public", fake("GET", "/api/logs", 404, E006, RL)),
    ("405 without Allow", "Allow",
     "ops", fake("POST", "/health", 405, {"error": "Method not allowed", "code": "E004"})),
    ("405 with a wrong Allow", "does not match",
     "ops", fake("POST", "/health", 405, {"error": "Method not allowed", "code": "E004"}, {"Allow": "GET, POST"})),
    ("405 with the wrong code", "E004",
     "ops", fake("POST", "/health", 405, {"error": "Method not allowed", "code": "E006"}, {"Allow": "GET"})),
    ("undocumented method answered 200", "expected 405",
     "ops", fake("POST", "/health", 200, _health())),
    ("undocumented path answered 200 JSON", "undocumented path",
     "public", fake("GET", "/api/secret", 200, {"ok": True})),
    ("undocumented path 404 in no envelope", "error envelope",
     "public", fake("GET", "/api/secret", 404, {"message": "nope"})),
    ("metrics served as JSON", "content type",
     "ops", fake("GET", "/metrics", 200, {"guilds": 1})),
    ("health served as HTML", "content type",
     "ops", fake("GET", "/health", 200, "<html></html>", ctype="text/html")),
    ("gateway status in a foreign envelope", "not a gateway",
     "ops", fake("GET", "/api/logs", 502, {"detail": "bad"})),
    ("JSON content type, broken body", "not JSON",
     "ops", fake("GET", "/health", 200, b"{not json")),
]


@pytest.mark.parametrize("listener,resp", GOOD, ids=[f"{r.request.method} {r.request.path_url} {r.status_code}"
                                                     for _, r in GOOD])
def test_checker_accepts_conforming_responses(doc, listener, resp):
    doc.check_response(resp, listener=listener)


@pytest.mark.parametrize("what,needle,listener,resp", BAD, ids=[b[0] for b in BAD])
def test_checker_rejects_drift(doc, what, needle, listener, resp):
    with pytest.raises(AssertionError) as exc:
        doc.check_response(resp, listener=listener)
    assert needle in str(exc.value), f"{what}: the failure does not mention {needle!r}:\n{exc.value}"


def test_checker_path_matching(doc):
    assert doc.match_path("/health") == "/health"
    assert doc.match_path("/health/") == "/health"
    assert doc.match_path("/api/logs") == "/api/logs"
    assert doc.match_path("/api/logs/extra") is None
    assert doc.match_path("/api") is None
    assert doc.match_path("/") is None
