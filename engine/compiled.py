"""The compiled pure-Python inference backend: the KB's rules as specialised matching code.

Where durable_rules cannot be imported (no C compiler, a Python it does not build for),
or when asked for (``--engine python``, ``PARTWAYS_ENGINE=python``), rules run here. The
rule set is compiled once per set of values of the parameters its conditions read (a
case's policy can change them; the default set is compiled once and reused), as Python
source generated here and compiled (the compiled code is kept in memory and on disk, so
another parameter set of the same shape, or a cold process, does not compile again):

- every test is written out, specialised on its operator and operand; a ``$parameter``
  is resolved at compile time, so a test on constants and parameters is decided on the
  fact alone;
- patterns with the same fact type and the same fact-only tests share one *alpha memory*,
  filled as facts arrive (dispatched on the field most patterns test for equality, so an
  event reaches only the memories of its own ``type``); memories only the KB's tables
  fill are shared by every run;
- a join on ``field = @alias.field`` looks the bound value up in a hash index of the
  memory instead of scanning it; each rule's join is unrolled into nested loops;
- evaluation is stratified like the durable path (a negated fact type is complete before
  it is tested) and incremental: each match is found exactly once, when its newest fact
  arrives (patterns before it may bind facts up to that one, patterns after it only older
  facts);
- each rule's firing (its ``then`` fields, the conclusion id, the firing in the trace) is
  one generated function per rule, for every parameter set, which the durable path calls
  too; it does what :func:`~partways.inference.conclude` and
  :func:`~partways.inference.record` do (the reference evaluator's), so the decision graph
  and the JSON are the same. tests/test_reference.py holds both backends to the plain
  reference evaluator on generated cases and the shipped examples; tests/test_compiled.py
  holds the generated values and tests to expr's.

:func:`admission` (which facts can take part in any match) serves the durable path.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from operator import is_, itemgetter
from typing import Any, TypeVar

from ._kbcache import compiled_code
from .errors import InferenceError
from .expr import (
    MISSING,
    AnyOf,
    Cond,
    Const,
    Op,
    Param,
    Ref,
    Test,
    compare,
    cond_test,
    evaluate,
    fact_test_source,
    known_operand,
    normalize_number,
    params_of,
    refs_of,
)
from .facts import Fact, FactBase
from .inference import Firing, Trace, _alias, derivation_digest
from .knowledge import KnowledgeBase, Rule

Env = dict[str, Fact]
T = TypeVar("T")
Alpha = Callable[[Fact], bool]
Join = Callable[[Fact, Env], bool]
# a rule's firing (see _conclusion_source): the new fact concluded, or None
Concluder = Callable[..., "Fact | None"]


# ----------------------------------------------------------------------------- tests


def _join_one(c: Cond, params: Mapping[str, Any]) -> Join:
    if isinstance(c, AnyOf):
        options = tuple(tuple(_join_one(x, params) for x in o) for o in c.options)
        return lambda f, env: any(all(t(f, env) for t in o) for o in options)
    known, _ = known_operand(c.operand, params)
    if known or c.op == "in":
        alpha = cond_test(c, params)
        return lambda f, env: alpha(f)
    fld, op, expr = c.field, c.op, c.operand
    if isinstance(expr, Ref):
        alias, rfld = expr.alias, expr.field
        return lambda f, env: compare(f.get(fld, MISSING), op, env[alias].get(rfld, MISSING))

    def check(f: Fact, env: Env) -> bool:
        def resolve(ref: Ref) -> Any:
            bound = env.get(ref.alias)
            return MISSING if bound is None else bound.get(ref.field, MISSING)

        return compare(f.get(fld, MISSING), op, evaluate(expr, params, resolve))

    return check


def _fact_only(c: Cond, params: Mapping[str, Any]) -> bool:
    if isinstance(c, AnyOf):
        return all(_fact_only(x, params) for o in c.options for x in o)
    return c.op == "in" or known_operand(c.operand, params)[0]


# ----------------------------------------------------------------------------- conclusions


def conclusion_functions(kb: KnowledgeBase, rule: Rule, level: int
                         ) -> tuple[Concluder, Concluder]:
    """``rule``'s firing as generated Python (:func:`_conclusion_source`), for any
    parameter set: ``(trace, f<k>...)`` taking the facts of its positive patterns, and
    ``(trace, matched)`` taking them by alias (the durable path)."""
    ns = _conclusion_namespace()
    positives = [(k, _alias(p, k)) for k, p in enumerate(rule.when) if not p.negated]
    args = "".join(f", m[{alias!r}]" for _, alias in positives)
    source = [*_conclusion_source(kb, rule, level, "conclude", ns), "",
              "def by_alias(trace, m):", f"    return conclude(trace{args})"]
    exec(compiled_code("\n".join(source), f"<partways: rule {rule.id}>"), ns)
    return ns["conclude"], ns["by_alias"]


def _conclusion_namespace() -> dict[str, Any]:
    return {"MISSING": MISSING, "N": normalize_number, "DIGESTS": _DIGESTS, "digest": _digest,
            "FIRING": tuple.__new__, "Firing": Firing, "InferenceError": InferenceError,
            "sum": sum, "prod": math.prod, "min": min, "max": max, "isinstance": isinstance}


_DIGESTS: dict[str, str] = {}  # "rule|premise ids" -> the 8 hex digits of its conclusion id


def _digest(text: str) -> str:
    """:func:`~partways.inference.conclusion_id`'s digest of ``text``, remembered (cases
    share most derivations; bounded)."""
    if len(_DIGESTS) >= 100_000:
        _DIGESTS.clear()
    out = _DIGESTS[text] = derivation_digest(text)
    return out


def _conclusion_source(kb: KnowledgeBase, rule: Rule, level: int, name: str,
                       ns: dict[str, Any]) -> list[str]:
    """``name(trace, f<k>...)``: fire ``rule`` on the facts of its positive patterns
    (``f<k>`` binds pattern ``k``), as :func:`~partways.inference.conclude` and
    :func:`~partways.inference.record` do: the same fields, id, firing and trace. Returns
    the conclusion when it is a new fact, else ``None``. The rule's ``then`` is written
    out: constants computed now, references read directly, parameters from
    ``trace.params`` (the code serves every parameter set)."""
    positives = [(k, _alias(p, k)) for k, p in enumerate(rule.when) if not p.negated]
    var_of = {alias: f"f{k}" for k, alias in positives}
    cap = kb.max_firings
    tag = name
    ns[f"{tag}_over"] = (f"more than {cap} rule firings for one case: the knowledge base is "
                         "probably looping (see 'partways kb lint')")
    out = [f"def {name}(trace{''.join(f', f{k}' for k, _ in positives)}):",
           "    firings = trace.firings", f"    if len(firings) >= {cap}:",
            f"        raise InferenceError({tag}_over)",
            *(f"    i{k} = f{k}['id']" for k, _ in positives)]
    values: dict[str, tuple[bool, str]] = {}  # field -> (always present?, source of value)
    counter = [0]
    for i, (key, expr) in enumerate(rule.then.items()):
        known, value = _known(expr, None)
        if known:
            value = normalize_number(value)
            if value is not MISSING and value is not None:
                ns[f"{tag}_k{i}"] = value
                values[key] = (True, f"{tag}_k{i}")
            continue
        if isinstance(expr, Ref) and expr.alias not in var_of:
            continue  # a negated pattern's alias: never bound, so the field is missing
        out += _expr_lines(expr, f"v{i}", var_of, None, ns, f"{tag}_k{i}", counter, "    ")
        if isinstance(expr, Ref):
            out += [f"    if v{i}.__class__ is float or v{i}.__class__ is int or ("
                    f"v{i}.__class__ is not str and v{i}.__class__ is not bool "
                    f"and isinstance(v{i}, (int, float))):",
                    f"        v{i} = N(v{i})"]
        else:
            out.append(f"    v{i} = N(v{i})")
        values[key] = (False, f"v{i}")

    def field(key: str) -> str:
        """The source of ``fields.get(key)``."""
        if key not in values:
            return "None"
        always, src = values[key]
        return src if always else f"(None if {src} is MISSING else {src})"

    prefix = rule.then_fact
    if rule.key:
        parts = [repr(f"{prefix}:")]
        for j, k in enumerate(rule.key):
            if j:
                parts.append("'/'")
            if k not in values:
                parts.append("'None'")
            elif values[k][0]:
                parts.append(repr(str(ns[values[k][1]])))
            else:
                parts.append(f"str({field(k)})")
        out.append(f"    fid = {' + '.join(parts)}")
    else:
        text = " + '|' + ".join([repr(rule.id), *(f"i{k}" for k, _ in positives)])
        out += [f"    text = {text}", "    dig = DIGESTS.get(text)", "    if dig is None:",
                "        dig = digest(text)"]
        label = kb.fact_types[rule.then_fact].label_field
        if label is None or label not in values:
            out.append(f"    fid = {prefix + '#'!r} + dig")
        elif values[label][0]:
            out.append(f"    fid = {f'{prefix}:{ns[values[label][1]]}#'!r} + dig")
        else:
            src = values[label][1]
            out += [f"    if {src} is MISSING or {src} is None:",
                    f"        fid = {prefix + '#'!r} + dig", "    else:",
                    f"        fid = {prefix + ':'!r} + format({src}) + '#' + dig"]
    # the conclusion: fields in ``then`` order, those missing or None left out
    display = [f"'fact': {rule.then_fact!r}", "'id': fid"]
    build: list[str] = []
    for key, (always, src) in values.items():
        if always and not build:
            display.append(f"{key!r}: {src}")
        elif always:
            build.append(f"    fact[{key!r}] = {src}")
        else:
            build += [f"    if {src} is not MISSING and {src} is not None:",
                      f"        fact[{key!r}] = {src}"]
    premises = "".join(f"({alias!r}, i{k}), " for k, alias in positives)
    firing = f"firings.append(FIRING(Firing, ({rule.id!r}, ({premises}), fid, {level})))"
    ns[f"{tag}_rule"] = rule
    out += ["    facts = trace.facts", "    old = facts.get(fid)", "    if old is not None:"]
    if rule.key:
        out += [f"        fact = {{{', '.join(display)}}}", *("    " + b for b in build),
                "        if old != fact:", f"            _clash({tag}_rule, fid)",
                f"        {firing}", "        return None"]
        ns["_clash"] = _clash
    else:
        out.append("        return None")
    out += [f"    fact = {{{', '.join(display)}}}", *build, f"    {firing}",
            "    facts[fid] = fact", "    return fact"]
    return out


def _clash(rule: Rule, fid: str) -> None:
    raise InferenceError(f"rule '{rule.id}' concluded two different '{rule.then_fact}' facts "
                         f"with the same key {fid}", rule.origin)


def _known(expr: Any, params: Mapping[str, Any] | None) -> tuple[bool, Any]:
    """:func:`~partways.expr.known_operand`; with ``params`` ``None``, a parameter is
    not known."""
    if isinstance(expr, Ref) or (params is None and params_of(expr)):
        return False, None
    return known_operand(expr, {} if params is None else params)


def _expr_lines(expr: Any, target: str, var_of: Mapping[str, str],
                params: Mapping[str, Any] | None, ns: dict[str, Any], tag: str,
                counter: list[int], ind: str) -> list[str]:
    """Statements giving ``target`` the value :func:`~partways.expr.evaluate` gives
    ``expr`` (before :func:`~partways.expr.normalize_number`); with ``params`` ``None``,
    parameters are read from ``trace.params``."""
    known, value = _known(expr, params)
    if known:
        counter[0] += 1
        ns[f"{tag}_{counter[0]}"] = value
        return [f"{ind}{target} = {tag}_{counter[0]}"]
    if isinstance(expr, Param):
        return [f"{ind}{target} = trace.params.get({expr.name!r}, MISSING)"]
    if isinstance(expr, Ref):
        var = var_of.get(expr.alias)
        return [f"{ind}{target} = " + (f"{var}.get({expr.field!r}, MISSING)" if var else "MISSING")]
    assert isinstance(expr, Op)
    if expr.op == "coalesce":
        out: list[str] = []
        for arg in expr.args:
            out += _expr_lines(arg, target, var_of, params, ns, tag, counter, ind)
            out.append(f"{ind}if {target} is MISSING or {target} is None:")
            ind += "    "
        return [*out, f"{ind}{target} = MISSING"]
    out = []
    temps = []
    for arg in expr.args:
        counter[0] += 1
        temps.append(f"t{counter[0]}")
        out += _expr_lines(arg, temps[-1], var_of, params, ns, tag, counter, ind)
    bad = " or ".join(f"{t} is MISSING or {t} is None or isinstance({t}, (str, bool))"
                      for t in temps)
    out += [f"{ind}if {bad}:", f"{ind}    {target} = MISSING", f"{ind}else:"]
    args = ", ".join(temps)
    if expr.op == "neg":
        out.append(f"{ind}    {target} = -{temps[0]}")
    elif expr.op in ("add", "mul", "min", "max"):
        fn = {"add": "sum", "mul": "prod"}.get(expr.op, expr.op)
        out.append(f"{ind}    {target} = {fn}(({args},))")
    elif expr.op == "sub":
        out.append(f"{ind}    {target} = {' - '.join(temps)}")
    else:  # div
        zero = " or ".join(f"{t} == 0" for t in temps[1:]) or "False"
        out += [f"{ind}    if {zero}:", f"{ind}        {target} = MISSING", f"{ind}    else:",
                f"{ind}        {target} = {' / '.join(temps)}"]
    return out


# ----------------------------------------------------------------------------- memories


class _Memory:
    """Patterns that share a fact type and fact-only tests: one alpha memory per run,
    optionally indexed on one field for equality joins (the contents live in a
    :class:`_Store`, one per run, at ``slot``)."""

    __slots__ = ("at", "conds", "key", "slot", "users")

    def __init__(self, key: str | None, slot: int, conds: Sequence[Cond] = ()) -> None:
        self.key = key
        self.slot = slot
        self.conds = tuple(conds)  # ``alpha``'s conditions (all must hold)
        self.users: list[tuple[_Rule, int]] = []
        # per stratum, the matching code of ``users`` pinned on this memory's new fact
        self.at: list[list[Matcher]] = []


Item = tuple[int, Fact]


_NO_INDEX: dict[Any, list[Item]] = {}  # of a memory without a join key: never written
_NO_ODD: list[Item] = []
_THAW = object()  # CompiledRules.own_routing: a type whose memories a run shares


class _Store:
    """One run's alpha memories: facts in arrival order, and hash indexes on join keys."""

    __slots__ = ("index", "indexed", "items", "odd")

    def __init__(self, n: int, keyed: Sequence[int] = ()) -> None:
        self.items: list[list[Item]] = [[] for _ in range(n)]
        # for the memories indexed on a join key (``keyed``; the others have none)
        self.indexed = tuple(keyed)
        self.index: list[dict[Any, list[Item]]] = [_NO_INDEX] * n
        self.odd: list[list[Item]] = [_NO_ODD] * n  # key not hashable: scanned
        for slot in self.indexed:
            self.index[slot] = {}
            self.odd[slot] = []

    def copy(self, shared: Sequence[int] = ()) -> _Store:
        """A copy to add to; the memories at ``shared`` are the same objects (they must
        not change: see :meth:`CompiledRules.template`)."""
        new = _Store(0)
        new.indexed = self.indexed
        new.items = list(map(list.copy, self.items))
        new.index = self.index.copy()
        new.odd = self.odd.copy()
        for slot in self.indexed:
            index = self.index[slot]
            new.index[slot] = {k: list(v) for k, v in index.items()} if index else {}
            new.odd[slot] = list(self.odd[slot])
        for slot in shared:
            new.items[slot] = self.items[slot]
            new.index[slot] = self.index[slot]
            new.odd[slot] = self.odd[slot]
        return new

    def thaw(self, shared: Sequence[int]) -> None:
        """Own the memories :meth:`copy` shared, before adding to them (again: harmless)."""
        for slot in shared:
            self.items[slot] = list(self.items[slot])
            if slot in self.indexed:
                self.index[slot] = {k: list(v) for k, v in self.index[slot].items()}
                self.odd[slot] = list(self.odd[slot])

    def add(self, memory: _Memory, seq: int, fact: Fact) -> None:
        item = (seq, fact)
        slot = memory.slot
        self.items[slot].append(item)
        if memory.key is not None:
            value = fact.get(memory.key)
            if value is None:
                return  # never equal to anything (compare)
            if isinstance(value, (str, int, float, bool)):
                self.index[slot].setdefault(value, []).append(item)
            else:
                self.odd[slot].append(item)

    def candidates(self, step: _Step, env: Env) -> list[Item]:
        """Facts of ``step``'s memory that may join ``env``, in arrival order (a superset:
        the join test still decides)."""
        slot = step.memory.slot
        if step.key_of is None:
            return self.items[slot]
        return self.keyed(slot, step.key_of(env))

    def keyed(self, slot: int, value: Any) -> list[Item]:
        """The facts of an indexed memory that may join ``value``, in arrival order."""
        if value is MISSING or value is None:
            return []
        if not isinstance(value, (str, int, float, bool)):
            return self.items[slot]
        hit = self.index[slot].get(value, [])
        odd = self.odd[slot]
        return sorted([*hit, *odd], key=lambda i: i[0]) if odd else hit


