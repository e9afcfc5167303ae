"""Seeded generator of realistic case files, shared by the benchmarks."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

EVENT_FIELDS: dict[str, dict[str, Any]] = {
    "late_payment": {"days_late": (5, 60)},
    "payment_refused": {},
    "poor_communication": {},
    "slow_response": {"hours": (12, 200)},
    "out_of_scope_demand": {},
    "impossible_demand": {"pressure": (False, True)},
    "unfounded_criticism": {"constructive": (False, True)},
    "pessimism": {},
    "disrespect": {"toward": ("you", "team")},
    "boundary_violation": {"kind": ("off_hours", "personal")},
    "contract_breach": {},
    "schedule_disregard": {},
    "needless_complication": {},
    "team_tension": {},
    "misleading_information": {},
    "vision_conflict": {},
    "reversal": {},
    "unprepared_meeting": {},
    "advice_rejected": {"what": ("advice", "idea", "deliverable")},
}
RARE = ["verbal_abuse", "illegal_request", "unethical_request"]
STEPS = ["frank_conversation", "new_channel", "scope_change", "fresh_agreement",
         "profitability_review", "confirm_reason", "cool_off", "self_review", "team_consulted"]


def make_case(rng: random.Random, i: int) -> dict[str, Any]:
    """One plausible client relationship as of 2026-11-01."""
    as_of = dt.date(2026, 11, 1)
    since = as_of - dt.timedelta(days=rng.randint(60, 900))
    events = []
    for _ in range(rng.randint(0, 12)):
        etype = rng.choice(list(EVENT_FIELDS)) if rng.random() > 0.03 else rng.choice(RARE)
        day = as_of - dt.timedelta(days=rng.randint(0, min(500, (as_of - since).days)))
        ev: dict[str, Any] = {"date": day.isoformat(), "type": etype}
        for field, spec in EVENT_FIELDS.get(etype, {}).items():
            ev[field] = rng.randint(*spec) if isinstance(spec[0], int) and not isinstance(
                spec[0], bool) else rng.choice(spec)
        events.append(ev)
    remediation = []
    for _ in range(rng.randint(0, 4)):
        day = as_of - dt.timedelta(days=rng.randint(0, 200))
        step = rng.choice(STEPS)
        item: dict[str, Any] = {"date": day.isoformat(), "step": step}
        if step in STEPS[:5]:
            item["outcome"] = rng.choice(["improved", "failed", "failed", "pending"])
        remediation.append(item)
    case: dict[str, Any] = {
        "client": f"Client {i}",
        "as_of": as_of.isoformat(),
        "relationship": {"since": since.isoformat(), "recurring": rng.random() < 0.6,
                         "has_team": rng.random() < 0.4},
        "money": {"revenue": rng.randint(1000, 60000), "hours": rng.randint(20, 900),
                  "target_rate": rng.choice([40, 60, 80, 120]),
                  "outstanding": rng.choice([0, 0, 500, 4500])},
        "events": events,
        "remediation": remediation,
        "doubts": rng.randint(0, 5),
        "wellbeing": rng.choice(["low", "medium", "high"]),
    }
    if rng.random() < 0.6:
        ends = as_of + dt.timedelta(days=rng.randint(-10, 300))
        case["contract"] = {"ends": ends.isoformat() if rng.random() < 0.8 else None,
                            "termination_clause": rng.random() < 0.7,
                            "notice_days": rng.choice([14, 30, 60])}
    if rng.random() < 0.5:
        case["deliverables"] = [{"name": f"Deliverable {k}", "paid": rng.random() < 0.5,
                                 "delivered": rng.random() < 0.5,
                                 "due": (as_of + dt.timedelta(days=rng.randint(-20, 90))
                                         ).isoformat()} for k in range(rng.randint(1, 3))]
    return case


def make_cases(n: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [make_case(rng, i) for i in range(n)]
