"""Cold start: `partways --help` and `partways assess` import no command they do not run."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from partways.cli.main import LAZY_COMMANDS, main

from _paths import EXAMPLES

HEAVY = ("jinja2", "graphviz", "icalendar", "ruamel", "networkx", "partways.explain",
         "partways.whatif", "partways.lint", "partways.render.report", "partways.render.diagram",
         "partways.journal", "partways.render.letters", "http.server")


def imported_after(args: list[str]) -> set[str]:
    code = ("import sys; from partways.cli.main import main\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "print('\\n'.join(sys.modules))")
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          check=True)
    return set(done.stdout.splitlines())


def test_help_and_assess_import_nothing_heavy() -> None:
    for args in (["--help"], ["assess", str(EXAMPLES / "acme-late-payer.yaml")]):
        loaded = imported_after(args)
        heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY or m in HEAVY)
        assert heavy == [], (args, heavy)
    help_only = imported_after(["--help"])
    assert not {"partways.assessment", "partways.knowledge", "durable", "yaml"} & help_only


def test_the_lazy_help_lists_what_the_commands_say() -> None:
    for name, (_module, _attr, short) in LAZY_COMMANDS.items():
        cmd = main.get_command(None, name)  # type: ignore[arg-type]
        assert cmd is not None
        assert cmd.get_short_help_str(limit=1000) == short, name


def test_every_command_runs_its_help() -> None:
    runner = CliRunner()
    for name in main.list_commands(None):  # type: ignore[arg-type]
        result = runner.invoke(main, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)
        assert "Usage: main " + name in result.output or f"Usage: partways {name}" in \
            result.output or f" {name} " in result.output


def test_assess_and_why_need_no_jsonschema_nor_networkx() -> None:
    """A valid case and a cached KB need no jsonschema (only a refused input is worded
    with it), and neither command draws a graph (networkx)."""
    for args in (["assess", str(EXAMPLES / "acme-late-payer.yaml")],
                 ["why", str(EXAMPLES / "acme-late-payer.yaml")]):
        imported_after(args)  # the first run may fill the KB cache (which needs jsonschema)
        loaded = imported_after(args)
        heavy = sorted(m for m in loaded if m.split(".")[0] in ("jsonschema", "networkx"))
        assert heavy == [], (args, heavy)
