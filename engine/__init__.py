"""partways: decide whether, when and how to end a relationship with a bad client,
with every step of the reasoning explained.

The public API::

    from partways import assess, load_kb
    a = assess("examples/acme-late-payer.yaml")
    a.decision, a.signals, a.next_steps, a.plan, a.graph, a.to_dict()
"""

from __future__ import annotations

from .api import assess, assess_case, assess_data, assess_text, program_for
from .assessment import Assessment, Finding, Plan, PlanStep, Step
from .case import Case, case_from_data, load_case, parse_case
from .errors import (
    CaseError,
    InferenceError,
    KBError,
    PartwaysError,
    PolicyError,
    QueryError,
    Source,
)
from .knowledge import KnowledgeBase, load_kb

__all__ = [
    "Assessment",
    "Case",
    "CaseError",
    "Finding",
    "InferenceError",
    "KBError",
    "KnowledgeBase",
    "PartwaysError",
    "Plan",
    "PlanStep",
    "PolicyError",
    "QueryError",
    "Source",
    "Step",
    "assess",
    "assess_case",
    "assess_data",
    "assess_text",
    "case_from_data",
    "load_case",
    "load_kb",
    "parse_case",
    "program_for",
]
__version__ = "0.1.0"
