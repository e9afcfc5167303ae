"""The one adapter around durable_rules. No other module imports ``durable``.

Workarounds for the traps measured on durable-rules 2.0.28 live here:
a host without polling threads, unique ruleset names (rulesets are global and
unremovable), one fresh session per run deleted afterwards, input facts asserted one
at a time (an unmatched fact in a batch would abort the batch's pending actions),
actions wrapped so their errors reach the caller, and a deep copy of every definition
(``set_rulesets`` deletes ``run`` from the dict it is given).
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
Dispatch = Callable[[str, Mapping[str, Fact]], Sequence[Fact]]

_NOT_HANDLED, _OBSERVED, _DEFERRED = 1, 2, 3  # durable's result codes (durable/engine.py)
_OPEN = "$session"  # asserted first in every session, matched by a no-op rule (see run)
_NAMES = itertools.count(1)
_SIDS = itertools.count(1)
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
        if str(exc).endswith(" 303"):  # its fixed-size matching stack overflowed
            raise InferenceError(f"the rule engine refused a fact: {exc} (too many rule "
                                 "alternatives test one fact: split the KB's 'any' blocks, "
                                 "or use --engine python)") from None
        raise InferenceError(f"the rule engine refused a fact: {exc}") from None


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
    ``dispatch(rule_name, matched)`` is called for every firing with the matched facts by
    alias and returns the facts to assert in response.
    """

    def __init__(self, rules: Mapping[str, list[Any]]) -> None:
        self._host = _QuietHost()
        with _LOCK:
            self.name = f"partways_{next(_NAMES)}"
        self._dispatch: Dispatch | None = None
        self._sid = ""  # the session of the run in progress
        self._errors: list[BaseException] = []
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

    def run(self, inputs: Sequence[Fact], controls: Sequence[Fact], dispatch: Dispatch, *,
            batch: bool = True) -> bool:
        """Assert ``inputs`` then each control fact in order; every firing goes to ``dispatch``.

        With ``batch``, ``inputs`` go in one call (much cheaper), which is only safe when
        every one of them matches some condition: if durable reports one unmatched, the
        session is dropped and ``False`` returned, so the caller can run again with
        ``batch=False`` (fact by fact, skipping unmatched ones).
        """
        with self._lock:  # one session at a time per program
            sid = self._sid = str(next(_SIDS))
            self._dispatch, self._errors = dispatch, []
            try:
                # delete_state segfaults on a session in which no action ever ran (e.g. a
                # case where no rule fires, or a refused batch): open each one with a fact
                # a no-op rule takes, alone (in the batch, a refused batch runs no action).
                self._assert({"fact": _OPEN, "id": _OPEN, "sid": sid})
                rest: Sequence[Fact] = controls
                if batch and inputs:
                    if not self._assert_many([{**f, "sid": sid} for f in inputs]):
                        return False
                else:
                    rest = (*inputs, *controls)
                for fact in rest:
                    self._assert({**fact, "sid": sid})
                return True
            finally:
                self._dispatch = None
                # durable raises a bare Exception when no state was created (nothing matched)
                with contextlib.suppress(Exception):
                    self._host.delete_state(self.name, sid)

    # The action loop drives durable's C API directly: durable's own Python layer builds a
    # Closure and a Promise per firing and round-trips the session state through JSON,
    # which cost more than the matching itself. Actions here never touch session state.

    def _assert(self, fact: Fact) -> None:
        """Assert one fact and run every action it triggers (unmatched facts are skipped)."""
        self._drain(self._checked(_call(_engine.assert_fact, self._handle, _dumps(fact)), fact))

    def _assert_many(self, facts: list[Fact]) -> bool:
        """Assert a batch; False when durable found a fact no condition takes (nothing run)."""
        result = _call(_engine.assert_facts, self._handle, _dumps(facts))
        if result[0] == _NOT_HANDLED:
            return False
        self._drain(self._checked(result, facts[0] if facts else {}))
        return True

    def _checked(self, result: Any, fact: Any) -> int | None:
        code = result[0]
        if code in (_NOT_HANDLED, _DEFERRED):
            return None
        _check_code(code, fact)
        return int(result[1])

    def _drain(self, state_handle: int | None) -> None:
        if not state_handle:
            return
        started = _engine.start_action_for_state(self._handle, state_handle)
        if not started:
            return
        message = started[1]
        while message:
            ((rule_name, matched),) = loads(message).items()
            if rule_name != _OPEN:
                self._fire(rule_name, matched)
                if self._errors:
                    # as durable's own layer does: release the action, or the ruleset
                    # keeps it in flight and later sessions see no actions at all
                    _engine.abandon_action(self._handle, state_handle)
                    self._raise_errors()
            message = _engine.complete_and_start_action(self._handle, state_handle)

    def _fire(self, rule_name: str, matched: Mapping[str, Fact]) -> None:
        if self._errors or self._dispatch is None:
            return
        try:
            for fact in self._dispatch(rule_name, matched):
                # a copy: the session id must not leak into the caller's facts
                payload = _dumps({**fact, "sid": self._sid})
                _check_code(_call(_engine.assert_fact, self._handle, payload)[0], fact)
        except BaseException as exc:  # collected and raised to the caller after the assert
            self._errors.append(exc)

    def _raise_errors(self) -> None:
        if self._errors:
            err = self._errors[0]
            if isinstance(err, InferenceError):
                raise err
            raise InferenceError(f"a rule action failed: {type(err).__name__}: {err}") from err
