"""The compiled pure-Python inference backend: the KB's rules as specialised matching code.

Where durable_rules cannot be imported (no C compiler, a Python it does not build for),
or when asked for (``--engine python``, ``PARTWAYS_ENGINE=python``), rules run here. The
rule set is compiled once per parameter set (a case's policy can change parameters; the
default set is compiled once and reused):

- every test becomes a closure specialised on its operator and operand; a ``$parameter``
  is resolved at compile time, so a test on constants and parameters is decided on the
  fact alone;
- patterns with the same fact type and the same fact-only tests share one *alpha memory*,
  filled as facts arrive (dispatched on the field most patterns test for equality, so an
  event reaches only the memories of its own ``type``);
- a join on ``field = @alias.field`` looks the bound value up in a hash index of the
  memory instead of scanning it;
- evaluation is stratified like the durable path (a negated fact type is complete before
  it is tested) and incremental: each match is found exactly once, when its newest fact
  arrives (patterns before it may bind facts up to that one, patterns after it only older
  facts).

Conclusions, ids and the trace come from the same functions as the durable path
(:func:`~partways.inference.conclude`, :func:`~partways.inference.record`), so the
decision graph and the JSON are the same; tests/test_reference.py holds both backends to
the plain reference evaluator on generated cases and the shipped examples.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from .errors import InferenceError
from .expr import (
    MISSING,
    AnyOf,
    Cond,
    Const,
    Ref,
    Test,
    compare,
    cond_test,
    conds_test,
    evaluate,
    known_operand,
    normalize_number,
)
from .facts import Fact, FactBase
from .inference import Trace, _alias, conclusion_id, record
from .knowledge import KnowledgeBase, Rule

Env = dict[str, Fact]
Alpha = Callable[[Fact], bool]
Join = Callable[[Fact, Env], bool]
Concluder = Callable[[Env, Sequence[tuple[str, str]]], Fact]


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


def concluder(kb: KnowledgeBase, rule: Rule, params: Mapping[str, Any]
               ) -> Concluder:
    """:func:`~partways.inference.conclude` for one rule, its ``then`` compiled: constants
    and parameters computed once, references read directly (same fields, same id)."""
    getters: list[tuple[str, bool, Any]] = []  # (field, constant?, value or getter)
    for key, expr in rule.then.items():
        known, value = known_operand(expr, params) if not isinstance(expr, Ref) else (False, None)
        if known:
            getters.append((key, True, normalize_number(value)))
        elif isinstance(expr, Ref):
            getters.append((key, False, _ref_getter(expr.alias, expr.field)))
        else:
            getters.append((key, False, _expr_getter(expr, params)))
    then_fact = rule.then_fact

    def conclude(matched: Env, premises: Sequence[tuple[str, str]]) -> Fact:
        """The conclusion of ``matched`` (the positive aliases in pattern order, whose
        ``premises`` are their (alias, fact id))."""
        fields: dict[str, Any] = {}
        for key, constant, get in getters:
            value = get if constant else normalize_number(get(matched))
            if value is not MISSING and value is not None:
                fields[key] = value
        premise_ids = [fid for _, fid in premises]
        return {"fact": then_fact, "id": conclusion_id(kb, rule, premise_ids, fields),
                **fields}

    return conclude


def _ref_getter(alias: str, fld: str) -> Callable[[Env], Any]:
    def get(matched: Env) -> Any:
        fact = matched.get(alias)
        return MISSING if fact is None else fact.get(fld, MISSING)

    return get


def _expr_getter(expr: Any, params: Mapping[str, Any]) -> Callable[[Env], Any]:
    def get(matched: Env) -> Any:
        def resolve(ref: Ref) -> Any:
            fact = matched.get(ref.alias)
            return MISSING if fact is None else fact.get(ref.field, MISSING)

        return evaluate(expr, params, resolve)

    return get


# ----------------------------------------------------------------------------- memories


class _Memory:
    """Patterns that share a fact type and fact-only tests: one alpha memory per run,
    optionally indexed on one field for equality joins (the contents live in a
    :class:`_Store`, one per run, at ``slot``)."""

    __slots__ = ("alpha", "calls", "key", "slot", "tests", "users")

    def __init__(self, alpha: Alpha, key: str | None, slot: int,
                 tests: Sequence[Alpha] = ()) -> None:
        self.alpha = alpha
        self.key = key
        self.slot = slot
        self.tests = tuple(tests)  # ``alpha``'s tests, one per condition (all must hold)
        self.users: list[tuple[_Rule, int]] = []
        # ``users`` by stratum, with the generated matcher of each (None: _Run.join)
        self.calls: dict[int, list[tuple[Matcher | None, _Rule, int]]] = {}


Item = tuple[int, Fact]


class _Store:
    """One run's alpha memories: facts in arrival order, and hash indexes on join keys."""

    __slots__ = ("index", "items", "odd")

    def __init__(self, n: int) -> None:
        self.items: list[list[Item]] = [[] for _ in range(n)]
        self.index: list[dict[Any, list[Item]]] = [{} for _ in range(n)]
        self.odd: list[list[Item]] = [[] for _ in range(n)]  # key not hashable: scanned

    def copy(self) -> _Store:
        new = _Store(0)
        new.items = [list(x) for x in self.items]
        new.index = [{k: list(v) for k, v in d.items()} if d else {} for d in self.index]
        new.odd = [list(x) for x in self.odd]
        return new

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

    __slots__ = ("alias", "conds", "join", "key_of", "key_ref", "memory", "negated")

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


