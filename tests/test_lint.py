"""Every lint check: a broken KB that trips it, and the clean KBs that don't.

The broken KBs are small overlays written on top of tests/fixtures/kb_mini (a tiny,
complete KB that lints clean), so each one breaks exactly one thing.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import partways
from partways.cli.main import main
from partways.lint import CHECKS, lint_kb

from _paths import FIXTURES, ROOT

MINI = FIXTURES / "kb_mini"
MINI_EXAMPLES = MINI / "rule_examples"
SHARED_GUIDANCE = ROOT.parent / "shared" / "GUIDANCE.md"

TEXTS = "{en: Text, ar: نص, fa: متن}"


def rule(rid: str, when: str, then: str, *, guidance: str = "[MINI-01]",
         sources: str = "[{id: S1}]", title: str = TEXTS) -> str:
    """A rule file with every required key; ``when``/``then`` in YAML flow style."""
    return (f"- id: {rid}\n  title: {title}\n  description: {TEXTS}\n"
            f"  guidance: {guidance}\n  sources: {sources}\n"
            f"  when: {when}\n  then: {then}\n")


# (check id, severity, files of the overlay, fragment the message must contain)
BROKEN = [
    ("schema", "error", {"rules/x.yaml": rule("sig.x", "[{fact: signal}]", "{fact: signal}")
                         .replace("  when:", "  whenn:")}, "whenn"),
    ("schema", "error", {"parameters.yaml": "parameters:\n  a: {default: 1, rationale: "
                         f"{TEXTS}}}\n  a: {{default: 2, rationale: {TEXTS}}}\n"},
     "duplicate key 'a'"),
    ("ids", "error", {"rules/x.yaml": rule("nolayer", "[{fact: signal, as: s}]",
                                           "{fact: next_step, step: talk}")},
     "needs a layer prefix"),
    ("ids", "error", {"parameters/a.yaml": f"parameters:\n  late_limit: {{default: 3, rationale: {TEXTS}}}\n",
                      "parameters/b.yaml": f"parameters:\n  late_limit: {{default: 4, rationale: {TEXTS}}}\n"},
     "duplicate parameter 'late_limit'"),
    ("guidance", "error", {"rules/x.yaml": rule("sig.x", "[{fact: signal, as: s}]",
                                                "{fact: next_step, step: talk}",
                                                guidance="[MINI-99]")},
     "unknown guidance MINI-99"),
    ("guidance", "warning", {"guidance.yaml": f"guidance:\n  MINI-07: {{title: {TEXTS}}}\n"},
     "MINI-07 is cited by no rule"),
    ("sources", "error", {"rules/x.yaml": rule("sig.x", "[{fact: signal, as: s}]",
                                               "{fact: next_step, step: talk}",
                                               sources="[{id: S9}]")},
     "unknown source S9"),
    ("texts", "error", {"rules/x.yaml": rule("sig.x", "[{fact: signal, as: s}]",
                                             "{fact: next_step, step: talk}",
                                             title="{en: Text, ar: ''}")},
     "title has no text in ar, fa"),
    ("texts", "error", {"ui.yaml": "ui:\n  decision: {en: Decision, ar: القرار}\n"},
     "interface text 'decision' has no text in fa"),
    ("references", "error", {"rules/x.yaml": rule("sig.x", "[{fact: event, as: e, where: {colour: red}}]",
                                                  "{fact: next_step, step: talk}")},
     "'event.colour', which 'event' does not have"),
    ("references", "error", {"rules/x.yaml": rule("sig.x", "[{fact: evnt, as: e}]",
                                                  "{fact: next_step, step: talk}")},
     "unknown fact type 'evnt'; did you mean 'event'?"),
    ("parameters", "error", {"rules/x.yaml": rule("sig.x", "[{fact: metric, as: m, where: {value: {gte: $nope}}}]",
                                                  "{fact: next_step, step: talk}")},
     "undefined parameter '$nope'"),
    ("parameters", "warning", {"parameters/extra.yaml": f"parameters:\n  spare: {{default: 1, rationale: {TEXTS}}}\n"},
     "parameter 'spare' is defined but no rule or metric uses it"),
    ("data-flow", "error", {"vocabulary.yaml": "fact_types:\n  orphan: {derived: true, layer: signal, fields: {name: {type: string}}}\n",
                            "rules/x.yaml": rule("sig.x", "[{fact: orphan, as: o}]",
                                                 "{fact: next_step, step: talk}")},
     "matches 'orphan', which nothing produces"),
    ("data-flow", "warning", {"vocabulary.yaml": "fact_types:\n  unused: {derived: true, layer: signal, fields: {name: {type: string}}}\n",
                              "rules/x.yaml": rule("sig.x", "[{fact: signal, as: s}]",
                                                   "{fact: unused, name: x}")},
     "concludes 'unused', which no rule matches and the outputs do not show"),
    ("table-values", "error", {"tables/more.yaml": "fact: fix\nrows:\n  - {signal: ghost, step: talk}\n",
                               "rules/x.yaml": rule("step.x", "[{fact: fix, as: f}, {fact: signal, as: s, where: {name: '@f.signal'}}]",
                                                    "{fact: next_step, step: talk}")},
     "signal 'ghost' is never concluded"),
    ("unreachable", "error", {"rules/x.yaml": rule("sig.x", "[{fact: event, as: e, where: {type: lates}}]",
                                                   "{fact: next_step, step: talk}")},
     "never type = 'lates'; did you mean 'late'?"),
    ("unreachable", "error", {"rules/x.yaml": rule("sig.x", "[{fact: metric, as: m, where: {value: {gt: 5, lt: 3}}}]",
                                                   "{fact: next_step, step: talk}")},
     "contradict each other"),
    # across chained rules: no rule ever concludes a signal named 'polite'
    ("unreachable", "error", {"rules/x.yaml": rule("sig.x", "[{fact: signal, as: s, where: {name: polite}}]",
                                                   "{fact: next_step, step: talk}")},
     "'signal.name' is one of 'late', 'rude', never name = 'polite'"),
    # ... and so a rule that needs that rule's conclusion is dead too
    ("unreachable", "error", {"vocabulary.yaml": "fact_types:\n  praise: {derived: true, layer: signal, fields: {name: {type: string}}}\n",
                              "rules/x.yaml": rule("sig.x", "[{fact: signal, as: s, where: {name: polite}}]",
                                                   "{fact: praise, name: x}")
                              + rule("sig.y", "[{fact: praise, as: p}]", "{fact: next_step, step: talk}")},
     "every rule that concludes 'praise' can never fire (sig.x)"),
    ("unreachable", "error", {"rules/x.yaml": rule("sig.x", "[{fact: next_step, as: n, where: {signal: late, step: {neq: x}}}, {fact: candidate, as: c, where: {rank: 'high'}}]",
                                                   "{fact: plan_step, name: tell}")},
     "'candidate.rank' is one of"),
    ("cycles", "warning", {"rules/x.yaml": rule("sig.x", "[{fact: next_step, as: n}]",
                                                "{fact: next_step, step: '@n.step'}")},
     "rules sig.x -> sig.x feed each other's conclusions back in"),
    ("cycles", "error", {"rules/x.yaml": rule("sig.x", "[{fact: candidate, as: c}, {not: {fact: decision}}]",
                                              "{fact: signal, name: late, severity: serious}")},
     "cycle through negation"),
    ("conflicts", "error", {"rules/x.yaml": rule("dec.calm", "[{fact: signal, as: x, where: {severity: critical}}]",
                                                 "{fact: candidate, value: watch, rank: 2}",
                                                 guidance="[MINI-04]")},
     "conclude different decisions from the same premises"),
    ("letters", "error", {"letters/email.yaml": "channel: email\ntitle: {en: Mail, ar: بريد, fa: ایمیل}\n"
                          "guidance: [MINI-01]\ntemplates:\n  en: 'Dear {{ client }},'\n"},
     "letter 'email' has no template in ar, fa"),
    ("letters", "error", {"letters/email.yaml": "channel: email\ntitle: {en: Mail, ar: بريد, fa: ایمیل}\n"
                          "guidance: [MINI-01]\ntemplates:\n  en: '{% if %}'\n  ar: x\n  fa: x\n"},
     "letter template 'email' (en)"),
    ("letters", "warning", {"letters/email.yaml": "channel: email\ntitle: {en: Mail, ar: بريد, fa: ایمیل}\n"
                            "guidance: [MINI-01]\ntemplates:\n  en: Hi\n  ar: أهلًا\n  fa: سلام\n"},
     "has a en template but no en grievance word list"),
    ("glossary", "warning", {"glossary.yaml": "glossary:\n  red_flag:\n    ar: {use: علامة حمراء, avoid: [مؤشر تحذيري]}\n",
                             "ui.yaml": "ui:\n  flag: {en: Flag, ar: مؤشر تحذيري واحد, fa: پرچم}\n  ok: {en: Ok, ar: مؤشر تحذيريّ, fa: خوب}\n"},
     "'مؤشر تحذيري' (ar): the glossary's term is 'علامة حمراء'"),
    # a flag of a severity no decision rule reads: alone in a case, it decides nothing
    ("undecided", "warning", {"rules/x.yaml": rule("sig.x", "[{fact: metric, as: m, where: {name: late_events, value: {gte: 1}}}]",
                                                   "{fact: signal, name: slow, severity: minor}")},
     "a 'signal' with name = 'slow', severity = 'minor', alone in an otherwise empty case, "
     "leads no rule to a 'candidate': the decision falls silently to the default 'keep'"),
    ("examples", "warning", {"rules/x.yaml": rule("sig.x", "[{fact: signal, as: s}]",
                                                  "{fact: next_step, step: talk}")},
     "rule 'sig.x' has no examples"),
    # an interface text in ui.yaml and again in ui/: only the later file's text ever shows
    ("ids", "error", {"ui.yaml": f"ui:\n  banner: {TEXTS}\n",
                      "ui/more.yaml": f"ui:\n  other: {TEXTS}\n  banner: {TEXTS}\n"},
     "duplicate interface text 'banner'"),
]


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_the_clean_fixture_lints_clean() -> None:
    report = lint_kb(MINI)
    assert report.problems == (), "\n".join(map(str, report.problems))
    assert report.ok and len(report.checks) == len(CHECKS)


def test_the_shipped_kb_lints_clean() -> None:
    report = lint_kb()
    assert report.problems == (), "\n".join(map(str, report.problems))


@pytest.mark.parametrize(("check", "severity", "files", "fragment"), BROKEN,
                         ids=[f"{c}-{i}" for i, (c, *_rest) in enumerate(BROKEN)])
def test_a_broken_kb_trips_the_check(tmp_path: Path, check: str, severity: str,
                                     files: dict[str, str], fragment: str) -> None:
    overlay = _write(tmp_path / "overlay", files)
    report = lint_kb(MINI, overlays=[overlay], examples=[MINI_EXAMPLES])
    hits = [p for p in report.problems if p.check == check and fragment in p.message]
    assert hits, f"no [{check}] problem with {fragment!r}:\n" + "\n".join(map(str, report.problems))
    assert hits[0].severity == severity
    src = hits[0].source
    assert src is not None and src.path is not None and src.path.startswith(str(overlay))
    assert src.line is not None, "problems say file and line"
    assert report.ok == (not report.errors)


def test_every_check_has_a_broken_fixture() -> None:
    tripped = {c for c, *_ in BROKEN}
    assert tripped >= {c.id for c in CHECKS} - {"examples"} | {"examples"}
    for c in CHECKS:
        assert c.description and c.severity in ("error", "warning"), c


def test_examples_of_an_unknown_rule_and_a_missing_directory(tmp_path: Path) -> None:
    ex = _write(tmp_path / "ex", {"old.yaml": "rule: sig.renamed\nexamples: []\n"})
    report = lint_kb(MINI, examples=[MINI_EXAMPLES, ex])
    assert [p.message for p in report.problems] == [
        "examples for unknown rule 'sig.renamed'; did you mean 'sig.rude'?"]
    notice = lint_kb(MINI, examples=[]).problems
    assert [p.severity for p in notice] == ["notice"] and "not checked" in notice[0].message


def test_an_unloadable_kb_is_one_error(tmp_path: Path) -> None:
    report = lint_kb(tmp_path)
    assert [p.message for p in report.errors] == ["a knowledge base needs a kb.yaml manifest"]


def test_a_positive_loop_broken_by_value_domains_is_no_cycle(tmp_path: Path) -> None:
    # next_step 'talk' -> next_step 'write_contract': the conclusion never matches back
    overlay = _write(tmp_path / "o", {"rules/x.yaml": rule(
        "step.after", "[{fact: next_step, as: n, where: {step: talk}}]",
        "{fact: next_step, step: write_contract}", guidance="[MINI-03]")})
    report = lint_kb(MINI, overlays=[overlay], check_examples=False)
    assert not [p for p in report.problems if p.check == "cycles"], report.problems


def test_scope_excuses_an_uncited_guidance_id() -> None:
    kb = partways.load_kb(MINI)
    assert kb.guidance["MINI-06"]["scope"] == "portfolio"
    assert "MINI-06" not in {g for r in kb.rules for g in r.guidance}


def test_output_is_deterministic(tmp_path: Path) -> None:
    files: dict[str, str] = {}
    for _c, _s, f, _m in BROKEN[2:8]:
        for k, v in f.items():
            files[k] = files.get(k, "") + v if k.startswith("rules/") else v
    overlay = _write(tmp_path / "o", files)
    a = lint_kb(MINI, overlays=[overlay]).to_dict()
    b = lint_kb(MINI, overlays=[overlay]).to_dict()
    assert a == b and a["errors"] > 3


# --------------------------------------------------------------------------- CLI


def test_cli_lint_clean_exits_0() -> None:
    result = CliRunner().invoke(main, ["kb", "lint", "--base", str(MINI)])
    assert result.exit_code == 0, result.output
    assert result.output == f"lint passed: 0 error(s), 0 warning(s) from {len(CHECKS)} checks\n"


def test_cli_lint_errors_exit_1_with_file_and_line(tmp_path: Path) -> None:
    overlay = _write(tmp_path / "o", BROKEN[4][2])
    result = CliRunner().invoke(main, ["kb", "lint", "--base", str(MINI), "--kb", str(overlay)])
    assert result.exit_code == 1
    assert re.search(r"o/rules/x\.yaml:1: error \[guidance\] rule 'sig\.x' cites unknown "
                     r"guidance MINI-99", result.output), result.output
    assert result.output.splitlines()[-1].startswith("lint failed: 1 error(s)")
    assert "Traceback" not in result.output


def test_cli_lint_json(tmp_path: Path) -> None:
    overlay = _write(tmp_path / "o", BROKEN[4][2])
    result = CliRunner().invoke(main, ["kb", "lint", "--base", str(MINI), "--kb", str(overlay),
                                       "--format", "json"])
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["errors"] == 1
    assert {"check", "severity", "message", "path", "line"} <= set(data["problems"][0])


def test_guidance_registry_matches_shared_guidance(kb: partways.KnowledgeBase) -> None:
    if not SHARED_GUIDANCE.is_file():
        pytest.skip("../shared/GUIDANCE.md is not beside this checkout")
    listed = set(re.findall(r"^\|\s*([A-Z]+-\d+)\s*\|", SHARED_GUIDANCE.read_text("utf-8"),
                            re.MULTILINE))
    assert listed, "no guidance ids found in GUIDANCE.md"
    assert set(kb.guidance) == listed


UNFITTED = FIXTURES / "overlay_unfitted"


def test_undecided_a_serious_flag_no_repair_fits(tmp_path: Path) -> None:
    """The shipped KB decides a serious flag no repair fits (dec.remediate.unrepaired);
    without that rule the overlay's flag would fall silently to the default."""
    import shutil

    with_rule = lint_kb(overlays=[UNFITTED])
    assert not [p for p in with_rule.problems if p.check == "undecided"], with_rule.problems
    base = tmp_path / "kb"
    shutil.copytree(ROOT / "kb", base)
    (base / "rules" / "decision" / "remediate_unrepaired.yaml").unlink()
    without = lint_kb(base, overlays=[UNFITTED], check_examples=False)
    hits = [p for p in without.problems if p.check == "undecided"]
    assert [p.message for p in hits] == [
        "a 'active' with name = 'misled_once', severity = 'serious', alone in an otherwise "
        "empty case, leads no rule to a 'candidate': the decision falls silently to the "
        "default 'keep' (add a rule that decides this state)"]
    src = hits[0].source
    assert src is not None and str(src.path).startswith(str(UNFITTED)), src  # the flag's rule
    # and the shipped KB without the overlay: every flag it can raise is decided
    alone = lint_kb(base, check_examples=False)
    assert not [p for p in alone.problems if p.check == "undecided"], alone.problems


