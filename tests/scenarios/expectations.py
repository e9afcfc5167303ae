"""Check one scenario of the corpus against its expected answer (expected.yaml).

Shared by tests/test_scenarios.py (one test per scenario) and tools/scenario_table.py (the
Markdown table of expected vs actual). Everything goes through the public API
(``partways.assess``) and, for the texts, the public CLI (``partways assess`` / ``plan``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import yaml
from click.testing import CliRunner

import partways
from partways.cli.main import main

HERE = Path(__file__).resolve().parent
CASES = HERE / "cases"
EXPECTED_FILE = HERE / "expected.yaml"


def load_expected() -> dict[str, Any]:
    """The whole expected.yaml (``new_concepts`` and ``scenarios``)."""
    data: dict[str, Any] = yaml.safe_load(EXPECTED_FILE.read_text(encoding="utf-8"))
    return data


def case_files() -> list[Path]:
    return sorted(p for p in CASES.iterdir() if p.suffix in (".yaml", ".json"))


@dataclass
class Outcome:
    """What one scenario gave, and every expectation it missed."""

    name: str
    expected: str
    actual: str                       # the decision, or "refused"
    refused: str | None = None        # the one-line case error, when the case was refused
    missing: list[str] = field(default_factory=list)    # expected steps not present
    unwanted: list[str] = field(default_factory=list)   # steps present that must not be
    problems: list[str] = field(default_factory=list)   # every failed check, in words
    other: list[str] = field(default_factory=list)      # short form of the checks that are
                                                        # neither the decision nor a step

    def fail(self, message: str, short: str | None = None) -> None:
        """A failed check that is not a missing or unwanted step."""
        self.problems.append(message)
        self.other.append(short or message)

    @property
    def passed(self) -> bool:
        return not self.problems


def _cli(args: list[str]) -> str:
    result = CliRunner().invoke(main, args)
    if result.exit_code != 0:
        return f"<exit {result.exit_code}> {result.output}"
    return result.output


def _guidance_behind(kb: partways.KnowledgeBase, a: partways.Assessment) -> set[str]:
    """Guidance ids of the rules that concluded the decision (and of its ancestors), of the
    findings, of the next steps and of the plan steps."""
    ids: set[str] = set()
    g = a.graph
    if a.decision_node is not None:
        for node in {a.decision_node, *nx.ancestors(g, a.decision_node)}:
            data = g.nodes[node]
            for rid in {data.get("rule"), *data.get("rules", ())}:
                if rid and rid != "metric":
                    with contextlib.suppress(partways.QueryError):
                        ids.update(kb.rule(rid).guidance)
    for s in a.signals:
        ids.update(s.guidance)
    for st in a.next_steps:
        ids.update(st.guidance)
    if a.plan is not None:
        for ps in a.plan.steps:
            ids.update(ps.guidance)
    return ids


def _uncounted_has(data: dict[str, Any], etype: str, count: int) -> bool:
    """Does the assessment JSON report ``count`` events of ``etype`` as not counted?"""
    unc = data.get("uncounted")
    if isinstance(unc, dict):
        v = unc.get(etype)
        return v == count or (isinstance(v, dict) and v.get("count") == count)
    if isinstance(unc, list):
        for entry in unc:
            if isinstance(entry, dict) and entry.get("count") == count and \
                    etype in {str(x) for x in entry.values()}:
                return True
    return False


def check(name: str, spec: dict[str, Any], kb: partways.KnowledgeBase) -> Outcome:
    """Assess ``cases/<name>`` and compare it with ``spec``."""
    path = CASES / name
    out = Outcome(name, spec["decision"], "?")
    p = out.problems
    try:
        a = partways.assess(path, kb)
    except partways.CaseError as exc:
        out.actual = "refused"
        out.refused = str(exc).splitlines()[0]
        p.append(f"case refused: {out.refused}")
        return out
    except partways.PartwaysError as exc:
        out.actual = "error"
        out.refused = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
        p.append(f"assessment failed: {out.refused}")
        return out
    out.actual = a.decision
    if a.decision != spec["decision"]:
        p.append(f"decision: expected {spec['decision']}, got {a.decision}")

    findings = {s.id: s for s in a.signals}
    for want in spec.get("signals", []):
        got = findings.get(want["id"])
        if got is None:
            out.fail(f"signal {want['id']}: expected {want.get('severity')} "
                     f"{want.get('status')}, not found (found: {sorted(findings)})",
                     f"signal {want['id']} not found")
            continue
        for key in ("severity", "status"):
            if key in want and getattr(got, key) != want[key]:
                out.fail(f"signal {want['id']}: {key} expected {want[key]}, "
                         f"got {getattr(got, key)}")
    for sid in spec.get("signals_absent", []):
        got = findings.get(sid)
        if got is not None and got.severity in ("serious", "critical"):
            out.fail(f"signal {sid}: expected no serious/critical finding, "
                     f"got {got.severity} ({got.status})")

    steps = [s.id for s in a.next_steps]
    ns = spec.get("next_steps") or {}
    for sid in ns.get("must", []):
        if sid not in steps:
            out.missing.append(sid)
            p.append(f"next step {sid}: expected, not among {steps}")
    for sid in ns.get("must_not", []):
        if sid in steps:
            out.unwanted.append(sid)
            p.append(f"next step {sid}: must not be offered, but is (steps: {steps})")
    if "first_not" in ns and steps and steps[0] == ns["first_not"]:
        out.unwanted.append(f"{ns['first_not']} (first)")
        p.append(f"next step {ns['first_not']}: must not come first (steps: {steps})")
    for sid, status in (ns.get("status") or {}).items():
        got_step = next((s for s in a.next_steps if s.id == sid), None)
        if got_step is not None and got_step.status != status:
            out.fail(f"next step {sid}: status expected {status}, got {got_step.status}")

    if "plan" in spec:
        _check_plan(spec["plan"], a, kb, path, out)
    _check_contract(a, out)
    if spec.get("letter") and a.plan is not None:
        letter = _cli(["letter", str(path)])
        if spec["letter"].get("mentions_end_on") and a.plan.end_on is not None and \
                not _names_date(letter, a.plan.end_on):
            out.fail(f"letter: does not name the plan's end date {a.plan.end_on}",
                     "letter does not name the plan's end date")
        for s in spec["letter"].get("has", []):
            if s not in letter:
                out.fail(f"letter: expected to contain {s!r}")

    text = spec.get("text")
    if text:
        shown = _cli(["assess", str(path)])
        for s in text.get("has", []):
            if s.lower() not in shown.lower():
                out.fail(f"assess text: expected to contain {s!r}")
        for s in text.get("lacks", []):
            if s.lower() in shown.lower():
                out.fail(f"assess text: must not contain {s!r}")

    if spec.get("uncounted"):
        data = json.loads(a.to_json())
        for etype, n in spec["uncounted"].items():
            if not _uncounted_has(data, etype, n):
                out.fail(f"uncounted: expected {n} {etype} reported as not counted "
                         f"(JSON 'uncounted': {data.get('uncounted')!r})")

    behind = _guidance_behind(kb, a)
    lacking = sorted(set(spec.get("guidance", [])) - behind)
    if lacking:
        out.fail(f"guidance: {lacking} not behind the answer (found {sorted(behind)})",
                 f"guidance {lacking} not behind the answer")
    return out


def _check_contract(a: partways.Assessment, out: Outcome) -> None:
    """The JSON contract holds on every scenario (shared/CASE_FORMAT.md): guidance on each
    signal, step and plan step; plan dates in order, told before the end."""
    items = [*a.signals, *a.next_steps, *(a.plan.steps if a.plan else ())]
    bare = sorted({i.id for i in items if not i.guidance})
    if bare:
        out.fail(f"contract: no guidance ids on {bare}")
    if a.plan is None:
        return
    plan = a.plan
    dates = [s.date for s in plan.steps]
    if dates != sorted(dates):
        out.fail("contract: plan steps not in date order")
    if plan.notify_on is not None and plan.notify_on < a.case.as_of:
        out.fail(f"contract: the client is told ({plan.notify_on}) before as_of")
    if plan.notify_on and plan.end_on and plan.end_on < plan.notify_on:
        out.fail(f"contract: the end ({plan.end_on}) comes before the client is told "
                 f"({plan.notify_on})")


def _check_plan(want: dict[str, Any] | None, a: partways.Assessment,
                kb: partways.KnowledgeBase, path: Path, out: Outcome) -> None:
    p = out.problems
    if want is None:
        if a.plan is not None:
            out.fail("plan: expected none")
        return
    if a.plan is None:
        out.fail("plan: expected a plan, got none")
        out.missing.extend(f"plan:{s}" for s in want.get("must", []))
        return
    plan = a.plan
    as_of = a.case.as_of
    ids = [s.id for s in plan.steps]
    first: dict[str, dt.date] = {}
    for s in plan.steps:
        first.setdefault(s.id, s.date)
    for sid in want.get("must", []):
        if sid not in ids:
            out.missing.append(f"plan:{sid}")
            p.append(f"plan step {sid}: expected, not in the plan")
    for sid in want.get("must_not", []):
        if sid in ids:
            out.unwanted.append(f"plan:{sid}")
            p.append(f"plan step {sid}: must not be in the plan")
    for sid in want.get("before_notify", []):
        if sid in first and (plan.notify_on is None or not first[sid] < plan.notify_on):
            out.fail(f"plan step {sid}: dated {first[sid]}, must come before the client "
                     f"is told ({plan.notify_on})")
    if "notice_days" in want:
        if plan.notify_on is None or plan.end_on is None:
            out.fail("plan: no notify/end dates to measure the notice")
        elif (plan.end_on - plan.notify_on).days != want["notice_days"]:
            out.fail(f"plan: notice expected {want['notice_days']} days, got "
                     f"{(plan.end_on - plan.notify_on).days} ({plan.notify_on} -> "
                     f"{plan.end_on})")
    if "end_within_days" in want and plan.end_on is not None and \
            (plan.end_on - as_of).days > want["end_within_days"]:
        out.fail(f"plan: end expected within {want['end_within_days']} days of {as_of}, "
                 f"got {plan.end_on}")
    if "end_on_or_after" in want:
        floor = want["end_on_or_after"]
        floor = floor if isinstance(floor, dt.date) else dt.date.fromisoformat(str(floor))
        if plan.end_on is None or plan.end_on < floor:
            out.fail(f"plan: end expected on or after {floor}, got {plan.end_on}")
    for sid, days in (want.get("step_within_days") or {}).items():
        if sid in first and (first[sid] - as_of).days > days:
            out.fail(f"plan step {sid}: expected within {days} days of {as_of}, "
                     f"dated {first[sid]}")
    if any(k in want for k in ("text_has", "text_lacks", "notice_says")):
        shown = _cli(["plan", str(path)])
        for s in want.get("text_has", []):
            if s not in shown and not (_ISO.fullmatch(s) and
                                       _names_date(shown, dt.date.fromisoformat(s))):
                out.fail(f"plan text: expected to contain {s!r}")
        for s in want.get("text_lacks", []):
            if s in shown:
                out.fail(f"plan text: must not contain {s!r}")
        if "notice_says" in want:
            _check_notice_text(int(want["notice_says"]), shown, kb, out)


_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")


def _names_date(text: str, day: dt.date) -> bool:
    """Does ``text`` name ``day``, as an ISO date or as the reader's language writes it
    (the English text commands show dates as "14 October 2027")?"""
    from partways.render.lang import lang_of

    return day.isoformat() in text or lang_of("en").date(day) in text


def _check_notice_text(days: int, shown: str, kb: partways.KnowledgeBase,
                       out: Outcome) -> None:
    concept = kb.concept("plan_step", "give_notice")
    title = kb.text(concept.title, "en") if concept else "Give enough notice"
    lines = shown.splitlines()
    at = next((i for i, line in enumerate(lines) if title in line), None)
    if at is None:
        out.fail(f"plan text: no notice step ({title!r})")
        return
    block = " ".join(lines[at:at + 2])
    if not re.search(rf"\b{days}\b", block):
        out.fail(f"plan text: the notice step does not state {days} days: {block.strip()!r}",
                 f"notice step does not state {days} days")
    if days != 30 and re.search(r"\b30\b", block):
        out.fail(f"plan text: the notice step says 30 days for a {days}-day notice: "
                 f"{block.strip()!r}", f"notice step says 30 days for a {days}-day notice")
