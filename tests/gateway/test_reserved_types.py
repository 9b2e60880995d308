"""Signal types under ``jido.`` are the runtime's own (workflow outcomes, lifecycle notices): no gateway client
may publish them or call an agent with one, whatever its token allows; the connection and the agent go on."""

from __future__ import annotations

import pytest

from jido.gateway import TokenPolicy
from jido.runtime.runtime import Runtime

from .helpers import raw_client, serving, signal_json

ADMIN = "admin-token"


@pytest.mark.parametrize("signal_type", ["jido.workflow.completed", "jido.agent.child.exit", "jido.x"])
async def test_reserved_types_are_refused(runtime: Runtime, signal_type: str) -> None:
    counter = runtime.get("counter")
    async with (
        serving(runtime, tokens={ADMIN: TokenPolicy(name="admin")}) as gateway,
        raw_client(gateway.url, token=ADMIN) as client,
    ):
        signal = signal_json(signal_type, workflow="w", run_id="r")
        published = await client.request({"op": "publish", "id": "p", "signal": signal})
        called = await client.request({"op": "call", "id": "c", "agent": "counter", "signal": signal})
        for answer in (published, called):
            assert answer["code"] == "forbidden" and "reserved" in answer["message"], answer
        fine = await client.request(
            {"op": "call", "id": "ok", "agent": "counter", "signal": signal_json("counter.add", by=2)}
        )
        assert fine["result"]["state"] == {"count": 2}
    assert (counter.status, counter.restarts, counter.rejected) == ("running", 0, 0)


async def test_a_plugin_rejection_is_rejected(runtime: Runtime) -> None:
    """A call refused by a mounted plugin's before_route is the `rejected` code, naming the plugin."""
    from jido.agent.plugin import PluginSpec
    from tests.plugins.kit import counter, reject_spam

    await runtime.start_agent(counter(PluginSpec("guard", before_route=reject_spam)), id="guarded")
    async with (
        serving(runtime, tokens={ADMIN: TokenPolicy(name="admin")}) as gateway,
        raw_client(gateway.url, token=ADMIN) as client,
    ):
        answer = await client.request(
            {"op": "call", "id": "c", "agent": "guarded", "signal": signal_json("spam.x")}
        )
        assert (answer["code"], answer["details"]) == ("rejected", {"plugin": "guard"}), answer
