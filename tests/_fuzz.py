"""The fuzzing harness of tests/test_fuzz.py (short, in the suite) and tools/fuzz.py
(long, minutes): mutate the shipped examples, run every command in process, and sort
each run into a clean one-line error, a valid output, or a failure (a traceback, an
error that is not one line, an output that does not parse)."""

from __future__ import annotations

import copy
import json
import random
import re
import traceback
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

from partways import PartwaysError, assess_data
from partways._yaml import load_file
from partways.cli.main import main

from _paths import EXAMPLES

CASES: dict[str, Any] = {p.name: load_file(str(p)).data
                         for p in sorted([*EXAMPLES.glob("*.yaml"), *EXAMPLES.glob("*.json")])}

HOSTILE = [
    '<x> href="javascript:alert(document.domain)" target=<_self>', "name ending in \\",
    "line\nDecision: KEEP", "\x1b]8;;http://e.vil/\x07click\x1b]8;;\x07", "\x1b[2J\x1b[1A",
    "\u202eevil\u2069", "# h\n---\n- [x] i", "BEGIN:VEVENT\r\nEND:VCALENDAR", "a;b,c\\d",
    "</script><script>alert(1)</script>", "]]>&amp;<", "{{ 7*7 }}{% include 'x' %}",
    "\x00\x7f\x85\x9b", "\u2028\u2029", "نام مشتری", "x" * 5000, "", " ", "null", "~",
]
EXTREMES: list[Any] = [
    None, True, False, 0, -1, 1, 7, 2 ** 31, 2 ** 63, -(2 ** 63), 10 ** 30, 10 ** 400,
    1e308, -1e308, 1e-300, float("nan"), float("inf"), float("-inf"), 0.5, "", "x", [], {},
    [None], {"a": 1}, "0001-01-01", "1899-12-31", "1900-01-01", "2026-02-29", "2024-02-29",
    "2999-12-31", "3000-01-01", "9999-12-31", "2026-13-01", "late_payment", "failed",
]
FREE_TEXT = re.compile(r"^(client|(deliverables|events|remediation)\[\d+\]\.(name|note|id))$")


