"""The one adapter around durable_rules. No other module imports ``durable``.

Workarounds for the traps measured on durable-rules 2.0.28 live here:
a host without polling threads, unique ruleset names (rulesets are global and
unremovable), one session per run (durable's default one: facts carry no ``sid``; one run
at a time per program) deleted whole afterwards, input facts asserted one at a time when
a batch is refused (an unmatched fact in a batch would abort the batch's pending
actions), actions wrapped so their errors reach the caller, and a deep copy of every
definition (``set_rulesets`` deletes ``run`` from the dict it is given).
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import durable_rules_engine as _engine
from durable.engine import Host

from ._json import dumps_compact, loads
from .errors import InferenceError

Fact = dict[str, Any]
Action = Callable[..., Sequence[Fact]]

_NOT_HANDLED, _OBSERVED, _DEFERRED = 1, 2, 3  # durable's result codes (durable/engine.py)
_ACCEPTED = (0, _NOT_HANDLED, _DEFERRED)
_OPEN = "$session"  # asserted first in every session, matched by a no-op rule (see run)
_OPEN_FACT = {"fact": _OPEN, "id": _OPEN}
_NAMES = itertools.count(1)
_LOCK = threading.Lock()


class _QuietHost(Host):
    """A host without the two polling threads (they race with many sessions; we need no timers)."""

    def _run(self) -> None:
        return None


def rulesets_created() -> int:
    """How many durable rulesets this process has registered (they are never freed):
    a long-running server checks it stays flat."""
    with _LOCK:
        return int(repr(_NAMES)[len("count("):-1]) - 1


def _noop(c: Any) -> None:
    return None


_dumps = dumps_compact


def _call(fn: Callable[..., Any], *args: Any) -> Any:
    """Call the C engine, turning its own exceptions into one-line errors."""
    try:
        return fn(*args)
    except _engine.error as exc:  # e.g. 311: a condition read a field the fact lacks
        raise _refused(exc) from None


def _refused(exc: BaseException) -> InferenceError:
    if str(exc).endswith(" 303"):  # its fixed-size matching stack overflowed
        return InferenceError(f"the rule engine refused a fact: {exc} (too many rule "
                              "alternatives test one fact: split the KB's 'any' blocks, "
                              "or use --engine python)")
    return InferenceError(f"the rule engine refused a fact: {exc}")


def _check_code(code: int, fact: Any) -> None:
    """Accept durable's success codes; anything else is an error, never a silent drop."""
    if code in (0, _NOT_HANDLED, _DEFERRED):
        return
    if code == _OBSERVED:
        raise InferenceError(f"fact asserted twice: {fact.get('id')}")
    raise InferenceError(f"the rule engine refused fact {fact.get('id')} (code {code})")


