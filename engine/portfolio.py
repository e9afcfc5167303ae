"""Signals over a set of cases (a client book): generic measures over per-case numbers,
with their meaning, parameters and texts in the KB (``portfolio.yaml``).

Two kinds of rule: ``top_share`` (the smallest set of items whose measure reaches a
share of the total, and whether that set is small enough to stand out) and
``ratio_rank`` (a ratio per item against its own target, ranked lowest first).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from . import _yaml
from .errors import KBError, Source
from .knowledge import KnowledgeBase


@dataclass(frozen=True)
class PortfolioSpec:
    measures: Mapping[str, tuple[str, ...]]
    parameters: Mapping[str, float]
    rules: tuple[Mapping[str, Any], ...]

    @property
    def guidance(self) -> set[str]:
        return {g for r in self.rules for g in r.get("guidance", ())}


@dataclass
class Portfolio:
    """The book-level result and each item's own figures (by input index)."""

    summary: dict[str, Any]
    items: dict[int, dict[str, Any]] = field(default_factory=dict)


@cache
def _spec_at(path: str) -> PortfolioSpec:
    doc = _yaml.load_file(path, KBError)
    data = doc.data
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise KBError("portfolio.yaml needs 'measures', 'parameters' and 'rules'",
                      Source(path))
    params = {k: float(v["default"]) for k, v in (data.get("parameters") or {}).items()}
    for r in data["rules"]:
        for key in ("share", "at_most", "min_items"):
            if key in r and r[key] not in params:
                raise KBError(f"rule '{r.get('id')}': unknown parameter '{r[key]}'",
                              doc.source(("rules",)))
    measures = {k: tuple(str(v).split(".")) for k, v in (data.get("measures") or {}).items()}
    return PortfolioSpec(measures, params, tuple(data["rules"]))


def portfolio_spec(kb: KnowledgeBase) -> PortfolioSpec | None:
    """The KB's portfolio rules (the last root with a ``portfolio.yaml``), if any."""
    for root in reversed(kb.roots):
        path = Path(root) / "portfolio.yaml"
        if path.is_file():
            return _spec_at(str(path))
    return None


def measures_of(spec: PortfolioSpec, data: Mapping[str, Any]) -> dict[str, float]:
    """The numbers the portfolio rules need, read from one case's data."""
    out: dict[str, float] = {}
    for name, path in spec.measures.items():
        node: Any = data
        for part in path:
            node = node.get(part) if isinstance(node, Mapping) else None
        if isinstance(node, (int, float)) and not isinstance(node, bool):
            out[name] = float(node)
    return out


def evaluate(kb: KnowledgeBase, spec: PortfolioSpec,
             items: Iterable[tuple[int, str, Mapping[str, float]]],
             lang: str = "en") -> Portfolio:
    """Run every portfolio rule over ``items`` (index, client, measures)."""
    rows = list(items)
    result = Portfolio({"clients": len(rows), "rules": {}})
    for i, _c, _m in rows:
        result.items[i] = {"clients": len(rows), "signals": []}
    for rule in spec.rules:
        kind = rule.get("kind")
        if kind == "top_share":
            result.summary["rules"][rule["id"]] = _top_share(kb, spec, rule, rows, result, lang)
        elif kind == "ratio_rank":
            result.summary["rules"][rule["id"]] = _ratio_rank(kb, rule, rows, result, lang)
        else:
            raise KBError(f"portfolio rule '{rule.get('id')}': unknown kind '{kind}'")
    return result


def _title(kb: KnowledgeBase, rule: Mapping[str, Any], lang: str) -> str:
    return kb.text(rule.get("title"), lang)


def _top_share(kb: KnowledgeBase, spec: PortfolioSpec, rule: Mapping[str, Any],
               rows: list[tuple[int, str, Mapping[str, float]]], result: Portfolio,
               lang: str) -> dict[str, Any]:
    measure, out = rule["measure"], rule["output"]
    share = spec.parameters[rule["share"]]
    at_most = spec.parameters[rule["at_most"]]
    min_items = spec.parameters.get(rule.get("min_items", ""), 0)
    have = sorted(((m[measure], c, i) for i, c, m in rows if m.get(measure, 0) > 0),
                  key=lambda t: (-t[0], t[1], t[2]))
    total = sum(v for v, _c, _i in have)
    members: list[tuple[float, str, int]] = []
    acc = 0.0
    for v, c, i in have:
        if total <= 0 or acc >= share * total:
            break
        members.append((v, c, i))
        acc += v
    holds = bool(have) and len(have) >= min_items and len(members) <= at_most * len(have)
    for rank, (v, _c, i) in enumerate(have, 1):
        item = result.items[i]
        item[out["share"]] = round(v / total, 4) if total else 0.0
        item[out["rank"]] = rank
        item[out["member"]] = False
    for _v, _c, i in members:
        item = result.items[i]
        item[out["member"]] = True
        if holds and rule.get("signal"):
            item["signals"].append({"id": rule["signal"], "rule": rule["id"],
                                    "guidance": list(rule.get("guidance", ())),
                                    "severity": rule.get("severity", "minor"),
                                    "title": _title(kb, rule, lang)})
    return {"title": _title(kb, rule, lang), "guidance": list(rule.get("guidance", ())),
            "measure": measure, "total": round(total, 2), "with_measure": len(have),
            "set_size": len(members),
            "set_share_of_items": round(len(members) / len(have), 4) if have else 0.0,
            "set_share_of_total": round(acc / total, 4) if total else 0.0,
            "holds": holds, "members": [c for _v, c, _i in members],
            "parameters": {rule["share"]: share, rule["at_most"]: at_most,
                           **({rule["min_items"]: min_items} if "min_items" in rule else {})}}


def _ratio_rank(kb: KnowledgeBase, rule: Mapping[str, Any],
                rows: list[tuple[int, str, Mapping[str, float]]], result: Portfolio,
                lang: str) -> dict[str, Any]:
    out = rule["output"]
    ranked = []
    for i, c, m in rows:
        den = m.get(rule["denominator"], 0)
        if den <= 0 or rule["numerator"] not in m:
            continue
        value = m[rule["numerator"]] / den
        target = m.get(rule["against"], 0)
        ratio = value / target if target > 0 else None
        ranked.append((ratio if ratio is not None else float("inf"), value, c, i))
    ranked.sort(key=lambda t: (t[0], t[1], t[2], t[3]))
    listing = []
    for rank, (ratio, value, c, i) in enumerate(ranked, 1):
        item = result.items[i]
        item[out["value"]] = round(value, 2)
        item[out["ratio"]] = None if ratio == float("inf") else round(ratio, 4)
        item[out["rank"]] = rank
        listing.append({"client": c, out["value"]: round(value, 2),
                        out["ratio"]: item[out["ratio"]]})
    return {"title": _title(kb, rule, lang), "guidance": list(rule.get("guidance", ())),
            "ranked": len(listing), "lowest": listing[:10]}