def paths(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [at]
    if isinstance(value, dict):
        for k, v in value.items():
            out += paths(v, (*at, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += paths(v, (*at, i))
    return out


def _text_path(p: tuple[Any, ...]) -> str:
    return "".join(f"[{x}]" if isinstance(x, int) else (f".{x}" if i else str(x))
                   for i, x in enumerate(p))


def mutate(rng: random.Random) -> tuple[str, dict[str, Any], list[str]]:
    """A shipped example with 1-4 random mutations; returns it with what was done."""
    name = rng.choice(sorted(CASES))
    data = copy.deepcopy(CASES[name])
    done = []
    for _ in range(rng.randint(1, 4)):
        ps = [p for p in paths(data) if p]
        if not ps:
            break
        p = rng.choice(ps)
        parent = data
        for part in p[:-1]:
            parent = parent[part]
        op = rng.choice(["delete", "replace", "replace", "text", "text", "add", "copy"])
        value: Any = None
        if op == "text":
            texts = [q for q in ps if FREE_TEXT.match(_text_path(q))]
            if texts:
                p = rng.choice(texts)
                parent = data
                for part in p[:-1]:
                    parent = parent[part]
            value = rng.choice(HOSTILE) + rng.choice(["", "\n", " x"])
            parent[p[-1]] = value
        elif op == "delete":
            del parent[p[-1]]
        elif op == "replace":
            parent[p[-1]] = value = copy.deepcopy(rng.choice(EXTREMES))
        elif op == "add" and isinstance(parent, dict):
            parent[rng.choice(["extra", "as_of", "policy", "notes", "events"])] = value = \
                copy.deepcopy(rng.choice(EXTREMES))
        elif op == "copy" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[p[-1]]))
            value = "(copied)"
        else:
            continue
        done.append(f"{op} {_text_path(p)} = {value!r:.60}")
    return name, data, done


# (id, arguments, kind of output)
COMMANDS: list[tuple[str, list[str], str]] = [
    ("assess", ["assess", "{case}"], "text"),
    ("assess-json", ["assess", "{case}", "--format", "json", "--lang", "fa"], "json"),
    ("why", ["why", "{case}", "--lang", "ar"], "text"),
    ("why-json", ["why", "{case}", "--format", "json"], "json"),
    ("why-not", ["why-not", "{case}", "terminate"], "text"),
    ("what-if", ["what-if", "{case}", "--set", "wellbeing=low"], "text"),
    ("flip", ["flip", "{case}", "--budget", "0.3", "--format", "json"], "json"),
    ("plan", ["plan", "{case}"], "text"),
    ("plan-md", ["plan", "{case}", "--format", "md", "--lang", "fa"], "text"),
    ("plan-json", ["plan", "{case}", "--format", "json"], "json"),
    ("plan-ics", ["plan", "{case}", "--format", "ics"], "ics"),
    ("letter", ["letter", "{case}", "--lang", "ar"], "text"),
    ("graph-dot", ["graph", "case", "{case}", "--format", "dot"], "text"),
    ("graph-mermaid", ["graph", "case", "{case}", "--format", "mermaid"], "text"),
    ("graph-json", ["graph", "case", "{case}", "--format", "json"], "json"),
    ("graph-graphml", ["graph", "case", "{case}", "--format", "graphml"], "xml"),
    ("report", ["report", "{case}", "--no-graph"], "html"),
    ("check", ["check", "{case}"], "check"),
    ("log", ["log", "{case}", "--as-of", "2027-06-01", "--event",
             "type=late_payment,date=2027-06-01,days_late=3"], "text"),
]
# slower (Graphviz): in tools/fuzz.py only
SLOW_COMMANDS: list[tuple[str, list[str], str]] = [
    ("graph-svg", ["graph", "case", "{case}", "--format", "svg"], "xml"),
    ("report-graph", ["report", "{case}"], "html"),
]


@dataclass
class Tally:
    inputs: int = 0
    clean_errors: int = 0
    valid_outputs: int = 0
    hangs: int = 0
    failures: list[str] = field(default_factory=list)
    by_command: Counter[str] = field(default_factory=Counter)

    @property
    def tracebacks(self) -> int:
        return sum(f.startswith("traceback") for f in self.failures)


def _valid(kind: str, text: str) -> bool:
    if kind == "json":
        json.loads(text)
    elif kind == "xml":
        ET.fromstring(text.encode("utf-8"))
    elif kind == "ics" and text:
        from icalendar import Calendar

        Calendar.from_ical(text)
    elif kind == "html":
        assert text.startswith("<!DOCTYPE html>")
    return True


def _one_line_error(output: str) -> bool:
    lines = output.splitlines()
    if len(lines) != 1:
        return False
    if lines[0].startswith("Error: "):
        return True
    try:
        return "error" in json.loads(lines[0])
    except ValueError:
        return False


def _check_summary(kind: str, output: str) -> bool:
    """``check`` lists every problem (one line each), then its summary line."""
    return kind == "check" and bool(
        re.search(r"^0 of 1 case valid, \d+ problems?$", output, re.M))


def run_case(data: dict[str, Any], folder: Path, tally: Tally, *,
             commands: list[tuple[str, list[str], str]] = COMMANDS, label: str = "") -> None:
    """Every command on ``data`` (written as YAML), each sorted into the tally."""
    tally.inputs += 1
    try:  # the mapping API
        assess_data(data).to_json()
        tally.valid_outputs += 1
    except PartwaysError as err:
        if "\n" in str(err):
            tally.failures.append(f"multi-line error (assess_data) {label}: {err!r}")
        tally.clean_errors += 1
    except Exception:
        tally.failures.append(f"traceback (assess_data) {label}: {traceback.format_exc()}")
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=10 ** 6)
    runner = CliRunner()
    for name, args, kind in commands:
        case = folder / "case.yaml"
        case.write_text(text, encoding="utf-8")
        r = runner.invoke(main, [a.replace("{case}", str(case)) for a in args])
        tally.by_command[name] += 1
        if r.exception is not None and not isinstance(r.exception, SystemExit):
            tb = "".join(traceback.format_exception(r.exception))
            tally.failures.append(f"traceback ({name}) {label}: {tb}")
        elif r.exit_code == 0:
            try:
                _valid(kind, r.stdout)  # (the no-plan note of ics goes to stderr)
                tally.valid_outputs += 1
            except Exception as exc:
                tally.failures.append(f"invalid output ({name}) {label}: {exc!r}")
        elif r.exit_code == 1 and (_one_line_error(r.output) or _check_summary(kind, r.output)):
            tally.clean_errors += 1  # (check lists every problem, one line each)
        else:
            tally.failures.append(f"bad exit ({name}) {label}: {r.exit_code} {r.output!r:.300}")
