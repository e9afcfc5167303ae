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

from durable.engine import Host, MessageNotHandledException, MessageObservedException

from .errors import InferenceError

Fact = dict[str, Any]
Dispatch = Callable[[str, Mapping[str, Fact]], Sequence[Fact]]

_NAMES = itertools.count(1)
_SIDS = itertools.count(1)
_LOCK = threading.Lock()


class _QuietHost(Host):
    """A host without the two polling threads (they race with many sessions; we need no timers)."""

    def _run(self) -> None:
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

    def run(self, inputs: Sequence[Fact], controls: Sequence[Fact], dispatch: Dispatch) -> None:
        """Assert ``inputs`` then each control fact in order; every firing goes to ``dispatch``."""
        with self._lock:  # one session at a time per program: sessions share action state
            sid = str(next(_SIDS))
            self._dispatch, self._errors = dispatch, []
            try:
                for fact in (*inputs, *controls):
                    self._assert({**fact, "sid": sid})
                    if self._errors:
                        err = self._errors[0]
                        if isinstance(err, InferenceError):
                            raise err
                        raise InferenceError(
                            f"a rule action failed: {type(err).__name__}: {err}") from err
            finally:
                self._dispatch = None
                # durable raises a bare Exception when no state was created (nothing matched)
                with contextlib.suppress(Exception):
                    self._host.delete_state(self.name, sid)

    def _assert(self, fact: Fact) -> None:
        try:
            self._host.assert_fact(self.name, fact)
        except MessageNotHandledException:
            pass  # no rule looks at this fact: nothing to do
        except MessageObservedException:
            raise InferenceError(f"fact asserted twice: {fact.get('id')}") from None
