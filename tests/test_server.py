"""The HTTP API against a real server (``partways serve`` on 127.0.0.1, started here):
the same JSON as the CLI, located 422s, limits, 8 concurrent clients, and a bounded
schemathesis run over its OpenAPI spec."""

from __future__ import annotations

import json
import random
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import partways
from partways.cli.main import main
from partways.contract import SCHEMA_NAMES

from _paths import EXAMPLES, ROOT

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

CASES = sorted([*EXAMPLES.glob("*.yaml"), *EXAMPLES.glob("*.json")])
ACME = EXAMPLES / "acme-late-payer.yaml"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    log = (tmp_path_factory.mktemp("serve") / "log.txt").open("w+")
    proc = subprocess.Popen([sys.executable, "-m", "partways", "serve", "--port", str(port),
                             "--max-body", "200000", "--max-batch", "50"], cwd=ROOT,
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{url}/healthz", timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(log.read()) from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def _call(url: str, path: str, body: Any = None, ctype: str = "application/json"
          ) -> tuple[int, str]:
    data = None if body is None else body if isinstance(body, bytes) else \
        json.dumps(body).encode()
    req = urllib.request.Request(url + path, data=data, headers={"Content-Type": ctype})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def _case(path: Path) -> dict[str, Any]:
    return json.loads(json.dumps(dict(partways.load_case(path, partways.load_kb()).data)))


def _cli(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_assess_answers_the_cli_json(server: str, case: Path) -> None:
    status, text = _call(server, "/v1/assess", {"case": _case(case), "lang": "fa"})
    assert status == 200
    expected = _cli("assess", str(case), "--format", "json", "--lang", "fa")
    got, want = json.loads(text), json.loads(expected)
    want["graph"]["nodes"] = sorted(want["graph"]["nodes"], key=lambda n: n["id"])
    assert got == want


@pytest.mark.parametrize(("path", "body", "args"), [
    ("/v1/why", {}, ["why"]),
    ("/v1/why", {"node": "late_payment"}, ["why", "late_payment"]),
    ("/v1/why-not", {"target": "keep", "depth": 2}, ["why-not", "keep", "--depth", "2"]),
    ("/v1/what-if", {"edits": ['add-event: type=late_payment,days_late=3,note="late, again"',
                               "wellbeing=low"]},
     ["what-if", "--set", "wellbeing=low", "--add-event",
      'type=late_payment,days_late=3,note="late, again"']),
    ("/v1/flip", {"to": "remediate", "k": 2}, ["flip", "--to", "remediate", "-k", "2"]),
    ("/v1/plan", {"lang": "ar"}, ["plan", "--lang", "ar"]),
])
def test_explanations_answer_the_cli_json(server: str, path: str, body: dict[str, Any],
                                          args: list[str]) -> None:
    status, text = _call(server, path, {"case": _case(ACME), **body})
    assert status == 200, text
    cli = _cli(args[0], str(ACME), *args[1:], "--format", "json")
    assert json.loads(text) == json.loads(cli)


def test_bad_input_is_a_422_with_every_located_problem(server: str) -> None:
    bad = {"client": "X", "wellbeing": "hihg", "doubts": -1, "policy": {"late_paymets": 2}}
    status, text = _call(server, "/v1/assess", {"case": bad})
    assert status == 422
    body = json.loads(text)
    expected = [p.to_dict() for p in partways.validate_case(bad, name="case")]
    assert body["errors"] == expected and body["error"] == expected[0]
    assert [e["field"] for e in body["errors"]] == ["doubts", "policy.late_paymets", "wellbeing"]
    for payload, field in [({"case": _case(ACME), "nope": 1}, "nope"),
                           ({"case": _case(ACME), "lang": "xx"}, "lang"),
                           ({"case": 3}, "case"), ({"case": _case(ACME)}, "target")]:
        path = "/v1/why-not" if field == "target" else "/v1/assess"
        status, text = _call(server, path, payload)
        assert status == 422 and json.loads(text)["error"]["field"] == field, text
    status, text = _call(server, "/v1/assess", b"{not json")
    assert status == 422 and "not JSON" in json.loads(text)["error"]["message"]
    status, text = _call(server, "/v1/why", {"case": _case(ACME), "node": "nothing_like_it"})
    assert status == 422 and json.loads(text)["error"]["kind"] == "query"


def test_request_and_batch_size_limits(server: str) -> None:
    big = {"case": dict(_case(ACME), events=[{"date": "2026-01-01", "type": "reversal"}] * 1001)}
    assert _call(server, "/v1/assess", big)[0] == 413
    assert _call(server, "/v1/assess", {"case": _case(ACME), "pad": "x" * 250_000})[0] == 413
    lines = "\n".join(json.dumps(_case(ACME)) for _ in range(51)).encode()
    status, text = _call(server, "/v1/batch", lines, "application/x-ndjson")
    assert status == 413 and "at most 50" in json.loads(text)["error"]["message"]


def test_batch_endpoint(server: str) -> None:
    lines = [json.dumps(_case(c)) for c in CASES[:5]] + ['{"client": "Y", "doubts": -1}']
    status, text = _call(server, "/v1/batch", "\n".join(lines).encode(), "application/x-ndjson")
    assert status == 200
    body = json.loads(text)
    assert [r.get("decision") for r in body["results"][:5]] == [
        partways.assess(c).decision for c in CASES[:5]]
    assert body["results"][5]["error"]["line"] == 6
    assert body["summary"]["cases"] == 6 and body["summary"]["failed"] == 1


def test_schemas_health_and_openapi(server: str) -> None:
    for name in SCHEMA_NAMES:
        status, text = _call(server, f"/v1/schema/{name}")
        assert status == 200 and json.loads(text) == partways.schema(name)
    assert _call(server, "/v1/schema/other")[0] == 422
    health = json.loads(_call(server, "/healthz")[1])
    assert health["kb"]["digest"] == partways.kb_digest(partways.load_kb())
    spec = json.loads(_call(server, "/openapi.json")[1])
    assert {"/v1/assess", "/v1/why", "/v1/why-not", "/v1/what-if", "/v1/flip", "/v1/plan",
            "/v1/batch", "/v1/schema/{name}", "/healthz"} <= set(spec["paths"])
    assert spec["components"]["schemas"]["Assessment"]["required"] == \
        partways.schema("assessment")["required"]


def test_eight_concurrent_clients_get_the_sequential_answers(server: str) -> None:
    bodies = [{"case": _case(c), "lang": lang} for c in CASES for lang in ("en", "fa")]
    sequential = [_call(server, "/v1/assess", b) for b in bodies]
    what_if = {"case": _case(ACME), "edits": ["wellbeing=low"]}
    seq_what_if = _call(server, "/v1/what-if", what_if)
    before = json.loads(_call(server, "/healthz")[1])["rulesets"]
    jobs = [(i, b) for i, b in enumerate(bodies)] * 3
    random.Random(3).shuffle(jobs)

    def one(job: tuple[int, dict[str, Any]]) -> tuple[int, tuple[int, str]]:
        return job[0], _call(server, "/v1/assess", job[1])

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, jobs))
        mixed = list(pool.map(lambda _: _call(server, "/v1/what-if", what_if), range(16)))
    for i, got in results:
        assert got == sequential[i]
    assert all(m == seq_what_if for m in mixed)
    assert json.loads(_call(server, "/healthz")[1])["rulesets"] == before  # no growth


