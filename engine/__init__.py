"""partways: decide whether, when and how to end a relationship with a bad client,
with every step of the reasoning explained.

The public API::

    from partways import assess, load_kb
    a = assess("examples/acme-late-payer.yaml")
    a.decision, a.signals, a.next_steps, a.plan, a.graph, a.to_dict()
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .errors import (
    CaseError,
    InferenceError,
    KBError,
    PartwaysError,
    PolicyError,
    QueryError,
    Source,
)
from .version import SCHEMA_VERSION, __version__

# Imported on first use (cold start: `partways --help` needs none of them, assessing a
# case only the first few).
_LAZY = {
    "assess": "api", "assess_case": "api", "assess_data": "api", "assess_text": "api",
    "program_for": "api", "resolve_kb": "api", "validate_case": "api",
    "Assessment": "assessment", "Finding": "assessment", "Plan": "assessment",
    "PlanStep": "assessment", "Step": "assessment", "Case": "case",
    "case_from_data": "case", "load_case": "case", "parse_case": "case",
    "KnowledgeBase": "knowledge", "load_kb": "knowledge",
    "decision_id": "contract", "kb_digest": "contract", "schema": "contract",
    "schema_text": "contract", "Coverage": "coverage", "rule_coverage": "coverage",
    "case_view": "render.diagram", "render_diagram": "render.diagram:render",
    "Why": "explain", "WhyNot": "explain", "log_entries": "journal",
    "find_forbidden": "render.letters", "letter_channels": "render.letters",
    "render_letter": "render.letters", "LintReport": "lint",
    "Problem": "lint", "lint_kb": "lint", "no_plan_message": "render.plan",
    "plan_items": "render.plan", "render_plan": "render.plan",
    "assess_reference": "reference", "render_html": "render.report",
    "rule_graph": "render.rulegraph",
    "Edit": "whatif", "FlipResult": "whatif", "WhatIf": "whatif", "flip": "whatif",
    "what_if": "whatif",
}

if TYPE_CHECKING:
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
    from .explain import Why, WhyNot
    from .journal import log_entries
    from .knowledge import KnowledgeBase, load_kb
    from .lint import LintReport, Problem, lint_kb
    from .reference import assess_reference
    from .render.diagram import case_view
    from .render.diagram import render as render_diagram
    from .render.letters import find_forbidden, letter_channels, render_letter
    from .render.plan import no_plan_message, plan_items, render_plan
    from .render.report import render_html
    from .render.rulegraph import rule_graph
    from .whatif import Edit, FlipResult, WhatIf, flip, what_if


def __getattr__(name: str) -> Any:
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module 'partways' has no attribute {name!r}")
    module, _, attr = where.partition(":")
    value = getattr(import_module(f".{module}", __name__), attr or name)
    globals()[name] = value
    return value


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
