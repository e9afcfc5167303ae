"""The HTML report: content, self-containment, determinism, RTL, and a real browser."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

import partways
from partways.cli.main import main
from partways.render import diagram
from partways.render.lang import for_kb
from partways.render.report import render_html

from _paths import EXAMPLES

ABUSE = EXAMPLES / "kian-construction-verbal-abuse.yaml"  # terminate_now, with a plan
STEADY = EXAMPLES / "nour-bakery-steady.yaml"  # keep, no plan
CHROMIUM = next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser",
                                                        "google-chrome")) if p), None)
HAS_DOT = shutil.which("dot") is not None


@pytest.fixture(scope="module")
def abuse(kb: partways.KnowledgeBase) -> partways.Assessment:
    return partways.assess(ABUSE, kb)


def test_report_shows_decision_signals_steps_plan(kb: partways.KnowledgeBase,
                                                  abuse: partways.Assessment) -> None:
    page = html.unescape(render_html(abuse, "en"))
    data = abuse.to_dict("en")
    assert page.startswith("<!DOCTYPE html>\n<html lang=\"en\" dir=\"ltr\">")
    assert data["decision_title"] in page
    for s in data["signals"]:
        assert s["title"] in page
    for s in data["next_steps"]:
        assert s["title"] in page
    assert data["plan"] is not None
    day = for_kb(abuse.kb, "en").date  # dates as the reader reads them; ISO stays in JSON
    assert day(data["plan"]["notify_on"]) in page and day(data["plan"]["end_on"]) in page
    for s in data["plan"]["steps"]:
        assert day(s["date"]) in page and s["title"] in page
    assert data["reason"]["rule"] in page  # the explanation names the rules
    for section in ("decision", "signals", "steps", "plan", "explanation", "graph"):
        assert f'<section id="{section}"' in page
    assert "@media print" in page


def test_report_is_self_contained_and_deterministic(abuse: partways.Assessment) -> None:
    page = render_html(abuse, "fa")
    assert page == render_html(abuse, "fa")
    assert "<script" not in page and "<link" not in page and "<img" not in page
    # nothing to fetch: XML namespaces are names, not requests
    fetched = re.findall(r'(?:src|href)="(https?:[^"]*)"|url\((https?:[^)]*)\)', page)
    assert fetched == []


@pytest.mark.parametrize("lang", ["ar", "fa"])
def test_report_is_right_to_left_in_ar_and_fa(kb: partways.KnowledgeBase,
                                              abuse: partways.Assessment, lang: str) -> None:
    page = render_html(abuse, lang)
    assert f'<html lang="{lang}" dir="rtl">' in page
    assert html.escape(kb.ui_text("report_signals", lang)) in page


def test_report_graph_inline_svg_or_a_note(monkeypatch: pytest.MonkeyPatch,
                                           abuse: partways.Assessment) -> None:
    if HAS_DOT:
        page = render_html(abuse, "en")
        assert re.search(r'<section id="graph" class="graph">\s*<h2>[^<]*</h2>\s*'
                         r'<div class="frame"><svg', page)
        assert "<?xml" not in page and "<!DOCTYPE svg" not in page
    monkeypatch.setattr(diagram.shutil, "which", lambda _name: None)
    page = render_html(abuse, "en")
    assert "<svg" not in page
    assert "Graphviz" in html.unescape(page)


def test_report_without_plan(kb: partways.KnowledgeBase) -> None:
    a = partways.assess(STEADY, kb)
    assert a.plan is None
    page = html.unescape(render_html(a, "en", graph=False))
    assert kb.ui_text("report_no_plan", "en") in page


def test_cli_report(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = CliRunner().invoke(main, ["report", str(ABUSE), "-o", str(out), "--lang", "ar"])
    assert result.exit_code == 0, result.output
    assert out.read_text("utf-8").startswith('<!DOCTYPE html>\n<html lang="ar" dir="rtl">')
    missing = CliRunner().invoke(main, ["report", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 1 and "not found" in missing.output


# -- in a real browser ------------------------------------------------------------------------

_PROBE = """<script>
(function () {
  var h1 = document.getElementById("client");
  var range = document.createRange();
  range.selectNodeContents(h1);
  var text = range.getBoundingClientRect(), box = h1.getBoundingClientRect();
  var svg = document.querySelector("#graph svg");
  document.body.setAttribute("data-probe", JSON.stringify({
    direction: getComputedStyle(document.body).direction,
    lang: document.documentElement.lang,
    textLeft: text.left, textRight: text.right, boxLeft: box.left, boxRight: box.right,
    svgWidth: svg ? svg.getBoundingClientRect().width : 0,
    frameWidth: svg ? svg.parentNode.getBoundingClientRect().width : 0,
    bodyWidth: document.body.getBoundingClientRect().width,
    olStyle: getComputedStyle(document.querySelector("ol")).listStyleType,
    text: document.body.innerText
  }));
})();
</script>
</body>"""


def _chromium(args: list[str], tmp: Path) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    profile = tmp / f"profile-{len(list(tmp.glob('profile-*')))}"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", f"--user-data-dir={profile}", "--window-size=1200,1600", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian packages "
                    "'chromium' and 'chromium-driver'); the browser check needs it")
@pytest.mark.parametrize("lang", ["en", "fa"])
def test_report_in_headless_chromium(tmp_path: Path, kb: partways.KnowledgeBase,
                                     abuse: partways.Assessment, lang: str) -> None:
    """Load the report in Chromium: rendered text, layout direction, the graph's width,
    and a screenshot (kept in the test's temporary directory)."""
    page = render_html(abuse, lang)
    report = tmp_path / f"report-{lang}.html"
    report.write_text(page, encoding="utf-8")
    shot = tmp_path / f"report-{lang}.png"
    done = _chromium([f"--screenshot={shot}", report.as_uri()], tmp_path)
    assert shot.is_file() and shot.read_bytes().startswith(b"\x89PNG"), done.stderr[-2000:]

    # a copy with a probe script (the shipped report has none) reports what was laid out
    probed = tmp_path / f"probe-{lang}.html"
    probed.write_text(page.replace("</body>", _PROBE, 1), encoding="utf-8")
    done = _chromium(["--dump-dom", probed.as_uri()], tmp_path)
    m = re.search(r'data-probe="([^"]*)"', done.stdout)
    assert m, done.stderr[-2000:]
    probe = json.loads(html.unescape(m.group(1)))
    data = abuse.to_dict(lang)
    assert probe["lang"] == lang
    assert data["decision_title"] in probe["text"]
    assert abuse.client in probe["text"]
    assert kb.ui_text("report_explanation", lang) in probe["text"]
    # numbered lists count in the language's digits (Persian digits in Persian)
    assert probe["olStyle"] == ("persian" if lang == "fa" else "decimal")
    if lang == "fa":
        assert probe["direction"] == "rtl"
        # the heading hugs the right edge, as Persian reads
        assert abs(probe["textRight"] - probe["boxRight"]) < 2
        assert probe["textLeft"] > probe["boxLeft"] + 10
    else:
        assert probe["direction"] == "ltr"
        assert abs(probe["textLeft"] - probe["boxLeft"]) < 2
    if HAS_DOT:
        # the graph keeps its natural size, scrolled inside a frame as wide as the page
        assert probe["svgWidth"] > 0 and 0 < probe["frameWidth"] <= probe["bodyWidth"]


_GRAPH_PROBE = """<script>
(function () {
  var smallest = 1e9, outside = [];
  document.querySelectorAll("#graph svg g.node").forEach(function (g) {
    var shape = g.querySelector("polygon, path, ellipse");
    if (!shape) return;
    var b = shape.getBoundingClientRect();
    g.querySelectorAll("text").forEach(function (t) {
      var r = t.getBoundingClientRect();
      smallest = Math.min(smallest, parseFloat(getComputedStyle(t).fontSize) *
                          t.getScreenCTM().a);
      if (r.left < b.left - 1 || r.right > b.right + 1 || r.top < b.top - 1 ||
          r.bottom > b.bottom + 1) outside.push(t.textContent);
    });
  });
  // a dated node's note ("25 مايو 2026"): where its day and its month are drawn
  var dates = [];
  document.querySelectorAll("#graph svg g.node text").forEach(function (t) {
    var c = t.textContent, day = c.search(/[0-9\u06F0-\u06F9]/),
        month = c.search(/[A-Za-z\u0621-\u064A\u067E-\u06CC]/);
    if (day < 0 || month < 0 || day > month || !/^\\W*[0-9\u06F0-\u06F9]+ \\S/.test(c)) return;
    dates.push([t.getStartPositionOfChar(day).x, t.getStartPositionOfChar(month).x]);
  });
  var clusters = {};
  document.querySelectorAll("#graph svg g.cluster").forEach(function (g) {
    var b = g.querySelector("path, polygon").getBoundingClientRect();
    clusters[g.querySelector("title").textContent] = (b.left + b.right) / 2;
  });
  document.body.setAttribute("data-probe", JSON.stringify({smallest: smallest,
    outside: outside, nodes: document.querySelectorAll("#graph svg g.node").length,
    clusters: clusters, dates: dates}));
})();
</script>
</body>"""


@pytest.mark.skipif(CHROMIUM is None or not HAS_DOT, reason="needs Chromium and Graphviz")
@pytest.mark.parametrize("lang", ["en", "ar", "fa"])
def test_report_graph_reads_in_chromium(tmp_path: Path, lang: str) -> None:
    """At 1200 px wide, every label of the decision graph sits inside its node's box and
    no text is under 11 px (the graph keeps its natural size in a scrolling frame); the
    flow runs in the reading direction: evidence on the left in English, on the right in
    Arabic and Persian."""
    a = partways.assess(EXAMPLES / "acme-late-payer.yaml")
    page = tmp_path / f"graph-{lang}.html"
    page.write_text(render_html(a, lang).replace("</body>", _GRAPH_PROBE, 1), "utf-8")
    done = _chromium(["--dump-dom", page.as_uri()], tmp_path)
    m = re.search(r'data-probe="([^"]*)"', done.stdout)
    assert m, done.stderr[-2000:]
    probe = json.loads(html.unescape(m.group(1)))
    assert probe["nodes"] > 20
    assert probe["outside"] == []
    assert probe["smallest"] >= 11
    x = probe["clusters"]  # cluster_0 holds the evidence, the last one the plan
    first, last = x["cluster_0"], x[max(x, key=lambda k: int(k.split("_")[1]))]
    assert (first > last) == (lang != "en"), x
    # a date reads from its day: on the left in English, on the right in Arabic and Persian
    assert len(probe["dates"]) >= 8
    assert all((day > month) == (lang != "en") for day, month in probe["dates"]), probe


def test_report_lists_the_repairs_tried_and_how_each_counted(kb: partways.KnowledgeBase
                                                             ) -> None:
    a = partways.assess(EXAMPLES / "acme-late-payer.yaml", kb)
    page = html.unescape(render_html(a, "en", graph=False))
    section = page[page.index('<section id="repairs">'):]
    section = section[:section.index("</section>")]
    assert section.count("<li>Repair attempt") == 0  # each record starts with its date
    assert "<li>6 April 2026 Repair attempt (step: Talk frankly about the problems" in section
    assert "<li>“Crosses personal boundaries”, “Pays late”: failed</li>" in section
    assert "<li>9 November 2026 Repair attempt (step: Consult your team)" in section
    steady = render_html(partways.assess(STEADY, kb), "en", graph=False)
    assert 'id="repairs"' not in steady  # no records, no section