class DurableProgram:
    """A compiled ruleset registered once; :meth:`run` evaluates one case in a fresh session.

    ``rules`` maps a rule name to durable's condition list (the ``all`` of a rule).
    A firing of rule ``name`` calls ``actions[name](*args, matched)`` with the matched
    facts by alias, which returns the facts to assert in response.
    """

    def __init__(self, rules: Mapping[str, list[Any]]) -> None:
        self._host = _QuietHost()
        with _LOCK:
            self.name = f"partways_{next(_NAMES)}"
        definition = {
            rule_name: {"all": copy.deepcopy(conditions), "run": _noop}
            for rule_name, conditions in rules.items()
        }
        definition[_OPEN] = {"all": [{"open__": {"fact": _OPEN}}], "run": _noop}
        try:
            self._host.set_rulesets({self.name: definition})
        except Exception as exc:  # durable raises bare Exception for bad definitions
            raise InferenceError(f"the rule engine rejected the compiled rules: {exc}") from None
        self._handle = self._host.get_ruleset(self.name)._handle
        self._lock = threading.Lock()

    def run(self, inputs: Sequence[Fact], controls: Sequence[Fact],
            actions: Mapping[str, Action], args: tuple[Any, ...] = (), *,
            batch: bool = True) -> bool:
        """Assert ``inputs`` then each control fact in order; every firing of a rule calls
        its action (see the class), whose facts are asserted in response (several in one
        call: durable handles a batch fact by fact, as it does single calls).

        With ``batch``, ``inputs`` go in one call (much cheaper), which is only safe when
        every one of them matches some condition: if durable reports one unmatched, the
        session is dropped and ``False`` returned, so the caller can run again with
        ``batch=False`` (fact by fact, skipping unmatched ones).

        One session at a time per program (the lock), always durable's default one (no
        ``sid`` in the facts: less JSON both ways), deleted whole after each run; the next
        run's first fact makes a fresh one.
        """
        with self._lock:
            try:
                # delete_state segfaults on a session in which no action ever ran (e.g. a
                # case where no rule fires, or a refused batch): every session opens with a
                # fact a no-op rule takes (leading the batch, or alone before single facts)
                if batch:
                    result = _call(_engine.assert_facts, self._handle,
                                   _dumps([_OPEN_FACT, *inputs]))
                    if result[0] == _NOT_HANDLED:  # run its actions idle, then drop it
                        self._drain(int(result[1]), None, args)
                        return False
                    self._drain(self._checked(result, inputs[0] if inputs else _OPEN_FACT),
                                actions, args)
                    rest: Sequence[Fact] = controls
                else:
                    self._assert(_OPEN_FACT, None, args)
                    rest = (*inputs, *controls)
                for fact in rest:
                    self._assert(fact, actions, args)
                return True
            finally:
                # durable raises a bare Exception when no state was created (nothing matched)
                with contextlib.suppress(Exception):
                    _engine.delete_state(self._handle, None)

    # The action loop drives durable's C API directly: durable's own Python layer builds a
    # Closure and a Promise per firing and round-trips the session state through JSON,
    # which cost more than the matching itself. Actions here never touch session state.

    def _assert(self, fact: Fact, actions: Mapping[str, Action] | None,
                args: tuple[Any, ...]) -> None:
        """Assert one fact and run every action it triggers (unmatched facts are skipped)."""
        result = _call(_engine.assert_fact, self._handle, _dumps(fact))
        self._drain(self._checked(result, fact), actions, args)

    def _checked(self, result: Any, fact: Any) -> int | None:
        code = result[0]
        if code in (_NOT_HANDLED, _DEFERRED):
            return None
        _check_code(code, fact)
        return int(result[1])

    def _drain(self, state_handle: int | None, actions: Mapping[str, Action] | None,
               args: tuple[Any, ...]) -> None:
        """Run the session's actions (``None``: run them idle); the facts each returns are
        asserted before the next action is taken."""
        if not state_handle:
            return
        engine, handle = _engine, self._handle
        started = engine.start_action_for_state(handle, state_handle)
        if not started:
            return
        message = started[1]
        while message:
            ((rule_name, matched),) = loads(message).items()
            if actions is not None and rule_name != _OPEN:
                try:
                    facts = actions[rule_name](*args, matched)
                    if facts:
                        # several: one call, which durable handles fact by fact
                        result = (engine.assert_fact(handle, _dumps(facts[0]))
                                  if len(facts) == 1 else
                                  engine.assert_facts(handle, _dumps(facts)))
                        if result[0] not in _ACCEPTED:
                            _check_code(result[0], facts[0])
                except BaseException as exc:
                    # as durable's own layer does: release the action, or the ruleset
                    # keeps it in flight and later sessions see no actions at all
                    engine.abandon_action(handle, state_handle)
                    raise _action_error(exc) from (None if isinstance(exc, _engine.error)
                                                   else exc)
            message = engine.complete_and_start_action(handle, state_handle)


def _action_error(exc: BaseException) -> InferenceError:
    if isinstance(exc, InferenceError):
        return exc
    if isinstance(exc, _engine.error):
        return _refused(exc)
    return InferenceError(f"a rule action failed: {type(exc).__name__}: {exc}")
