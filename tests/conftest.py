"""Shared fixtures: the shipped KB, paths to examples, a helper to assess mappings."""

from __future__ import annotations

from typing import Any

import pytest

import partways


@pytest.fixture(scope="session")
def kb() -> partways.KnowledgeBase:
    return partways.load_kb()


@pytest.fixture(scope="session")
def assess_data(kb: partways.KnowledgeBase) -> Any:
    def run(data: dict[str, Any]) -> partways.Assessment:
        return partways.assess_data(data, kb)

    return run