class _Step:
    """One pattern of a compiled rule."""

    __slots__ = ("alias", "conds", "distinct", "join", "key_of", "key_ref", "memory",
                 "negated")

    def __init__(self, alias: str, negated: bool, memory: _Memory, join: Join | None,
                 key_of: Callable[[Env], Any] | None, conds: Sequence[Cond] = (),
                 key_ref: Ref | None = None) -> None:
        self.alias = alias
        self.negated = negated
        self.memory = memory
        self.join = join
        self.key_of = key_of
        self.conds = tuple(conds)  # the tests ``join`` makes (they read other aliases)
        self.key_ref = key_ref  # what ``key_of`` reads
        # the steps before it, positive and of its fact type, whose facts it cannot take
        # (one fact binds at most one positive pattern; a negated one ignores them)
        self.distinct: tuple[int, ...] = ()


Matcher = Callable[["_Run", "Fact | None", int], None]


class _Rule:
    __slots__ = ("conclude", "level", "matchers", "rule", "steps")

    def __init__(self, rule: Rule, level: int, steps: list[_Step]) -> None:
        self.rule = rule
        self.level = level
        self.steps = steps
        # (trace, the facts of the positive steps in order): generated (_generate)
        self.conclude: Concluder = _unset
        # the rule's matching code, by pinned step (-1: none); None: run by _Run.join
        self.matchers: dict[int, Matcher] | None = None


