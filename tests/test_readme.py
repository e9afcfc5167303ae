"""The README's quick start stays two commands, and CI runs the second one."""

from __future__ import annotations

import re

from _paths import ROOT


def _commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Quick start\n.*?```(?:sh|bash)\n(.*?)```", text, re.S)
    assert block, "README needs a '## Quick start' section with a shell block"
    return [line for line in block.group(1).splitlines() if line and not line.startswith("#")]


def test_quick_start_is_two_commands() -> None:
    commands = _commands()
    assert len(commands) == 2
    assert "partways assess examples/" in commands[0]
    assert commands[1].rstrip().endswith("python -m pytest")


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    test_command = _commands()[1]
    tail = test_command.split("&& ", 2)[-1]  # after creating and activating the venv
    assert tail.strip() in ci


def test_quick_start_example_exists() -> None:
    path = _commands()[0].split("partways assess ", 1)[1].split()[0]
    assert (ROOT / path).is_file()
