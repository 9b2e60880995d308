"""The restart op: a failed agent is listed by inspect and brought back from its last committed state."""

from __future__ import annotations

import trio
import trio.testing

from jido.gateway.policy import TokenPolicy
from jido.runtime.runtime import open_runtime
from jido.runtime.server import AgentRef

from .helpers import Counter, raw_client, serving, signal, signal_json


async def _fail(ref: AgentRef) -> None:
    ref.cast_nowait(signal("counter.fail"))
    await ref.wait_stopped()


class TestRestart:
    async def test_failed_agent_listed_and_restarted(self) -> None:
        """inspect shows the failed agent with its reason; restart brings it back with its state."""
        async with open_runtime(max_restarts=0, within=60.0, restart_backoff=0) as rt:
            ref = await rt.start_agent(Counter, id="counter")
            await ref.call(signal("counter.add", by=4))
            await _fail(ref)
            async with serving(rt) as gateway, raw_client(gateway.url) as client:
                inspected = await client.request({"op": "inspect", "id": "1"})
                [listed] = inspected["result"]["agents"]
                assert (listed["id"], listed["status"], listed["handled"]) == ("counter", "failed", 1)
                assert listed["reason"].startswith("failed: ActionError: action 'fail' failed")
                answer = await client.request({"op": "restart", "id": "2", "agent": "counter"})
                assert answer == {
                    "op": "result",
                    "id": "2",
                    "result": {"agent": "counter", "status": "running", "state": {"count": 4}},
                }
                called = await client.request(
                    {"op": "call", "id": "3", "agent": "counter", "signal": signal_json("counter.add", by=1)}
                )
                assert called["result"]["state"] == {"count": 5}
                again = await client.request({"op": "restart", "id": "4", "agent": "counter"})
                assert (again["op"], again["code"]) == ("error", "conflict")

    async def test_restart_unknown_and_forbidden(self) -> None:
        """restart of an id that never failed is not_found; a token that may not call is forbidden."""
        async with open_runtime() as rt:
            tokens = {"ops": TokenPolicy(), "reader": TokenPolicy(call=False, publish=())}
            async with serving(rt, tokens=tokens) as gateway:
                async with raw_client(gateway.url, token="ops") as client:
                    answer = await client.request({"op": "restart", "id": "1", "agent": "ghost"})
                    assert (answer["code"], answer["message"]) == (
                        "not_found",
                        "no failed agent with id 'ghost'",
                    )
                    bad = await client.request({"op": "restart", "id": "2"})
                    assert bad["code"] == "bad_frame"
                async with raw_client(gateway.url, token="reader") as client:
                    answer = await client.request({"op": "restart", "id": "1", "agent": "ghost"})
                    assert answer["code"] == "forbidden"
            await trio.testing.wait_all_tasks_blocked()


class TestIdempotentCall:
    async def test_resent_call_applied_once(self) -> None:
        """A call frame with idempotent: true sent twice with one signal is applied once."""
        async with open_runtime() as rt:
            await rt.start_agent(Counter, id="counter")
            async with serving(rt) as gateway, raw_client(gateway.url) as client:
                frame = {"op": "call", "agent": "counter", "signal": signal_json("counter.add", by=2)}
                first = await client.request({**frame, "id": "1", "idempotent": True})
                again = await client.request({**frame, "id": "2", "idempotent": True})
                assert first["result"]["state"] == again["result"]["state"] == {"count": 2}
                bad = await client.request({**frame, "id": "3", "idempotent": "yes"})
                assert (bad["code"], bad["message"]) == (
                    "bad_frame",
                    '$.idempotent: expected bool, got "yes"',
                )