Route = Callable[["_Store", int, Fact], list["_Memory"]]


def _nowhere(store: _Store, seq: int, fact: Fact) -> list[_Memory]:
    return []


class _Dispatch:
    """A fact type's memories, dispatched on the field most of them test for equality."""

    __slots__ = ("by_value", "field", "rest", "rest_route", "routes")

    def __init__(self) -> None:
        self.field: str | None = None
        self.by_value: dict[Any, list[_Memory]] = {}
        self.rest: list[_Memory] = []
        # generated: per dispatch value, and for the rest, a function that puts a fact
        # into each of :meth:`memories` whose tests it passes and returns those memories
        self.routes: dict[Any, Route] = {}
        self.rest_route: Route = _nowhere


class CompiledRules:
    """The rules of a program compiled for one parameter set."""

    def __init__(self, kb: KnowledgeBase, strata: Mapping[str, int],
                 params: Mapping[str, Any],
                 conclusions: Mapping[str, tuple[Concluder, Concluder]] | None = None) -> None:
        """``conclusions``: each rule's :func:`conclusion_functions`, by rule id (made
        here when not given)."""
        self.kb = kb
        self.params = dict(params)
        shared: dict[Any, _Memory] = {}
        self.memories: list[_Memory] = []
        by_type: dict[str, list[tuple[_Memory, tuple[str, str] | None]]] = {}
        self.rules: list[_Rule] = []
        for r in kb.rules:
            steps = []
            for i, p in enumerate(r.when):
                alias = _alias(p, i)
                alpha_conds = tuple(c for c in p.where if _fact_only(c, params))
                join_conds = [c for c in p.where if not _fact_only(c, params)]
                key_test = next((c for c in join_conds if isinstance(c, Test) and c.op == "eq"
                                 and isinstance(c.operand, Ref)), None)
                key = key_test.field if key_test is not None else None
                signature = (p.fact, _signature(alpha_conds, params), key)
                memory = shared.get(signature) if signature[1] is not None else None
                if memory is None:
                    memory = _Memory(key, len(self.memories), alpha_conds)
                    self.memories.append(memory)
                    if signature[1] is not None:
                        shared[signature] = memory
                    by_type.setdefault(p.fact, []).append((memory, _discriminant(alpha_conds)))
                join = None
                if join_conds:
                    joins = tuple(_join_one(c, params) for c in join_conds)
                    join = joins[0] if len(joins) == 1 else (
                        lambda f, env, js=joins: all(j(f, env) for j in js))
                key_of, key_ref = None, None
                if key_test is not None:
                    assert isinstance(key_test.operand, Ref)
                    key_ref = key_test.operand
                    key_of = _key_getter(key_ref.alias, key_ref.field)
                steps.append(_Step(alias, p.negated, memory, join, key_of, join_conds, key_ref))
            steps = _distinct(steps, [p.fact for p in r.when])
            compiled = _Rule(r, strata[r.id], steps)
            for j, step in enumerate(steps):
                if not step.negated:
                    step.memory.users.append((compiled, j))
            self.rules.append(compiled)
        self.dispatch = {t: _dispatch(entries) for t, entries in by_type.items()}
        _generate_routes(self.dispatch.values(), self.params)
        # per fact type: (the dispatch field, its routes by value, the route of the rest)
        self.routing = {t: (d.field, d.routes, d.rest_route) for t, d in self.dispatch.items()}
        if conclusions is None:
            conclusions = {r.rule.id: conclusion_functions(kb, r.rule, r.level)
                           for r in self.rules}
        for rule in self.rules:
            rule.conclude = conclusions[rule.rule.id][0]
        _generate(kb, self.rules, self.params, self.dispatch)
        self.levels = sorted({r.level for r in self.rules})
        top = max(self.levels, default=0)
        # per stratum: its rules' matching code over the facts already there
        self.initial = [(level, [_matcher(rule, -1) for rule in self.rules if rule.level == level])
                        for level in self.levels]
        for memory in self.memories:
            memory.at = [[] for _ in range(top + 1)]
            for rule, j in memory.users:
                memory.at[rule.level].append(_matcher(rule, j))
        self._template: tuple[list[Fact], _Store] | None = None
        # Memories that only KB table rows can reach (a table type no rule concludes):
        # after the template, a run never adds to them unless it has facts of those
        # types of its own, so runs share them (see template)
        tables = {t for t, ft in kb.fact_types.items() if ft.table} - {
            r.then_fact for r in kb.rules}
        self.frozen_types = frozenset(t for t in tables if t in self.dispatch)
        self.frozen = tuple(sorted({m.slot for t in self.frozen_types
                                    for m in (*self.dispatch[t].rest,
                                              *(x for ms in self.dispatch[t].by_value.values()
                                                for x in ms))}))
        # routing for a run's own facts: a frozen type's facts thaw the memories first
        self.own_routing: dict[str, Any] = {**self.routing, **dict.fromkeys(self.frozen_types,
                                                                            _THAW)}

    def run(self, fb: FactBase, trace: Trace) -> None:
        _Run(self, fb, trace).evaluate()

    def template(self, static: list[Fact], run: _Run) -> tuple[_Store, int]:
        """A fresh store holding ``static`` (sequence numbers from 0), and the next number.
        Its memories of :attr:`frozen` are the template's own (:meth:`_Store.thaw` before
        adding to them)."""
        hit = self._template
        if hit is None or len(hit[0]) != len(static) or not all(map(is_, hit[0], static)):
            run.store = _Store(len(self.memories), [m.slot for m in self.memories
                                                    if m.key is not None])
            run.seq = 0
            for fact in sorted(static, key=_ID):
                run.add(fact)
            hit = self._template = (static, run.store)
        return hit[1].copy(self.frozen), len(static)


