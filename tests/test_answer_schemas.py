"""The JSON answers of why, why-not, what-if, flip and plan against their shipped
schemas (kb/explain.schema.json): every shipped example, through the Python API and
the CLI's --format json; and the schemas refuse what the answers never hold."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

import partways
from partways import contract
from partways.cli.main import main
from partways.render.explain import flip_dict, what_if_dict, why_dict, why_not_dict
from partways.render.plan import plan_dict

from _paths import EXAMPLES

CASES = sorted([*EXAMPLES.glob("*.yaml"), *EXAMPLES.glob("*.json")])
ANSWERS = ("why", "why-not", "what-if", "flip", "plan")


@cache
def _validator(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(partways.schema(name),
                                           format_checker=jsonschema.FormatChecker())


def _errors(name: str, data: Any) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in _validator(name).iter_errors(data)]


def _json(data: Any) -> Any:
    return json.loads(json.dumps(data, ensure_ascii=False, default=str))


def _answers(case: Path, lang: str, flip_size: int = 1) -> list[tuple[str, Any]]:
    """Every kind of answer for ``case``: why (the decision and each active signal),
    why-not for each decision, a what-if, a flip (single changes: every example finds
    some; ``flip_size`` 2 also pairs, several times slower), the plan."""
    kb = partways.load_kb()
    a = partways.assess(case, kb)
    out: list[tuple[str, Any]] = [("why", why_dict(kb, a.why(None), lang))]
    out += [("why", why_dict(kb, a.why(s.id), lang)) for s in a.signals
            if s.status == "active"][:3]
    out += [("why-not", why_not_dict(kb, a.why_not(d, depth=4), lang))
            for d in ("keep", "remediate", "terminate_now")]
    out.append(("what-if", what_if_dict(kb, partways.what_if(
        a, ["wellbeing=low", "add-event: type=late_payment,days_late=30"]), lang)))
    out.append(("flip", flip_dict(kb, partways.flip(a, max_size=flip_size, k=3), lang)))
    out.append(("plan", plan_dict(a, lang)))
    return [(name, _json(data)) for name, data in out]


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_every_answer_of_every_example_validates(case: Path) -> None:
    seen = set()
    for name, data in _answers(case, "en"):
        assert not _errors(name, data), (name, _errors(name, data)[:3])
        seen.add(name)
    assert seen == set(ANSWERS)


def test_answers_validate_in_every_language() -> None:
    for lang in ("ar", "fa"):
        for name, data in _answers(EXAMPLES / "acme-late-payer.yaml", lang, flip_size=2):
            assert not _errors(name, data), (lang, name, _errors(name, data)[:3])


@pytest.mark.parametrize(("name", "args"), [
    ("why", ["why"]), ("why", ["why", "late_payment"]),
    ("why-not", ["why-not", "keep", "--depth", "2"]),
    ("what-if", ["what-if", "--set", "wellbeing=low"]),
    ("flip", ["flip", "-k", "2"]), ("plan", ["plan", "--lang", "fa"])])
def test_cli_json_answers_validate(name: str, args: list[str]) -> None:
    case = str(EXAMPLES / "acme-late-payer.yaml")
    result = CliRunner().invoke(main, [args[0], case, *args[1:], "--format", "json"])
    assert result.exit_code == 0, result.output
    assert not _errors(name, json.loads(result.stdout))


def test_answer_schemas_refuse_what_answers_never_hold() -> None:
    answers = dict(_answers(EXAMPLES / "acme-late-payer.yaml", "en"))
    why = answers["why"]
    for broken in (dict(why, extra=1), {k: v for k, v in why.items() if k != "roots"},
                   dict(why, query="why_not"), dict(why, lang="de")):
        assert _errors("why", broken)
    deep = copy.deepcopy(why)
    deep["roots"][0]["fact"]["fields"]["x"] = {"nested": "object"}  # fields are scalars
    assert _errors("why", deep)
    flip = copy.deepcopy(answers["flip"])
    flip["stopped"] = "tired"
    assert _errors("flip", flip)
    assert _errors("plan", dict(answers["plan"], plan={"steps": []}))


def test_answer_schemas_are_standalone_2020_12_documents() -> None:
    full = contract.answer_schemas()
    for name in ANSWERS:
        doc = partways.schema(name)
        jsonschema.Draft202012Validator.check_schema(doc)
        assert doc["$ref"] == f"#/$defs/{contract.ANSWERS[name]}"
        assert doc["$defs"] == full["$defs"]
        result = CliRunner().invoke(main, ["schema", name])
        assert result.exit_code == 0 and json.loads(result.stdout) == doc


def test_every_property_of_the_answers_is_described() -> None:
    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for key, prop in (node.get("properties") or {}).items():
                assert "description" in prop or "$ref" in prop, f"{where}.{key}"
            for key, value in node.items():
                walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}[{i}]")

    defs = contract.answer_schemas()["$defs"]
    walk(defs, "$defs")
    assert all(d.get("description") for d in defs.values())
