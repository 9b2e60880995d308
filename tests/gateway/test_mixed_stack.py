"""The mixed-stack example: its browser client (client.js), run by Node, against the example's gateway."""

from __future__ import annotations

import json
import pathlib
import runpy
import shutil
import subprocess
from functools import partial

import pytest
import trio

ROOT = pathlib.Path(__file__).parent.parent.parent
EXAMPLE = ROOT / "examples" / "mixed_stack"
DRIVER = pathlib.Path(__file__).parent / "browser_client_check.js"


def _node_command() -> list[str] | None:
    """Node with a WebSocket global (built in from Node 22; behind a flag in Node 20 and 21)."""
    node = shutil.which("node")
    if node is None:
        return None
    for flags in ([], ["--experimental-websocket"]):
        probe = subprocess.run(
            [node, *flags, "-e", "process.exit(typeof WebSocket === 'function' ? 0 : 1)"],
            capture_output=True,
            check=False,
        )
        if probe.returncode == 0:
            return [node, *flags]
    return None


NODE = _node_command()


@pytest.mark.skipif(NODE is None, reason="needs Node.js with a WebSocket global")
async def test_browser_client_against_example_gateway() -> None:
    """client.js authenticates with its first frame, resumes a subscription after a drop with every offset
    once, publishes, receives, calls the counter, and gets forbidden for a type outside its token's patterns."""
    assert NODE is not None
    serve = runpy.run_path(str(EXAMPLE / "serve.py"))["serve"]
    async with trio.open_nursery() as nursery:
        gateway = await nursery.start(partial(serve, "127.0.0.1", 0, "tok", every=0.005))
        with trio.fail_after(30):
            done = await trio.run_process(
                [*NODE, str(DRIVER), str(EXAMPLE / "client.js"), gateway.url, "tok"],
                capture_stdout=True,
                capture_stderr=True,
                check=False,
            )
        nursery.cancel_scope.cancel()
    assert done.returncode == 0, done.stderr.decode()
    seen = json.loads(done.stdout)
    assert seen["ticks"] == list(range(1, 31))
    assert seen["reconnects"] == 1
    assert seen["received"] == [seen["offset"], "demo.hello", {"from": "node"}]
    assert seen["call"] == {"agent": "counter", "state": {"count": 3}}
    assert seen["forbidden"] == [
        "forbidden",
        "publishing 'other.thing' is not allowed for this token (allowed: 'demo.**')",
    ]
    assert seen["agents"] == ["counter"]
