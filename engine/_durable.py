"""The one adapter around durable_rules. No other module imports ``durable``.

Workarounds for the traps measured in shared/DURABLE_RULES.md live here:
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

import durable_rules_engine
from durable.engine import Host, MessageNotHandledException, MessageObservedException

from .errors import InferenceError

Fact = dict[str, Any]
Dispatch = Callable[[str, Mapping[str, Fact]], Sequence[Fact]]

_OPEN = "$session"  # asserted first in every session, matched by a no-op rule (see run)
_NAMES = itertools.count(1)
_SIDS = itertools.count(1)
_LOCK = threading.Lock()


class _QuietHost(Host):
    """A host without the two polling threads (they race with many sessions; we need no timers)."""

    def _run(self) -> None:
        return None


def _noop(c: Any) -> None:
    return None


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
        self._errors: list[BaseException] = []
        definition = {
            rule_name: {"all": copy.deepcopy(conditions), "run": self._action(rule_name)}
            for rule_name, conditions in rules.items()
        }
        definition[_OPEN] = {"all": [{"open__": {"fact": _OPEN}}], "run": _noop}
        try:
            self._host.set_rulesets({self.name: definition})
        except Exception as exc:  # durable raises bare Exception for bad definitions
            raise InferenceError(f"the rule engine rejected the compiled rules: {exc}") from None
        self._lock = threading.Lock()

    def _action(self, rule_name: str) -> Callable[[Any], None]:
        def run(c: Any) -> None:
            if self._errors or self._dispatch is None:
                return
            try:
                matched = {alias: fact for alias, fact in (c._m or {}).items()}
                for fact in self._dispatch(rule_name, matched):
                    with contextlib.suppress(MessageNotHandledException):
                        c.assert_fact(fact)  # suppressed: no rule looks at this fact
            except BaseException as exc:  # collected and raised to the caller after the assert
                self._errors.append(exc)

        return run

    def run(self, inputs: Sequence[Fact], controls: Sequence[Fact], dispatch: Dispatch, *,
            batch: bool = True) -> bool:
        """Assert ``inputs`` then each control fact in order; every firing goes to ``dispatch``.

        With ``batch``, ``inputs`` go in one call (much cheaper), which is only safe when
        every one of them matches some condition: if durable reports one unmatched, the
        session is dropped and ``False`` returned, so the caller can run again with
        ``batch=False`` (fact by fact, skipping unmatched ones).
        """
        with self._lock:  # one session at a time per program: sessions share action state
            sid = str(next(_SIDS))
            self._dispatch, self._errors = dispatch, []
            try:
                # delete_state segfaults on a session in which no action ever ran (e.g. a
                # case where no rule fires): open each one with a fact a no-op rule takes.
                self._assert({"fact": _OPEN, "id": _OPEN, "sid": sid})
                rest: Sequence[Fact] = controls
                if batch and inputs:
                    try:
                        self._host.assert_facts(self.name, [{**f, "sid": sid} for f in inputs])
                    except MessageNotHandledException:
                        return False
                    self._raise_errors()
                else:
                    rest = (*inputs, *controls)
                for fact in rest:
                    self._assert({**fact, "sid": sid})
                    self._raise_errors()
                return True
            finally:
                self._dispatch = None
                # durable raises a bare Exception when no state was created (nothing matched)
                with contextlib.suppress(Exception):
                    self._host.delete_state(self.name, sid)

    def _raise_errors(self) -> None:
        if self._errors:
            err = self._errors[0]
            if isinstance(err, InferenceError):
                raise err
            raise InferenceError(f"a rule action failed: {type(err).__name__}: {err}") from err

    def _assert(self, fact: Fact) -> None:
        try:
            self._host.assert_fact(self.name, fact)
        except MessageNotHandledException:
            pass  # no rule looks at this fact: nothing to do
        except MessageObservedException:
            raise InferenceError(f"fact asserted twice: {fact.get('id')}") from None
        except durable_rules_engine.error as exc:  # e.g. 311: a test reads a field it lacks
            raise InferenceError(f"the rule engine refused fact {fact.get('id')}: {exc}") \
                from None
