"""pytest plugin: every HTTP response the integration tests receive is checked against docs/openapi.yaml.

conftest.py loads it with ``pytest_plugins = ["openapi_plugin"]``. It provides:

* session fixtures ``public`` and ``ops``: ``requests.Session`` subclasses bound to ``stack.public`` and
  ``stack.ops``, so a test writes ``ops.get("/health")``. Every response received through them is
  checked by :meth:`OpenAPIDocument.check_response`: it must carry ``X-Request-Id``; a JSON body must
  match the documented schema for the path template, method and status (``default`` as a fallback);
  documented response headers are validated; a JSON body on an undocumented path must be a 404/405
  error envelope of one of the families. Paths under ``/_test/`` are exempt from the schema checks
  (test-only routes are not in the document). A failed check raises ``AssertionError`` from the
  response hook, so the test fails at the request that drifted.
* fixture ``openapi_doc`` (the loaded :class:`OpenAPIDocument`).
* ``route_table(stack=None)``: the set of ``(METHOD, PATTERN)`` printed by ``guildhalld --print-routes``,
  and ``route_entries(stack=None)`` with the family as a third element.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import shlex
import subprocess
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
import yaml
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import best_match

REPO_ROOT = Path(__file__).resolve().parents[2]
OPENAPI_PATH = REPO_ROOT / "docs" / "openapi.yaml"
TEST_ROUTE_PREFIX = "/_test"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_PARAM_SEGMENT = re.compile(r"^\{[^{}/]+\}$")


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _is_json_media(media: str) -> bool:
    return media == "application/json" or media.endswith("+json")


def _pointer_get(doc, ref: str):
    """Resolve a local JSON pointer reference such as ``#/components/schemas/OpsError``."""
    if not ref.startswith("#"):
        raise KeyError(f"only local references are supported: {ref!r}")
    node = doc
    pointer = ref[1:]
    if pointer in ("", "/"):
        return doc
    if not pointer.startswith("/"):
        raise KeyError(f"not a JSON pointer: {ref!r}")
    for raw in pointer[1:].split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            node = node[int(part)]
        elif isinstance(node, Mapping) and part in node:
            node = node[part]
        else:
            raise KeyError(f"unresolvable reference {ref!r} (no {part!r})")
    return node


