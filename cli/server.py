"""The HTTP API (``partways serve``): FastAPI over the public API.

Imported only by ``partways serve`` and the tests, so the command line never pays for
FastAPI. The KB (with any overlays) is loaded and compiled once at start-up; requests
never change it, so concurrent requests give the answers sequential ones give and no
new durable rulesets are created after the first request of each kind.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

import partways
from partways import Assessment, KnowledgeBase, PartwaysError
from partways.contract import ANSWERS, answer_schemas
from partways.render.explain import flip_dict, what_if_dict, why_dict, why_not_dict

LANGS = ("en", "ar", "fa")
MAX_BODY = 1_000_000        # bytes of one request
MAX_BATCH = 1_000           # cases in one /v1/batch request
MAX_ITEMS = 1_000           # events + deliverables + repairs of one case in a request


class Refused(Exception):
    """A request refused with a status and located errors."""

    def __init__(self, status: int, errors: Sequence[Mapping[str, Any]]) -> None:
        super().__init__(errors[0]["message"] if errors else "")
        self.status = status
        self.errors = list(errors)


def _err(message: str, field: str | None = None, kind: str = "request") -> dict[str, Any]:
    return {"kind": kind, "file": None, "line": None, "field": field, "message": message,
            "suggestion": None}


def _schema(name: str) -> dict[str, Any]:
    s = dict(partways.schema(name))
    s.pop("$schema", None)
    s.pop("$id", None)
    return s


ERROR_SCHEMA = {
    "type": "object", "required": ["error", "errors"],
    "properties": {
        "error": {"$ref": "#/components/schemas/Error"},
        "errors": {"type": "array", "items": {"$ref": "#/components/schemas/Error"}}}}
ERROR_ITEM = {
    "type": "object", "required": ["kind", "message"],
    "properties": {"kind": {"type": "string"}, "file": {"type": ["string", "null"]},
                   "line": {"type": ["integer", "null"]}, "field": {"type": ["string", "null"]},
                   "message": {"type": "string"}, "suggestion": {"type": ["string", "null"]}}}
LANG_PROP = {"type": "string", "enum": list(LANGS), "default": "en",
             "description": "Language of the texts."}


def _body(extra: Mapping[str, Any] | None = None, required: Sequence[str] = ()) -> dict[str, Any]:
    props = {"case": {"$ref": "#/components/schemas/Case"}, "lang": LANG_PROP, **(extra or {})}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["case", *required], "properties": props,
        "additionalProperties": False}}}},
        "responses": {"422": {"description": "Bad input: every problem, located",
                              "content": {"application/json": {"schema": ERROR_SCHEMA}}},
                      "413": {"description": "Request too large",
                              "content": {"application/json": {"schema": ERROR_SCHEMA}}}}}


def answer_components() -> dict[str, Any]:
    """The explanation answers' schemas (explain.schema.json) as OpenAPI components: each
    ``$defs`` entry a component, its references pointed at the components."""
    defs = answer_schemas()["$defs"]
    text = json.dumps(defs).replace('"#/$defs/', '"#/components/schemas/')
    out: dict[str, Any] = json.loads(text)
    return out


def _answer(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{ANSWERS[name]}"}


def _ok(schema: Mapping[str, Any], description: str) -> dict[str, Any]:
    return {"200": {"description": description,
                    "content": {"application/json": {"schema": schema}}}}


def create_app(overlays: Sequence[str] = (), *, max_body: int = MAX_BODY,
               max_batch: int = MAX_BATCH, max_items: int = MAX_ITEMS) -> FastAPI:
    """The app, with the KB and its overlays loaded and compiled now (start-up)."""
    kb = partways.load_kb(overlays=list(overlays))
    partways.program_for(kb)
    partways.whatif.decision_program(kb)  # flip's screening program: compiled now, not
    # by two first requests racing (durable rulesets are never freed)
    app = FastAPI(title="partways", version=partways.__version__,
                  description="Decide whether, when and how to end a relationship with a bad "
                              "client, with every step explained. Bodies follow the JSON "
                              "Schemas served under /v1/schema.")
    app.state.kb = kb

    @app.exception_handler(Refused)
    async def _refused(_request: Request, exc: Refused) -> JSONResponse:
        return JSONResponse({"error": exc.errors[0], "errors": exc.errors},
                            status_code=exc.status)

    async def read_json(request: Request) -> dict[str, Any]:
        raw = await _read(request, max_body)
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise Refused(422, [_err(f"the body is not JSON: {exc}")]) from None
        if not isinstance(data, dict):
            raise Refused(422, [_err("the body must be a JSON object")])
        return data

    def endpoint(path: str, extra: Mapping[str, Any] | None, required: Sequence[str],
                 response: Mapping[str, Any], summary: str,
                 handler: Callable[[Assessment, dict[str, Any], str], Any]) -> None:
        async def route(request: Request) -> Response:
            data = await read_json(request)
            allowed = {"case", "lang", *(extra or {})}
            unknown = sorted(set(data) - allowed)
            if unknown:
                raise Refused(422, [_err(f"unknown key '{unknown[0]}'"
                                         f"{partways.errors.did_you_mean(unknown[0], allowed)}",
                                         unknown[0])])
            for key in required:
                if key not in data:
                    raise Refused(422, [_err(f"needs a '{key}'", key)])
            lang = data.get("lang", "en")
            if lang not in LANGS:
                raise Refused(422, [_err(f"'{lang}' is not one of {', '.join(LANGS)}", "lang")])

            def work() -> str:
                a = _assess(kb, data.get("case"), max_items)
                try:
                    out = handler(a, data, lang)
                except PartwaysError as err:
                    raise Refused(422, [err.to_dict()]) from None
                return json.dumps(out, ensure_ascii=False, sort_keys=True, indent=2,
                                  default=str) + "\n"

            return Response(await run_in_threadpool(work), media_type="application/json")

        route.__name__ = path.strip("/").replace("/", "_").replace("-", "_")
        app.post(path, summary=summary, openapi_extra={
            **_body(extra, required), "responses": {
                **_body(extra, required)["responses"], **_ok(response, summary)}})(route)

    endpoint("/v1/assess", None, (), {"$ref": "#/components/schemas/Assessment"},
             "Assess a case: the assessment JSON (as `partways assess --format json`)",
             lambda a, d, lang: a.to_dict(lang))
    endpoint("/v1/why", {"node": {"type": ["string", "null"], "maxLength": 200}}, (),
             _answer("why"),
             "Why the case got its decision (or why NODE was concluded)",
             lambda a, d, lang: why_dict(a.kb, a.why(_text(d, "node")), lang))
    endpoint("/v1/why-not", {"target": {"type": "string", "maxLength": 200},
                             "depth": {"type": "integer", "minimum": 0, "maximum": 12}},
             ("target",), _answer("why-not"), "Why the case did not lead to TARGET",
             lambda a, d, lang: why_not_dict(a.kb, a.why_not(
                 str(_text(d, "target")), depth=_int(d, "depth", 4, 0, 12)), lang))
    endpoint("/v1/what-if", {"edits": {"type": "array", "maxItems": 50, "items": {
        "type": "string", "maxLength": 2000}, "description": "Edits in the CLI's words: "
        "'wellbeing=low', 'add-event: type=late_payment,days_late=12', 'remove-event: 2', "
        "'remediation: step=...', 'policy: name=value'."}}, ("edits",), _answer("what-if"),
             "Re-assess the case with some edits and show what differs",
             lambda a, d, lang: what_if_dict(a.kb, partways.what_if(a, _edits(d)), lang))
    endpoint("/v1/flip", {"to": {"type": ["string", "null"], "maxLength": 50},
                          "max_size": {"type": "integer", "minimum": 1, "maximum": 3},
                          "k": {"type": "integer", "minimum": 1, "maximum": 10}}, (),
             _answer("flip"), "The smallest changes that would change the decision",
             lambda a, d, lang: flip_dict(a.kb, partways.flip(
                 a, to=_text(d, "to"), max_size=_int(d, "max_size", 2, 1, 3),
                 k=_int(d, "k", 3, 1, 10)), lang))
    endpoint("/v1/plan", None, (), _answer("plan"), "The dated exit plan (as `partways plan "
             "--format json`)", lambda a, d, lang: json.loads(
                 partways.render_plan(a, "json", lang)))

    @app.post("/v1/batch", summary="Assess a client book: one case (JSON object) per line",
              openapi_extra={
                  "requestBody": {"required": True, "content": {
                      media: {"schema": {"type": "string", "description": "JSON Lines: one "
                                         "case a line (the case schema)."}}
                      for media in ("application/x-ndjson", "text/plain")}},
                  "parameters": [{"name": "lang", "in": "query", "required": False,
                                  "schema": LANG_PROP}],
                  "responses": {**_ok({"type": "object", "required": ["results", "summary"],
                                       "properties": {"results": {"type": "array"},
                                                      "summary": {"type": "object"}}},
                                      "Each line's assessment (or its errors) and a summary"),
                                "413": {"description": "Too many lines or too large",
                                        "content": {"application/json": {
                                            "schema": ERROR_SCHEMA}}}}})
    async def batch(request: Request) -> Response:
        from partways.batch import jsonl_row, run_book

        lang = request.query_params.get("lang", "en")
        if lang not in LANGS:
            raise Refused(422, [_err(f"'{lang}' is not one of {', '.join(LANGS)}", "lang")])
        raw = (await _read(request, max_body)).decode("utf-8", "replace")
        lines = [(n, ln) for n, ln in enumerate(raw.splitlines(), 1) if ln.strip()]
        if len(lines) > max_batch:
            raise Refused(413, [_err(f"{len(lines)} cases: at most {max_batch} a request")])
        items = [_batch_item(i, n, ln, max_items) for i, (n, ln) in enumerate(lines)]

        def work() -> str:  # off the event loop: other requests go on meanwhile
            rows, summary = run_book(items, kb, full=True, lang=lang)
            out = {"results": [jsonl_row(r) for r in rows], "summary": summary.to_dict()}
            return json.dumps(out, ensure_ascii=False, sort_keys=True) + "\n"

        return Response(await run_in_threadpool(work), media_type="application/json")

    @app.get("/v1/schema/{name}", summary="A JSON Schema of the contract: the case, the "
             "assessment, or an explanation answer")
    def schema(name: Literal["case", "assessment", "why", "why-not", "what-if", "flip",
                             "plan"]) -> Response:
        return Response(partways.schema_text(name), media_type="application/json")

    @app.get("/healthz", summary="Liveness, with the versions and the KB digest")
    def healthz() -> dict[str, Any]:
        from partways._durable import rulesets_created

        return {"status": "ok", "rulesets": rulesets_created(),
                "partways_version": partways.__version__,
                "schema_version": partways.SCHEMA_VERSION,
                "kb": {"name": kb.name, "version": kb.version,
                       "digest": partways.kb_digest(kb), "overlays": len(kb.roots) - 1}}

    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = original()
            comps = spec.setdefault("components", {}).setdefault("schemas", {})
            comps["Case"] = _schema("case")
            comps["Assessment"] = _schema("assessment")
            comps["Error"] = ERROR_ITEM
            comps.update(answer_components())
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


async def _read(request: Request, limit: int) -> bytes:
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit:
        raise Refused(413, [_err(f"the body is larger than {limit} bytes")])
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise Refused(413, [_err(f"the body is larger than {limit} bytes")])
    return body


def _assess(kb: KnowledgeBase, case: Any, max_items: int) -> Assessment:
    if not isinstance(case, dict):
        raise Refused(422, [_err("'case' must be a JSON object (the case schema)", "case")])
    items = sum(len(v) for v in case.values() if isinstance(v, list))
    if items > max_items:
        raise Refused(413, [_err(f"{items} events, deliverables and repairs: at most "
                                 f"{max_items} in one request", "case")])
    problems = partways.validate_case(case, kb, name="case")
    if problems:
        raise Refused(422, [p.to_dict() for p in problems])
    try:
        return partways.assess_data(case, kb, name="case")
    except PartwaysError as err:
        raise Refused(422, [err.to_dict()]) from None


def _batch_item(index: int, line: int, text: str, max_items: int) -> Any:
    from partways.batch import Item

    try:
        data = json.loads(text)
    except ValueError:
        data = None  # the worker reports it, located
    if isinstance(data, dict):
        n = sum(len(v) for v in data.values() if isinstance(v, list))
        if n > max_items:
            return Item(index, f"<batch>:{line}", "error", [dict(
                _err(f"{n} events, deliverables and repairs: at most {max_items} in one "
                     "case", "case"), line=line)])
    return Item(index, f"<batch>:{line}", "text", text, line)


def _text(d: Mapping[str, Any], key: str) -> str | None:
    v = d.get(key)
    if v is not None and not isinstance(v, str):
        raise Refused(422, [_err(f"'{key}' must be a string", key)])
    return v


def _int(d: Mapping[str, Any], key: str, default: int, lo: int, hi: int) -> int:
    v = d.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise Refused(422, [_err(f"'{key}' must be a whole number from {lo} to {hi}", key)])
    return v


def _edits(d: Mapping[str, Any]) -> list[str]:
    edits = d.get("edits")
    if not isinstance(edits, list) or not edits or not all(isinstance(e, str) for e in edits):
        raise Refused(422, [_err("'edits' must be a non-empty list of strings", "edits")])
    return edits