def test_a_ui_key_in_two_files_names_both_files_and_lines(tmp_path: Path) -> None:
    overlay = _write(tmp_path / "o", {
        "ui/a.yaml": f"ui:\n  banner: {TEXTS}\n",
        "ui/b.yaml": f"ui:\n  other: {TEXTS}\n  banner: {TEXTS}\n"})
    result = CliRunner().invoke(main, ["kb", "lint", "--base", str(MINI), "--kb", str(overlay)])
    assert result.exit_code == 1
    assert re.search(r"o/ui/b\.yaml:3: error \[ids\] duplicate interface text 'banner' \(also "
                     r"at \S*o/ui/a\.yaml:2\); the later one silently wins", result.output), \
        result.output


def test_an_overlay_may_replace_an_interface_text(tmp_path: Path) -> None:
    # the same key in the base KB and in an overlay (in ui.yaml or under ui/) is an override
    for rel in ("ui.yaml", "ui/texts.yaml"):
        overlay = _write(tmp_path / rel.replace("/", "_"),
                         {rel: "ui:\n  decision: {en: Verdict, ar: الحكم, fa: حکم}\n"})
        report = lint_kb(MINI, overlays=[overlay], examples=[MINI_EXAMPLES])
        assert not [p for p in report.problems if p.check == "ids"], report.problems
        kb = partways.load_kb(MINI, overlays=[overlay])
        assert kb.ui_text("decision", "en") == "Verdict" and kb.ui_text("decision", "fa") == "حکم"