class OpenAPIDocument:
    """The loaded document plus the matching and validation the response hook needs."""

    def __init__(self, path: Path = OPENAPI_PATH):
        self.path = Path(path)
        with open(self.path, encoding="utf-8") as fh:
            self.doc = yaml.safe_load(fh)
        if not isinstance(self.doc, Mapping):
            raise ValueError(f"{self.path}: not a mapping at the top level")
        self.paths = self.doc.get("paths") or {}
        self.components = self.doc.get("components") or {}
        # id(schema) -> (schema, validator); the schema is kept so its id cannot be reused.
        self._validators: dict[int, tuple[object, Draft202012Validator]] = {}
        self._any_error = None
        self._gateway_schemas: dict = {}
        self._templates = []
        for template in self.paths:
            segs = [s for s in template.strip("/").split("/") if s] if template != "/" else []
            self._templates.append((template, segs))

    # ------------------------------------------------------------------ lookups
    def deref(self, obj):
        """Follow ``$ref`` chains of non-schema objects (responses, headers, parameters)."""
        seen = set()
        while isinstance(obj, Mapping) and "$ref" in obj:
            ref = obj["$ref"]
            if ref in seen:
                raise KeyError(f"reference cycle at {ref!r}")
            seen.add(ref)
            obj = _pointer_get(self.doc, ref)
        return obj

    def match_path(self, path: str):
        """The path template matching a concrete request path, or None.

        ``{x}`` matches exactly one non-empty segment; trailing slashes are not significant. When
        several templates match, the one with literal segments earliest wins
        (``/api/archives/current`` over ``/api/archives/{id}``).
        """
        segs = [s for s in path.split("/") if s]
        best = None
        for template, tsegs in self._templates:
            if len(tsegs) != len(segs):
                continue
            score = []
            for t, s in zip(tsegs, segs):
                if _PARAM_SEGMENT.match(t):
                    score.append(0)
                elif t == s:
                    score.append(1)
                else:
                    break
            else:
                if best is None or score > best[0]:
                    best = (score, template)
        return None if best is None else best[1]

    def family_responses(self, family: str | None):
        """(errorSchema, notFound response, methodNotAllowed response) for a family."""
        fam = (self.doc.get("x-families") or {}).get(family or "", {}) or {}
        schema = fam.get("errorSchema")
        nf = self.deref(fam["notFound"]) if "notFound" in fam else None
        mna = self.deref(fam["methodNotAllowed"]) if "methodNotAllowed" in fam else None
        return schema, nf, mna

    def gateway_statuses(self) -> dict:
        """Statuses nginx may answer on any path (``x-gateway-responses``)."""
        return self.doc.get("x-gateway-responses") or {}

    def any_error_schema(self):
        """A schema accepting the error envelope of any family."""
        if self._any_error is None:
            schemas = [f.get("errorSchema") for f in (self.doc.get("x-families") or {}).values()
                       if isinstance(f, Mapping) and f.get("errorSchema")]
            self._any_error = {"anyOf": schemas} if schemas else {"type": "object"}
        return self._any_error

    # ------------------------------------------------------------------ validation
    def validator(self, schema) -> Draft202012Validator:
        """A Draft 2020-12 validator for a schema taken from the document.

        ``#/components/...`` references are resolved by embedding the document's components beside
        the schema, so the schema's root is a resource holding them (no resolver API needed).
        """
        hit = self._validators.get(id(schema))
        if hit is not None and hit[0] is schema:
            return hit[1]
        wrapper = dict(schema) if isinstance(schema, Mapping) else {"allOf": [schema]}
        wrapper["components"] = self.components
        v = Draft202012Validator(wrapper, format_checker=FormatChecker())
        self._validators[id(schema)] = (schema, v)
        return v

    def schema_errors(self, schema, instance) -> list[str]:
        v = self.validator(schema)
        errors = list(v.iter_errors(instance))
        if not errors:
            return []
        err = best_match(errors)
        where = "/".join(str(p) for p in err.absolute_path) or "(root)"
        msgs = [f"at {where}: {err.message}"]
        # Show a few more distinct failures: they are often what the reader needs.
        for e in errors[:5]:
            w = "/".join(str(p) for p in e.absolute_path) or "(root)"
            m = f"at {w}: {e.message}"
            if m not in msgs:
                msgs.append(m)
        return msgs

    def _check_headers(self, response_obj, headers, problems, context):
        for name, hobj in (response_obj.get("headers") or {}).items():
            hobj = self.deref(hobj)
            value = headers.get(name)
            if value is None:
                if hobj.get("required"):
                    problems.append(f"{context}: required header {name} missing")
                continue
            schema = hobj.get("schema")
            if not schema:
                continue
            inst = value
            stype = self.deref(schema).get("type") if isinstance(schema, Mapping) else None
            if stype == "integer" and re.fullmatch(r"-?[0-9]+", value.strip()):
                inst = int(value.strip())
            for err in self.schema_errors(schema, inst):
                problems.append(f"{context}: header {name}: {value!r}: {err}")

    def _check_body(self, response_obj, media, is_json, body, has_body, problems, context):
        content = response_obj.get("content") or {}
        if not content:
            if has_body and is_json:
                problems.append(f"{context}: documented without a body, but a JSON body came back")
            return
        by_media = {_media_type(k): v for k, v in content.items()}
        if media not in by_media:
            if has_body or is_json:
                problems.append(f"{context}: content type {media or '(none)'!r} not documented "
                                f"(documented: {', '.join(sorted(content))})")
            return
        if not is_json or not has_body:
            return
        schema = (by_media[media] or {}).get("schema")
        if schema is None:
            return
        for err in self.schema_errors(schema, body):
            problems.append(f"{context}: body does not match the schema: {err}")

    def check_response(self, resp: requests.Response, listener: str | None = None,
                       validate_schema: bool = True) -> None:
        """Raise AssertionError listing every way ``resp`` departs from the document."""
        problems: list[str] = []
        req = resp.request
        method = (req.method or "GET").upper()
        path = urlsplit(req.url).path or "/"
        status = resp.status_code
        rid = resp.headers.get("X-Request-Id")
        if rid is None or not rid.strip():
            problems.append("missing X-Request-Id header")

        exempt = path == TEST_ROUTE_PREFIX or path.startswith(TEST_ROUTE_PREFIX + "/")
        if validate_schema and not exempt:
            self._check_document(resp, method, path, status, listener, problems)

        if problems:
            text = resp.text if len(resp.content) <= 2000 else resp.text[:2000] + "…"
            raise AssertionError(
                f"OpenAPI check failed for {method} {req.url} -> {status} "
                f"({listener or 'unknown'} listener):\n  - " + "\n  - ".join(problems)
                + f"\n  body: {text}")

    def _check_document(self, resp, method, path, status, listener, problems):
        media = _media_type(resp.headers.get("Content-Type"))
        is_json = _is_json_media(media)
        has_body = method != "HEAD" and status not in (204, 304) and len(resp.content) > 0
        body = None
        if is_json and has_body:
            try:
                body = json.loads(resp.content)
            except ValueError as exc:
                problems.append(f"Content-Type is {media} but the body is not JSON: {exc}")
                return

        template = self.match_path(path)
        if template is None:
            # Undocumented, non-test path: only an error envelope is acceptable as JSON.
            if is_json and has_body:
                if status not in (404, 405) and str(status) not in self.gateway_statuses():
                    problems.append(f"undocumented path answered {status} with a JSON body "
                                    "(only a 404/405 error envelope may come from an undocumented path)")
                for err in self.schema_errors(self.any_error_schema(), body):
                    problems.append(f"undocumented path: body is no family's error envelope: {err}")
            return

        item = self.paths[template]
        family = item.get("x-family")
        err_schema, nf_resp, mna_resp = self.family_responses(family)
        context = f"{template} {method} {status}"

        # Listener rules: ops-only paths are 404 on the public listener; the ops listener serves
        # nothing but the ops family.
        must_404 = None
        if listener == "public" and item.get("x-listener") == "ops-only":
            must_404 = "an ops-only path on the public listener"
        elif listener == "ops" and family != "ops":
            must_404 = f"a {family} path on the ops listener"
        if must_404:
            if status != 404:
                problems.append(f"{context}: {must_404} must answer 404")
                return
            self._check_error(nf_resp, err_schema, media, is_json, body, has_body, resp, problems,
                              context)
            if listener == "public" and resp.headers.get("X-RateLimit-Limit") is not None:
                problems.append(f"{context}: {must_404} must count against no limit "
                                "(X-RateLimit-Limit present)")
            return

        op = item.get(method.lower())
        if op is None and method == "HEAD":
            op = item.get("get")
        if op is None:
            documented = {m.upper() for m in item if m in HTTP_METHODS}
            if status != 405:
                problems.append(f"{context}: method not documented for this path; expected 405 "
                                f"(documented: {', '.join(sorted(documented))})")
                return
            allow = resp.headers.get("Allow")
            if allow is None:
                problems.append(f"{context}: 405 without an Allow header")
            else:
                listed = {m.strip().upper() for m in allow.split(",") if m.strip()}
                extra = listed - documented - ({"HEAD"} if "GET" in documented else set())
                missing = documented - listed
                if extra or missing:
                    problems.append(f"{context}: Allow {allow!r} does not match the documented methods "
                                    f"{sorted(documented)} (extra {sorted(extra)}, missing {sorted(missing)})")
            self._check_error(mna_resp, err_schema, media, is_json, body, has_body, resp, problems,
                              context)
            return

        responses = op.get("responses") or {}
        robj = responses.get(str(status)) or responses.get(f"{status // 100}XX") \
            or responses.get("default")
        if robj is None and str(status) in self.gateway_statuses():
            # nginx's own answer (or the family's envelope for the same status from the worker)
            gw = self.deref(self.gateway_statuses()[str(status)])
            self._check_headers(gw, resp.headers, problems, context)
            if is_json and has_body:
                gw_schema = ((gw.get("content") or {}).get("application/json") or {}).get("schema")
                alternatives = [x for x in (gw_schema, err_schema) if x is not None]
                key = (str(status), family)
                if key not in self._gateway_schemas:
                    self._gateway_schemas[key] = {"anyOf": alternatives}
                for err in self.schema_errors(self._gateway_schemas[key], body):
                    problems.append(f"{context}: not a gateway or family error envelope: {err}")
            return
        if robj is None:
            if is_json and has_body:
                problems.append(f"{context}: status {status} is not documented for this operation "
                                f"(documented: {', '.join(sorted(responses))})")
            return
        robj = self.deref(robj)
        self._check_headers(robj, resp.headers, problems, context)
        self._check_body(robj, media, is_json, body, has_body, problems, context)

    def _check_error(self, robj, err_schema, media, is_json, body, has_body, resp, problems, context):
        if robj is not None:
            self._check_headers(robj, resp.headers, problems, context)
            self._check_body(robj, media, is_json, body, has_body, problems, context)
        elif is_json and has_body and err_schema is not None:
            for err in self.schema_errors(err_schema, body):
                problems.append(f"{context}: body is not the family's error envelope: {err}")