def _distinct(steps: list[_Step], types: Sequence[str]) -> list[_Step]:
    """``steps`` with each negated step moved after the last positive step of its fact
    type (its tests read earlier steps only, so it still can be tested there; the matches
    and their order stay those of the positive steps), and each step's :attr:`_Step.distinct`
    set: as in durable_rules, a fact binds at most one positive pattern of a firing, and a
    negated pattern ignores the facts the positive ones bound."""
    order = list(range(len(steps)))
    for i in reversed(range(len(steps))):
        if steps[i].negated:
            last = max((j for j in range(i + 1, len(steps))
                        if not steps[j].negated and types[j] == types[i]), default=None)
            if last is not None:
                at = order.index(i)
                order.insert(order.index(last) + 1, order.pop(at))
    out = [steps[i] for i in order]
    for k, i in enumerate(order):
        out[k].distinct = tuple(m for m in range(k) if not out[m].negated
                                and types[order[m]] == types[i])
    return out


def _fact_id(fact: Fact) -> str:
    return str(fact["id"])


_ID = itemgetter("id")


def _matcher(rule: _Rule, pin: int) -> Matcher:
    """``rule``'s matching code pinned on step ``pin`` (-1: none): generated, or
    :meth:`_Run.join` for a rule the generator leaves out."""
    if rule.matchers is not None:
        return rule.matchers[pin]

    def match(run: _Run, pinned: Fact | None, bound: int) -> None:
        run.join(rule, 0, {}, pin, pinned, bound)

    return match


