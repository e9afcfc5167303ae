"""Every command's output for a shipped example, and the Latin-letter words in it that
are neither a name or value from the case itself nor a citation code (guidance ids such
as SIG-01, source ids such as S4). Used by tests/test_language.py and by
``python tests/_leaks.py`` (prints the counts per language)."""

from __future__ import annotations

import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

from partways.cli.main import main

from _paths import EXAMPLES

CASES = sorted(p for p in EXAMPLES.iterdir() if p.suffix in (".yaml", ".json")
               and p.parent == EXAMPLES)
WORD = re.compile(r"[A-Za-z][A-Za-z0-9_.'\-]*[A-Za-z0-9]|[A-Za-z]")
CODE = re.compile(r"^(?:[A-Z]{2,6}-\d+|S\d+)$")  # guidance and source ids: citations


def case_words(path: Path) -> set[str]:
    """Every word of every value of the case (names, notes, deliverables...); for a CSV
    export (a folder), every word of its files."""
    if path.is_dir():
        words: set[str] = set()
        for f in sorted(path.glob("*.csv")):
            text = f.read_text("utf-8")
            words.update(WORD.findall(text))
            words.update(text.replace(",", " ").split())
        return words
    data = yaml.safe_load(path.read_text("utf-8"))
    out: set[str] = set()

    def walk(v: Any) -> None:
        if isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
        elif isinstance(v, str):
            out.update(WORD.findall(v))
            out.update(v.split())

    walk(data)
    return out


class _Text(HTMLParser):
    """The text a reader sees in an HTML page (no style, no tooltips)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("style", "title", "script"):
            self.skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "title", "script"):
            self.skip -= 1

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def html_text(page: str) -> str:
    p = _Text()
    p.feed(page)
    return "\n".join(p.parts)


def ics_text(ics: str) -> str:
    """The human fields of a calendar (summary, description, calendar name), unfolded."""
    unfolded = re.sub(r"\r?\n[ \t]", "", ics)
    keep = []
    for line in unfolded.splitlines():
        key, _, value = line.partition(":")
        if key.split(";")[0] in ("SUMMARY", "DESCRIPTION", "X-WR-CALNAME"):
            keep.append(value.replace("\\n", "\n").replace("\\,", ",").replace("\\;", ";"))
    return "\n".join(keep)


def graph_text(doc: str) -> str:
    g = json.loads(doc)
    texts = [n.get("label", "") for n in g.get("nodes", [])]
    texts += [e.get("label", "") for e in g.get("links", g.get("edges", []))]
    texts += list((g.get("graph", {}).get("layer_titles") or {}).values())
    return "\n".join(str(t) for t in texts)


def _run(args: list[str], code: int = 0) -> str:
    """The output of ``partways ARGS`` (standard output and error, as a terminal shows
    them), which must exit with ``code``."""
    result = CliRunner().invoke(main, args)
    if result.exit_code != code:
        raise AssertionError(f"{args}: exit {result.exit_code}: {result.output}")
    return result.output


def outputs(path: Path, lang: str) -> dict[str, str]:
    """Command name -> the text a reader sees, for one case in one language."""
    case = str(path)
    decision = json.loads(_run(["assess", case, "--format", "json"]))["decision"]
    other = "terminate" if decision == "keep" else "keep"
    out = {
        "assess": _run(["assess", case, "--lang", lang]),
        "why": _run(["why", case, "--lang", lang]),
        "why-not": _run(["why-not", case, other, "--lang", lang]),
        "what-if": _run(["what-if", case, "--lang", lang, "--set", "wellbeing=low",
                         "--remediation", "step=frank_conversation,outcome=improved"]),
        "flip": _run(["flip", case, "--lang", lang]),
        "plan": _run(["plan", case, "--lang", lang]),
        "plan-md": _run(["plan", case, "--lang", lang, "--format", "md"]),
        "plan-ics": ics_text(_run(["plan", case, "--lang", lang, "--format", "ics"])),
        "report": html_text(_run(["report", case, "--lang", lang])),
        "graph": graph_text(_run(["graph", "case", case, "--lang", lang, "--format", "json"])),
        "graph-why-not": graph_text(_run(["graph", "case", case, "--lang", lang, "--format",
                                          "json", "--why-not", other])),
        "batch": _run(["batch", case, "--lang", lang, "--no-progress"]),
        "check": _run(["check", case, "--lang", lang]),
    }
    if decision in ("terminate", "terminate_now"):
        for channel in ("email", "meeting"):
            out[f"letter-{channel}"] = _run(["letter", case, "--lang", lang, "--channel",
                                             channel, "--sender", "Sara"])
    return out


NAMES = {"Graphviz", "Sara"}  # a program the report names; the sender the tests sign with
_MARKUP = re.compile(r"<[^>]*>|(?<![\w-])--[a-z][a-z-]*")  # HTML in Markdown, command options


def leaks(text: str, allowed: set[str]) -> list[str]:
    """The Latin-letter words of ``text`` that are not in ``allowed`` or citation codes."""
    found = []
    allowed = allowed | NAMES
    for line in text.splitlines():
        line = _MARKUP.sub(" ", line.replace("\u200e", ""))
        words = set(line.split())
        for w in WORD.findall(line):
            if w in allowed or CODE.match(w) or any(w in x for x in words & allowed):
                continue
            found.append(w)
    return found


def main_() -> None:
    langs = sys.argv[1:] or ["ar", "fa"]
    for lang in langs:
        total: dict[str, int] = {}
        words: dict[str, int] = {}
        for path in CASES:
            allowed = case_words(path)
            for cmd, text in outputs(path, lang).items():
                found = leaks(text, allowed)
                total[cmd] = total.get(cmd, 0) + len(found)
                for w in found:
                    words[w] = words.get(w, 0) + 1
        print(lang, sum(total.values()), total)
        print("  ", sorted(words.items(), key=lambda kv: -kv[1])[:60])


if __name__ == "__main__":
    main_()