@functools.lru_cache(maxsize=None)
def load_document(path: str = str(OPENAPI_PATH)) -> OpenAPIDocument:
    return OpenAPIDocument(Path(path))


# ---------------------------------------------------------------------- sessions
class ApiSession(requests.Session):
    """A ``requests.Session`` bound to one listener; relative URLs are joined to its base URL and
    every response is checked against the OpenAPI document (see :meth:`unchecked`)."""

    def __init__(self, base_url: str, listener: str, document: OpenAPIDocument | None = None,
                 timeout: float = 30.0):
        super().__init__()
        base_url = str(base_url)
        if "://" not in base_url:
            base_url = "http://" + base_url
        self.base_url = base_url.rstrip("/")
        self.listener = listener
        self.document = document or load_document()
        self.default_timeout = timeout
        self.validate_schema = True
        self.hooks["response"].append(self._check_hook)

    def url(self, path: str) -> str:
        return self.base_url + path if path.startswith("/") else path

    def request(self, method, url, *args, **kwargs):  # noqa: D401 - requests API
        kwargs.setdefault("timeout", self.default_timeout)
        return super().request(method, self.url(str(url)), *args, **kwargs)

    def _check_hook(self, resp, *args, **kwargs):
        self.document.check_response(resp, listener=self.listener,
                                     validate_schema=self.validate_schema)
        return resp

    @contextlib.contextmanager
    def unchecked(self):
        """Skip the schema checks (X-Request-Id is still required) — for fault tests that
        expect something the document does not describe, e.g. nginx's 502."""
        old = self.validate_schema
        self.validate_schema = False
        try:
            yield self
        finally:
            self.validate_schema = old