def _key_getter(alias: str, fld: str) -> Callable[[Env], Any]:
    return lambda env: env[alias].get(fld, MISSING)


def _signature(conds: Sequence[Cond], params: Mapping[str, Any]) -> Any:
    """A hashable identity of fact-only tests (``None`` if a value is not hashable)."""
    def one(c: Cond) -> Any:
        if isinstance(c, AnyOf):
            return ("any", tuple(tuple(one(x) for x in o) for o in c.options))
        value = c.operand.value if c.op == "in" and isinstance(c.operand, Const) \
            else known_operand(c.operand, params)[1]
        return (c.field, c.op, type(value).__name__, value if value is not MISSING else "$")

    sig = tuple(one(c) for c in conds)
    try:
        hash(sig)
    except TypeError:
        return None
    return sig


def _discriminant(conds: Sequence[Cond]) -> tuple[str, str] | None:
    for c in conds:
        if isinstance(c, Test) and c.op == "eq" and isinstance(c.operand, Const) \
                and isinstance(c.operand.value, str):
            return c.field, c.operand.value
    return None


def _dispatch(entries: list[tuple[_Memory, tuple[str, str] | None]]) -> _Dispatch:
    d = _Dispatch()
    d.field, d.by_value, d.rest = _split(entries)
    return d


def _split(entries: Sequence[tuple[T, tuple[str, str] | None]]
           ) -> tuple[str | None, dict[Any, list[T]], list[T]]:
    """Items by the value of the field most of them test for equality with a string
    (their discriminant), and the rest: (that field, by value, rest)."""
    counts: dict[str, int] = {}
    for _, disc in entries:
        if disc is not None:
            counts[disc[0]] = counts.get(disc[0], 0) + 1
    fld = max(sorted(counts), key=lambda f: counts[f]) if counts else None
    by_value: dict[Any, list[T]] = {}
    rest: list[T] = []
    for item, disc in entries:
        if disc is not None and disc[0] == fld:
            by_value.setdefault(disc[1], []).append(item)
        else:
            rest.append(item)
    return fld, by_value, rest


# ----------------------------------------------------------------------------- admission


Admit = Callable[[Fact], bool]


