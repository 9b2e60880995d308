"""``jido demo``: the README's demo, ContentOps behind the gateway, watched through a real gateway client."""

from __future__ import annotations

from functools import partial
from typing import Any, Final

import click
import trio
from rich.markup import escape

import jido
from jido.gateway import connect, serve_gateway

from ._trio import run_command
from .content_ops import COMPLETED, ORCHESTRATOR_ID, REQUESTED, ContentOps, request
from .errors import CliError
from .render import inspect_tables, make_console, short_data

__all__ = ["demo"]

MODES: Final = ("weekly", "hourly")
RUN_TIMEOUT: Final = 10.0


async def _demo(port: int) -> None:
    console = make_console()
    async with jido.open_runtime() as rt:
        await rt.start_supervisor(ContentOps)
        async with trio.open_nursery() as nursery:
            gateway = await nursery.start(partial(serve_gateway, rt, "127.0.0.1", port))
            console.print(
                f"[bold]jido demo[/]: ContentOps supervised in a runtime ({ORCHESTRATOR_ID!r});"
                f" gateway on {gateway.url}"
            )
            async with connect(gateway.url, reconnect=False) as client:
                async with client.subscribe("**") as stream:
                    console.print("a gateway client subscribed to '**'; every signal it receives is shown")
                    items = stream.__aiter__()
                    for mode in MODES:
                        console.print(f"\n[bold]-> {mode} run[/]: publishing {REQUESTED} through the gateway")
                        await client.publish(request(mode))
                        report: dict[str, Any] | None = None
                        with trio.move_on_after(RUN_TIMEOUT):
                            while report is None:
                                item = await items.__anext__()
                                signal = item.signal
                                console.print(
                                    f"  [bold]#{item.offset:<4}[/] [cyan]{signal.type:<30}[/]"
                                    f" {escape(short_data(signal.data))}"
                                )
                                if signal.type == COMPLETED:
                                    report = signal.data
                        if report is None:
                            raise CliError(f"the {mode} run did not complete within {RUN_TIMEOUT:g}s")
                        stats = report["stats"]
                        console.print(
                            f"[green]Run completed[/] / Mode: {mode} / Changes: {stats['change_requests']}"
                            f" / Delivered: {stats['delivered']}"
                        )
                console.print()
                for renderable in inspect_tables(await client.inspect()):
                    console.print(renderable)
            nursery.cancel_scope.cancel()
    console.print(f"\ndone: {len(MODES)} runs; try `jido run` / `jido tail` on your own agents next")


@click.command(short_help="Run the ContentOps demo, then exit.")
@click.option(
    "--port",
    default=0,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Gateway port (0: a free one).",
)
def demo(port: int) -> None:
    """Run the ContentOps demo: a weekly and an hourly run, the signals shown as they flow, then exit."""
    run_command(partial(_demo, port), until_interrupted=True)
