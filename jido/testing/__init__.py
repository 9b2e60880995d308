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

It needs the ``test`` extra (Hypothesis, pytest, pytest-trio).
"""

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