Matcher = Callable[["_Run", "Fact | None", int], None]


class _Rule:
    __slots__ = ("conclude", "level", "matchers", "rule", "steps")

    def __init__(self, rule: Rule, level: int, steps: list[_Step],
                 conclude: Concluder) -> None:
        self.rule = rule
        self.level = level
        self.steps = steps
        self.conclude = conclude
        # the rule's matching code, by pinned step (-1: none); None: run by _Run.join
        self.matchers: dict[int, Matcher] | None = None


Route = Callable[["_Store", int, Fact], list["_Memory"]]


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
        self.rest_route: Route | None = None

    def route(self, fact: Fact) -> Route | None:
        """The generated function for :meth:`memories` of ``fact``."""
        if self.field is not None:
            value = fact.get(self.field)
            if isinstance(value, str):
                hit = self.routes.get(value)
                if hit is not None:
                    return hit
        return self.rest_route

    def memories(self, fact: Fact) -> list[_Memory]:
        if self.field is None:
            return self.rest
        value = fact.get(self.field)
        hit = self.by_value.get(value) if isinstance(value, str) else None
        return hit + self.rest if hit else self.rest


class CompiledRules:
    """The rules of a program compiled for one parameter set."""

    def __init__(self, kb: KnowledgeBase, strata: Mapping[str, int],
                 params: Mapping[str, Any]) -> None:
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
                    memory = _Memory(conds_test(alpha_conds, params), key, len(self.memories),
                                     [cond_test(c, params) for c in alpha_conds])
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
            compiled = _Rule(r, strata[r.id], steps, concluder(kb, r, params))
            for j, step in enumerate(steps):
                if not step.negated:
                    step.memory.users.append((compiled, j))
            self.rules.append(compiled)
        self.dispatch = {t: _dispatch(entries) for t, entries in by_type.items()}
        _generate(self.rules)
        _generateconds_test(self.dispatch.values())
        for memory in self.memories:
            for rule, j in memory.users:
                match = rule.matchers[j] if rule.matchers is not None else None
                memory.calls.setdefault(rule.level, []).append((match, rule, j))
        self._template: tuple[tuple[int, ...], tuple[Fact, ...], _Store] | None = None
        self.levels = sorted({r.level for r in self.rules})

    def run(self, fb: FactBase, trace: Trace) -> None:
        _Run(self, fb, trace).evaluate()

    def template(self, static: tuple[Fact, ...], run: _Run) -> tuple[_Store, int]:
        """A fresh store holding ``static`` (sequence numbers from 0), and the next number."""
        key = tuple(id(f) for f in static)
        hit = self._template
        if hit is None or hit[0] != key or any(a is not b for a, b in zip(hit[1], static,
                                                                          strict=True)):
            run.store, run.seq = _Store(len(self.memories)), 0
            for fact in sorted(static, key=lambda f: f["id"]):
                run.add(fact)
            hit = self._template = (key, static, run.store)
        return hit[2].copy(), len(static)


def _fact_id(fact: Fact) -> str:
    return str(fact["id"])


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
    counts: dict[str, int] = {}
    for _, disc in entries:
        if disc is not None:
            counts[disc[0]] = counts.get(disc[0], 0) + 1
    d = _Dispatch()
    d.field = max(sorted(counts), key=lambda f: counts[f]) if counts else None
    for memory, disc in entries:
        if disc is not None and disc[0] == d.field:
            d.by_value.setdefault(disc[1], []).append(memory)
        else:
            d.rest.append(memory)
    return d


