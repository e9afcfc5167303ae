"""No traceback from any input: mutated shipped examples through every command, in
process (short form; ``python tools/fuzz.py --minutes N`` runs the long form)."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _fuzz import CASES, Tally, mutate, run_case


@settings(max_examples=15, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(st.randoms(use_true_random=False))
def test_mutated_examples_give_a_clean_error_or_a_valid_output(rng: random.Random) -> None:
    name, data, done = mutate(rng)
    tally = Tally()
    with tempfile.TemporaryDirectory() as folder:
        run_case(data, Path(folder), tally, label=f"{name}: {done}")
    assert tally.failures == []
    assert tally.clean_errors + tally.valid_outputs == tally.inputs + sum(
        tally.by_command.values())


# Inputs the long run (tools/fuzz.py) once broke on, kept as regressions.
FOUND = [
    ("darya-travel-minor-signs.yaml", {"client": "2026-13-01"}),  # looked like a date
    ("acme-late-payer.yaml", {"client": "9999-99-99"}),
]


def test_inputs_the_long_run_found(tmp_path: Path) -> None:
    for name, changes in FOUND:
        data = {**CASES[name], **changes}
        tally = Tally()
        run_case(data, tmp_path, tally, label=name)
        assert tally.failures == []
