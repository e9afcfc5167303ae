"""Costs bounded and overlays kept to data: flip's budgets, Graphviz's cap and timeout,
the report's fallback, `-o` errors, letter templates without include or huge loops,
case schemas inside their overlay with linear-time patterns, and kb lint saying so."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

import partways
from partways import limits
from partways.cli.main import main
from partways.render.explain import flip_dict, render_flip
from partways.render.report import render_html

from _paths import EXAMPLES, ROOT

ACME = str(EXAMPLES / "acme-late-payer.yaml")


@pytest.fixture(scope="module")
def acme() -> partways.Assessment:
    return partways.assess(ACME)


# -- flip's budgets ----------------------------------------------------------------------

def test_flip_time_budget_is_reported(acme: partways.Assessment) -> None:
    fr = partways.flip(acme, seconds=0)
    assert (fr.complete, fr.stopped, fr.evaluated) == (False, "time", 0)
    text = render_flip(acme.kb, fr)
    assert "The search stopped at its time limit (0 s), after 0 variations" in text
    assert flip_dict(acme.kb, fr)["stopped"] == "time"
    r = CliRunner().invoke(main, ["flip", ACME, "--budget", "0.01", "--lang", "fa"])
    assert r.exit_code == 0 and "سقف زمانی" in r.output


def test_flip_work_budget_shrinks_with_the_case(acme: partways.Assessment,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    items = sum(len(v) for v in acme.case.data.values() if isinstance(v, list)) + 1
    monkeypatch.setattr(limits, "SEARCH_WORK", items * 12)
    fr = partways.flip(acme, seconds=None)
    assert (fr.evaluated, fr.stopped, fr.complete) == (12, "evaluations", False)


# -- Graphviz: node cap, timeout, failure vs absence ---------------------------------------

def _fake_dot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    dot = bin_dir / "dot"
    dot.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    dot.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))


def test_report_says_failed_when_dot_fails(acme: partways.Assessment, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_dot(tmp_path, monkeypatch, "echo 'Error: syntax error in line 1' >&2; exit 1")
    page = render_html(acme)
    assert "Graphviz could not draw the decision graph" in page
    assert "not installed" not in page and "<svg" not in page
    assert "syntax error in line 1" in page


def test_report_says_not_installed_only_when_dot_is_absent(
        acme: partways.Assessment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert "which is not installed on this computer" in render_html(acme)


def test_dot_runs_with_a_timeout(acme: partways.Assessment, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_dot(tmp_path, monkeypatch, f"exec {shutil.which('sleep')} 30")
    monkeypatch.setattr(limits, "DOT_SECONDS", 0.2)
    page = render_html(acme)
    assert "Graphviz could not draw" in page and "stopped after 0.2 s" in page
    out = tmp_path / "g.svg"
    r = CliRunner().invoke(main, ["graph", "case", ACME, "-o", str(out)])
    assert r.exit_code == 1
    assert r.output == "Error: Graphviz 'dot' failed: stopped after 0.2 s\n"


def test_a_graph_too_large_is_not_laid_out(acme: partways.Assessment, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_dot(tmp_path, monkeypatch, "exit 3")  # never reached: the cap comes first
    monkeypatch.setattr(limits, "MAX_LAYOUT_NODES", 5)
    page = render_html(acme)
    assert "The decision graph is too large to draw; the explanation above" in page
    assert "<svg" not in page
    r = CliRunner().invoke(main, ["graph", "case", ACME, "-o", str(tmp_path / "g.png")])
    assert r.exit_code == 1 and "more than the 5 Graphviz lays out" in r.output
    r = CliRunner().invoke(main, ["graph", "case", ACME, "--format", "dot"])
    assert r.exit_code == 0  # the text formats have no cap


# -- -o into places that cannot be written ------------------------------------------------

OUTPUT_COMMANDS = [
    ["assess", ACME], ["assess", ACME, "--format", "json"], ["plan", ACME],
    ["plan", ACME, "--format", "ics"], ["letter", ACME], ["why", ACME],
    ["graph", "case", ACME, "--format", "dot"], ["graph", "rules", "--format", "mermaid"],
    ["report", ACME, "--no-graph"],
]


@pytest.mark.parametrize("args", OUTPUT_COMMANDS, ids=lambda a: "-".join(a[:1] + a[2:]))
def test_output_into_an_unwritable_place_is_one_line(tmp_path: Path, args: list[str]) -> None:
    missing = tmp_path / "no" / "such" / "out.txt"
    readonly_file = tmp_path / "ro.txt"
    readonly_file.write_text("keep", encoding="utf-8")
    readonly_file.chmod(0o444)
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        for target, reason in ((missing, "No such file or directory"),
                               (readonly_file, "the file is read-only"),
                               (folder / "out.txt", "the folder is read-only")):
            r = CliRunner().invoke(main, [*args, "-o", str(target)])
            assert r.exit_code == 1, r.output
            if "json" in args:  # errors as JSON under --format json (one line too)
                error = json.loads(r.output)["error"]
                assert (error["file"], error["message"]) == (
                    str(target), f"cannot write the output file: {reason}")
            else:
                assert r.output == f"Error: {target}: cannot write the output file: {reason}\n"
        assert readonly_file.read_text(encoding="utf-8") == "keep"
    finally:
        folder.chmod(0o755)


# -- overlays are data ---------------------------------------------------------------------

def _overlay(tmp_path: Path) -> Path:
    overlay = tmp_path / "overlay"
    shutil.copytree(EXAMPLES / "overlay-strict-payments", overlay)
    return overlay


def _letter(overlay: Path, en: str) -> None:
    (overlay / "letters").mkdir(exist_ok=True)
    (overlay / "letters" / "email.yaml").write_text(
        "channel: email\ntitle: {en: E, ar: E, fa: E}\nguidance: [EXIT-12]\ntemplates:\n"
        f"  en: {json.dumps(en)}\n", encoding="utf-8")


def _lint(overlay: Path) -> list[str]:
    report = partways.lint_kb(str(ROOT / "kb"), overlays=[str(overlay)])
    return [p.message for p in report.errors]


@pytest.mark.parametrize(("template", "message"), [
    ('{% include "/etc/passwd" %}', "'include' is not allowed in a letter template (line 1)"),
    ('{% import "x.j2" as x %}', "'import' is not allowed"),
    ('{% from "x.j2" import y %}', "'fromimport' is not allowed"),
    ('{% extends "base.j2" %}', "'extends' is not allowed"),
    ("{% for a in case.events %}{% for b in case.events %}{% for c in case.events %}"
     "{% endfor %}{% endfor %}{% endfor %}", "loops nested more than 2 deep"),
])
def test_letter_templates_cannot_reach_outside_or_nest_deeply(
        tmp_path: Path, template: str, message: str) -> None:
    overlay = _overlay(tmp_path)
    _letter(overlay, template)
    r = CliRunner().invoke(main, ["letter", ACME, "--kb", str(overlay)])
    assert r.exit_code == 1 and message in r.output and r.output.count("\n") == 1
    assert any(message in m for m in _lint(overlay))


@pytest.mark.parametrize(("template", "message"), [
    ("{% for i in range(10**9) %}x{% endfor %}", "range() longer than 1000"),
    ("{{ 'x' * 10**9 }}", "repetition too large"),
    ("{{ [1] * 10**8 }}", "repetition too large"),
    ("{{ 2 ** 100000 }}", "exponent too large"),
    ("{% for i in range(1000) %}{% for j in range(1000) %}xxxxxxxxx{% endfor %}{% endfor %}",
     "longer than 100000 characters"),
    ("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", "failed"),
])
def test_letter_templates_are_bounded(tmp_path: Path, template: str, message: str) -> None:
    overlay = _overlay(tmp_path)
    _letter(overlay, template)
    r = CliRunner().invoke(main, ["letter", ACME, "--kb", str(overlay)])
    assert r.exit_code == 1, r.output
    assert message in r.output and r.output.count("\n") == 1


def _manifest(overlay: Path, schema_path: str) -> None:
    text = (ROOT / "kb" / "kb.yaml").read_text(encoding="utf-8")
    (overlay / "kb.yaml").write_text(text.replace("case_schema: case.schema.json",
                                                  f"case_schema: {schema_path}"),
                                     encoding="utf-8")


@pytest.mark.parametrize("where", ["../outside.json", "/etc/hostname", "sub/../../x.json"])
def test_case_schema_stays_inside_the_overlay(tmp_path: Path, where: str) -> None:
    overlay = _overlay(tmp_path)
    shutil.copy(ROOT / "kb" / "case.schema.json", tmp_path / "outside.json")
    _manifest(overlay, where)
    with pytest.raises(partways.KBError, match="lies outside the knowledge base's folder"):
        partways.load_kb(overlays=[overlay])
    assert any("lies outside" in m for m in _lint(overlay))


@pytest.mark.parametrize(("pattern", "problem"), [
    ("^(a+)+$", "a repeat inside a repeat"),
    ("^([a-zA-Z]+\\s?)*$", "a repeat inside a repeat"),
    ("^(a|aa)*$", "an alternation inside a repeat"),
    ("^(x)\\1$", "backreferences"),
    (".*.*.*x", "more than 2 unbounded repeats"),
])
def test_catastrophic_patterns_in_an_overlay_schema_are_refused(
        tmp_path: Path, pattern: str, problem: str) -> None:
    overlay = _overlay(tmp_path)
    schema = json.loads((ROOT / "kb" / "case.schema.json").read_text(encoding="utf-8"))
    schema["properties"]["client"]["pattern"] = pattern
    (overlay / "case.schema.json").write_text(json.dumps(schema), encoding="utf-8")
    _manifest(overlay, "case.schema.json")
    with pytest.raises(partways.KBError, match=problem) as exc:
        partways.load_kb(overlays=[overlay])
    assert "properties.client.pattern" in str(exc.value)
    assert any(problem in m for m in _lint(overlay))


def test_a_safe_pattern_in_an_overlay_schema_works(tmp_path: Path) -> None:
    overlay = _overlay(tmp_path)
    schema = json.loads((ROOT / "kb" / "case.schema.json").read_text(encoding="utf-8"))
    schema["properties"]["client"]["pattern"] = "^[A-Z][A-Za-z ]+$"
    (overlay / "case.schema.json").write_text(json.dumps(schema), encoding="utf-8")
    _manifest(overlay, "case.schema.json")
    kb = partways.load_kb(overlays=[overlay])
    assert partways.assess(ACME, kb).decision
    with pytest.raises(partways.CaseError, match="client"):
        partways.assess_data({"client": "a" * 41 + "!", "as_of": "2026-01-01"}, kb)


@pytest.mark.parametrize("tagged", [
    "!!python/object:os.system {a: 1}", "!!python/tuple [1, 2]", "!!set {a, b}",
    "!!python/object/apply:os.system [echo]",
])
def test_python_tags_in_an_overlay_are_refused_and_linted(tmp_path: Path, tagged: str) -> None:
    overlay = _overlay(tmp_path)
    params = overlay / "parameters.yaml"
    params.write_text(params.read_text(encoding="utf-8") + f"extra: {tagged}\n",
                      encoding="utf-8")
    with pytest.raises(partways.KBError, match="unsupported YAML tag"):
        partways.load_kb(overlays=[overlay])
    assert any("unsupported YAML tag" in m for m in _lint(overlay))


def test_case_without_as_of_uses_today_and_says_so(kb: partways.KnowledgeBase) -> None:
    import datetime as dt

    a = partways.assess_data({"client": "A"}, kb, today=dt.date(2026, 5, 1))
    assert a.case.as_of == dt.date(2026, 5, 1)
    doc = (ROOT / "docs" / "SECURITY.md").read_text(encoding="utf-8")
    assert "A case without `as_of` is assessed as of today's date" in doc


@pytest.mark.parametrize("char", ["\x1b", "\x07", "\u202e", "\x85"])
# raw control characters are refused by YAML itself; these arrive as escapes ("\u001b")
def test_control_characters_in_overlay_texts_are_refused_and_linted(
        tmp_path: Path, char: str) -> None:
    overlay = _overlay(tmp_path)
    steps = overlay / "concepts" / "steps.yaml"
    text = steps.read_text(encoding="utf-8")
    title = "en: Require a deposit before new work"
    escaped = f"\\u{ord(char):04x}"
    steps.write_text(text.replace(title, f'en: "Require a deposit{escaped}]2;pwned"'),
                     encoding="utf-8")
    with pytest.raises(partways.KBError, match=f"U\\+{ord(char):04X}") as exc:
        partways.load_kb(overlays=[overlay])
    assert "steps.yaml:6" in str(exc.value)
    assert "items.require_deposit.title.en" in str(exc.value)
    assert any(f"U+{ord(char):04X}" in m for m in _lint(overlay))


def test_newlines_and_tabs_in_overlay_texts_are_kept(tmp_path: Path) -> None:
    overlay = _overlay(tmp_path)
    steps = overlay / "concepts" / "steps.yaml"
    text = steps.read_text(encoding="utf-8")
    steps.write_text(text.replace("en: Require a deposit before new work",
                                  'en: "Require a deposit\\tbefore\\nnew work"'),
                     encoding="utf-8")
    kb = partways.load_kb(overlays=[overlay])
    assert kb.concepts["step"]["require_deposit"].title["en"] == "Require a deposit\tbefore\nnew work"
