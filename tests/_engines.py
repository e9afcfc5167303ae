"""The inference backends the differential tests run on: every one this interpreter has,
or only the one PARTWAYS_ENGINE names (.ci/run's Python-backend legs: the other one was
compared in the leg before)."""

from __future__ import annotations

import os

from partways.inference import ENGINES as ALL
from partways.inference import durable_problem

_chosen = os.environ.get("PARTWAYS_ENGINE")
ENGINES = [_chosen] if _chosen in ALL else (
    ["python"] if durable_problem() is not None else ["durable", "python"])