class Admission:
    """Whether a fact can take part in any match: some pattern of its type (positive or
    negated) accepts it on the tests that read the fact alone, given the parameters. A
    fact refused can neither match nor block a match: the durable path leaves it out of
    the session. Generated as Python once per KB (tests on constants written out as
    fact_test_source writes them, a test reading a parameter called as cond_test makes it
    for the parameter set), per fact type dispatched on the field most of its patterns
    test (as memories are); :meth:`for_params` binds a parameter set (cheap: what-if and
    flip try hundreds)."""

    def __init__(self, kb: KnowledgeBase) -> None:
        by_type: dict[str, dict[Any, tuple[Cond, ...]]] = {}
        for r in kb.rules:
            for p in r.when:
                conds = tuple(c for c in p.where if _fact_only(c, {}))
                try:
                    by_type.setdefault(p.fact, {})[conds] = conds
                except TypeError:  # a value that does not hash: kept apart
                    by_type.setdefault(p.fact, {})[id(conds)] = conds
        self.ns: dict[str, Any] = {"MISSING": MISSING, "compare": compare}
        self.with_params: list[tuple[str, Cond]] = []  # (name, condition) per such test
        source: list[str] = []
        self.made: dict[str, tuple[str | None, dict[str, str], str]] = {}
        for t, patterns in by_type.items():
            fld, by_value, rest = _split([(conds, _discriminant(conds))
                                          for conds in patterns.values()])
            name = f"_admit_{len(self.made)}"
            names: dict[str, str] = {}
            lists = [(None, rest), *((v, hit + rest) for v, hit in by_value.items())]
            for i, (value, options) in enumerate(lists):
                tests = [" and ".join(self._source(c, f"{name}_{i}_{j}_{k}")
                                      for k, c in enumerate(conds)
                                      if value is None or _discriminant((c,)) != (fld, value))
                         or "True" for j, conds in enumerate(options)]
                source += [f"def {name}_{i}(fact):",
                           f"    return {' or '.join(f'({x})' for x in tests) or 'False'}", ""]
                if value is not None:
                    names[value] = f"{name}_{i}"
            self.made[t] = (fld, names, f"{name}_0")
        self.code = compiled_code("\n".join(source), "<partways: compiled admission>")

    def _source(self, c: Cond, name: str) -> str:
        if params_of(c):
            self.with_params.append((name, c))
            return f"{name}(fact)"
        return fact_test_source(c, {}, "fact", self.ns, name)

    def for_params(self, params: Mapping[str, Any]) -> Admit:
        """``admit(fact)`` for ``params``."""
        ns = {**self.ns, **{name: cond_test(c, params) for name, c in self.with_params}}
        exec(self.code, ns)
        table = {t: (fld, {v: ns[n] for v, n in names.items()}, ns[rest])
                 for t, (fld, names, rest) in self.made.items()}

        def admit(fact: Fact) -> bool:
            how = table.get(fact["fact"])
            if how is None:
                return False
            fld, by_value, rest = how
            value = fact.get(fld) if fld is not None else None
            return bool((by_value.get(value, rest) if isinstance(value, str) else rest)(fact))

        return admit


# ----------------------------------------------------------------------------- generated code


_MAX_NESTING = 15  # Python refuses more than 20 nested loops in one function


def _unset(*args: Any) -> None:
    raise AssertionError("conclusion code not generated")


def _generate(kb: KnowledgeBase, rules: Sequence[_Rule], params: Mapping[str, Any],
              dispatch: Mapping[str, _Dispatch]) -> None:
    """Give each rule its matching code: Python source generated once per compiled rule
    set, one function per rule and pinned step, in which :meth:`_Run.join`'s recursion is
    unrolled into nested loops over the rule's memories (facts bound to locals, joins on
    other aliases' fields written out, index lookups inlined). Same matches in the same
    order as :meth:`_Run.join`, which still runs a rule the generator leaves out. Each
    rule's firing is generated too (:func:`_conclusion_source`), and where the route of
    its conclusions is known now, their storing."""
    ns: dict[str, Any] = {"MISSING": MISSING, "compare": compare, **_conclusion_namespace()}
    source: list[str] = []
    helpers: dict[str, list[str]] = {}
    made: list[tuple[_Rule, dict[int, str]]] = []
    for n, rule in enumerate(rules):
        ns[f"C{n}"] = rule.conclude
        ns[f"P{n}"] = _route_of(rule.rule, dispatch)
        pins = [-1] + [j for j, step in enumerate(rule.steps) if not step.negated]
        names: dict[int, str] = {}
        lines: list[str] = []
        for pin in pins:
            name = f"_match_{n}_{pin + 1}"
            body = _matcher_source(rule, n, pin, name, ns, params, helpers)
            if body is None:
                break
            names[pin] = name
            lines += [*body, ""]
        else:
            ns[f"R{n}"] = rule
            source += lines
            made.append((rule, names))
    source += [line for lines in helpers.values() for line in lines]
    exec(compiled_code("\n".join(source), "<partways: compiled rules>"), ns)
    for rule, names in made:
        rule.matchers = {pin: ns[name] for pin, name in names.items()}


def _route_of(rule: Rule, dispatch: Mapping[str, _Dispatch]) -> Route | bool | None:
    """The route every conclusion of ``rule`` takes (as :meth:`_Run.add` routes) when its
    ``then`` decides it; ``False`` when no memory takes its fact type, ``None`` when the
    route depends on the matched facts or parameters."""
    d = dispatch.get(rule.then_fact)
    if d is None:
        return False
    if d.field is None:
        return d.rest_route
    expr = rule.then.get(d.field)
    if expr is None:
        return d.rest_route
    known, value = _known(expr, None)  # a parameter: not known (the code is shared)
    if not known:
        return None
    value = normalize_number(value)
    return d.routes.get(value, d.rest_route) if isinstance(value, str) else d.rest_route


def _generate_routes(dispatches: Iterable[_Dispatch], params: Mapping[str, Any]) -> None:
    """Give each dispatch its routes: for every list of memories a fact can be offered
    (a dispatch value's, then the rest; or the rest alone), a generated function that
    tests the fact against each memory in order, its tests written out one after the
    other (:func:`~partways.expr.fact_test_source`; a dispatch value's own test is known to
    hold), stores it where they pass as :meth:`_Store.add` does, and returns those
    memories."""
    ns: dict[str, Any] = {"MISSING": MISSING, "compare": compare,
                          "SIMPLE": (str, int, float, bool)}
    source: list[str] = []
    wanted: list[tuple[_Dispatch, Any, str]] = []
    for d in dispatches:
        lists: list[tuple[Any, list[_Memory]]] = [(None, d.rest)]
        lists += [(value, hit + d.rest) for value, hit in d.by_value.items()]
        for value, memories in lists:
            name = f"_route_{len(wanted)}"
            source += [f"def {name}(store, seq, fact):", "    item = (seq, fact)",
                       "    taken = []"]
            for memory in memories:
                m = f"M{memory.slot}"
                ns[m] = memory
                tests = [fact_test_source(c, params, "fact", ns, f"{m}_{i}")
                         for i, c in enumerate(memory.conds)
                         if value is None or _discriminant((c,)) != (d.field, value)]
                ind = "    "
                if tests:
                    source.append(f"    if {' and '.join(tests)}:")
                    ind = "        "
                source.append(f"{ind}store.items[{memory.slot}].append(item)")
                if memory.key is not None:
                    source += [f"{ind}k = fact.get({memory.key!r})",
                               f"{ind}if k is not None:",  # never equal to anything
                               f"{ind}    if isinstance(k, SIMPLE):",
                               f"{ind}        hit = store.index[{memory.slot}].get(k)",
                               f"{ind}        if hit is None:",
                               f"{ind}            store.index[{memory.slot}][k] = [item]",
                               f"{ind}        else:",
                               f"{ind}            hit.append(item)",
                               f"{ind}    else:",
                               f"{ind}        store.odd[{memory.slot}].append(item)"]
                source.append(f"{ind}taken.append({m})")
            source += ["    return taken", ""]
            wanted.append((d, value, name))
    exec(compiled_code("\n".join(source), "<partways: compiled memories>"), ns)
    for d, value, name in wanted:
        if value is None:
            d.rest_route = ns[name]
        else:
            d.routes[value] = ns[name]


