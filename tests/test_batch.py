"""partways batch and import: folders, JSONL, CSV exports, bad rows, order, portfolio."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import partways
from partways.batch import iter_items, run_batch
from partways.cli.main import main

from _paths import EXAMPLES, ROOT

CSV_SET = EXAMPLES / "csv"


def _book(tmp_path: Path, clients: int, bad: int = 0) -> Path:
    import importlib.util

    spec = importlib.util.spec_from_file_location("book", ROOT / "benchmarks" / "book.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.generate(tmp_path / "book", clients, bad, 7)
    return tmp_path / "book"


def test_batch_folder_matches_assess_and_reports_bad_case(tmp_path: Path) -> None:
    folder = tmp_path / "cases"
    folder.mkdir()
    for f in sorted(EXAMPLES.glob("*.yaml"))[:4]:
        shutil.copy(f, folder / f.name)
    (folder / "zz-bad.yaml").write_text("client: X\nwellbeing: hihg\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["batch", str(folder), "--format", "jsonl"])
    assert result.exit_code == 1  # one case failed, the batch went on
    lines = [json.loads(x) for x in result.stdout.splitlines()]
    assert len(lines) == 5
    for f, line in zip(sorted(folder.glob("*.yaml"))[:4], lines, strict=False):
        expected = json.loads(partways.assess(f).to_json())
        assert {k: v for k, v in line.items() if k not in ("source", "portfolio")} == expected
    assert lines[4]["error"] == {"kind": "case", "file": str(folder / "zz-bad.yaml"), "line": 2,
                                 "field": "wellbeing", "suggestion": "high",
                                 "message": "'hihg' is not one of low, medium, high"}
    assert "1 could not be read" in result.stderr


def test_batch_jsonl_locates_bad_lines(tmp_path: Path) -> None:
    good = json.dumps(dict(partways.assess(EXAMPLES / "nour-bakery-steady.yaml").case.data))
    path = tmp_path / "book.jsonl"
    path.write_text(f"{good}\n\n{{\"client\": \"Y\", \"doubts\": -2}}\nnot json\n{good}\n",
                    encoding="utf-8")
    result = CliRunner().invoke(main, ["batch", str(path), "--format", "csv"])
    assert result.exit_code == 1
    rows = list(csv.DictReader(result.stdout.splitlines()))
    assert [r["decision"] for r in rows] == ["keep", "", "", "keep"]
    assert rows[1]["source"] == f"{path}:3" and f"{path}:3: doubts: must be >= 0" in rows[1]["error"]
    assert rows[2]["error"].startswith(f"{path}:4")


def test_csv_sample_set_batch_and_import_round_trip(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["batch", str(CSV_SET)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "6 cases: 6 assessed, 0 could not be read" in out and "Act first on:" in out
    assert "Kian Construction: End the relationship now — Verbal abuse" in out
    imported = CliRunner().invoke(main, ["import", str(CSV_SET), "-o", str(tmp_path / "cases")])
    assert imported.exit_code == 0, imported.output
    files = sorted((tmp_path / "cases").glob("*.yaml"))
    assert len(files) == 6
    jsonl = CliRunner().invoke(main, ["batch", str(CSV_SET), "--format", "jsonl"])
    by_client = {json.loads(x)["client"]: json.loads(x) for x in jsonl.stdout.splitlines()}
    for f in files:  # round trip: the imported file assesses to the batch's decision
        a = partways.assess(f)
        assert a.decision == by_client[a.client]["decision"]
        assert a.to_dict()["decision_id"] == by_client[a.client]["decision_id"]


def _export(folder: Path, clients: str, events: str) -> None:
    (folder / "clients.csv").write_text(clients, encoding="utf-8")
    (folder / "events.csv").write_text(events, encoding="utf-8")


def test_csv_problems_are_located_and_never_dropped(tmp_path: Path) -> None:
    _export(tmp_path,
            "Company,As of,Hours,Total billed,Wellbeing,Favourite colour\n"
            "Acme,2026-11-16,abc,100,high,red\nBeta,2026-13-01,10,100,hihg,blue\n"
            ",2026-11-16,10,100,low,\nGamma,2026-11-16,10,100,low,\n",
            "Client,Date,Type,Days late\nAcme,2026-10-01,late_payment,x\n"
            "Zed,2026-10-02,late_payment,3\nGamma,2026-12-01,late_payment,3\n"
            "Gamma,2026-10-01,late_payment,\n")
    result = CliRunner().invoke(main, ["import", str(tmp_path), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1
    c, e = tmp_path / "clients.csv", tmp_path / "events.csv"
    for line in [f"{c}:1: Favourite colour: unknown column 'Favourite colour'",
                 f"{c}:2: hours: 'abc' is not a number",
                 f"{e}:2: days_late: 'x' is not a whole number",
                 f"{c}:3: as_of: '2026-13-01' is not a valid date",
                 f"{c}:3: wellbeing: 'hihg' is not one of low, medium, high; did you mean 'high'?",
                 f"{c}:4: client: no client name in this row",
                 f"{e}:4: date: date 2026-12-01 is after as_of 2026-11-16",
                 f"{e}:5: days_late: needs a 'days_late'",
                 f"{e}:3: client: unknown client 'Zed' (not in clients.csv)"]:
        assert line in result.stderr, line
    assert list((tmp_path / "out").glob("*.yaml")) == []  # every client had a problem


def test_csv_shifted_rows_money_formats_and_failed_rows_name_their_client(
        tmp_path: Path) -> None:
    _export(tmp_path,
            "Company,As of,Hours,Amount due\n"
            "Acme,2026-11-16,10,\"$1,200.00\"\nBeta,2026-11-16,10,0,Berlin,DE\n"
            "Gamma,2026-11-16,10,0\n",
            "Client,Date,Type,Days late\nGamma,2026-10-01,late_payment,\"1,000\"\n"
            "Zed,2026-10-02,late_payment,3\n")
    c, e = tmp_path / "clients.csv", tmp_path / "events.csv"
    result = CliRunner().invoke(main, ["batch", str(tmp_path), "--format", "csv"])
    assert result.exit_code == 1
    rows = list(csv.DictReader(result.stdout.splitlines()))
    # a client whose own row or events failed: its name and its row of clients.csv
    assert [(r["client"], r["source"]) for r in rows] == [
        ("Acme", f"{c}:2"), ("Beta", f"{c}:3"), ("Gamma", f"{c}:4"), ("Zed", f"{e}:3")]
    assert rows[0]["error"] == (
        f"{c}:2: outstanding: '$1,200.00' is not a number (write it without currency "
        "signs or thousands separators: 1200.50)")
    assert rows[1]["error"] == (  # values past the header are never dropped silently
        f"{c}:3: column 5: 2 values beyond the 4 columns of the header ('Berlin', 'DE'): "
        "a comma inside a value that is not in quotes?")
    assert rows[2]["error"] == (f"{e}:2: days_late: '1,000' is not a whole number (write "
                                "it without currency signs or thousands separators: 1200)")


def test_csv_short_rows_are_refused_and_rows_are_located_at_their_first_line(
        tmp_path: Path) -> None:
    # Beta's row lost a comma: read as it stands, 0 would land in Hours and the row
    # would be assessed with no amount due, so it is refused; Gamma's event spans two
    # lines (a quoted note).
    _export(tmp_path,
            "Company,As of,Hours,Amount due\n"
            "Acme,2026-11-16,10,0\nBeta,2026-11-16,0\nGamma,2026-11-16,10,0\n"
            "Delta,2026-11-16,10,0\n",
            "Client,Date,Type,Days late,Notes\n"
            "Gamma,2026-10-01,late_payment,x,\"paid after\ntwo reminders\"\n"
            "Delta,2026-10-02,late_payment,12,\n"
            "Acme,2026-10-03,late_payment,4\n")
    c, e = tmp_path / "clients.csv", tmp_path / "events.csv"
    result = CliRunner().invoke(main, ["batch", str(tmp_path), "--format", "csv"])
    assert result.exit_code == 1
    rows = {r["client"]: r for r in csv.DictReader(result.stdout.splitlines())}
    assert rows["Beta"]["error"] == (
        f"{c}:3: column 4: 3 values for the 4 columns of the header: a missing comma "
        "shifts every value after it (write an empty value as an empty cell: a,,b)")
    assert rows["Acme"]["error"].startswith(f"{e}:5: column 5: 4 values for the 5 columns")
    # a record with a two-line value is located at the line it starts on
    assert rows["Gamma"]["error"] == f"{e}:2: days_late: 'x' is not a whole number"
    assert rows["Delta"]["error"] == "" and rows["Delta"]["decision"]


def test_columns_match_case_insensitively_with_aliases(kb: partways.KnowledgeBase,
                                                       tmp_path: Path) -> None:
    from partways.csvimport import import_csv

    (tmp_path / "clients.csv").write_text(
        "ACCOUNT NAME;as-of;Billable_Hours;total billed;Amount Due\n"
        "Ünïcode GmbH;2026-11-16;12.5;900;100\n", encoding="utf-8-sig")
    [case] = list(import_csv(tmp_path, kb))
    assert not case.errors
    assert case.data == {"client": "Ünïcode GmbH", "as_of": "2026-11-16",
                         "money": {"hours": 12.5, "revenue": 900, "outstanding": 100}}


def test_order_is_the_input_order_whatever_the_workers(tmp_path: Path) -> None:
    book = _book(tmp_path, 60, bad=3)
    one = CliRunner().invoke(main, ["batch", str(book), "--format", "csv"])
    two = CliRunner().invoke(main, ["batch", str(book), "--format", "csv", "--workers", "2"])
    assert one.exit_code == two.exit_code == 1
    assert one.stdout == two.stdout
    rows = list(csv.DictReader(one.stdout.splitlines()))
    assert len(rows) == 61  # 60 clients and the event row of an unknown client
    failed = [r for r in rows if r["error"]]
    assert len(failed) == 4  # 3 malformed clients + the event of an unknown client
    assert all(":" in r["source"] for r in failed)


def test_portfolio_pareto_and_rate_ranking(kb: partways.KnowledgeBase, tmp_path: Path) -> None:
    book = tmp_path / "p"
    book.mkdir()
    hours = [500, 300, 20, 20, 20, 20, 20, 20, 20, 20, 10, 10]  # 2 of 12 take 82%
    rows = ["Company,As of,Hours,Total billed,Target rate"] + [
        f"C{i:02d},2026-11-16,{h},{h * (30 if i == 1 else 60)},60" for i, h in enumerate(hours)]
    (book / "clients.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    it, summary = run_batch([book], kb, full=True)
    got = list(it)
    pareto = summary.portfolio["rules"]["portfolio.pareto"]
    assert pareto["members"] == ["C00", "C01"] and pareto["set_share_of_total"] == 0.8163
    assert pareto["holds"] is True
    flagged = {r["client"] for r in got if r["portfolio"]["signals"]}
    assert flagged == set(pareto["members"])
    by = {r["client"]: r for r in got}
    assert by["C01"]["portfolio"]["rate_rank"] == 1  # the lowest effective rate
    assert by["C01"]["portfolio"]["effective_rate"] == 30.0
    assert by["C01"]["assessment"]["portfolio"]["rate_ratio"] == 0.5
    sig = by["C00"]["portfolio"]["signals"][0]
    assert sig["guidance"] == ["SIG-25"] and sig["id"] == "pareto_client"
    even = tmp_path / "even"
    even.mkdir()
    (even / "clients.csv").write_text("Company,As of,Hours\n" + "".join(
        f"E{i},2026-11-16,10\n" for i in range(10)), encoding="utf-8")
    _rows, s2 = run_batch([even], kb)
    list(_rows)
    assert s2.portfolio["rules"]["portfolio.pareto"]["holds"] is False


def test_assessment_with_portfolio_validates(kb: partways.KnowledgeBase) -> None:
    import jsonschema

    v = jsonschema.Draft202012Validator(partways.schema("assessment"),
                                        format_checker=jsonschema.FormatChecker())
    rows, _s = run_batch([CSV_SET], kb, full=True)
    for row in rows:
        assert not list(v.iter_errors(row["assessment"]))


def test_items_of_a_missing_path_are_errors(kb: partways.KnowledgeBase) -> None:
    for path in ("/nonexistent/x", "/nonexistent/clients.csv", "/nonexistent/book.jsonl"):
        [item] = list(iter_items([path], kb))
        assert (item.kind, item.payload[0]["message"]) == ("error", "no such file or folder")
    result = CliRunner().invoke(main, ["batch", "/nonexistent/clients.csv"])
    assert result.exit_code == 1
    assert "80/20" not in result.stdout  # no portfolio line about a book of no clients


@pytest.mark.parametrize("fmt", ["table", "csv", "jsonl"])
def test_output_file_and_summary_file(tmp_path: Path, fmt: str) -> None:
    out, summ = tmp_path / f"o.{fmt}", tmp_path / "s.json"
    result = CliRunner().invoke(main, ["batch", str(CSV_SET), "--format", fmt, "-o", str(out),
                                       "--summary", str(summ)])
    assert result.exit_code == 0, result.output
    assert out.read_text("utf-8") and result.stdout == ""
    data = json.loads(summ.read_text("utf-8"))
    assert data["cases"] == 6 and data["decisions"]["terminate_now"] == 2
    assert data["act_first"][0]["decision"] == "terminate_now"


def test_sig25_is_a_portfolio_rule_not_an_excuse(kb: partways.KnowledgeBase) -> None:
    from partways.portfolio import portfolio_spec

    assert "scope" not in kb.guidance["SIG-25"]
    spec = portfolio_spec(kb)
    assert spec is not None and "SIG-25" in spec.guidance
    report = partways.lint_kb()
    assert not [p for p in report.problems if "SIG-25" in p.message]


def test_summary_in_every_language() -> None:
    for lang, word in [("ar", "ابدأ بهؤلاء"), ("fa", "اول به این‌ها بپردازید")]:
        result = CliRunner().invoke(main, ["batch", str(CSV_SET), "--lang", lang])
        assert result.exit_code == 0 and word in result.stdout


def test_count_items_is_the_progress_bars_total(kb: partways.KnowledgeBase,
                                                tmp_path: Path) -> None:
    from partways.batch import count_items

    book = _book(tmp_path, 25, bad=2)  # 25 clients, and one event of an unknown client
    jsonl = tmp_path / "book.jsonl"
    jsonl.write_text("\n".join(json.dumps({"client": f"J{i}", "as_of": "2026-11-16"})
                               for i in range(7)) + "\n\n", encoding="utf-8")
    folder = tmp_path / "cases"
    folder.mkdir()
    for f in sorted(EXAMPLES.glob("*.yaml"))[:4]:
        shutil.copy(f, folder / f.name)
    (folder / "notes.txt").write_text("not a case", encoding="utf-8")
    for paths, clients in (([book], 25), ([jsonl], 7), ([folder], 4),
                           ([book, jsonl, folder / "notes.txt"], 33)):
        assert count_items(paths) == clients
        rows, _summary = run_batch(paths, kb)
        assert sum(1 for r in rows if "unknown client" not in str(r.get("errors"))) == clients
    assert count_items([tmp_path / "missing.jsonl"]) is None


def test_portfolio_ranks_in_its_database_with_ties_and_missing_figures(
        kb: partways.KnowledgeBase) -> None:
    """The portfolio measures live in a temporary database (not in memory): ties in
    hours rank by client then input order, a missing target ranks last, a client without
    hours gets no rank; figures are looked up by index."""
    from partways.portfolio import Book, evaluate, portfolio_spec

    spec = portfolio_spec(kb)
    assert spec is not None
    book = Book(spec)
    for i, client, m in [
            (0, "B", {"hours": 10.0, "revenue": 100.0, "target_rate": 20.0}),
            (1, "A", {"hours": 10.0, "revenue": 300.0, "target_rate": 20.0}),
            (2, "A", {"hours": 10.0, "revenue": 300.0, "target_rate": 20.0}),
            (3, "C", {"hours": 5.0, "revenue": 50.0}),
            (4, "D", {"revenue": 10.0})]:
        book.add(i, client, m)
    for i in range(5, 2600):  # more rows than one write of the database
        book.add(i, f"Z{i}", {})
    result = evaluate(kb, spec, book)
    items = result.items
    assert [items[i]["hours_rank"] for i in (1, 2, 0, 3)] == [1, 2, 3, 4]
    assert [items[i]["rate_rank"] for i in (0, 1, 2, 3)] == [1, 2, 3, 4]
    assert items[3]["rate_ratio"] is None and items[0]["rate_ratio"] == 0.5
    assert items[4] == {"clients": 2600, "signals": []} and 2599 in items
    assert 2600 not in items and len(items) == 2600
    pareto = result.summary["rules"]["portfolio.pareto"]
    assert pareto["members"] == ["A", "A", "B"] and pareto["holds"] is False
    assert result.summary["rules"]["portfolio.rate"]["ranked"] == 4
    result.close()
