"""Bounded parsing: every input partways reads (case files, standard input, overlays,
``log``, the mapping API) is refused within the limits of :mod:`partways.limits`, with one
located line, never a traceback, a hang or a blown stack."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import partways
from partways import limits
from partways.case import resolve_policy
from partways.cli.main import main

from _paths import ROOT

HEAD = "client: Acme\nas_of: 2026-11-01\n"


def alias_bomb(levels: int, width: int = 10) -> str:
    """The "billion laughs" document: each level repeats the one before ``width`` times."""
    lines = ["a0: &a0 [" + ",".join(["x"] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n" + HEAD


def test_alias_bomb_is_refused_at_the_alias_limit(kb: partways.KnowledgeBase) -> None:
    with pytest.raises(partways.CaseError) as exc:
        partways.parse_case(alias_bomb(9), kb, name="bomb.yaml")
    assert str(exc.value) == (f"bomb.yaml:2: a1: more than {limits.MAX_ALIASES} YAML "
                              f"aliases (*name) in one document")


def test_a_few_aliases_are_fine(kb: partways.KnowledgeBase) -> None:
    text = HEAD + "relationship: &r {recurring: true}\n"
    assert partways.parse_case(text, kb).data["relationship"] == {"recurring": True}


def test_wide_document_is_refused_at_the_value_limit(kb: partways.KnowledgeBase) -> None:
    # no aliases: one flat list longer than the value limit
    text = HEAD + "x: [" + ",".join(["1"] * (limits.MAX_NODES + 1)) + "]\n"
    with pytest.raises(partways.CaseError, match=f"more than {limits.MAX_NODES} values"):
        partways.parse_case(text, kb)


def test_alias_bomb_through_the_cli_log_and_an_overlay(tmp_path: Path) -> None:
    case = tmp_path / "bomb.yaml"
    case.write_text(alias_bomb(9), encoding="utf-8")
    before = case.read_bytes()
    runner = CliRunner()
    for args in (["assess", str(case)],
                 ["log", str(case), "--event", "type=late_payment,date=2026-10-01,days_late=3"]):
        r = runner.invoke(main, args)
        assert r.exit_code == 1, r.output
        assert "YAML aliases" in r.output and len(r.output.strip().splitlines()) == 1
    assert case.read_bytes() == before
    r = runner.invoke(main, ["assess", "-"], input=alias_bomb(9))
    assert r.exit_code == 1 and "<stdin>:2: a1: more than" in r.output
    overlay = tmp_path / "overlay"
    shutil.copytree(ROOT / "examples" / "overlay-strict-payments", overlay)
    params = next(overlay.rglob("*.yaml"))
    params.write_text(alias_bomb(9).replace(HEAD, ""), encoding="utf-8")
    with pytest.raises(partways.KBError, match="YAML aliases"):
        partways.load_kb(overlays=[overlay])


@pytest.mark.parametrize(("text", "message"), [
    ("money: {revenue: .nan}\n", "money.revenue: must be a finite number, not nan"),
    ("money: {revenue: .inf}\n", "must be a finite number, not inf"),
    ("money: {revenue: -.inf}\n", "must be a finite number, not -inf"),
    ("events:\n  - {date: 2026-01-02, type: late_payment, days_late: 3, amount: .nan}\n",
     "must be a finite number"),
    ("policy: {losing_money_rate_ratio: .nan}\n", "must be a finite number"),
    ("policy: {late_payments_for_signal: " + "9" * 400 + "}\n", "number too large"),
    ("money: {revenue: " + "9" * 30 + "}\n", "number too large"),
])
def test_numbers_must_be_finite_and_bounded(kb: partways.KnowledgeBase, text: str,
                                            message: str) -> None:
    with pytest.raises(partways.CaseError, match=re.escape(message)) as exc:
        partways.parse_case(HEAD + text, kb, name="c.yaml")
    assert str(exc.value).startswith(f"c.yaml:{2 + text.count(chr(10))}:")


def test_mapping_api_refuses_nan_and_huge_numbers(kb: partways.KnowledgeBase) -> None:
    for bad, where in ((float("nan"), "money.revenue"), (float("inf"), "money.revenue"),
                       (10 ** 400, "money.revenue")):
        with pytest.raises(partways.CaseError, match=re.escape(where)):
            partways.assess_data({"client": "A", "as_of": "2026-11-01",
                                  "money": {"revenue": bad}}, kb)
    with pytest.raises(partways.PolicyError, match="number too large"):
        resolve_policy(kb, {"late_payments_for_signal": 10 ** 400})


@pytest.mark.parametrize("value", [complex(1, 2), object(), b"x", {1, 2}, Path("x")])
def test_mapping_api_refuses_values_that_are_not_plain_data(kb: partways.KnowledgeBase,
                                                            value: object) -> None:
    with pytest.raises(partways.CaseError, match=re.escape(
            "<data>: money.revenue: must be text, a number, true/false, null, a list or a "
            "mapping, not ")):
        partways.assess_data({"client": "A", "money": {"revenue": value}}, kb)


def test_mapping_api_nesting_is_bounded(kb: partways.KnowledgeBase) -> None:
    data: dict[str, object] = {"client": "A", "as_of": "2026-11-01"}
    inner = data
    for _ in range(990):
        inner["n"] = {}
        inner = inner["n"]  # type: ignore[assignment]
    with pytest.raises(partways.CaseError, match=f"nesting deeper than {limits.MAX_DEPTH}"):
        partways.assess_data(data, kb)


def test_mapping_api_text_length_is_bounded(kb: partways.KnowledgeBase) -> None:
    with pytest.raises(partways.CaseError, match="character limit"):
        partways.assess_data({"client": "A", "as_of": "2026-11-01",
                              "notes": "x" * (limits.MAX_STRING + 1)}, kb)


@pytest.mark.parametrize("text", [
    "as_of: 9999-12-20\n", "contract: {ends: 9999-12-31}\n", "relationship: {since: 0001-01-01}\n",
])
def test_dates_near_the_ends_of_the_calendar_are_refused(kb: partways.KnowledgeBase,
                                                        text: str) -> None:
    body = text if text.startswith("as_of") else "as_of: 2026-11-01\n" + text
    with pytest.raises(partways.CaseError, match="outside the supported range 1900-01-01 to "
                                                 "2999-12-31"):
        partways.parse_case("client: A\n" + body, kb)


def test_plan_near_the_end_of_the_range_is_computed(kb: partways.KnowledgeBase) -> None:
    a = partways.assess_data({
        "client": "A", "as_of": limits.MAX_DATE.isoformat(),
        "contract": {"ends": limits.MAX_DATE.isoformat(), "notice_days": 3650},
        "events": [{"date": limits.MAX_DATE.isoformat(), "type": "verbal_abuse"}]}, kb)
    assert a.decision == "terminate_now"
    for fmt in ("text", "md", "json", "ics"):
        assert partways.render_plan(a, fmt)


@pytest.mark.parametrize("text", [
    "events: !!python/object:os.system {a: 1}\n",
    "events: !!python/tuple [1, 2]\n",
    "events: !!set {a, b}\n",
    "events: !!omap [{a: 1}]\n",
    "client2: !!python/name:os.system\n",
])
def test_python_and_other_tags_on_collections_are_refused(kb: partways.KnowledgeBase,
                                                          text: str) -> None:
    with pytest.raises(partways.CaseError, match="unsupported YAML"):
        partways.parse_case(HEAD + text, kb)


def test_control_character_error_is_one_located_line(tmp_path: Path) -> None:
    case = tmp_path / "c.yaml"
    case.write_bytes(b"client: A\nas_of: 2026-11-01\nnotes: a\x01b\n")
    r = CliRunner().invoke(main, ["assess", str(case)])
    assert r.exit_code == 1
    assert r.output == (f"Error: {case}:3: malformed YAML/JSON: character U+0001 is not "
                        f"allowed in YAML (write it as an escape in a double-quoted string)\n")


def test_security_doc_states_every_limit() -> None:
    doc = (ROOT / "docs" / "SECURITY.md").read_text(encoding="utf-8")
    for name, value in limits.LIMITS.items():
        shown = value.isoformat() if hasattr(value, "isoformat") else f"{value:,}" \
            if isinstance(value, int) else f"{value:g}"
        assert re.search(rf"\| `{name}` \| {re.escape(shown)}\b", doc), (name, shown)
