"""Choosing the inference backend: --engine, PARTWAYS_ENGINE, and the fallback when
durable_rules cannot be imported (a one-line notice, the same output)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

import partways
from partways import inference
from partways.cli.main import main

from _engines import ENGINES
from _paths import EXAMPLES

EXAMPLE = str(EXAMPLES / "acme-late-payer.yaml")
# Runs the CLI in a fresh interpreter where durable_rules' C extension cannot be imported,
# as on a Python it was not built for.
BLOCKED = ("import sys; sys.modules['durable_rules_engine'] = None; "
           "from partways.cli.main import main; main()")


def cli(args: list[str], env: dict[str, str] | None = None,
        code: str = BLOCKED) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k != "PARTWAYS_ENGINE"}
    full.update(env or {})
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True,
                           text=True, env=full, check=False)


def test_without_durable_the_python_backend_runs_with_a_one_line_notice() -> None:
    expected = CliRunner().invoke(main, ["--engine", "python", "assess", EXAMPLE])
    assert expected.exit_code == 0
    done = cli(["assess", EXAMPLE])
    assert done.returncode == 0, done.stderr
    assert done.stdout == expected.output
    lines = done.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("partways: durable_rules is not available (")
    assert "using the compiled Python engine" in lines[0]


def test_asking_for_durable_where_it_cannot_import_is_a_one_line_error() -> None:
    done = cli(["assess", EXAMPLE], {"PARTWAYS_ENGINE": "durable"})
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith("Error: the durable engine is not available here")
    assert len(done.stderr.splitlines()) == 1


def test_an_explicit_python_engine_prints_no_notice() -> None:
    done = cli(["--engine", "python", "assess", EXAMPLE, "--format", "json"])
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout == partways.assess(EXAMPLE, engine="python").to_json()


def test_an_unknown_engine_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARTWAYS_ENGINE", "rete")
    result = CliRunner().invoke(main, ["assess", EXAMPLE])
    assert result.exit_code == 1
    assert result.output.strip() == ("Error: unknown engine 'rete' (PARTWAYS_ENGINE or "
                                     "--engine: one of durable, python)")
    bad = CliRunner().invoke(main, ["--engine", "rete", "assess", EXAMPLE])
    assert bad.exit_code == 2 and "'rete' is not one of" in bad.output


@pytest.mark.parametrize("engine", ENGINES)
def test_the_engine_option_and_variable_choose_the_backend(
        engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    other = {"durable": "run_python", "python": "run_durable"}[engine]

    def refuse(*_: object) -> None:
        raise AssertionError(f"{other} ran although {engine} was chosen")

    monkeypatch.setattr(inference, other, refuse)
    runner = CliRunner()
    by_option = runner.invoke(main, ["--engine", engine, "assess", EXAMPLE, "--format", "json"])
    assert by_option.exit_code == 0, by_option.output
    assert inference.set_engine(None) is None  # the option lasts one command
    monkeypatch.setenv("PARTWAYS_ENGINE", engine)
    by_variable = runner.invoke(main, ["assess", EXAMPLE, "--format", "json"])
    assert by_variable.output == by_option.output


def test_both_backends_give_the_same_json_on_every_example(kb: partways.KnowledgeBase) -> None:
    paths = sorted(p for p in EXAMPLES.glob("*") if p.suffix in (".yaml", ".json"))
    for path in paths:
        outs = {e: partways.assess(path, kb, engine=e).to_json() for e in ENGINES}
        assert len(set(outs.values())) == 1, path.name
