"""Regenerate the committed rule-graph diagrams: ``python tools/diagrams.py``.

Writes ``diagrams/rules.dot``, ``diagrams/rules.mmd`` and ``diagrams/rules.svg`` (the whole
rule graph) and ``diagrams/overview.{dot,svg}`` (its layers) from the shipped knowledge base
(English titles). ``--check`` writes nothing and exits 1 when a
file is stale (tests/test_diagrams.py checks the same). The SVG needs Graphviz ``dot``;
it is current when the digest of the DOT it was made from (an SVG comment) matches.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import partways
from partways.render.diagram import RULE_DIAGRAMS, dot_digest, rule_diagrams, svg_digest

DIAGRAMS = Path(__file__).resolve().parent.parent / "diagrams"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="only report stale files (exit 1 if any)")
    args = parser.parse_args(argv)
    names = RULE_DIAGRAMS
    if shutil.which("dot") is None:
        print("warning: Graphviz 'dot' not found (Debian/Ubuntu package 'graphviz'): "
              "rules.svg is left as it is", file=sys.stderr)
        names = tuple(n for n in names if not n.endswith(".svg"))
    try:
        files = rule_diagrams(partways.load_kb(), names=names)
    except partways.PartwaysError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    stale = []
    for name, data in sorted(files.items()):
        path = DIAGRAMS / name
        dot = rule_diagrams(partways.load_kb(), names=(name.split(".")[0] + ".dot",))
        source = next(iter(dot.values())).decode("utf-8")
        if path.exists() and _current(path, data, source):
            continue
        stale.append(name)
        if not args.check:
            DIAGRAMS.mkdir(exist_ok=True)
            path.write_bytes(data)
            print(f"wrote {path.relative_to(DIAGRAMS.parent)}")
    if args.check and stale:
        print(f"stale: {', '.join(stale)}; run: python tools/diagrams.py", file=sys.stderr)
        return 1
    return 0


def _current(path: Path, data: bytes, source: str) -> bool:
    """Whether ``path`` holds ``data``; an SVG is current when it was made from ``source``
    (its bytes vary across Graphviz versions, so it is not rewritten for that alone)."""
    if path.suffix == ".svg":
        return svg_digest(path.read_text("utf-8")) == dot_digest(source)
    return path.read_bytes() == data


if __name__ == "__main__":
    sys.exit(main())
