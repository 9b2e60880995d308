"""jido.testing: prove that agent workflows keep their invariants when things fail.

* A pytest plugin (active wherever jido is installed): the ``jido_runtime``, ``jido_faults``,
  ``signal_recorder`` and ``jido_clock`` fixtures (see :mod:`jido.testing.plugin`).
* Hypothesis strategies for signals, types, patterns, schema values, instructions and fault plans:
  ``from jido.testing import strategies as jst``.
* Fault injection, seeded and reproducible, declared in one :class:`FaultPlan`.
* :class:`RuntimeStateMachine`: one trio runtime kept alive across the rules of a Hypothesis state machine.
* :func:`check_invariant`: random instruction sequences with faults against a predicate on an agent's state.
* Waits that never sleep on the wall clock: :func:`wait_for_state`, :func:`wait_until`, and a
  :class:`SignalRecorder`.

The fixtures need pytest and pytest-trio; the property-testing helpers (``check_invariant``,
``RuntimeStateMachine``, the strategies) need Hypothesis too: the ``test`` extra has all three. Names are
imported when first used, so the plugin, which pytest loads in every session where jido is installed, costs
next to nothing and works without Hypothesis.
"""

import importlib
import typing

if typing.TYPE_CHECKING:
    from jido.testing.faults import CrashAgent as CrashAgent
    from jido.testing.faults import CutConnection as CutConnection
    from jido.testing.faults import DelayDelivery as DelayDelivery
    from jido.testing.faults import DropDelivery as DropDelivery
    from jido.testing.faults import FailAction as FailAction
    from jido.testing.faults import FailJournalWrite as FailJournalWrite
    from jido.testing.faults import Fault as Fault
    from jido.testing.faults import FaultInjector as FaultInjector
    from jido.testing.faults import FaultPlan as FaultPlan
    from jido.testing.faults import FaultRecord as FaultRecord
    from jido.testing.faults import InjectedCrash as InjectedCrash
    from jido.testing.faults import InjectedError as InjectedError
    from jido.testing.faults import InjectedTimeout as InjectedTimeout
    from jido.testing.faults import SlowAction as SlowAction
    from jido.testing.faults import TimeoutAction as TimeoutAction
    from jido.testing.faults import UnsupportedFaultError as UnsupportedFaultError
    from jido.testing.faults import inject_faults as inject_faults
    from jido.testing.helpers import TEST_START as TEST_START
    from jido.testing.helpers import SignalRecorder as SignalRecorder
    from jido.testing.helpers import open_test_runtime as open_test_runtime
    from jido.testing.helpers import wait_for_state as wait_for_state
    from jido.testing.helpers import wait_until as wait_until
    from jido.testing.invariants import InvariantViolation as InvariantViolation
    from jido.testing.invariants import Step as Step
    from jido.testing.invariants import check_invariant as check_invariant
    from jido.testing.stateful import RuntimeStateMachine as RuntimeStateMachine

# Where each public name lives; imported on first use (see the module docstring).
_HOMES: dict[str, str] = {
    "CrashAgent": "jido.testing.faults",
    "CutConnection": "jido.testing.faults",
    "DelayDelivery": "jido.testing.faults",
    "DropDelivery": "jido.testing.faults",
    "FailAction": "jido.testing.faults",
    "FailJournalWrite": "jido.testing.faults",
    "Fault": "jido.testing.faults",
    "FaultInjector": "jido.testing.faults",
    "FaultPlan": "jido.testing.faults",
    "FaultRecord": "jido.testing.faults",
    "InjectedCrash": "jido.testing.faults",
    "InjectedError": "jido.testing.faults",
    "InjectedTimeout": "jido.testing.faults",
    "SlowAction": "jido.testing.faults",
    "TimeoutAction": "jido.testing.faults",
    "UnsupportedFaultError": "jido.testing.faults",
    "inject_faults": "jido.testing.faults",
    "TEST_START": "jido.testing.helpers",
    "SignalRecorder": "jido.testing.helpers",
    "open_test_runtime": "jido.testing.helpers",
    "wait_for_state": "jido.testing.helpers",
    "wait_until": "jido.testing.helpers",
    "InvariantViolation": "jido.testing.invariants",
    "Step": "jido.testing.invariants",
    "check_invariant": "jido.testing.invariants",
    "RuntimeStateMachine": "jido.testing.stateful",
}

__all__ = [
    "TEST_START",
    "CrashAgent",
    "CutConnection",
    "DelayDelivery",
    "DropDelivery",
    "FailAction",
    "FailJournalWrite",
    "Fault",
    "FaultInjector",
    "FaultPlan",
    "FaultRecord",
    "InjectedCrash",
    "InjectedError",
    "InjectedTimeout",
    "InvariantViolation",
    "RuntimeStateMachine",
    "SignalRecorder",
    "SlowAction",
    "Step",
    "TimeoutAction",
    "UnsupportedFaultError",
    "check_invariant",
    "inject_faults",
    "open_test_runtime",
    "wait_for_state",
    "wait_until",
]


# Public submodules: ``import jido.testing`` then ``jido.testing.strategies`` worked when the package imported
# everything at once, and still does.
_SUBMODULES = frozenset({"faults", "strategies"})


def __getattr__(name: str) -> object:
    if name in _SUBMODULES:
        return importlib.import_module(f"jido.testing.{name}")
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'jido.testing' has no attribute {name!r}")
    value: object = getattr(importlib.import_module(home), name)
    globals()[name] = value  # once imported, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
