"""Fault injection: faults declared in one :class:`FaultPlan`, injected seeded and reproducibly, reported.

A plan lists faults. Each fault names *where* it strikes (an action, an agent, a bus delivery, a gateway
connection, a journal write) and *when*: on chosen occurrences (``on={2, 5}``: the 2nd and 5th), with a
probability (``probability=0.1``, drawn from a random source seeded by the plan's ``seed`` and the fault's
position), or, with neither, on every occurrence; ``limit`` caps how many times it fires. ::

    plan = FaultPlan(
        [
            FailAction("boost", on={2}),                 # the 2nd attempt of action "boost" raises
            TimeoutAction("fetch", probability=0.2),     # a fifth of "fetch" attempts run out of time
            SlowAction("fetch", delay=1.5, on={1}),      # the first "fetch" attempt takes 1.5 s longer
            CrashAgent("tracker", on={3}),               # agent "tracker" crashes on its 3rd signal
            DropDelivery("order.*", on={1}),             # the first delivery of an order.* signal is lost
            DelayDelivery("order.*", delay=2.0, on={2}), # the second arrives 2 s late
            FailJournalWrite(on={4}),                    # the 4th append to the bus journal fails
            CutConnection(connection=1, on={10}),        # gateway connection 1 is cut at its 10th frame
        ],
        seed=7,
    )
    with inject_faults(plan) as faults:
        async with jido.open_runtime() as rt:
            ...
    print(faults.report())

A :class:`FaultInjector` carries a plan out through the fault hooks of the components: it is the action
interceptor (:data:`jido.action.exec.action_interceptor`, consulted once per action attempt; retries count as
calls), the delivery interceptor of bus subscriptions, the wrapper of bus journals and the frame interceptor of
gateway connections. Trio tasks copy their context when they start, and buses, subscriptions and connections
read their hook when they are made: install the injector before opening the runtime (or serving the gateway)
it should reach; :meth:`FaultInjector.set_plan` then changes the faults of running components too. Every
fault that fires is recorded (:attr:`FaultInjector.records`) and :meth:`FaultInjector.report` lists the plan
and what fired, for failure output.

What each fault does:

* :class:`FailAction`: the attempt raises :class:`InjectedError` (retryable unless ``retryable=False``) or the
  exception ``error()`` returns; the action fails (and retries, by its policy) as if ``run`` had raised it.
* :class:`TimeoutAction`: the attempt waits until its deadline passes: it fails with
  :class:`~jido.errors.ActionTimeoutError`, retryable. An attempt without any deadline cannot time out: it
  fails with :class:`UnsupportedFaultError`. Without an event loop (:func:`~jido.action.exec.execute_sync`,
  ``jido.cmd``), where no deadline is enforced, it raises :class:`InjectedTimeout` (a ``TimeoutError``).
* :class:`SlowAction`: the attempt sleeps ``delay`` seconds before ``run``, inside its deadline, so a delay
  past it is a timeout. Without an event loop nothing can wait and no deadline is enforced: no effect (the
  record says so).
* :class:`CrashAgent`: the first action attempt of the agent's n-th signal raises :class:`InjectedCrash` (never
  retried). Under the default ``"crash"`` error policy that crashes the agent's server: the signal goes to the
  dead letters and the supervisor restarts the agent from its last committed state. Under ``"log"`` or
  ``StopAfter`` it is an ordinary action error. A signal that runs no action cannot be crashed this way.
* :class:`DropDelivery`: a bus delivery is lost on its way: it stays in flight, unacked, and the subscription
  delivers it again after its ``ack_timeout`` (dead-lettering it once its attempts are used up).
* :class:`DelayDelivery`: a bus delivery is handed over ``delay`` seconds late (the ones after it wait too).
* :class:`CutConnection`: a gateway connection's TCP connection is dropped before a frame, without a close
  handshake (the client sees 1006); its subscriptions end, durable ones resume from their checkpoints.
* :class:`FailJournalWrite`: a journal append (the publish raises, nothing of the batch is stored), checkpoint
  store (stored again later) or dead-letter write (tried again later) raises ``OSError`` or ``error()``.
"""

from jido.testing.faults.injector import FaultInjector as FaultInjector
from jido.testing.faults.injector import inject_faults as inject_faults
from jido.testing.faults.kinds import JOURNAL_WRITES as JOURNAL_WRITES
from jido.testing.faults.kinds import CrashAgent as CrashAgent
from jido.testing.faults.kinds import CutConnection as CutConnection
from jido.testing.faults.kinds import DelayDelivery as DelayDelivery
from jido.testing.faults.kinds import DropDelivery as DropDelivery
from jido.testing.faults.kinds import FailAction as FailAction
from jido.testing.faults.kinds import FailJournalWrite as FailJournalWrite
from jido.testing.faults.kinds import Fault as Fault
from jido.testing.faults.kinds import InjectedCrash as InjectedCrash
from jido.testing.faults.kinds import InjectedError as InjectedError
from jido.testing.faults.kinds import InjectedTimeout as InjectedTimeout
from jido.testing.faults.kinds import SlowAction as SlowAction
from jido.testing.faults.kinds import TimeoutAction as TimeoutAction
from jido.testing.faults.kinds import UnsupportedFaultError as UnsupportedFaultError
from jido.testing.faults.plan import FaultPlan as FaultPlan
from jido.testing.faults.plan import FaultRecord as FaultRecord

__all__ = [
    "JOURNAL_WRITES",
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
    "SlowAction",
    "TimeoutAction",
    "UnsupportedFaultError",
    "inject_faults",
]
