"""The versioned contract: shipped JSON Schemas, versions, KB digest, decision ids, the
authors' guide, machine-readable errors and ``partways check``."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

import partways
from partways.cli.main import main

from _paths import EXAMPLES, ROOT

CASES = sorted([*EXAMPLES.glob("*.yaml"), *EXAMPLES.glob("*.json")])
OVERLAY = EXAMPLES / "overlay-strict-payments"
BAD = """\
client: X
as_of: 2026-01-01
wellbeing: hihg
doubts: -1
events:
  - {date: 2026-02-01, type: late_payment, days_late: 3}
  - {date: 2025-02-01, type: late_paymnt}
  - {date: 2025-03-01, type: slow_response, hours: "x"}
policy:
  late_payments_for_signl: 3
"""


def _validator(name: str) -> jsonschema.Draft202012Validator:
    schema = partways.schema(name)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def _errors(v: jsonschema.Draft202012Validator, data: Any) -> list[str]:
    return [f"{e.json_path}: {e.message[:200]}" for e in v.iter_errors(data)]


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_every_output_of_every_example_validates(case: Path) -> None:
    v = _validator("assessment")
    for overlays in ([], [OVERLAY]):
        a = partways.assess(case, overlays=overlays)
        for lang in ("en", "ar", "fa"):
            data = json.loads(a.to_json(lang))
            assert not _errors(v, data), "add the new field to kb/assessment.schema.json " \
                "(and run tools/case_format.py)"
            assert data["schema_version"] == partways.SCHEMA_VERSION
            assert data["partways_version"] == partways.__version__
            assert data["kb"]["overlays"] == len(overlays)
    cli = CliRunner().invoke(main, ["assess", str(case), "--format", "json"])
    assert cli.exit_code == 0, cli.output
    assert not _errors(v, json.loads(cli.stdout))


def test_examples_validate_against_the_case_schema() -> None:
    v = _validator("case")
    kb = partways.load_kb()
    for case in CASES:
        assert not _errors(v, dict(partways.load_case(case, kb).data)), case


def test_decision_id_is_deterministic_and_ties_case_kb_and_version() -> None:
    path = EXAMPLES / "acme-late-payer.yaml"
    a = partways.assess(path)
    b = partways.assess_data(dict(a.case.data))  # the same relationship, as a mapping
    assert a.to_dict()["decision_id"] == b.to_dict()["decision_id"]
    assert a.to_json() == partways.assess(path).to_json()
    edited = partways.what_if(a, ["doubts=1"]).after
    assert edited.to_dict()["decision_id"] != a.to_dict()["decision_id"]
    over = partways.assess(path, kb=OVERLAY).to_dict()
    assert over["kb"]["digest"] != a.to_dict()["kb"]["digest"]
    assert over["decision_id"] != a.to_dict()["decision_id"]
    assert over["kb"]["version"] == a.to_dict()["kb"]["version"]  # the digest tells them apart


def test_kb_digest_changes_with_any_overlay_file(tmp_path: Path) -> None:
    import shutil

    one, two = tmp_path / "one", tmp_path / "two"
    shutil.copytree(OVERLAY, one)
    shutil.copytree(OVERLAY, two)
    with (two / "parameters.yaml").open("a", encoding="utf-8") as fh:
        fh.write("# a comment is a change too\n")
    digests = {partways.kb_digest(partways.load_kb(overlays=o)) for o in ([], [one], [two])}
    assert len(digests) == 3
    assert partways.kb_digest(partways.load_kb(overlays=[one])) == partways.kb_digest(
        partways.load_kb(overlays=[OVERLAY]))  # same files, same digest, wherever they are
    assert all(re.fullmatch(r"sha256:[0-9a-f]{64}", d) for d in digests)


def test_case_schema_describes_every_field_and_event_type() -> None:
    schema = partways.schema("case")
    missing: list[str] = []

    def walk(node: Any, path: str) -> None:
        if not isinstance(node, dict):
            return
        for key, spec in (node.get("properties") or {}).items():
            if isinstance(spec, dict):
                if "description" not in spec:
                    missing.append(f"{path}{key}")
                walk(spec, f"{path}{key}.")
        walk(node.get("items"), path)

    walk(schema, "")
    assert not missing
    items = schema["properties"]["events"]["items"]
    types = items["properties"]["type"]["enum"]
    described = {b["if"]["properties"]["type"]["const"]: b["then"].get("description")
                 for b in items["allOf"]}
    assert set(types) == set(described)
    assert all(described.values()), [t for t, d in described.items() if not d]
    for t in types:
        assert f"{t}:" in items["properties"]["type"]["description"], t


def test_assessment_schema_describes_every_field() -> None:
    schema = partways.schema("assessment")
    for key, spec in schema["properties"].items():
        assert spec.get("description"), key
    assert schema["required"] and schema["additionalProperties"] is False


def test_case_format_doc_is_fresh() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "case_format.py"), "--check"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    text = (ROOT / "docs" / "CASE_FORMAT.md").read_text("utf-8")
    assert "disrespect or verbal_abuse?" in text
    for step in partways.schema("case")["properties"]["remediation"]["items"]["properties"][
            "step"]["enum"]:
        assert f"| `{step}`" in text


def test_no_link_points_outside_the_repository() -> None:
    files = [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *EXAMPLES.rglob("*.md"),
             *(ROOT / "kb").rglob("*.yaml"), *(ROOT / "kb").glob("*.json"),
             *(ROOT / "engine").rglob("*.py"), *(ROOT / "cli").glob("*.py")]
    for f in files:
        text = f.read_text("utf-8")
        assert "shared/" not in text, f"{f.relative_to(ROOT)} points to shared/"
        if f.suffix == ".md":
            for target in re.findall(r"\]\(([^)#\s]+)", text):
                if not re.match(r"[a-z]+:", target):
                    assert (f.parent / target).exists(), f"{f.relative_to(ROOT)}: {target}"


def test_schema_command_prints_the_shipped_schemas() -> None:
    for name in ("case", "assessment"):
        result = CliRunner().invoke(main, ["schema", name])
        assert result.exit_code == 0
        assert json.loads(result.stdout) == partways.schema(name)
    assert CliRunner().invoke(main, ["schema", "nope"]).exit_code == 2


# --------------------------------------------------------------------------- errors


def test_validate_case_lists_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD, encoding="utf-8")
    problems = partways.validate_case(path)
    lines = [str(p) for p in problems]
    assert [p.source.line for p in problems if p.source] == [3, 4, 6, 7, 8, 10]
    assert lines[0] == f"{path}:3: wellbeing: 'hihg' is not one of low, medium, high; " \
        "did you mean 'high'?"
    assert "date 2026-02-01 is after as_of 2026-01-01" in lines[2]
    assert "late_paymnt" in lines[3] and "must be an integer" in lines[4]
    assert problems[5].to_dict() == {
        "kind": "policy", "file": str(path), "line": 10,
        "field": "policy.late_payments_for_signl",
        "message": "unknown policy parameter 'late_payments_for_signl'",
        "suggestion": "late_payments_for_signal"}
    assert partways.validate_case(EXAMPLES / "acme-late-payer.yaml") == []
    assert partways.validate_case("x.yaml", text="client: [") [0].kind == "case"


def test_check_lists_every_problem_and_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD, encoding="utf-8")
    good = EXAMPLES / "acme-late-payer.yaml"
    result = CliRunner().invoke(main, ["check", str(path), str(good)])
    assert result.exit_code == 1
    out = result.stdout.splitlines()
    assert len(out) == 7 and out[-1] == "1 of 2 cases valid, 6 problems"
    assert all(re.match(rf"{re.escape(str(path))}:\d+: \S+: ", ln) for ln in out[:6])
    js = CliRunner().invoke(main, ["check", str(path), str(good), "--format", "json"])
    assert js.exit_code == 1
    data = json.loads(js.stdout)
    assert [c["valid"] for c in data["cases"]] == [False, True]
    assert data["cases"][0]["errors"][0]["suggestion"] == "high"
    ok = CliRunner().invoke(main, ["check", str(good)])
    assert ok.exit_code == 0 and ok.stdout == "1 of 1 case valid, 0 problems\n"


@pytest.mark.parametrize("args", [
    ["assess", "{bad}", "--format", "json"],
    ["why", "{bad}", "--format=json"],
    ["what-if", "{bad}", "--set", "doubts=1", "--format", "json"],
])
def test_format_json_turns_errors_into_json(tmp_path: Path, args: list[str]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD, encoding="utf-8")
    result = CliRunner().invoke(main, [a.replace("{bad}", str(path)) for a in args])
    assert result.exit_code == 1
    err = json.loads(result.stdout)["error"]
    assert err == {"kind": "case", "file": str(path), "line": 3, "field": "wellbeing",
                   "message": "'hihg' is not one of low, medium, high", "suggestion": "high"}
    text = CliRunner().invoke(main, [a.replace("{bad}", str(path)) for a in args
                                     if a not in ("json", "--format", "--format=json")])
    assert text.exit_code == 1 and not text.stdout.startswith("{")


def test_format_json_usage_and_missing_file_errors(tmp_path: Path) -> None:
    usage = CliRunner().invoke(main, ["assess", str(EXAMPLES / "acme-late-payer.yaml"),
                                      "--format", "json", "--lang", "xx"])
    assert usage.exit_code == 2
    assert json.loads(usage.stdout)["error"]["kind"] == "usage"
    missing = CliRunner().invoke(main, ["assess", str(tmp_path / "no.yaml"), "--format",
                                        "json"])
    assert missing.exit_code == 1
    err = json.loads(missing.stdout)["error"]
    assert err["file"] == str(tmp_path / "no.yaml") and err["message"] == "case file not found"


# --------------------------------------------------------------------------- API ergonomics


def test_python_dash_m_partways() -> None:
    done = subprocess.run([sys.executable, "-m", "partways", "assess",
                           str(EXAMPLES / "nour-bakery-steady.yaml"), "--format", "json"],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["decision"] == "keep"


def test_what_if_takes_cli_strings_and_quoted_commas(tmp_path: Path) -> None:
    a = partways.assess(EXAMPLES / "acme-late-payer.yaml")
    w = partways.what_if(a, ["wellbeing=low", 'add-event: type=late_payment,days_late=12,'
                             'note="late, again"', "policy: late_payments_for_signal=5"])
    assert w.after.case.data["wellbeing"] == "low"
    assert w.after.case.data["events"][-1] == {"date": a.case.as_of.isoformat(),
                                               "type": "late_payment", "days_late": 12,
                                               "note": "late, again"}
    assert w.after.case.params["late_payments_for_signal"] == 5
    result = CliRunner().invoke(main, [
        "what-if", str(EXAMPLES / "acme-late-payer.yaml"), "--add-event",
        'type=late_payment,days_late=3,note="late, again"', "--format", "json"])
    assert result.exit_code == 0, result.output
    assert "late, again" in result.stdout
    with pytest.raises(partways.CaseError, match="unknown key 'dayz_late'; did you mean"):
        partways.what_if(a, ["add-event: type=late_payment,dayz_late=3"])


def test_to_dict_on_every_result_type() -> None:
    a = partways.assess(EXAMPLES / "acme-late-payer.yaml")
    w = partways.what_if(a, ["wellbeing=low"])
    f = partways.flip(a, to="remediate")
    for obj, key in [(a, "decision"), (a.why(), "roots"), (a.why_not("keep"), "goals"),
                     (w, "diff"), (f, "flips"), (a.signals[0], "evidence"),
                     (a.next_steps[0], "guidance"), (a.plan, "steps"),
                     (w.edits[0], "op"), (w.diff, "decision_before")]:
        data = obj.to_dict()  # type: ignore[union-attr]
        assert key in data
        json.dumps(data)
    assert f.flips and f.flips[0].to_dict()["decision"] == "remediate"


def test_overlays_on_every_entry_point() -> None:
    text = (EXAMPLES / "harbor-dental-late-payer.yaml").read_text("utf-8")
    base = partways.assess_text(text).to_dict()["kb"]["digest"]
    for a in (partways.assess_text(text, kb=OVERLAY),
              partways.assess_text(text, overlays=[OVERLAY]),
              partways.assess_data(dict(partways.assess_text(text).case.data), kb=[OVERLAY]),
              partways.assess(EXAMPLES / "harbor-dental-late-payer.yaml", kb=str(OVERLAY))):
        assert a.to_dict()["kb"]["overlays"] == 1 and a.to_dict()["kb"]["digest"] != base
    assert partways.validate_case(EXAMPLES / "harbor-dental-late-payer.yaml",
                                  kb=OVERLAY) == []


def test_every_rule_example_output_validates(kb: partways.KnowledgeBase) -> None:
    """The rule examples reach every rule: their assessments cover every output shape."""
    import yaml

    from _paths import RULE_EXAMPLES, example_kb

    v = _validator("assessment")
    n = 0
    for f in sorted(RULE_EXAMPLES.rglob("*.yaml")):
        for ex in yaml.safe_load(f.read_text("utf-8")).get("examples", ()):
            if not isinstance(ex.get("case"), dict):
                continue
            try:
                a = partways.assess_data(ex["case"], example_kb(ex, kb))
            except partways.PartwaysError:
                continue  # examples of refused input
            assert not _errors(v, a.to_dict()), f"{f.name}: {ex.get('name')}"
            n += 1
    assert n > 50


def _schema_shape(node: Any) -> Any:
    """The schema without its prose: what a consumer's validator checks."""
    if isinstance(node, dict):
        return {k: _schema_shape(v) for k, v in node.items()
                if k not in ("description", "title", "examples")}
    if isinstance(node, list):
        return [_schema_shape(v) for v in node]
    return node


