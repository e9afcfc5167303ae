"""Paths the tests share (imported by name: tests/ is on pytest's pythonpath)."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
EXAMPLES = ROOT / "examples"
RULE_EXAMPLES = TESTS / "rule_examples"
FIXTURES = TESTS / "fixtures"
