"""The inference backends this interpreter has: every differential test runs on each."""

from __future__ import annotations

from partways.inference import durable_problem

ENGINES = ["python"] if durable_problem() is not None else ["durable", "python"]
