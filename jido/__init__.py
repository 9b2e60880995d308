"""jido: a runtime for reliable multi-agent systems on Trio's structured concurrency.

The pure core lives here: signals and routing (:mod:`jido.signal`), actions (:mod:`jido.action`), agents,
``cmd`` and directives (:mod:`jido.agent`). The decorator DSL is the separate package ``dsl``; ``jido`` never
imports it.
"""

import logging

from jido._version import __version__ as __version__
from jido.action.exec import run_action as run_action
from jido.action.exec import run_action_sync as run_action_sync
from jido.action.instruction import Instruction as Instruction
from jido.action.plan import Plan as Plan
from jido.action.plan import PlanResult as PlanResult
from jido.action.plan import PlanStep as PlanStep
from jido.action.plan import run_plan as run_plan
from jido.action.result import ActionResult as ActionResult
from jido.action.spec import ActionContext as ActionContext
from jido.action.spec import ActionSpec as ActionSpec
from jido.action.spec import NoParams as NoParams
from jido.action.spec import RetryPolicy as RetryPolicy
from jido.action.tool import to_tool as to_tool
from jido.agent.cmd import cmd as cmd
from jido.agent.cmd import cmd_async as cmd_async
from jido.agent.cmd import handle as handle
from jido.agent.cmd import handle_async as handle_async
from jido.agent.fsm import FSM as FSM
from jido.agent.plugin import CmdOutcome as CmdOutcome
from jido.agent.plugin import PluginContext as PluginContext
from jido.agent.plugin import PluginSpec as PluginSpec
from jido.agent.plugin import Reject as Reject
from jido.agent.plugin import SignalHook as SignalHook
from jido.agent.spec import Agent as Agent
from jido.agent.spec import AgentSpec as AgentSpec
from jido.agent.spec import CronSchedule as CronSchedule
from jido.agent.spec import RouteSpec as RouteSpec
from jido.agent.state import StateMapping as StateMapping
from jido.agent.strategy import Direct as Direct
from jido.agent.strategy import Strategy as Strategy
from jido.agent.workflow import RunWorkflow as RunWorkflow
from jido.agent.workflow import Workflow as Workflow
from jido.clock import SystemClock as SystemClock
from jido.clock import TrioClock as TrioClock
from jido.directives import Cron as Cron
from jido.directives import CronCancel as CronCancel
from jido.directives import Directive as Directive
from jido.directives import Emit as Emit
from jido.directives import Error as Error
from jido.directives import Schedule as Schedule
from jido.directives import SpawnAgent as SpawnAgent
from jido.directives import Stop as Stop
from jido.directives import StopChild as StopChild
from jido.errors import ActionError as ActionError
from jido.errors import ActionTimeoutError as ActionTimeoutError
from jido.errors import AgentExistsError as AgentExistsError
from jido.errors import AgentFailedError as AgentFailedError
from jido.errors import AgentNotFoundError as AgentNotFoundError
from jido.errors import BrokenError as BrokenError
from jido.errors import CallTimeoutError as CallTimeoutError
from jido.errors import ClosedError as ClosedError
from jido.errors import DeadlineExceededError as DeadlineExceededError
from jido.errors import DefinitionError as DefinitionError
from jido.errors import FieldError as FieldError
from jido.errors import ForbiddenError as ForbiddenError
from jido.errors import InternalError as InternalError
from jido.errors import JidoError as JidoError
from jido.errors import MailboxFullError as MailboxFullError
from jido.errors import NoRouteError as NoRouteError
from jido.errors import PluginHookError as PluginHookError
from jido.errors import PluginRejectedError as PluginRejectedError
from jido.errors import RoutePredicateError as RoutePredicateError
from jido.errors import RoutingError as RoutingError
from jido.errors import SignalError as SignalError
from jido.errors import StaleStateError as StaleStateError
from jido.errors import StrategyError as StrategyError
from jido.errors import SubscriptionConflictError as SubscriptionConflictError
from jido.errors import SupervisionError as SupervisionError
from jido.errors import TransitionError as TransitionError
from jido.errors import ValidationError as ValidationError
from jido.errors import WorkflowBusyError as WorkflowBusyError
from jido.runtime.dead_letters import DeadLetter as DeadLetter
from jido.runtime.runtime import Runtime as Runtime
from jido.runtime.runtime import RuntimeStatistics as RuntimeStatistics
from jido.runtime.runtime import open_runtime as open_runtime
from jido.runtime.sensor_spec import SensorSpec as SensorSpec
from jido.runtime.server import AgentRef as AgentRef
from jido.runtime.server import StopAfter as StopAfter
from jido.runtime.supervisor_spec import ChildSpec as ChildSpec
from jido.runtime.supervisor_spec import SupervisorSpec as SupervisorSpec
from jido.signal.router import Route as Route
from jido.signal.router import Router as Router
from jido.signal.signal import Signal as Signal
from jido.signal.typed import SignalType as SignalType
from jido.signal.typed import typed_signal as typed_signal
from jido.state_ops import DeleteKeys as DeleteKeys
from jido.state_ops import DeletePath as DeletePath
from jido.state_ops import ReplaceState as ReplaceState
from jido.state_ops import SetPath as SetPath
from jido.state_ops import SetState as SetState
from jido.state_ops import StateOp as StateOp

# The library logs through "jido.*" loggers and never prints: applications decide where records go.
logging.getLogger("jido").addHandler(logging.NullHandler())

__all__ = [
    "FSM",
    "ActionContext",
    "ActionError",
    "ActionResult",
    "ActionSpec",
    "ActionTimeoutError",
    "Agent",
    "AgentExistsError",
    "AgentFailedError",
    "AgentNotFoundError",
    "AgentRef",
    "AgentSpec",
    "BrokenError",
    "CallTimeoutError",
    "ChildSpec",
    "ClosedError",
    "CmdOutcome",
    "Cron",
    "CronCancel",
    "CronSchedule",
    "DeadLetter",
    "DeadlineExceededError",
    "DefinitionError",
    "DeleteKeys",
    "DeletePath",
    "Direct",
    "Directive",
    "Emit",
    "Error",
    "FieldError",
    "ForbiddenError",
    "Instruction",
    "InternalError",
    "JidoError",
    "MailboxFullError",
    "NoParams",
    "NoRouteError",
    "Plan",
    "PlanResult",
    "PlanStep",
    "PluginContext",
    "PluginHookError",
    "PluginRejectedError",
    "PluginSpec",
    "Reject",
    "ReplaceState",
    "RetryPolicy",
    "Route",
    "RoutePredicateError",
    "RouteSpec",
    "Router",
    "RoutingError",
    "RunWorkflow",
    "Runtime",
    "RuntimeStatistics",
    "Schedule",
    "SensorSpec",
    "SetPath",
    "SetState",
    "Signal",
    "SignalError",
    "SignalHook",
    "SignalType",
    "SpawnAgent",
    "StaleStateError",
    "StateMapping",
    "StateOp",
    "Stop",
    "StopAfter",
    "StopChild",
    "Strategy",
    "StrategyError",
    "SubscriptionConflictError",
    "SupervisionError",
    "SupervisorSpec",
    "SystemClock",
    "TransitionError",
    "TrioClock",
    "ValidationError",
    "Workflow",
    "WorkflowBusyError",
    "cmd",
    "cmd_async",
    "handle",
    "handle_async",
    "open_runtime",
    "run_action",
    "run_action_sync",
    "run_plan",
    "to_tool",
    "typed_signal",
]
