"""Routes and cron schedules: how an agent (or a plugin mounted into one) declares the signals it handles.

They sit below :mod:`jido.agent.spec` so that :mod:`jido.agent.plugin` can build them without importing the
agent spec, which mounts plugins.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from jido.action.instruction import Instruction
from jido.action.spec import ActionSpec
from jido.agent.directives import _check_cron_expr, _check_tz

if TYPE_CHECKING:
    from jido.signal import Signal

__all__ = ["CronSchedule", "RouteSpec"]


@attrs.frozen
class RouteSpec:
    """Signals whose type matches ``pattern`` run ``action``.

    Attributes:
        pattern: a router pattern (``"counter.*"``, ``"audit.**"``).
        action: the action to run.
        priority: -100..100; higher runs first among matching routes.
        params: fixed params merged over the signal's data (they win: a route's author fixed them), or a
            function of the signal returning the params.
        when: an optional predicate on the signal; the route applies only where it returns True.
        plugin: the state key of the plugin the route comes from, or None for the agent's own routes (set
            when a plugin is mounted; tools show it, and the agent spec tells its own routes apart by it).
    """

    pattern: str
    action: ActionSpec
    priority: int = 0
    params: Mapping[str, Any] | Callable[[Signal], Mapping[str, Any]] | None = None
    when: Callable[[Signal], bool] | None = None
    plugin: str | None = attrs.field(default=None, kw_only=True)

    def instruction_for(self, signal: Signal) -> Instruction:
        """The instruction this route makes of ``signal``."""
        if callable(self.params):
            params: Any = self.params(signal)
        else:
            data = signal.data
            if data is None:
                data = {}
            params = {**data, **self.params} if self.params and isinstance(data, Mapping) else data
        return Instruction(self.action, params)


@attrs.frozen
class CronSchedule:
    """A signal of type ``signal_type`` delivered to the agent on a cron schedule, declared with the agent.

    ``plugin`` is the state key of the plugin that declared it, or None for the agent's own schedules.
    """

    expr: str = attrs.field(validator=_check_cron_expr)
    signal_type: str
    job_id: str
    tz: str = attrs.field(default="UTC", validator=_check_tz)
    plugin: str | None = attrs.field(default=None, kw_only=True)
