"""Actions: validated units of work, and how they run (timeouts, retries, compensation, plans, tools)."""

from jido.action.exec import execute as execute
from jido.action.exec import execute_sync as execute_sync
from jido.action.exec import run_action as run_action
from jido.action.exec import run_action_sync as run_action_sync
from jido.action.exec import validate_params as validate_params
from jido.action.instruction import Instruction as Instruction
from jido.action.instruction import InstructionLike as InstructionLike
from jido.action.instruction import normalize_instructions as normalize_instructions
from jido.action.plan import Plan as Plan
from jido.action.plan import PlanResult as PlanResult
from jido.action.plan import PlanStep as PlanStep
from jido.action.plan import run_plan as run_plan
from jido.action.result import ActionResult as ActionResult
from jido.action.result import Effect as Effect
from jido.action.result import normalize_result as normalize_result
from jido.action.retry import backoff_delay as backoff_delay
from jido.action.retry import is_retryable as is_retryable
from jido.action.spec import DEFAULT_TIMEOUT as DEFAULT_TIMEOUT
from jido.action.spec import ActionContext as ActionContext
from jido.action.spec import ActionSpec as ActionSpec
from jido.action.spec import NoParams as NoParams
from jido.action.spec import RetryPolicy as RetryPolicy
from jido.action.spec import action_spec_of as action_spec_of
from jido.action.tool import params_schema as params_schema
from jido.action.tool import to_tool as to_tool

__all__ = [
    "DEFAULT_TIMEOUT",
    "ActionContext",
    "ActionResult",
    "ActionSpec",
    "Effect",
    "Instruction",
    "InstructionLike",
    "NoParams",
    "Plan",
    "PlanResult",
    "PlanStep",
    "RetryPolicy",
    "action_spec_of",
    "backoff_delay",
    "execute",
    "execute_sync",
    "is_retryable",
    "normalize_instructions",
    "normalize_result",
    "params_schema",
    "run_action",
    "run_action_sync",
    "run_plan",
    "to_tool",
    "validate_params",
]