def _matcher_source(rule: _Rule, n: int, pin: int, name: str, ns: dict[str, Any],
                    params: Mapping[str, Any], helpers: dict[str, list[str]]
                    ) -> list[str] | None:
    """``name(run, pinned, bound)``: every match of ``rule`` as :meth:`_Run.join` finds
    them from step 0 (``pin`` and ``bound`` as there), each fired through ``run.emit``.
    ``None`` when a reference cannot be resolved to a step bound before it."""
    out = [f"def {name}(run, pinned, bound):", "    store = run.store",
           "    items = store.items", "    index = store.index", "    odd = store.odd",
           "    lim = bound + 1"]
    ind = "    "
    bound_at: dict[str, int] = {}  # alias -> step that binds it (f<step> holds the fact)
    for k, step in enumerate(rule.steps):
        if len(ind) // 4 > _MAX_NESTING:
            return None
        var = f"f{k}"
        slot = step.memory.slot
        exact = None
        if step.key_ref is None:
            cands = f"items[{slot}]"
        elif step.key_ref.alias in bound_at:
            if k != pin:
                # a string key found in the index equals it: the key's test is decided
                out += [f"{ind}k{k} = f{bound_at[step.key_ref.alias]}"
                        f".get({step.key_ref.field!r}, MISSING)",
                        f"{ind}e{k} = k{k}.__class__ is str and not odd[{slot}]"]
                exact = f"e{k}"
            cands = f"(index[{slot}].get(k{k}, ()) if e{k} else store.keyed({slot}, k{k}))"
        else:
            return None
        test = _test_source(step, var, bound_at, f"J{n}_{k}", ns, params, helpers, exact)
        if step.distinct:  # one fact per pattern: identity tests, on shared types only
            test = " and ".join([*(f"{var} is not f{m}" for m in step.distinct),
                                 *([f"({test})"] if test else [])])
        if step.negated:
            out += [f"{ind}for _, {var} in {cands}:",
                    f"{ind}    if {test}:" if test else f"{ind}    if True:",
                    f"{ind}        break", f"{ind}else:"]
            ind += "    "
            continue
        if k == pin:
            out.append(f"{ind}{var} = pinned")
            if test:
                out.append(f"{ind}if {test}:")
                ind += "    "
        else:
            limit = "lim" if pin >= 0 and k < pin else "bound"
            out += [f"{ind}for s{k}, {var} in {cands}:", f"{ind}    if s{k} >= {limit}:",
                    f"{ind}        break"]
            ind += "    "
            if test:
                out += [f"{ind}if not ({test}):", f"{ind}    continue"]
        bound_at[step.alias] = k
    facts = "".join(f", f{k}" for k, step in enumerate(rule.steps) if not step.negated)
    out += [f"{ind}fact = C{n}(run.trace{facts})", f"{ind}if fact is not None:"]
    route = ns[f"P{n}"]
    if route is None:
        out.append(f"{ind}    run.push(fact)")
    elif route is False:
        out.append(f"{ind}    run.seq += 1")
    else:  # _Run.push, its route known
        out += [f"{ind}    seq = run.seq", f"{ind}    run.seq = seq + 1",
                f"{ind}    taken = P{n}(store, seq, fact)", f"{ind}    if taken:",
                f"{ind}        run.queue.append((seq, fact, taken))"]
    return out


def _test_source(step: _Step, var: str, bound_at: Mapping[str, int], join_name: str,
                 ns: dict[str, Any], params: Mapping[str, Any], helpers: dict[str, list[str]],
                 exact: str | None = None) -> str:
    """The source of ``step.join(<var>, env)``, each test written out: a comparison with
    another alias's field inline, one with a computed value through a generated helper
    (added to ``helpers``), alternatives as ``or``; a test reading an alias not bound yet
    through the join closure with the same ``env``. With ``exact``, the name of a flag
    saying the step's key test is known to hold."""
    parts = []
    keyed = exact is not None
    for i, c in enumerate(step.conds):
        test = _cond_source(c, var, bound_at, f"{join_name}_{i}", ns, params, helpers)
        if test is None:
            ns[join_name] = step.join
            env = ", ".join(f"{alias!r}: f{k}" for alias, k in bound_at.items())
            return f"{join_name}({var}, {{{env}}})"
        if keyed and isinstance(c, Test) and c.op == "eq" and isinstance(c.operand, Ref):
            keyed = False  # the first such test is the key's (CompiledRules)
            test = f"({exact} or {test})"
        parts.append(test)
    return " and ".join(parts)


