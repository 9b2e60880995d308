"""``spec_of``: the compiled spec behind a decorated class."""

from __future__ import annotations

from typing import Any, overload

from dsl._build import display_name
from jido._spec_attr import SPEC_ATTR
from jido.action.spec import ActionSpec
from jido.agent.spec import AgentSpec
from jido.errors import DefinitionError
from jido.runtime.sensor_spec import SensorSpec
from jido.runtime.supervisor_spec import SupervisorSpec

__all__ = ["NotDecoratedError", "spec_of"]

_SPECS = (ActionSpec, AgentSpec, SensorSpec, SupervisorSpec)


class NotDecoratedError(DefinitionError):
    """The class was never decorated with ``@action``, ``@agent``, ``@sensor`` or ``@supervisor``."""


@overload
def spec_of(cls: type) -> ActionSpec | AgentSpec | SensorSpec | SupervisorSpec: ...
@overload
def spec_of(cls: object) -> ActionSpec | AgentSpec | SensorSpec | SupervisorSpec: ...


def spec_of(cls: Any) -> ActionSpec | AgentSpec | SensorSpec | SupervisorSpec:
    """The frozen spec a decorator compiled for ``cls`` (or for the class of an instance).

    Raises:
        NotDecoratedError: ``cls`` was never decorated.
    """
    target = cls if isinstance(cls, type) else type(cls)
    spec = getattr(target, SPEC_ATTR, None)
    if isinstance(spec, _SPECS):
        return spec
    raise NotDecoratedError(
        f"{display_name(target)} is not a jido class: decorate it with @action, @agent, @sensor or @supervisor"
    )
