"""CutConnection: gateway connections cut before a frame, and what clients see and get back afterwards."""

from __future__ import annotations

import pytest
import trio
import trio_websocket

import jido
from jido.gateway import connect
from jido.testing import CutConnection, FaultPlan, inject_faults
from tests.gateway.helpers import eventually, raw_client, serving, signal


class TestCutConnection:
    async def test_cut_before_the_frame_with_1006(self) -> None:
        """Cut at frame 2 (the first signal): the client gets no more frames and sees 1006; the record says
        which connection and frame."""
        with inject_faults([CutConnection(on={2})]) as faults:
            async with jido.open_runtime() as rt, serving(rt) as gateway:
                async with raw_client(gateway.url) as client:
                    reply = await client.request({"op": "subscribe", "id": "1", "pattern": "order.*"})
                    assert reply["op"] == "result"  # frame 1
                    await rt.publish(signal())
                    with pytest.raises(trio_websocket.ConnectionClosed) as info:
                        await client.recv()
                    assert info.value.reason is not None
                    assert info.value.reason.code == 1006
                await eventually(lambda: gateway.connections == 0)
        [record] = faults.records
        assert record.connection == 1
        assert str(record) == "CutConnection(on={2}) struck frame 2 of gateway connection 1"

    async def test_only_the_chosen_connection(self) -> None:
        """connection= cuts that connection only; the others keep their frames."""
        with inject_faults([CutConnection(connection=2)]) as faults:
            async with (
                jido.open_runtime() as rt,
                serving(rt) as gateway,
                raw_client(gateway.url) as first,
                raw_client(gateway.url) as second,
            ):
                await first.send({"op": "ping", "id": "a"})
                assert (await first.recv())["op"] == "result"
                await second.send({"op": "ping", "id": "b"})
                with pytest.raises(trio_websocket.ConnectionClosed):
                    await second.recv()
                await first.send({"op": "ping", "id": "c"})
                assert (await first.recv())["id"] == "c"
        assert [r.connection for r in faults.records] == [2]

    async def test_client_resumes_through_cuts_losing_nothing(self) -> None:
        """Connections cut at random frames: the reconnecting client resubscribes from the offset after the
        last one it got, so it sees every signal once, in order."""
        plan = FaultPlan([CutConnection(probability=0.15, limit=4)], seed=11)
        with inject_faults(plan) as faults:
            async with (
                jido.open_runtime() as rt,
                serving(rt) as gateway,
                connect(gateway.url, max_backoff=0.2) as client,
            ):
                async with client.subscribe("order.*") as stream:
                    for n in range(60):
                        await rt.publish(signal(n=n))
                    with trio.fail_after(30):
                        got = [(await stream.__anext__()).signal.data["n"] for _ in range(60)]
                reconnects = client.reconnects
        assert got == list(range(60))
        assert reconnects == len(faults.records) >= 1