#: The shape of kb/assessment.schema.json each contract version shipped with (sha256 of
#: the schema without its descriptions, first 16 hex digits). 1.0 refused the graph node's
#: `rules` that graph.py wrote; 1.1 added it with the remediation layer and `uncounted`.
SCHEMA_SHAPES = {"1.0": "1dec1149afa8941d", "1.1": "39a0d6a34328b23d"}


def test_a_schema_change_bumps_the_contract_version() -> None:
    import hashlib

    schema = json.loads((ROOT / "kb" / "assessment.schema.json").read_text("utf-8"))
    digest = hashlib.sha256(json.dumps(_schema_shape(schema), sort_keys=True)
                            .encode()).hexdigest()[:16]
    assert digest == SCHEMA_SHAPES.get(partways.SCHEMA_VERSION), (
        f"kb/assessment.schema.json changed shape ({digest}) under SCHEMA_VERSION "
        f"{partways.SCHEMA_VERSION}: bump it in engine/version.py (minor for a new optional "
        "field, major for a removed or retyped one), add it to SCHEMA_HISTORY and here, and "
        "run tools/case_format.py")
    # every version ever pinned is in the history, the newest is the current one
    history = [v for v, _ in partways.version.SCHEMA_HISTORY]
    assert history == sorted(SCHEMA_SHAPES, key=lambda v: tuple(map(int, v.split("."))))
    assert history[-1] == partways.SCHEMA_VERSION
    # and a shape change is detected: a node field removed from the schema
    nodes = schema["properties"]["graph"]
    text = json.dumps(nodes)
    assert '"rules"' in text
    stripped = json.loads(json.dumps(schema).replace('"rules": {', '"rulez": {', 1))
    assert hashlib.sha256(json.dumps(_schema_shape(stripped), sort_keys=True)
                          .encode()).hexdigest()[:16] != digest


def test_a_graph_node_with_several_rules_validates_and_an_unknown_node_field_does_not() -> None:
    v = _validator("assessment")
    data = json.loads(partways.assess(EXAMPLES / "acme-late-payer.yaml").to_json("en"))
    node = next(n for n in data["graph"]["nodes"] if n.get("rule"))
    node["rules"] = sorted({node["rule"], "dec.terminate.gut"})
    assert not _errors(v, data)
    node["rulez"] = ["x"]
    assert _errors(v, data)
