"""Time the diagrams and the HTML report and print their sizes.

    python benchmarks/diagrams.py [--kb DIR] [--repeat N]

Prints figures; asserts nothing (timing is not a test). SVG/PNG rows need Graphviz 'dot'.
"""

from __future__ import annotations

import argparse
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import partways
from partways.render.diagram import case_view, render
from partways.render.report import render_html
from partways.render.rulegraph import rule_graph

ROOT = Path(__file__).resolve().parent.parent


def timed(label: str, repeat: int, fn: Callable[[], bytes | str]) -> None:
    best = float("inf")
    out: bytes | str = b""
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    print(f"{label:<34} {best * 1000:9.1f} ms  {len(out):>9,} bytes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", type=Path, help="a KB directory instead of the shipped one")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    kb = partways.load_kb(args.kb)
    g = rule_graph(kb)
    print(f"rule graph: {g.number_of_nodes()} nodes, {g.number_of_edges()} edges, "
          f"{len(kb.rules)} rules, {len(g.graph['layers'])} layers")
    formats = ["dot", "mermaid", "json", "graphml"]
    if shutil.which("dot"):
        formats += ["svg", "png"]
    for fmt in formats:
        timed(f"rules -> {fmt}", args.repeat, lambda fmt=fmt: render(rule_graph(kb), fmt))
    cases = sorted((ROOT / "examples").glob("*.yaml"))
    worst = max(cases, key=lambda p: partways.assess(p, kb).graph.number_of_nodes())
    a = partways.assess(worst, kb)
    print(f"largest case: {worst.name}: {a.graph.number_of_nodes()} nodes")
    for fmt in formats:
        timed(f"case -> {fmt}", args.repeat, lambda fmt=fmt: render(case_view(a), fmt))
    timed("case -> why-not terminate_now", args.repeat,
          lambda: render(case_view(a, why_not="terminate_now"), "dot"))
    timed("report (html, with svg)", args.repeat, lambda: render_html(a, "en"))


if __name__ == "__main__":
    main()