@pytest.fixture(scope="session")
def openapi_doc() -> OpenAPIDocument:
    return load_document()


@pytest.fixture(scope="session")
def public(stack, openapi_doc):
    s = ApiSession(stack.public, "public", openapi_doc)
    yield s
    s.close()


@pytest.fixture(scope="session")
def ops(stack, openapi_doc):
    s = ApiSession(stack.ops, "ops", openapi_doc)
    yield s
    s.close()


# ---------------------------------------------------------------------- route table
def parse_env_file(path) -> dict[str, str]:
    """``KEY=VALUE`` lines (optionally ``export KEY=VALUE``, shell quoting) into a dict."""
    out: dict[str, str] = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            if line.startswith("export "):
                line = line[len("export "):].strip()
            key, _, value = line.partition("=")
            try:
                parts = shlex.split(value, comments=False)
                value = parts[0] if len(parts) == 1 else " ".join(parts)
            except ValueError:
                pass
            out[key.strip()] = value
    return out


def find_bin_dir(stack=None) -> Path:
    """Where guildhalld lives: ``$GUILDHALL_BIN_DIR``, else the stack env's ``BIN_DIR``
    (from the ``stack`` object or the ``$GUILDHALL_STACK_ENV`` file), else the in-tree ``src/``."""
    env = os.environ.get("GUILDHALL_BIN_DIR")
    if env:
        return Path(env)
    if stack is not None:
        for attr in ("bin_dir", "BIN_DIR"):
            v = getattr(stack, attr, None)
            if v and not callable(v):
                return Path(v)
        senv = getattr(stack, "env", None)
        if callable(senv):
            try:
                senv = senv()
            except TypeError:
                senv = None
        if isinstance(senv, Mapping) and senv.get("BIN_DIR"):
            return Path(senv["BIN_DIR"])
    env_file = os.environ.get("GUILDHALL_STACK_ENV")
    if env_file and Path(env_file).is_file():
        v = parse_env_file(env_file).get("BIN_DIR")
        if v:
            return Path(v)
    return REPO_ROOT / "src"


def route_entries(stack=None) -> list[tuple[str, str, str]]:
    """``guildhalld --print-routes`` as a list of (METHOD, PATTERN, FAMILY)."""
    binary = find_bin_dir(stack) / "guildhalld"
    if not binary.exists():
        raise FileNotFoundError(f"{binary} does not exist (set GUILDHALL_BIN_DIR or build guildhalld)")
    proc = subprocess.run([str(binary), "--print-routes"], capture_output=True, text=True,
                          timeout=30, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise RuntimeError(f"{binary} --print-routes exited {proc.returncode}:\n{proc.stderr}")
    entries = []
    for n, line in enumerate(proc.stdout.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) != 3:
            raise ValueError(f"--print-routes line {n} is not 'METHOD PATTERN FAMILY': {line!r}")
        # a typed parameter ({id:uuid}) is documented by its name alone ({id})
        entries.append((fields[0].upper(), re.sub(r"\{(\w+):\w+\}", r"{\1}", fields[1]), fields[2]))
    return entries


def route_table(stack=None) -> set[tuple[str, str]]:
    """The production route table as a set of (METHOD, PATTERN)."""
    return {(m, p) for m, p, _ in route_entries(stack)}
