"""The conversation thread plugin: an append-only log of messages, bounded, under the agent's ``thread`` key.

Signals it routes:

* ``thread.append`` with data ``{"role": "user", "text": "..."}``: appends a message numbered ``seq`` (1, 2,
  ...; never reused). Past ``limit`` messages the oldest are dropped and counted in ``dropped``; a text longer
  than ``max_chars`` is cut there and marked ``truncated``, so one message cannot take the state's size.
* ``thread.clear``: drops every message (the numbering goes on).

::

    from jido.plugins import Thread
    spec = AgentSpec("chat", ChatState, plugins=[Thread.configure(limit=50)])
    Thread.state_of(agent).messages
"""

from __future__ import annotations

from typing import Any, Final

import attrs

from jido.action.spec import ActionSpec
from jido.agent.plugin import PluginContext, PluginSpec
from jido.agent.routes import RouteSpec
from jido.plugins._checks import bounded_int, bounded_str

__all__ = ["MAX_LIMIT", "Message", "Thread", "ThreadConfig", "ThreadState"]

MAX_LIMIT: Final = 10_000
"""The most messages a thread may be configured to keep: its whole state is committed with each message."""


@attrs.frozen
class Message:
    """One message of the thread."""

    seq: int = 0
    role: str = ""
    text: str = ""
    signal_id: str | None = None
    truncated: bool = False


@attrs.frozen
class ThreadState:
    """The thread's slice: the last ``limit`` messages, oldest first."""

    messages: tuple[Message, ...] = ()
    next_seq: int = 1
    dropped: int = 0


@attrs.frozen
class ThreadConfig:
    """How much the thread keeps.

    Attributes:
        limit: messages kept (1..10,000); older ones are dropped.
        max_chars: characters kept of one message's text (1..1,000,000).
    """

    limit: int = attrs.field(default=100, validator=bounded_int(1, MAX_LIMIT))
    max_chars: int = attrs.field(default=4_000, validator=bounded_int(1, 1_000_000))


@attrs.frozen
class AppendParams:
    """Params of ``thread.append``."""

    role: str = attrs.field(validator=bounded_str(64))
    text: str = attrs.field(validator=bounded_str(10_000_000, empty=True))


def _append(params: AppendParams, ctx: PluginContext[ThreadState, ThreadConfig]) -> dict[str, Any]:
    state, config = ctx.state, ctx.config
    text = params.text[: config.max_chars]
    message = Message(
        seq=state.next_seq,
        role=params.role,
        text=text,
        signal_id=ctx.signal.id if ctx.signal is not None else None,
        truncated=len(text) < len(params.text),
    )
    messages = (*state.messages, message)
    over = max(0, len(messages) - config.limit)
    return {
        "messages": messages[over:],
        "next_seq": state.next_seq + 1,
        "dropped": state.dropped + over,
    }


def _clear(params: Any, ctx: PluginContext[ThreadState, ThreadConfig]) -> dict[str, Any]:
    return {"messages": (), "dropped": ctx.state.dropped + len(ctx.state.messages)}


APPEND: Final = ActionSpec("append", _append, params=AppendParams, description="Append a message")
CLEAR: Final = ActionSpec("clear", _clear, description="Drop every message")

Thread: Final[PluginSpec[ThreadConfig, ThreadState]] = PluginSpec(
    "thread",
    state=ThreadState,
    config_schema=ThreadConfig,
    description="A conversation thread: an append-only, bounded log of messages",
    routes=[RouteSpec("thread.append", APPEND), RouteSpec("thread.clear", CLEAR)],
)
"""The thread plugin with its default config (100 messages); ``Thread.configure(limit=...)`` for another."""
