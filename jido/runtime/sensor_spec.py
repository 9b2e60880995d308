"""What a sensor is: a source of signals run under supervision (a loop of its own, or a periodic sample)."""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Callable
from typing import Any

import attrs

from jido._spec_attr import SPEC_ATTR
from jido.cron import parse_cron
from jido.directives import _check_tz
from jido.errors import DefinitionError

__all__ = ["SensorSpec", "sensor_spec_of"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


def _check_name(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not _NAME.match(value):
        raise DefinitionError(f"sensor name {value!r} is invalid: use letters, digits, '_' and '.'")


@attrs.frozen
class SensorSpec:
    """A compiled sensor.

    Exactly one way of producing signals is set: ``run(config, emit)``, an async loop that calls
    ``await emit(signal)`` as it likes; or ``sample(config)`` (sync or async), called every ``every`` seconds or
    on the ``cron`` schedule, returning a signal, a list of signals, or None.

    Attributes:
        name: stable name.
        config: attrs class of the sensor's configuration (its fields).
        run: the loop form, or None.
        sample: the periodic form, or None.
        every: period in seconds for ``sample``.
        cron: cron expression for ``sample``.
        tz: time zone of ``cron``.
        description: one line for humans.
        instance: the configuration to run with, an instance of ``config``; None runs ``config()``, its
            defaults. :func:`sensor_spec_of` sets it for a configured sensor (``Heart(label="custom")``).
    """

    name: str = attrs.field(validator=_check_name)
    config: type
    run: Callable[..., Any] | None = None
    sample: Callable[..., Any] | None = None
    every: float | None = None
    cron: str | None = None
    tz: str = attrs.field(default="UTC", validator=_check_tz)
    description: str = ""
    instance: Any = None

    def __attrs_post_init__(self) -> None:
        if not (isinstance(self.config, type) and attrs.has(self.config)):
            raise DefinitionError(f"sensor {self.name!r}: config must be an attrs class, got {self.config!r}")
        if self.instance is not None and not isinstance(self.instance, self.config):
            raise DefinitionError(
                f"sensor {self.name!r}: instance must be a {self.config.__qualname__}, got {self.instance!r}"
            )
        if (self.run is None) == (self.sample is None):
            raise DefinitionError(
                f"sensor {self.name!r}: give exactly one of run (a loop) or sample (periodic)"
            )
        if self.run is not None:
            if self.every is not None or self.cron is not None:
                raise DefinitionError(f"sensor {self.name!r}: every/cron apply to sample, not to run")
            if not inspect.iscoroutinefunction(self.run):
                raise DefinitionError(f"sensor {self.name!r}: run must be an async function")
        elif (self.every is None) == (self.cron is None):
            raise DefinitionError(f"sensor {self.name!r}: sample needs exactly one of every or cron")
        if self.cron is not None:
            try:
                parse_cron(self.cron, self.tz)
            except ValueError as exc:
                raise DefinitionError(f"sensor {self.name!r}: invalid cron: {exc}") from None
        if self.every is not None and (
            isinstance(self.every, bool)
            or not isinstance(self.every, int | float)
            or not 0 < self.every < math.inf
        ):
            raise DefinitionError(f"sensor {self.name!r}: every must be a positive number of seconds")

    def new_config(self) -> Any:
        """The configuration an incarnation of the sensor runs with: ``instance``, else ``config()``."""
        return self.instance if self.instance is not None else self.config()


def sensor_spec_of(obj: object) -> SensorSpec | None:
    """The :class:`SensorSpec` behind ``obj`` (a spec, a decorated class or a configured instance), or None."""
    if isinstance(obj, SensorSpec):
        return obj
    spec = getattr(obj, SPEC_ATTR, None)
    if not isinstance(spec, SensorSpec):
        return None
    if not isinstance(obj, type) and isinstance(obj, spec.config):
        # An instance reads the class's spec through its class; that spec alone would run the defaults and
        # drop what the instance was given (``Heart(label="custom")``).
        return attrs.evolve(spec, instance=obj)
    return spec
