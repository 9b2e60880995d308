"""Finding the object a ``MODULE:OBJECT`` argument names, and what kind of jido object it is."""

from __future__ import annotations

import difflib
import importlib
import os
import sys
import traceback
from typing import Any, Literal, TypeAlias

import attrs

from jido.agent.spec import AgentSpec, agent_spec_of
from jido.runtime.sensor_spec import SensorSpec, sensor_spec_of
from jido.runtime.supervisor_spec import SupervisorSpec, supervisor_spec_of

from .errors import EXIT_USAGE, CliError, one_line

__all__ = ["Kind", "Target", "load_agent", "load_object", "load_target"]

Kind: TypeAlias = Literal["agent", "supervisor", "sensor"]


@attrs.frozen
class Target:
    """A runnable object named on the command line.

    Attributes:
        ref: the ``module:object`` text it was loaded from.
        kind: ``"agent"``, ``"supervisor"`` or ``"sensor"``.
        obj: what the module holds (a decorated class or a spec).
        spec: its compiled spec.
    """

    ref: str
    kind: Kind
    obj: Any
    spec: AgentSpec | SupervisorSpec | SensorSpec

    @property
    def name(self) -> str:
        return self.spec.name


def _usage(message: str) -> CliError:
    return CliError(message, EXIT_USAGE)


def _where(exc: BaseException) -> str:
    """`` (file.py:12)`` for the innermost frame of ``exc``'s traceback in the user's code, or nothing.

    Frames of jido and of the DSL are passed over: an error raised by our code for the user's definition is
    the user's line. Nothing is added when the message already starts with that place (the DSL's definition
    errors do).
    """
    frames = [
        (frame.f_code.co_filename, lineno)
        for frame, lineno in traceback.walk_tb(exc.__traceback__)
        if str(frame.f_globals.get("__name__", "")).partition(".")[0] not in ("jido", "dsl")
    ]
    if not frames:
        return ""
    filename, lineno = frames[-1]
    place = f"{os.path.basename(filename)}:{lineno}"
    if str(exc).partition(" ")[0].endswith(f"{place}:"):
        return ""
    return f" ({place})"


def load_object(ref: str) -> Any:
    """Import ``module`` and return ``module.object`` (``object`` may be a dotted path) for ``module:object``.

    The current directory is put on ``sys.path`` first, as ``python -m`` does, so that ``jido run app:Agent``
    finds ``./app.py`` when ``jido`` runs as an installed script.

    Raises:
        CliError: (exit 2) the text is not ``module:object``, the module cannot be imported (or raised while
            importing), or it has no such attribute.
    """
    module_name, colon, attr_path = ref.partition(":")
    if not colon or not module_name or not attr_path:
        raise _usage(f"expected MODULE:OBJECT (such as 'myapp.agents:Counter'), got {ref!r}")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        # The module itself or a package above it is missing, rather than something the module imports.
        if exc.name is not None and (module_name + ".").startswith(exc.name + "."):
            raise _usage(f"cannot import module {module_name!r}: no module named {exc.name!r}") from None
        raise _usage(f"cannot import module {module_name!r}: {one_line(exc)}{_where(exc)}") from None
    except Exception as exc:  # the user's module failed while importing: say where, in one line
        raise _usage(
            f"cannot import module {module_name!r}: {type(exc).__name__}: {one_line(exc)}{_where(exc)}"
        ) from None
    obj: Any = module
    walked: list[str] = []
    for part in attr_path.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            names = [n for n in dir(obj) if not n.startswith("_")]
            close = difflib.get_close_matches(part, names, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            owner = repr(f"{module_name}:{'.'.join(walked)}") if walked else f"module {module_name!r}"
            raise _usage(f"{owner} has no attribute {part!r}{hint}") from None
        walked.append(part)
    return obj


def _describe(obj: object) -> str:
    if supervisor_spec_of(obj) is not None:
        return "a supervisor"
    if sensor_spec_of(obj) is not None:
        return "a sensor"
    if isinstance(obj, type):
        return f"class {obj.__qualname__}"
    return type(obj).__name__


def load_target(ref: str) -> Target:
    """Load an agent, supervisor or sensor (a decorated class or a spec) named ``module:object``.

    Raises:
        CliError: (exit 2) see :func:`load_object`; or the object is none of those.
    """
    obj = load_object(ref)
    agent = agent_spec_of(obj)
    if agent is not None:
        return Target(ref, "agent", obj, agent)
    supervisor = supervisor_spec_of(obj)
    if supervisor is not None:
        return Target(ref, "supervisor", obj, supervisor)
    sensor = sensor_spec_of(obj)
    if sensor is not None:
        return Target(ref, "sensor", obj, sensor)
    raise _usage(f"{ref!r} is not an agent, supervisor or sensor (got {_describe(obj)})")


def load_agent(ref: str) -> AgentSpec:
    """The :class:`AgentSpec` of the agent named ``module:object``.

    Raises:
        CliError: (exit 2) see :func:`load_object`; or the object is not an agent.
    """
    obj = load_object(ref)
    spec = agent_spec_of(obj)
    if spec is None:
        raise _usage(f"{ref!r} is not an agent (got {_describe(obj)})")
    return spec
