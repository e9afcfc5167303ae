"""``partways log`` under concurrent use and hostile file systems: no lost entry, links
kept, read-only honoured, no temporary file left, nulls kept as written, as_of moved."""

from __future__ import annotations

import multiprocessing
import os
import re
import shlex
import shutil
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

import partways
from partways.cli.main import main

from _paths import EXAMPLES, ROOT

CASE = """\
client: Acme  # a comment that must survive
as_of: 2026-11-01
events:
  - {date: 2026-01-05, type: late_payment, days_late: 3}
"""


def _log(path: Path, *args: str) -> tuple[int, str]:
    r = CliRunner().invoke(main, ["log", str(path), *args])
    return r.exit_code, r.output


def _child(path: str, day: int, barrier: multiprocessing.synchronize.Barrier) -> None:
    barrier.wait()
    code, _out = _log(Path(path), "--event",
                     f"type=late_payment,date=2026-10-{day:02d},days_late={day}")
    os._exit(0 if code == 0 else 1)


def test_twenty_concurrent_logs_keep_every_entry(tmp_path: Path) -> None:
    case = tmp_path / "c.yaml"
    case.write_text(CASE, encoding="utf-8")
    partways.load_kb()  # loaded once here, shared by the forked children
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(20)
    procs = [ctx.Process(target=_child, args=(str(case), day, barrier))
             for day in range(1, 21)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * 20
    data = partways.parse_case(case.read_text(encoding="utf-8"), partways.load_kb()).data
    logged = sorted(e["days_late"] for e in data["events"][1:])
    assert logged == list(range(1, 21))
    assert "# a comment that must survive" in case.read_text(encoding="utf-8")
    assert list(tmp_path.iterdir()) == [case]  # no temporary file left


def test_log_through_a_symlink_writes_the_target(tmp_path: Path) -> None:
    real = tmp_path / "real.yaml"
    real.write_text(CASE, encoding="utf-8")
    link = tmp_path / "link.yaml"
    link.symlink_to(real)
    code, out = _log(link, "--event", "type=late_payment,date=2026-10-01,days_late=4")
    assert code == 0, out
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert "days_late: 4" in real.read_text(encoding="utf-8")


def test_read_only_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    case = tmp_path / "c.yaml"
    case.write_text(CASE, encoding="utf-8")
    case.chmod(0o444)
    code, out = _log(case, "--event", "type=late_payment,date=2026-10-01,days_late=4")
    assert code == 1
    assert out == f"Error: {case}: the file is read-only; nothing was written\n"
    assert case.read_text(encoding="utf-8") == CASE


def test_unwritable_folder_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    case = tmp_path / "c.yaml"
    case.write_text(CASE, encoding="utf-8")

    def refuse(*_a: object, **_k: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    code, out = _log(case, "--event", "type=late_payment,date=2026-10-01,days_late=4")
    assert code == 1
    assert out == (f"Error: {case}: cannot write next to the file (Permission denied); "
                   f"nothing was written\n")


def test_failed_write_leaves_no_temporary_file(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    case = tmp_path / "c.yaml"
    case.write_text(CASE, encoding="utf-8")

    def full(*_a: object, **_k: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    code, out = _log(case, "--event", "type=late_payment,date=2026-10-01,days_late=4")
    assert code == 1 and "No space left on device" in out
    assert list(tmp_path.iterdir()) == [case]
    assert case.read_text(encoding="utf-8") == CASE


def test_temporary_files_of_a_killed_log_are_removed(tmp_path: Path) -> None:
    case = tmp_path / "c.yaml"
    case.write_text(CASE, encoding="utf-8")
    (tmp_path / ".c.yaml.abc123.tmp").write_text("half a file", encoding="utf-8")
    (tmp_path / ".other.yaml.abc123.tmp").write_text("not ours", encoding="utf-8")
    assert _log(case, "--event", "type=late_payment,date=2026-10-01,days_late=4")[0] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.yaml.abc123.tmp", "c.yaml"]


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
def test_log_works_on_every_shipped_example(tmp_path: Path, example: str) -> None:
    case = tmp_path / example
    shutil.copy(EXAMPLES / example, case)
    before = case.read_text(encoding="utf-8")
    code, out = _log(case, "--as-of", "2027-01-02", "--event",
                     "type=late_payment,date=2027-01-02,days_late=9")
    assert code == 0, out
    after = case.read_text(encoding="utf-8")
    old = [ln for ln in before.splitlines()  # all but as_of and an empty list that now holds it
           if not ln.startswith("as_of:") and ln != "events: []"]
    new = after.splitlines()
    assert all(ln in new for ln in old)  # nulls and everything else kept as written
    assert "as_of: 2027-01-02" in new


def test_as_of_only_moves_forward(tmp_path: Path) -> None:
    case = tmp_path / "c.yaml"
    case.write_text(CASE, encoding="utf-8")
    code, out = _log(case, "--as-of", "2026-01-01", "--event",
                     "type=late_payment,date=2025-12-01,days_late=2")
    assert code == 1 and "--as-of 2026-01-01 is before the case's as_of 2026-11-01" in out
    code, out = _log(case, "--event", "type=late_payment,date=2026-11-20,days_late=2")
    assert code == 1 and "after as_of 2026-11-01" in out
    assert case.read_text(encoding="utf-8") == CASE
    code, out = _log(case, "--as-of", "2026-11-20", "--event",
                     "type=late_payment,date=2026-11-20,days_late=2")
    assert code == 0, out
    assert case.read_text(encoding="utf-8") == CASE.replace("2026-11-01", "2026-11-20") + \
        "  - {date: 2026-11-20, type: late_payment, days_late: 2}\n"


def test_readme_log_example_works_on_the_example_it_names(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"^partways log (.*?)\n +# ", readme, re.S | re.M)
    assert m, "README has a 'partways log' example"
    args = shlex.split(m.group(1).replace("\\\n", " "))
    example = ROOT / args[0]
    case = tmp_path / example.name
    shutil.copy(example, case)
    code, out = _log(case, *args[1:])
    assert code == 0, out
    assert out == f"logged 2 entries in {case}\n"
