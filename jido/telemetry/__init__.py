"""Operations visibility: telemetry events, handlers, debug rings, trace propagation and log context.

* :mod:`jido.telemetry.events`: the catalogue of events and their fields.
* :mod:`jido.telemetry.handlers`: :func:`attach` a handler to an event or a pattern of events; :func:`emit`.
* :mod:`jido.telemetry.ring`: per-agent debug rings behind ``AgentRef.debug()`` / ``recent_events()``.
* :mod:`jido.telemetry.propagation`: where the runtime stamps signals with the current trace context.
* :mod:`jido.telemetry.logs`: the structured ``extra=`` keys of jido's log records.
* :mod:`jido.telemetry.otel`: the OpenTelemetry bridge (``pip install 'jido[otel]'``; imported only on demand).

::

    from jido import telemetry

    with telemetry.attach("jido.signal.handled", lambda e: print(e.fields["duration"])):
        ...
"""

from jido.telemetry.events import CATALOGUE as CATALOGUE
from jido.telemetry.events import EventSpec as EventSpec
from jido.telemetry.events import FieldSpec as FieldSpec
from jido.telemetry.events import define_event as define_event
from jido.telemetry.events import event_spec as event_spec
from jido.telemetry.events import validate_fields as validate_fields
from jido.telemetry.handlers import Attachment as Attachment
from jido.telemetry.handlers import Event as Event
from jido.telemetry.handlers import Handler as Handler
from jido.telemetry.handlers import attach as attach
from jido.telemetry.handlers import attachments as attachments
from jido.telemetry.handlers import detach_all as detach_all
from jido.telemetry.handlers import emit as emit
from jido.telemetry.handlers import enabled as enabled
from jido.telemetry.logs import log_context as log_context
from jido.telemetry.propagation import Propagator as Propagator
from jido.telemetry.propagation import set_propagator as set_propagator

__all__ = [
    "CATALOGUE",
    "Attachment",
    "Event",
    "EventSpec",
    "FieldSpec",
    "Handler",
    "Propagator",
    "attach",
    "attachments",
    "define_event",
    "detach_all",
    "emit",
    "enabled",
    "event_spec",
    "log_context",
    "set_propagator",
    "validate_fields",
]