def test_schemathesis_over_the_openapi_spec(server: str, tmp_path: Path) -> None:
    exe = shutil.which("schemathesis") or str(Path(sys.executable).with_name("schemathesis"))
    if not Path(exe).exists():
        pytest.skip("schemathesis is not installed (pip install -e '.[test]')")
    done = subprocess.run([exe, "run", f"{server}/openapi.json", "-n", "8", "--seed", "1",
                           "--phases", "examples,fuzzing", "-c",
                           "not_a_server_error,response_schema_conformance",
                           "--request-timeout", "30"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]


def test_the_command_line_never_imports_fastapi() -> None:
    code = ("import sys; from click.testing import CliRunner; "
            "from partways.cli.main import main; "
            f"r = CliRunner().invoke(main, ['assess', {str(ACME)!r}, '--format', 'json']); "
            "assert r.exit_code == 0; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('fastapi', 'uvicorn', 'starlette', 'pydantic', 'rich')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


ANSWER_CALLS = [("/v1/why", {}), ("/v1/why-not", {"target": "keep", "depth": 3}),
                ("/v1/what-if", {"edits": ["wellbeing=low"]}), ("/v1/flip", {"k": 2}),
                ("/v1/plan", {"lang": "fa"})]


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_answers_conform_to_the_openapi_document(server: str, case: Path) -> None:
    import jsonschema

    spec = json.loads(_call(server, "/openapi.json")[1])
    for path, body in ANSWER_CALLS:
        ref = spec["paths"][path]["post"]["responses"]["200"]["content"][
            "application/json"]["schema"]
        name = ref["$ref"].rsplit("/", 1)[1]
        assert name in spec["components"]["schemas"], name
        v = jsonschema.Draft202012Validator({**ref, "components": spec["components"]},
                                            format_checker=jsonschema.FormatChecker())
        status, text = _call(server, path, {"case": _case(case), **body})
        assert status == 200, text
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in v.iter_errors(
            json.loads(text))]
        assert not errors, (path, errors[:3])
