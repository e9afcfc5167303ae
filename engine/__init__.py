"""partways: decide whether, when and how to end a relationship with a bad client,
with every step of the reasoning explained.

The public API::

    from partways import assess, load_kb
    a = assess("examples/acme-late-payer.yaml")
    a.decision, a.signals, a.next_steps, a.plan, a.graph, a.to_dict()
"""

from __future__ import annotations

from .api import (
    assess,
    assess_case,
    assess_data,
    assess_text,
    program_for,
    resolve_kb,
    validate_case,
)
from .assessment import Assessment, Finding, Plan, PlanStep, Step
from .case import Case, case_from_data, load_case, parse_case
from .contract import decision_id, kb_digest, schema, schema_text
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
from .version import SCHEMA_VERSION, __version__
from .whatif import Edit, FlipResult, WhatIf, flip, what_if

__all__ = [
    "SCHEMA_VERSION",
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
    "__version__",
    "assess",
    "assess_case",
    "assess_data",
    "assess_reference",
    "assess_text",
    "case_from_data",
    "case_view",
    "decision_id",
    "find_forbidden",
    "flip",
    "kb_digest",
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
    "resolve_kb",
    "rule_coverage",
    "rule_graph",
    "schema",
    "schema_text",
    "validate_case",
    "what_if",
]