def _cond_source(c: Cond, var: str, bound_at: Mapping[str, int], name: str,
                 ns: dict[str, Any], params: Mapping[str, Any],
                 helpers: dict[str, list[str]]) -> str | None:
    """One join test of ``var`` as source (see :func:`_test_source`), or ``None``."""
    if isinstance(c, AnyOf):
        options = []
        for i, option in enumerate(c.options):
            tests = [_cond_source(x, var, bound_at, f"{name}_{i}_{j}", ns, params, helpers)
                     for j, x in enumerate(option)]
            if any(t is None for t in tests):
                return None
            options.append(" and ".join(t for t in tests if t is not None) or "True")
        return "(" + " or ".join(f"({o})" for o in options) + ")"
    if _fact_only(c, params):
        return fact_test_source(c, params, var, ns, name)
    refs = refs_of(c)
    if any(r.alias not in bound_at for r in refs):
        return None
    actual = f"{var}.get({c.field!r}, MISSING)"
    if isinstance(c.operand, Ref):
        return (f"compare({actual}, {c.op!r}, f{bound_at[c.operand.alias]}"
                f".get({c.operand.field!r}, MISSING))")
    args = sorted({f"f{bound_at[r.alias]}" for r in refs})
    if name not in helpers:  # compare(actual, op, evaluate(operand))
        var_of = {alias: f"f{k}" for alias, k in bound_at.items()}
        helpers[name] = [f"def {name}(fact, {', '.join(args)}):",
                         *_expr_lines(c.operand, "value", var_of, params, ns, name, [0], "    "),
                         f"    return compare(fact.get({c.field!r}, MISSING), {c.op!r}, value)",
                         ""]
    return f"{name}({var}, {', '.join(args)})"


# ----------------------------------------------------------------------------- evaluation


class _Run:
    def __init__(self, rules: CompiledRules, fb: FactBase, trace: Trace) -> None:
        self.c = rules
        self.trace = trace
        self.queue: list[tuple[int, Fact, list[_Memory]]] = []
        # The KB's table rows are the same objects in every case: their alpha memories
        # are filled once (a template copied per run), then the case's own facts go in.
        is_static = fb.static.get
        facts = fb.facts.values()
        own = [f for f in facts if not is_static(f["id"])]
        static = [f for f in facts if is_static(f["id"])] if len(own) < len(facts) else []
        self.store, seq = rules.template(static, self)
        try:
            own.sort(key=_ID)
        except TypeError:  # an id not a string
            own.sort(key=_fact_id)
        routing = rules.own_routing
        store = self.store
        for fact in own:
            how = routing.get(fact["fact"])
            if how is _THAW:  # a fact of a type only the KB's tables had so far
                store.thaw(rules.frozen)
                how = rules.routing[fact["fact"]]
            if how is not None:
                fld, routes, rest = how
                value = fact.get(fld) if fld is not None else None
                (routes.get(value, rest) if isinstance(value, str) else rest)(store, seq, fact)
            seq += 1
        self.seq = seq

    def add(self, fact: Fact) -> tuple[int, list[_Memory]]:
        """Store ``fact`` in the memories that take it; its sequence number and those."""
        seq = self.seq
        self.seq += 1
        how = self.c.routing.get(fact["fact"])
        if how is None:
            return seq, []
        fld, routes, rest = how
        value = fact.get(fld) if fld is not None else None
        route = routes.get(value, rest) if isinstance(value, str) else rest
        return seq, route(self.store, seq, fact)

    def evaluate(self) -> None:
        for level, initial in self.c.initial:
            start = self.seq
            queue: list[tuple[int, Fact, list[_Memory]]] = []
            self.queue = queue
            for match in initial:
                match(self, None, start)
            i = 0
            while i < len(queue):
                seq, fact, taken = queue[i]
                i += 1
                for memory in taken:
                    for match in memory.at[level]:
                        match(self, fact, seq)

    def join(self, rule: _Rule, k: int, env: Env, pin: int, pinned: Fact | None,
             bound: int) -> None:
        """Every match of ``rule.steps[k:]`` given ``env``. With ``pin`` >= 0, step ``pin``
        binds ``pinned`` (of sequence ``bound``), earlier steps facts up to it and later
        ones older facts; without, every step binds facts older than ``bound``."""
        steps = rule.steps
        if k == len(steps):
            self.fire(rule, env)
            return
        step = steps[k]
        if step.negated:
            if not self.blocked(rule, step, env):
                self.join(rule, k + 1, env, pin, pinned, bound)
            return
        if k == pin:
            assert pinned is not None
            if self.taken(rule, step, pinned, env):
                return
            if step.join is None or step.join(pinned, env):
                env[step.alias] = pinned
                self.join(rule, k + 1, env, pin, pinned, bound)
                del env[step.alias]
            return
        limit = bound + 1 if (pin >= 0 and k < pin) else bound
        for seq, fact in self.store.candidates(step, env):
            if seq >= limit:
                break
            if step.distinct and self.taken(rule, step, fact, env):
                continue
            if step.join is None or step.join(fact, env):
                env[step.alias] = fact
                self.join(rule, k + 1, env, pin, pinned, bound)
        env.pop(step.alias, None)

    def blocked(self, rule: _Rule, step: _Step, env: Env) -> bool:
        join = step.join
        candidates = self.store.candidates(step, env)
        if step.distinct:
            candidates = [(s, f) for s, f in candidates if not self.taken(rule, step, f, env)]
        if join is None:
            return bool(candidates)
        return any(join(f, env) for _, f in candidates)

    @staticmethod
    def taken(rule: _Rule, step: _Step, fact: Fact, env: Env) -> bool:
        """Whether ``fact`` is bound by one of the earlier positive steps ``step`` must
        not share a fact with (:attr:`_Step.distinct`)."""
        return any(env[rule.steps[m].alias] is fact for m in step.distinct)

    def fire(self, rule: _Rule, env: Env) -> None:
        fact = rule.conclude(self.trace, *[env[s.alias] for s in rule.steps if not s.negated])
        if fact is not None:
            self.push(fact)

    def push(self, fact: Fact) -> None:
        """Add a new conclusion, queued for the rules of this stratum that can use it."""
        seq, taken = self.add(fact)
        if taken:
            self.queue.append((seq, fact, taken))
