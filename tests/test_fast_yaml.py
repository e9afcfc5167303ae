"""The fast YAML path (engine/_yamlfast.py) gives what libyaml's path gives, or declines.

For every document: either the fast path declines (``None``: libyaml parses it and words
any error), or libyaml's path accepts the document too and both give the same data (same
types, same key order) and the same line for every path. Hypothesis writes documents in
every style PyYAML emits (block, flow, mixed; quoted and plain scalars; YAML 1.1 words
such as ``yes`` and ``0x1F``), then mutates their lines (comments, blank lines, indents
moved, lines dropped or repeated, quotes and colons added) to reach malformed and unusual
text. The shipped examples and the scenario cases must take the fast path.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from partways import _yaml, _yamlfast
from partways.errors import PartwaysError

from _paths import EXAMPLES, ROOT

WORDS = ["yes", "No", "on", "OFF", "null", "~", "true", "1_000", "0x1F", "0o17", "017",
         "1e3", "1.5e3", "-5", "+1", ".inf", "-.inf", ".nan", "12:30", "190:20:30",
         "2026-11-01", "2026-11-01 10:00", "a: b", "a:b", "x #y", "x#y", "it's", 'say "hi"',
         "- item", "-", "?", ":", "#", "&a", "*a", "!tag", "|", ">", "%", "@", "`", "[1]",
         "{a: 1}", "", " lead", "trail ", "شركة الأمل", "کیان", "é", "\\", "a\\nb",
         "long " * 30, "---", "...", "a, b", "<<"]
KEYS = ["client", "as_of", "type", "date", "note", "a-b", "_x", "Key", "yes", "null", "on",
        "1", "a b", "é", "<<", "x:y", "ends"]
SCALARS = (st.sampled_from(WORDS) | st.integers(-10**16, 10**16) | st.booleans() | st.none()
           | st.floats(allow_nan=False, allow_infinity=False)
           | st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)),
                     max_size=12))
DATA = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.sampled_from(KEYS), inner, max_size=5),
                    max_leaves=20)
INSERTS = ["# a comment", "", "   ", "  # indented comment", "key: value", "- item",
           "  - item", "---", "...", "  more text", "x: 'open", 'x: "a\\"b"', "x: |",
           "  block", "x: &a 1", "y: *a", "x: !!str 1", "\t- tab", "x: {a: 1, a: 2}"]


def dumped(data: Any, style: int) -> str:
    flow = [False, None, True][style % 3]
    return yaml.safe_dump({"root": data} if style % 5 == 4 else data,
                           default_flow_style=flow, allow_unicode=bool(style % 2),
                           width=[80, 20, 1000][style % 3], indent=[2, 4, 3][style % 3],
                           sort_keys=bool(style % 7 == 0))


def mutate(text: str, seed: int, edits: int) -> str:
    """``edits`` random line edits of ``text`` (deterministic for ``seed``)."""
    rng = random.Random(seed)
    lines = text.split("\n")
    for _ in range(edits):
        i = rng.randrange(len(lines) + 1)
        kind = rng.randrange(8)
        if kind == 0:
            lines.insert(i, rng.choice(INSERTS))
        elif i >= len(lines):
            continue
        elif kind == 1:
            lines[i] = " " * rng.randrange(1, 3) + lines[i]
        elif kind == 2:
            lines[i] = lines[i][rng.randrange(1, 3):]
        elif kind == 3:
            lines[i] += rng.choice([" # note", "  #", " :", ":", "'", '"', " x", ",", "}"])
        elif kind == 4:
            del lines[i]
        elif kind == 5:
            lines.insert(i, lines[i])
        elif kind == 6:
            lines[i] = lines[i].replace(": ", ": '", 1) + "'"
        else:
            lines[i] = lines[i].replace("- ", "-   ", 1)
    return "\n".join(lines)


def typed(value: Any) -> Any:
    """``value`` with every type and every key order made visible (1 == 1.0 == True)."""
    if isinstance(value, dict):
        return ("map", [(k, typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("seq", [typed(v) for v in value])
    if isinstance(value, float) and value != value:
        return ("float", "nan")
    return (type(value).__name__, value)


def agree(text: str) -> bool:
    """Assert the two paths agree on ``text``; True when the fast path took it."""
    fast = _yamlfast.parse(text)
    try:
        slow = _yaml.load_with_libyaml(text, "x.yaml")
    except PartwaysError as exc:
        assert fast is None, f"fast path accepted what libyaml refuses ({exc}):\n{text}"
        return False
    if fast is None:
        return False
    data, lines = fast
    assert typed(data) == typed(slow.data), text
    assert lines == slow.lines, text
    return True


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DATA, st.integers(0, 2**16))
def test_emitted_documents_agree(data: Any, style: int) -> None:
    agree(dumped(data, style))


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DATA, st.integers(0, 2**16), st.integers(1, 4))
def test_mutated_documents_agree(data: Any, seed: int, edits: int) -> None:
    agree(mutate(dumped(data, seed), seed, edits))


def case_files() -> list[Path]:
    scenarios = ROOT / "tests" / "scenarios" / "cases"
    return sorted([*EXAMPLES.glob("*.yaml"), *scenarios.glob("*.yaml")])


@pytest.mark.parametrize("path", case_files(), ids=lambda p: p.name)
def test_case_files_take_the_fast_path(path: Path) -> None:
    assert agree(path.read_text("utf-8-sig")), f"{path.name} fell back to libyaml"


@pytest.mark.parametrize("path", case_files(), ids=lambda p: p.name)
def test_mutated_case_files_agree(path: Path) -> None:
    text = path.read_text("utf-8-sig")
    taken = sum(agree(mutate(text, seed, 1 + seed % 3)) for seed in range(60))
    assert taken > 0  # the mutations left some documents on the fast path


def test_load_text_gives_the_fast_result_when_taken() -> None:
    text = "client: Acme\nevents:\n  - {date: 2026-01-05, type: late_payment}\n"
    doc = _yaml.load_text(text, "c.yaml")
    assert doc.data == {"client": "Acme",
                        "events": [{"date": "2026-01-05", "type": "late_payment"}]}
    assert doc.line(("events", 0, "type")) == 3 and doc.path == "c.yaml"


@pytest.mark.parametrize("text", [
    "a: 1\na: 2\n",                   # a duplicate key: libyaml's path words the error
    "a: &x 1\nb: *x\n",               # anchors and aliases
    "a: |\n  text\n",                 # a block scalar
    "a: 'one\n  two'\n",              # a quoted scalar over two lines
    "a: b\n  c\n",                    # a plain scalar over two lines
    "a:\n\t- 1\n",                    # a tab
    "yes: 1\n",                       # a key that is not text
    "a: " + "x" * 20_001 + "\n",      # a value over the length limit
    "a: 1.0e+400\n",                 # a float over the limit
    "a: 0x" + "f" * 20 + "\n",        # an integer over the limit
])
def test_unusual_documents_decline(text: str) -> None:
    assert _yamlfast.parse(text) is None


def test_block_documents_take_the_fast_path() -> None:
    """Documents in the shape case files have (block style, text keys, one-line values)
    are read by the fast path, not merely declined: 200 random ones, all agreeing."""
    rng = random.Random(7)
    plain = [w for w in WORDS if _yaml.plain_tag(w) != "tag:yaml.org,2002:str"] + [
        "Acme", "late_payment", "2026-11-01", "شركة الأمل", "it's", "a, b", 12, 3.5, True]

    def value(depth: int, items: bool = False, scalar: bool = False) -> Any:
        kind = 0 if scalar else rng.randrange(3 if depth < 3 else 1)
        if kind == 1 or items:
            return {k: value(depth + 1) for k in rng.sample(KEYS[:8], rng.randrange(1, 4))}
        if kind == 2:  # a list of scalars or of mappings, as a case's events
            mappings = rng.random() < 0.5
            return [value(depth + 1, mappings, not mappings)
                    for _ in range(rng.randrange(0, 3))]
        return rng.choice(plain)

    taken = 0
    for i in range(200):
        data = {k: value(0) for k in rng.sample(KEYS[:8], rng.randrange(1, 6))}
        data["events"] = [value(1, True) for _ in range(2)]  # the document stays in block style
        taken += agree(yaml.safe_dump(data, default_flow_style=[False, None][i % 2],
                                      allow_unicode=True, sort_keys=False))
    assert taken == 200
