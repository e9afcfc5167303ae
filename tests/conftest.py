"""Shared fixtures: the shipped KB, paths to examples, a helper to assess mappings."""

from __future__ import annotations

import os
from typing import Any

import pytest

import partways
from partways.inference import durable_problem

# Where durable_rules cannot be imported (e.g. a plain `pip install` on Python 3.13), the
# suite runs on the compiled Python backend, chosen explicitly so that no fallback notice
# mixes into the command outputs under test (tests/test_engines.py tests the notice).
if not os.environ.get("PARTWAYS_ENGINE") and durable_problem() is not None:
    os.environ["PARTWAYS_ENGINE"] = "python"


@pytest.fixture(scope="session")
def kb() -> partways.KnowledgeBase:
    return partways.load_kb()


@pytest.fixture(scope="session")
def assess_data(kb: partways.KnowledgeBase) -> Any:
    def run(data: dict[str, Any]) -> partways.Assessment:
        return partways.assess_data(data, kb)

    return run
