"""The decorator DSL: classes declared with ``@action``, ``@agent``, ``@route``, ``@sensor``, ``@supervisor`` and
``@plugin`` compile, when they are defined, into the frozen specs that :mod:`jido` runs.

Everything the DSL does can be written by hand with ``jido``'s specs; ``jido`` never imports ``dsl``.
"""

from dsl.action import action as action
from dsl.agent import AgentState as AgentState
from dsl.agent import agent as agent
from dsl.agent import cron as cron
from dsl.agent import route as route
from dsl.plugin import plugin as plugin
from dsl.plugin import plugin_spec as plugin_spec
from dsl.sensor import sensor as sensor
from dsl.spec import NotDecoratedError as NotDecoratedError
from dsl.spec import spec_of as spec_of
from dsl.supervisor import child as child
from dsl.supervisor import supervisor as supervisor

__all__ = [
    "AgentState",
    "NotDecoratedError",
    "action",
    "agent",
    "child",
    "cron",
    "plugin",
    "plugin_spec",
    "route",
    "sensor",
    "spec_of",
    "supervisor",
]
