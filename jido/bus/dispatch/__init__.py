"""Dispatch adapters: carry a bus's signals to agents, functions, channels, logs, the console, and HTTP.

Make one by name with its options, all checked at once, up front::

    adapter = make_adapter("webhook", url="https://example.com/hooks/jido", secret=SECRET)

or build the class directly with typed keywords (``WebhookAdapter(url=..., secret=...)``, checked the same
way). Give it to the bus as a subscription target; the bus calls ``deliver`` once per attempt, retries what
fails as retryable, dead-letters the rest, and calls ``aclose`` when done.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final, cast

import attrs

from jido.bus.dispatch.agent import AgentAdapter as AgentAdapter
from jido.bus.dispatch.base import OPTIONS_PATH, option_problems
from jido.bus.dispatch.base import Adapter as Adapter
from jido.bus.dispatch.base import DispatchError as DispatchError
from jido.bus.dispatch.callback import CallbackAdapter as CallbackAdapter
from jido.bus.dispatch.channel import ChannelAdapter as ChannelAdapter
from jido.bus.dispatch.console import ConsoleAdapter as ConsoleAdapter
from jido.bus.dispatch.http import CLOUDEVENTS_CONTENT_TYPE as CLOUDEVENTS_CONTENT_TYPE
from jido.bus.dispatch.http import HttpAdapter as HttpAdapter
from jido.bus.dispatch.logger import LoggerAdapter as LoggerAdapter
from jido.bus.dispatch.webhook import WebhookAdapter as WebhookAdapter
from jido.bus.dispatch.webhook import sign_webhook as sign_webhook
from jido.bus.dispatch.webhook import verify_webhook_signature as verify_webhook_signature
from jido.convert import describe_value
from jido.errors import FieldError, ValidationError

__all__ = [
    "ADAPTERS",
    "CLOUDEVENTS_CONTENT_TYPE",
    "Adapter",
    "AgentAdapter",
    "CallbackAdapter",
    "ChannelAdapter",
    "ConsoleAdapter",
    "DispatchError",
    "HttpAdapter",
    "LoggerAdapter",
    "WebhookAdapter",
    "make_adapter",
    "sign_webhook",
    "verify_webhook_signature",
]

ADAPTERS: Final[Mapping[str, type[Adapter]]] = MappingProxyType(
    {
        cls.name: cls
        for cls in (
            AgentAdapter,
            CallbackAdapter,
            ChannelAdapter,
            LoggerAdapter,
            ConsoleAdapter,
            HttpAdapter,
            WebhookAdapter,
        )
    }
)
"""The adapter classes by name."""


def _hint(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def make_adapter(kind: str, /, **options: Any) -> Adapter:
    """Make the adapter named ``kind`` from its options, checking them all first.

    Args:
        kind: ``"agent"``, ``"callback"``, ``"channel"``, ``"logger"``, ``"console"``, ``"http"`` or
            ``"webhook"`` (see :data:`ADAPTERS`).
        **options: the adapter's options (the keyword arguments of its class).

    Raises:
        ValueError: no adapter is called ``kind`` (with a hint at the closest name).
        TypeError: ``kind`` is not a str.
        ValidationError: options unknown, missing or wrong, one ``$.options.<name>: problem`` line each.
    """
    if not isinstance(kind, str):
        raise TypeError(f"the adapter kind must be a str, got {describe_value(kind)}")
    cls = ADAPTERS.get(kind)
    if cls is None:
        known = list(ADAPTERS)
        hint = _hint(kind, known) or f" (known: {', '.join(known)})"
        raise ValueError(f"unknown dispatch adapter {kind!r}{hint}")
    fields = [f for f in attrs.fields(cast(Any, cls)) if f.init]
    names = [f.alias for f in fields]
    problems = [
        FieldError(f"{OPTIONS_PATH}.{key}", f"unknown option of the {kind!r} adapter{_hint(key, names)}")
        for key in options
        if key not in names
    ]
    problems += [
        FieldError(f"{OPTIONS_PATH}.{f.alias}", "required option missing")
        for f in fields
        if f.default is attrs.NOTHING and f.alias not in options
    ]
    problems += option_problems(cls, options)
    if problems:
        raise ValidationError(problems)
    return cls(**options)