# ----------------------------------------------------------------------------- generated code


_MAX_NESTING = 15  # Python refuses more than 20 nested loops in one function


def _generate(rules: Sequence[_Rule]) -> None:
    """Give each rule its matching code: Python source generated once per compiled rule
    set, one function per rule and pinned step, in which :meth:`_Run.join`'s recursion is
    unrolled into nested loops over the rule's memories (facts bound to locals, joins on
    other aliases' fields written out, index lookups inlined). Same matches in the same
    order as :meth:`_Run.join`, which still runs a rule the generator leaves out."""
    ns: dict[str, Any] = {"MISSING": MISSING, "compare": compare}
    source: list[str] = []
    made: list[tuple[_Rule, dict[int, str]]] = []
    for n, rule in enumerate(rules):
        pins = [-1] + [j for j, step in enumerate(rule.steps) if not step.negated]
        names: dict[int, str] = {}
        lines: list[str] = []
        for pin in pins:
            name = f"_match_{n}_{pin + 1}"
            body = _matcher_source(rule, n, pin, name, ns)
            if body is None:
                break
            names[pin] = name
            lines += [*body, ""]
        else:
            ns[f"R{n}"] = rule
            source += lines
            made.append((rule, names))
    exec(compile("\n".join(source), "<partways: compiled rules>", "exec"), ns)
    for rule, names in made:
        rule.matchers = {pin: ns[name] for pin, name in names.items()}


def _generateconds_test(dispatches: Iterable[_Dispatch]) -> None:
    """Give each dispatch its routes: for every list of memories a fact can be offered
    (a dispatch value's, then the rest; or the rest alone), a generated function that
    tests the fact against each memory in order, its tests written out one after the
    other, and stores it where they pass (what :meth:`_Run.add` does with ``alpha``)."""
    ns: dict[str, Any] = {}
    source: list[str] = []
    wanted: list[tuple[_Dispatch, Any, str]] = []
    for d in dispatches:
        lists: list[tuple[Any, list[_Memory]]] = [(None, d.rest)]
        lists += [(value, hit + d.rest) for value, hit in d.by_value.items()]
        for value, memories in lists:
            name = f"_route_{len(wanted)}"
            source += [f"def {name}(store, seq, fact):", "    taken = []"]
            for memory in memories:
                m = f"M{memory.slot}"
                ns[m] = memory
                tests = []
                for i, test in enumerate(memory.tests):
                    ns[f"{m}_{i}"] = test
                    tests.append(f"{m}_{i}(fact)")
                ind = "    "
                if tests:
                    source.append(f"    if {' and '.join(tests)}:")
                    ind = "        "
                source += [f"{ind}store.add({m}, seq, fact)", f"{ind}taken.append({m})"]
            source += ["    return taken", ""]
            wanted.append((d, value, name))
    exec(compile("\n".join(source), "<partways: compiled memories>", "exec"), ns)
    for d, value, name in wanted:
        if value is None:
            d.rest_route = ns[name]
        else:
            d.routes[value] = ns[name]


def _matcher_source(rule: _Rule, n: int, pin: int, name: str, ns: dict[str, Any]
                    ) -> list[str] | None:
    """``name(run, pinned, bound)``: every match of ``rule`` as :meth:`_Run.join` finds
    them from step 0 (``pin`` and ``bound`` as there), each fired through ``run.emit``.
    ``None`` when a reference cannot be resolved to a step bound before it."""
    out = [f"def {name}(run, pinned, bound):", "    store = run.store",
           "    items = store.items", "    lim = bound + 1"]
    ind = "    "
    bound_at: dict[str, int] = {}  # alias -> step that binds it (f<step> holds the fact)
    for k, step in enumerate(rule.steps):
        if len(ind) // 4 > _MAX_NESTING:
            return None
        var = f"f{k}"
        if step.key_ref is None:
            cands = f"items[{step.memory.slot}]"
        elif step.key_ref.alias in bound_at:
            cands = (f"store.keyed({step.memory.slot}, "
                     f"f{bound_at[step.key_ref.alias]}.get({step.key_ref.field!r}, MISSING))")
        else:
            return None
        test = _test_source(step, var, bound_at, f"J{n}_{k}", ns)
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
    matched = ", ".join(f"{alias!r}: f{k}" for alias, k in bound_at.items())
    out.append(f"{ind}run.emit(R{n}, {{{matched}}})")
    return out


