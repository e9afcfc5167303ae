"""Free text cannot change the structure of any output.

The same hostile strings go into every free-text field of a case (client, deliverable
names, notes, ids); every command and format is rendered, and its structure is compared
with the same case whose free text is a harmless string of the same shape (each
non-space character an ``x``): the same lines, tokens, elements and events.
"""

from __future__ import annotations

import html.parser
import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from partways.cli.main import main

from _paths import EXAMPLES

HOSTILE = [
    '<x> href="javascript:alert(document.domain)" target=<_self>',
    "\x1b]8;;http://e.vil/\x07click\x1b]8;;\x07\x1b[2J\x1b[1A\r\n\nDecision: KEEP — fine\n"
    "---\n# Heading\n- [x] item\nBEGIN:VEVENT\r\nSUMMARY:x\nEND:VCALENDAR\n\"q\" 'q' a;b,c "
    "<b>&amp;</b> ]]> \u202eevil\u2069 \u2028 \x00\x7f\x85\x9b ends in a backslash\\",
    "</script><script>alert(1)</script>{{ 7*7 }}{% raw %}|`[x](javascript:1)` \\N\\G \\",
]

# the commands and formats checked, each with how to compare its structure
COMMANDS: list[tuple[str, list[str], str]] = [
    ("assess", ["assess", "{case}"], "lines"),
    ("assess-json", ["assess", "{case}", "--format", "json"], "json"),
    ("assess-ar", ["assess", "{case}", "--lang", "ar"], "lines"),
    ("why", ["why", "{case}"], "lines"),
    ("why-json", ["why", "{case}", "--format", "json"], "json"),
    ("why-not", ["why-not", "{case}", "keep"], "lines"),
    ("what-if", ["what-if", "{case}", "--set", "wellbeing=low"], "lines"),
    ("plan", ["plan", "{case}"], "lines"),
    ("plan-md", ["plan", "{case}", "--format", "md"], "markdown"),
    ("plan-json", ["plan", "{case}", "--format", "json"], "json"),
    ("plan-ics", ["plan", "{case}", "--format", "ics"], "ics"),
    ("letter", ["letter", "{case}"], "lines"),
    ("letter-fa", ["letter", "{case}", "--lang", "fa", "--channel", "meeting"], "lines"),
    ("graph-dot", ["graph", "case", "{case}", "--format", "dot"], "dot"),
    ("graph-why-not", ["graph", "case", "{case}", "--format", "dot", "--why-not", "keep"],
     "dot"),
    ("graph-mermaid", ["graph", "case", "{case}", "--format", "mermaid"], "lines"),
    ("graph-json", ["graph", "case", "{case}", "--format", "json"], "json"),
    ("graph-graphml", ["graph", "case", "{case}", "--format", "graphml"], "xml"),
    ("report", ["report", "{case}"], "html"),
]
if shutil.which("dot"):
    COMMANDS.append(("graph-svg", ["graph", "case", "{case}", "--format", "svg"], "xml"))


def harmless(text: str) -> str:
    return "".join(" " if ch == " " else "x" for ch in text)


def with_text(text: str) -> dict[str, Any]:
    """acme-late-payer with ``text`` in every free-text field (ids kept unique)."""
    case = yaml.safe_load((EXAMPLES / "acme-late-payer.yaml").read_text(encoding="utf-8"))
    case = json.loads(json.dumps(case, default=str))  # dates as text
    case["client"] = text[:200]
    for i, d in enumerate(case["deliverables"]):
        d["name"] = text[:200]
        d["id"] = f"{text[:90]}{i}"
    for section in ("events", "remediation"):
        for i, item in enumerate(case[section]):
            item["note"] = text
            item["id"] = f"{text[:90]}#{i}"
    return case


def run(tmp_path: Path, name: str, case: dict[str, Any], args: list[str]) -> str:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(case, ensure_ascii=True), encoding="utf-8")
    r = CliRunner().invoke(main, [a.replace("{case}", str(path)) for a in args])
    assert r.exit_code == 0, (args, r.output, r.exception)
    return r.output


def dot_tokens(source: str) -> list[str]:
    """DOT's tokens: quoted strings (with \\" escapes), <...> HTML strings, the rest."""
    out, i = [], 0
    while i < len(source):
        ch = source[i]
        if ch.isspace():
            i += 1
        elif ch == '"':
            j = i + 1
            while source[j] != '"':
                j += 2 if source[j] == "\\" else 1
            out.append("STRING")
            i = j + 1
        elif ch == "<":
            depth, j = 0, i
            while True:
                depth += {"<": 1, ">": -1}.get(source[j], 0)
                j += 1
                if depth == 0:
                    break
            out.append("HTML")
            i = j
        else:
            m = re.match(r"[A-Za-z0-9_.]+|->|.", source[i:])
            assert m
            out.append(m.group(0) if not m.group(0)[0].isalnum() else "ID")
            i += len(m.group(0))
    return out


class _Tags(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += [v or "" for k, v in attrs if k in ("href", "src", "xlink:href")]


def shape(kind: str, text: str) -> Any:
    """What the structure of an output is, for comparison with the harmless one."""
    if kind == "lines":
        return text.count("\n"), len(re.findall(r"^\s*Decision:", text, re.M))
    if kind == "json":
        def keys(v: Any) -> Any:
            if isinstance(v, dict):
                return {k: keys(x) for k, x in v.items()}
            if isinstance(v, list):
                return [keys(x) for x in v]
            return type(v).__name__
        return keys(json.loads(text))
    if kind == "markdown":
        lines = text.splitlines()
        return (len(lines), [ln[:2] for ln in lines])
    if kind == "ics":
        from icalendar import Calendar

        cal = Calendar.from_ical(text)
        unfolded = re.sub(r"\r\n[ \t]", "", text).split("\r\n")
        return (len(cal.walk("VEVENT")), [ln.split(":", 1)[0].split(";")[0]
                                          for ln in unfolded])
    if kind == "dot":
        return dot_tokens(text)
    if kind == "xml":
        return [el.tag for el in ET.fromstring(text.encode("utf-8")).iter()]
    if kind == "html":
        parser = _Tags()
        parser.feed(text)
        assert not any("javascript:" in v for v in parser.attrs)
        return parser.tags
    raise AssertionError(kind)


BAD_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e]")


@pytest.mark.parametrize("hostile", HOSTILE, ids=["html-label", "controls", "script"])
@pytest.mark.parametrize(("name", "args", "kind"), COMMANDS, ids=[c[0] for c in COMMANDS])
def test_free_text_cannot_change_the_structure_of_any_output(
        tmp_path: Path, hostile: str, name: str, args: list[str], kind: str) -> None:
    got = run(tmp_path, "hostile", with_text(hostile), args)
    want = run(tmp_path, "harmless", with_text(harmless(hostile)), args)
    assert shape(kind, got) == shape(kind, want)
    assert not BAD_CHARS.search(got.replace("\r\n", "\n")), name


def test_errors_that_quote_free_text_stay_one_line(tmp_path: Path) -> None:
    case = with_text("x")
    case["wellbeing"] = "\x1b[2Jawful\nDecision: KEEP"
    path = tmp_path / "c.json"
    path.write_text(json.dumps(case), encoding="utf-8")
    r = CliRunner().invoke(main, ["assess", str(path)])
    assert r.exit_code == 1
    assert r.output.count("\n") == 1 and "\x1b" not in r.output
    assert "␛[2Jawful␊Decision: KEEP" in r.output

