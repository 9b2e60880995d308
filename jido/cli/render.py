"""What the ``jido`` command shows: signal lines, the route table, the inspect view (rich renderables).

Rich prints plain text when stdout is not a terminal, so the same output reads well in a pipe or a log.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any, Final

from rich.console import Console
from rich.table import Table
from rich.text import Text

from jido.agent.spec import AgentSpec, RouteSpec
from jido.signal import Signal
from jido.signal.pattern import specificity

__all__ = [
    "DATA_WIDTH",
    "inspect_tables",
    "make_console",
    "ordered_routes",
    "route_table",
    "short_data",
    "signal_line",
]

DATA_WIDTH: Final = 60
"""Characters of a signal's data shown on its line before it is cut with ``...``."""


PIPED_WIDTH: Final = 1000
"""Columns a table may take when stdout is not a terminal: a pipe or a file has no width to cut it to."""


def make_console() -> Console:
    """A console on the current stdout (click's test runner swaps it), without guessed highlighting; when
    stdout is not a terminal (piped, redirected), tables keep their natural width instead of 80 columns."""
    console = Console(highlight=False, soft_wrap=True)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = PIPED_WIDTH
    return console


def short_data(data: Any, width: int = DATA_WIDTH) -> str:
    """A signal's data as compact JSON, cut to ``width`` characters (bytes are shown by their length)."""
    if data is None:
        return ""
    if isinstance(data, bytes):
        return f"<{len(data)} bytes>"
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str)
    return text if len(text) <= width else text[: width - 3] + "..."


def signal_line(offset: int, signal: Signal, *, type_width: int = 30) -> Text:
    """One line for a signal: offset, time (UTC), type, source, shortened data."""
    line = Text()
    line.append(f"{offset:>6}  ", style="bold")
    line.append(signal.time.strftime("%H:%M:%S.%f")[:-3] + "Z  ", style="dim")
    line.append(f"{signal.type:<{type_width}}  ", style="cyan")
    line.append(f"{signal.source}  ", style="magenta")
    line.append(short_data(signal.data))
    return line


def ordered_routes(spec: AgentSpec) -> list[RouteSpec]:
    """The agent's routes in the order its router tries them: priority, then specificity, then registration.

    This is :class:`jido.signal.router.Router`'s order (a total order), so two routes that match one signal
    type run in the order listed.
    """
    indexed = list(enumerate(spec.routes))
    indexed.sort(key=lambda item: (item[1].priority, specificity(item[1].pattern), -item[0]), reverse=True)
    return [route for _, route in indexed]


def _callable_name(fn: object) -> str:
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or type(fn).__name__
    return str(name)


def _markers(route: RouteSpec) -> str:
    parts: list[str] = []
    if callable(route.params):
        parts.append(f"params={_callable_name(route.params)}()")
    elif route.params:
        parts.append("params=" + json.dumps(dict(route.params), separators=(",", ":"), default=str))
    if route.when is not None:
        parts.append(f"when={_callable_name(route.when)}")
    return " ".join(parts)


def route_table(spec: AgentSpec) -> Table:
    """The agent's route table in match order: pattern, priority, action, params/when markers, and whether the
    route is the agent's own or a mounted plugin's."""
    table = Table(title=f"routes of agent {spec.name!r} (match order)", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("pattern", style="cyan")
    table.add_column("priority", justify="right")
    table.add_column("action")
    table.add_column("params / when")
    table.add_column("from")
    for number, route in enumerate(ordered_routes(spec), start=1):
        origin = f"plugin {route.plugin!r}" if route.plugin is not None else "agent"
        table.add_row(
            str(number), route.pattern, str(route.priority), route.action.name, _markers(route), origin
        )
    return table


def inspect_tables(result: Mapping[str, Any]) -> Sequence[Table | Text]:
    """The gateway's ``inspect`` answer as a table of agents and a line for the bus and dead letters."""
    table = Table(title="agents", title_justify="left")
    table.add_column("id", style="cyan")
    table.add_column("name")
    table.add_column("status")
    table.add_column("mailbox", justify="right")
    table.add_column("handled", justify="right")
    table.add_column("errors", justify="right")
    table.add_column("restarts", justify="right")
    for agent in result.get("agents", []):
        status = str(agent.get("status", ""))
        style = (
            "green" if status == "running" else "yellow" if status in ("starting", "restarting") else "red"
        )
        table.add_row(
            str(agent.get("id", "")),
            str(agent.get("name", "")),
            Text(status, style=style),
            _mailbox(agent),
            str(agent.get("handled", "")),
            str(agent.get("errors", "")),
            str(agent.get("restarts", "")),
        )
    bus = result.get("bus", {})
    first, last = bus.get("first_offset"), bus.get("last_offset")
    if isinstance(first, int) and isinstance(last, int) and last < first:
        offsets = "bus empty"
    else:
        offsets = f"bus offsets {first}..{last}"
    lag = bus.get("subscription_lag")
    lagging = ""
    if isinstance(lag, Mapping) and lag:
        behind = {name: n for name, n in lag.items() if isinstance(n, int) and n > 0}
        lagging = f" · {len(lag)} subscription{'' if len(lag) == 1 else 's'}, {len(behind)} behind"
        if behind:
            name = max(behind, key=lambda key: behind[key])
            lagging += f" (most: {name} by {behind[name]})"
    hibernated = result.get("hibernated") or 0
    asleep = f" · {hibernated} hibernated" if hibernated else ""
    footer = Text(f"{offsets}{lagging} · dead letters {result.get('dead_letters', '?')}{asleep}")
    return [table, footer]


def _mailbox(agent: Mapping[str, Any]) -> str:
    depth, size = agent.get("mailbox_depth", ""), agent.get("mailbox_size")
    return f"{depth}/{size}" if size is not None else str(depth)