def _test_source(step: _Step, var: str, bound_at: Mapping[str, int], join_name: str,
                 ns: dict[str, Any]) -> str:
    """The source of ``step.join(<var>, env)``: a comparison with another alias's field
    written out, anything else through the join closure with the same ``env``."""
    parts = []
    for c in step.conds:
        if isinstance(c, Test) and isinstance(c.operand, Ref) and c.operand.alias in bound_at:
            other = f"f{bound_at[c.operand.alias]}"
            parts.append(f"compare({var}.get({c.field!r}, MISSING), {c.op!r}, "
                         f"{other}.get({c.operand.field!r}, MISSING))")
        else:
            ns[join_name] = step.join
            env = ", ".join(f"{alias!r}: f{k}" for alias, k in bound_at.items())
            return f"{join_name}({var}, {{{env}}})"
    return " and ".join(parts)


# ----------------------------------------------------------------------------- evaluation


class _Run:
    def __init__(self, rules: CompiledRules, fb: FactBase, trace: Trace) -> None:
        self.c = rules
        self.trace = trace
        self.queue: list[tuple[int, Fact, list[_Memory]]] = []
        self.cap = rules.kb.max_firings
        # The KB's table rows are the same objects in every case: their alpha memories
        # are filled once (a template copied per run), then the case's own facts go in.
        is_static = fb.static
        static: list[Fact] = []
        own: list[Fact] = []
        for f in fb.facts.values():
            (static if f["id"] in is_static and is_static[f["id"]] else own).append(f)
        self.store, self.seq = rules.template(tuple(static), self)
        own.sort(key=_fact_id)
        for fact in own:
            self.add(fact)

    def add(self, fact: Fact) -> tuple[int, list[_Memory]]:
        seq = self.seq
        self.seq += 1
        d = self.c.dispatch.get(fact["fact"])
        if d is None:
            return seq, []
        route = d.route(fact)
        if route is not None:
            return seq, route(self.store, seq, fact)
        taken = []
        for memory in d.memories(fact):
            if memory.alpha(fact):
                self.store.add(memory, seq, fact)
                taken.append(memory)
        return seq, taken

    def evaluate(self) -> None:
        for level in self.c.levels:
            start = self.seq
            self.queue = []
            for rule in self.c.rules:
                if rule.level == level:
                    if rule.matchers is not None:
                        rule.matchers[-1](self, None, start)
                    else:
                        self.join(rule, 0, {}, -1, None, start)
            queue = self.queue
            i = 0
            while i < len(queue):
                seq, fact, taken = queue[i]
                i += 1
                for memory in taken:
                    for match, rule, j in memory.calls.get(level, ()):
                        if match is not None:
                            match(self, fact, seq)
                        else:
                            self.join(rule, 0, {}, j, fact, seq)

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
            if not self.blocked(step, env):
                self.join(rule, k + 1, env, pin, pinned, bound)
            return
        if k == pin:
            assert pinned is not None
            if step.join is None or step.join(pinned, env):
                env[step.alias] = pinned
                self.join(rule, k + 1, env, pin, pinned, bound)
                del env[step.alias]
            return
        limit = bound + 1 if (pin >= 0 and k < pin) else bound
        for seq, fact in self.store.candidates(step, env):
            if seq >= limit:
                break
            if step.join is None or step.join(fact, env):
                env[step.alias] = fact
                self.join(rule, k + 1, env, pin, pinned, bound)
        env.pop(step.alias, None)

    def blocked(self, step: _Step, env: Env) -> bool:
        join = step.join
        candidates = self.store.candidates(step, env)
        if join is None:
            return bool(candidates)
        return any(join(f, env) for _, f in candidates)

    def fire(self, rule: _Rule, env: Env) -> None:
        self.emit(rule, {s.alias: env[s.alias] for s in rule.steps if not s.negated})

    def emit(self, rule: _Rule, matched: Env) -> None:
        """Fire ``rule`` on ``matched`` (its positive aliases, in pattern order)."""
        trace = self.trace
        if len(trace.firings) >= self.cap:
            raise InferenceError(f"more than {self.cap} rule firings for one case: the "
                                 "knowledge base is probably looping (see 'partways kb lint')")
        premises = tuple([(alias, f["id"]) for alias, f in matched.items()])
        fact = rule.conclude(matched, premises)
        if record(trace, rule.rule, matched, fact, rule.level, premises):
            seq, taken = self.add(fact)
            if taken:
                self.queue.append((seq, fact, taken))
