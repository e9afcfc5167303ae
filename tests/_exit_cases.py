"""Cases the exit-toolkit tests share (imported by name: tests/ is on pytest's pythonpath)."""

from __future__ import annotations

import copy
from typing import Any

# Two late payments; a frank talk and a fresh agreement both failed: terminate (DEC-01).
LATE: dict[str, Any] = {
    "client": "Northwind Ltd", "as_of": "2026-11-01",
    "events": [{"date": "2026-05-04", "type": "late_payment", "days_late": 20},
               {"date": "2026-08-03", "type": "late_payment", "days_late": 35}],
    "remediation": [{"date": "2026-09-01", "step": "frank_conversation", "outcome": "failed"},
                    {"date": "2026-10-01", "step": "fresh_agreement", "outcome": "failed"}],
}
# One insult: terminate_now (DEC-02).
ABUSE: dict[str, Any] = {"client": "Foo", "as_of": "2026-11-01",
                         "events": [{"date": "2026-10-02", "type": "verbal_abuse"}]}


def case(base: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A deep copy of ``base`` with top-level keys replaced by ``extra``."""
    return {**copy.deepcopy(base), **extra}
