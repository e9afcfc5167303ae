"""Regenerate the report screenshots of the README: ``python tools/screenshots.py``.

Renders the HTML report of ``examples/acme-late-payer.yaml`` in English, Arabic and Persian
and photographs it in headless Chromium at 1200 px wide: ``docs/img/report-{en,ar,fa}.png``
(the top of the report, 1500 px high) and ``docs/img/report-graph-ar.png`` (the decision
graph section of the Arabic report alone, 900 px high). Needs Chromium and Graphviz ``dot``.
The same KB, fonts and browser give the same pictures.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import partways
from partways.render.report import render_html

ROOT = Path(__file__).resolve().parent.parent
IMG = ROOT / "docs" / "img"
CASE = ROOT / "examples" / "acme-late-payer.yaml"
SHOTS = [("report-en.png", "en", False, 1500), ("report-ar.png", "ar", False, 1500),
         ("report-fa.png", "fa", False, 1500), ("report-graph-ar.png", "ar", True, 900)]
# the graph's picture: the report with every other part hidden (the shipped report is as
# rendered; this style is added to the photographed copy only)
ONLY_GRAPH = "<style>header, footer, section:not(#graph) { display: none; }</style></head>"


def main() -> int:
    browser = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p),
                   None)
    if browser is None or shutil.which("dot") is None:
        print("error: needs chromium and Graphviz 'dot'", file=sys.stderr)
        return 1
    a = partways.assess(CASE)
    with tempfile.TemporaryDirectory() as tmp:
        for name, lang, only_graph, height in SHOTS:
            page = Path(tmp) / name.replace(".png", ".html")
            html = render_html(a, lang)
            page.write_text(html.replace("</head>", ONLY_GRAPH, 1) if only_graph else html,
                            encoding="utf-8")
            cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu",
                   "--hide-scrollbars", f"--user-data-dir={tmp}/profile-{name}",
                   f"--window-size=1200,{height}", f"--screenshot={IMG / name}",
                   page.as_uri()]
            subprocess.run(cmd, capture_output=True, check=True, timeout=120)
            print(f"wrote {IMG / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
