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
from .coverage import Coverage, rule_coverage
from .diagram import case_view
from .diagram import render as render_diagram
from .errors import (
    CaseError,
    InferenceError,
    KBError,
    PartwaysError,
    PolicyError,
    QueryError,
    Source,
)
from .explain import Why, WhyNot
from .journal import log_entries
from .knowledge import KnowledgeBase, load_kb
from .letters import find_forbidden, letter_channels, render_letter
from .lint import LintReport, Problem, lint_kb
from .plan_render import no_plan_message, plan_items, render_plan
from .reference import assess_reference
from .report import render_html
from .rulegraph import rule_graph
from .whatif import Edit, FlipResult, WhatIf, flip, what_if

__all__ = [
    "Assessment",
    "Case",
    "CaseError",
    "Coverage",
    "Edit",
    "Finding",
    "FlipResult",
    "InferenceError",
    "KBError",
    "KnowledgeBase",
    "LintReport",
    "PartwaysError",
    "Plan",
    "PlanStep",
    "PolicyError",
    "Problem",
    "QueryError",
    "Source",
    "Step",
    "WhatIf",
    "Why",
    "WhyNot",
    "assess",
    "assess_case",
    "assess_data",
    "assess_reference",
    "assess_text",
    "case_from_data",
    "case_view",
    "find_forbidden",
    "flip",
    "letter_channels",
    "lint_kb",
    "load_case",
    "load_kb",
    "log_entries",
    "no_plan_message",
    "parse_case",
    "plan_items",
    "program_for",
    "render_diagram",
    "render_html",
    "render_letter",
    "render_plan",
    "rule_coverage",
    "rule_graph",
    "what_if",
]
__version__ = "0.1.0"
