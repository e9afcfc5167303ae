"""Paths the tests share (imported by name: tests/ is on pytest's pythonpath)."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
EXAMPLES = ROOT / "examples"
RULE_EXAMPLES = TESTS / "rule_examples"
FIXTURES = TESTS / "fixtures"


_OVERLAID: dict[str, object] = {}


def example_kb(example: dict, kb):  # type: ignore[no-untyped-def]
    """The KB a rule example runs on: ``kb``, or the shipped KB with the overlay the example
    names (``overlay:``, a directory under tests/fixtures)."""
    name = example.get("overlay")
    if not name:
        return kb
    if name not in _OVERLAID:
        import partways

        _OVERLAID[name] = partways.load_kb(overlays=[FIXTURES / name])
    return _OVERLAID[name]
