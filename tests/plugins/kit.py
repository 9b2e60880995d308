"""A small agent and a test plugin (hand-written specs, no DSL) shared by the plugin tests."""

from __future__ import annotations

from typing import Any

import attrs

from jido.action.spec import ActionContext, ActionSpec
from jido.agent.directives import Emit
from jido.agent.plugin import CmdOutcome, PluginContext, PluginSpec, Reject
from jido.agent.routes import RouteSpec
from jido.agent.spec import AgentSpec
from jido.signal import Signal


@attrs.frozen
class Counter:
    count: int = 0
    last: str = ""


@attrs.frozen
class By:
    by: int = 1


def _inc(params: By, ctx: ActionContext[Counter]) -> dict[str, Any]:
    return {"count": ctx.state.count + params.by}


def _boom(params: Any, ctx: ActionContext[Counter]) -> None:
    raise RuntimeError("boom")


def _shout(params: Any, ctx: ActionContext[Counter]) -> Emit:
    return Emit(Signal(type="counter.shouted", source="/test", data={"count": ctx.state.count}))


INC = ActionSpec("inc", _inc, params=By)
BOOM = ActionSpec("boom", _boom)
SHOUT = ActionSpec("shout", _shout)
COUNTER_ROUTES = (
    RouteSpec("counter.inc", INC),
    RouteSpec("counter.boom", BOOM),
    RouteSpec("counter.shout", SHOUT),
)


def counter(*plugins: PluginSpec[Any, Any], **options: Any) -> AgentSpec[Counter]:
    """The counter agent with ``plugins`` mounted."""
    return AgentSpec("counter", Counter, routes=COUNTER_ROUTES, plugins=plugins, **options)


@attrs.frozen
class Notes:
    items: tuple[str, ...] = ()
    after: int = 0


@attrs.frozen
class NotesConfig:
    limit: int = 3
    prefix: str = ""


@attrs.frozen
class Text:
    text: str = ""


def _note(params: Text, ctx: PluginContext[Notes, NotesConfig]) -> dict[str, Any]:
    items = (*ctx.state.items, ctx.config.prefix + params.text)
    return {"items": items[-ctx.config.limit :]}


NOTE = ActionSpec("note", _note, params=Text)


def notes(**fields: Any) -> PluginSpec[NotesConfig, Notes]:
    """A plugin with a slice, a config and one route (``notes.add``); ``fields`` override the spec's."""
    options: dict[str, Any] = {
        "state": Notes,
        "config_schema": NotesConfig,
        "routes": [RouteSpec("notes.add", NOTE)],
    }
    options.update(fields)
    return PluginSpec("notes", **options)


def counting_after(config: NotesConfig, state: Notes, outcome: CmdOutcome) -> Notes:
    return attrs.evolve(state, after=state.after + 1)


def reject_spam(config: Any, signal: Signal) -> Signal | Reject | None:
    return Reject("spam") if signal.type.startswith("spam.") else None


def sig(type: str, data: Any = None) -> Signal:
    return Signal(type=type, source="/test", data=data)
