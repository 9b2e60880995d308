"""A fault stays where it starts, over the wire: bursts of signals no route accepts, or whose data does not fit
the action's params, sent as ``call`` and as ``publish`` frames, are answered (calls) and dead-lettered, and
change nothing else: the targeted agent keeps running without a restart, the runtime keeps serving, and no
token that may only publish can stop an agent."""

from __future__ import annotations

import collections
import gc
import json
import logging
import tracemalloc
from collections.abc import Callable
from typing import Any, Final

import pytest
import trio
import trio.testing

from dsl import action, agent, route
from jido.action.spec import ActionContext
from jido.bus.memory import MemoryJournal
from jido.gateway import TokenPolicy
from jido.runtime.runtime import Runtime, open_runtime
from jido.runtime.server import AgentRef

from .helpers import Add, Counter, RawClient, raw_client, serving, signal_json

BURST: Final = 1000
SETTLE_SECONDS: Final = 60.0  # a bound on real time for the runtime to work off what it accepted


@action
class Note:
    text: str

    def run(self, ctx: ActionContext) -> dict[str, Any]:
        return {"notes": ctx.state.notes + 1}


@agent(subscribe=["target.**"])
@route("target.add", Add)
class Target:
    count: int = 0


@agent(subscribe=["**"])
@route("audit.note", Note)
class Auditor:
    """Subscribed to everything published: the widest surface a publisher can reach."""

    notes: int = 0


async def settle(predicate: Callable[[], bool]) -> None:
    """Wait until ``predicate()`` holds, looking each time every task of the run is blocked (the bus and the
    agents work in this process, so nothing they still have to do is left when it does not hold then)."""
    with trio.fail_after(SETTLE_SECONDS):
        while not predicate():
            await trio.testing.wait_all_tasks_blocked()


async def ping(client: RawClient, request_id: str = "ping") -> None:
    assert await client.request({"op": "ping", "id": request_id}) == {
        "op": "result",
        "id": request_id,
        "result": {},
    }


async def exchange(client: RawClient, frames: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Send ``frames`` while reading their answers (a sender that did not read would stall the connection
    once its answers fill the send queue); the answers by request id."""
    answers: dict[str, dict[str, Any]] = {}

    async def send_all() -> None:
        for frame in frames:
            await client.send(frame)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(send_all)
        while len(answers) < len(frames):
            answer = await client.recv()
            assert answer["op"] in ("result", "error"), answer
            assert answer["id"] not in answers, f"two answers to {answer['id']!r}"
            answers[answer["id"]] = answer
    assert set(answers) == {frame["id"] for frame in frames}
    return answers


def unroutable(signal_type: str = "target.nothing") -> dict[str, Any]:
    return signal_json(signal_type)


def ill_typed() -> dict[str, Any]:
    return signal_json("target.add", by="2")


def assert_untouched(runtime: Runtime, ref: AgentRef, *, rejected: int) -> None:
    """The agent is the one started, running, never restarted; every rejection counted, nothing handled."""
    assert runtime.whereis(ref.id) is ref
    assert (ref.status, ref.restarts, ref.handled) == ("running", 0, 0)
    assert (ref.rejected, ref.errors) == (rejected, rejected)
    stats = runtime.statistics()
    assert (dict(stats.restarts), dict(stats.failed)) == ({}, {})
    assert set(stats.statuses.values()) == {"running"}


class TestBurst:
    async def test_calls_and_publishes(self, runtime: Runtime) -> None:
        """1,000 unroutable and 1,000 ill-typed signals, as calls and as publishes: every call gets its error
        code, every signal is dead-lettered once with its reason, the agent runs on, the runtime serves."""
        target = await runtime.start_agent(Target, id="target")
        calls = [
            {"op": "call", "id": f"c{i}", "agent": "target", "signal": unroutable() if i % 2 else ill_typed()}
            for i in range(2 * BURST)
        ]
        publishes = [
            {"op": "publish", "id": f"p{i}", "signal": unroutable() if i % 2 else ill_typed()}
            for i in range(2 * BURST)
        ]
        async with serving(runtime) as gateway, raw_client(gateway.url) as client:
            answers = await exchange(client, calls)
            codes = collections.Counter(answer.get("code") for answer in answers.values())
            assert codes == {"no_route": BURST, "invalid_params": BURST}
            for frame in calls:
                answer = answers[frame["id"]]
                if frame["signal"]["type"] == "target.nothing":
                    assert answer == {
                        "op": "error",
                        "id": frame["id"],
                        "code": "no_route",
                        "message": "no route for signal type 'target.nothing' in agent 'target'",
                    }
                else:
                    assert answer["code"] == "invalid_params"
                    assert answer["details"] == {
                        "errors": [{"path": "$.signal.data.by", "message": 'expected int, got "2"'}]
                    }

            published = await exchange(client, publishes)
            offsets = [published[frame["id"]]["result"]["offset"] for frame in publishes]
            assert offsets == sorted(set(offsets))
            await settle(lambda: target.rejected == 4 * BURST)

            await ping(client)
            bystander = await client.request(
                {"op": "call", "id": "b", "agent": "counter", "signal": signal_json("counter.add", by=1)}
            )
            assert bystander["result"] == {"agent": "counter", "state": {"count": 1}}
            assert gateway.statistics().connections == 1

        assert_untouched(runtime, target, rejected=4 * BURST)
        letters = runtime.dead_letters(agent_id="target")
        assert collections.Counter(letter.reason for letter in letters) == {
            "no_route": 2 * BURST,
            "invalid_params": 2 * BURST,
        }
        sent = [frame["signal"] for frame in [*calls, *publishes]]
        assert sorted(letter.signal.id for letter in letters) == sorted(signal["id"] for signal in sent)
        by_id = {signal["id"]: signal["type"] for signal in sent}
        for letter in letters:
            expected = "no_route" if by_id[letter.signal.id] == "target.nothing" else "invalid_params"
            assert letter.reason == expected
        assert target.state.count == 0

    async def test_calls_interleaved_with_good_ones(self, runtime: Runtime) -> None:
        """Good calls between the bad ones are handled in order and see only each other's effects."""
        target = await runtime.start_agent(Target, id="target")
        frames = []
        for i in range(300):
            signal = signal_json("target.add", by=1) if i % 3 == 0 else [unroutable(), ill_typed()][i % 3 - 1]
            frames.append({"op": "call", "id": str(i), "agent": "target", "signal": signal})
        async with serving(runtime) as gateway, raw_client(gateway.url) as client:
            answers = await exchange(client, frames)
        counts = sorted(a["result"]["state"]["count"] for a in answers.values() if a["op"] == "result")
        assert counts == list(range(1, 101))
        assert (target.handled, target.rejected, target.restarts, target.status) == (100, 200, 0, "running")


class TestTypo:
    @pytest.mark.parametrize("escalate", [False, True], ids=["isolated", "escalate"])
    async def test_eleven_typos_in_a_row(self, escalate: bool) -> None:
        """11 calls with a misspelt type within the root's window (10 restarts in 5 s): each answers
        no_route, and nothing else happens (no restart, the root does not give up), even where the root's
        intensity counts every restart of the runtime."""
        async with open_runtime(escalate=escalate) as runtime:
            counter = await runtime.start_agent(Counter, id="counter")
            async with serving(runtime) as gateway, raw_client(gateway.url) as client:
                with trio.fail_after(5):
                    for i in range(11):
                        frame = {
                            "op": "call",
                            "id": str(i),
                            "agent": "counter",
                            "signal": signal_json("counter.ad", by=1),
                        }
                        assert await client.request(frame) == {
                            "op": "error",
                            "id": str(i),
                            "code": "no_route",
                            "message": "no route for signal type 'counter.ad' in agent 'counter'",
                        }
                await ping(client)
                reply = await client.request(
                    {"op": "call", "id": "ok", "agent": "counter", "signal": signal_json("counter.add", by=2)}
                )
                assert reply["result"] == {"agent": "counter", "state": {"count": 2}}
            assert runtime.whereis("counter") is counter
            assert (counter.status, counter.restarts, counter.rejected, counter.handled) == (
                "running",
                0,
                11,
                1,
            )
            assert [letter.reason for letter in runtime.dead_letters()] == ["no_route"] * 11


PUBLISHER: Final = "publisher-token"
ADMIN: Final = "admin-token"
TOKENS: Final = {
    PUBLISHER: TokenPolicy(name="publisher", subscribe=(), publish=("**",), call=False),
    ADMIN: TokenPolicy(name="admin"),
}


class TestPublishOnlyToken:
    async def test_cannot_stop_any_agent(self, runtime: Runtime) -> None:
        """A token that may only publish tries every way in (calls, lifecycle signal types, unroutable and
        ill-typed signals to agents subscribed to them, ops that do not exist, oversized frames): every agent
        is still the one started, running, never restarted."""
        target = await runtime.start_agent(Target, id="target")
        auditor = await runtime.start_agent(Auditor, id="auditor")
        counter = runtime.get("counter")
        lifecycle = [
            "jido.agent.stop",
            "jido.agent.child.exit",
            "jido.agent.child.restarted",
            "jido.agent.failed",
            "jido.workflow.failed",
            "jido.runtime.shutdown",
        ]
        published = [
            *(signal_json(t, reason="shutdown") for t in lifecycle),
            signal_json("target.nothing"),
            signal_json("target.add", by="2"),
            signal_json("target.add", by=1, extra=True),
            signal_json("audit.note"),  # required field missing
            signal_json("audit.note", text=["not", "text"]),
            signal_json("counter.add", by=1),  # the counter subscribes to nothing: it never sees it
        ]
        frames: list[dict[str, Any]] = [
            {"op": "publish", "id": f"p{i}", "signal": signal} for i, signal in enumerate(published)
        ]
        frames += [
            {"op": "call", "id": f"c-{ref.id}", "agent": ref.id, "signal": signal_json("jido.agent.stop")}
            for ref in (target, auditor, counter)
        ]
        frames += [{"op": op, "id": op, "agent": "target"} for op in ("stop", "kill", "shutdown", "restart")]
        frames += [{"op": "subscribe", "id": "sub", "pattern": "**"}]
        async with serving(runtime, tokens=TOKENS, max_frame_bytes=4096) as gateway:
            async with raw_client(gateway.url, token=PUBLISHER) as client:
                answers = await exchange(client, frames)
                for frame in frames:
                    answer = answers[frame["id"]]
                    if frame["op"] == "publish" and frame["signal"]["type"].startswith("jido."):
                        # The runtime's own types: no client may send them.
                        assert answer["code"] == "forbidden", answer
                        assert "reserved" in answer["message"], answer
                    elif frame["op"] == "publish":
                        assert answer["op"] == "result", answer
                    elif frame["op"] in ("call", "subscribe"):
                        assert answer["code"] == "forbidden", answer
                    elif frame["op"] == "restart":  # an op of its own where the protocol has it
                        assert answer["code"] in ("forbidden", "unknown_op"), answer
                    else:
                        assert answer["code"] == "unknown_op", answer
                huge = json.dumps(
                    {"op": "publish", "id": "huge", "signal": signal_json("target.add", by="x" * 5000)}
                )
                reply = await client.request(huge)
                assert (reply["id"], reply["code"]) == ("huge", "too_large")
                inspected = await client.request({"op": "inspect", "id": "i"})
                assert inspected["result"]["agents"] == []
                await ping(client)
            # Every signal accepted reached the agents subscribed to it: the auditor all 6, the target its 3.
            await settle(lambda: auditor.rejected == 6 and target.rejected == 3)
            async with raw_client(gateway.url, token=ADMIN) as admin:
                reply = await admin.request(
                    {"op": "call", "id": "1", "agent": "target", "signal": signal_json("target.add", by=5)}
                )
                assert reply["result"] == {"agent": "target", "state": {"count": 5}}

        for ref in (target, auditor, counter):
            assert runtime.whereis(ref.id) is ref
            assert (ref.status, ref.restarts) == ("running", 0)
        assert (auditor.handled, counter.handled, counter.rejected) == (0, 0, 0)
        after = runtime.statistics()
        assert (dict(after.restarts), dict(after.failed)) == ({}, {})
        letters = runtime.dead_letters()
        reasons = collections.Counter(
            (letter.agent_id, letter.reason) for letter in letters if letter.signal.type not in lifecycle
        )
        assert after.ignored_system_signals == 0
        assert [letter for letter in letters if letter.signal.type in lifecycle] == []
        assert reasons == {
            ("auditor", "no_route"): 4,  # target.nothing, the two target.add, counter.add
            ("auditor", "invalid_params"): 2,
            ("target", "no_route"): 1,
            ("target", "invalid_params"): 2,
        }


class TestRetainedBytes:
    async def test_rejected_payloads(self, caplog: pytest.LogCaptureFixture) -> None:
        """What rejected signals leave behind is bounded in bytes, not only in count: 48 calls whose data
        nears the 1 MiB frame limit and does not fit the params retain less than 16 MiB when the runtime's and
        the journal's dead letters are bounded to 4 MiB each (the oldest evicted, and counted)."""
        # Log records of dead letters carry their errors; pytest keeps every record it captures.
        caplog.set_level(logging.ERROR, logger="jido")
        big = signal_json("counter.add", by="x" * 900_000)
        journal = MemoryJournal(max_dead_letter_bytes=4 << 20)
        async with (
            open_runtime(journal=journal, dead_letter_bytes=4 << 20) as runtime,
            serving(runtime) as gateway,
            raw_client(gateway.url) as client,
        ):
            await runtime.start_agent(Counter, id="counter")
            await ping(client)
            tracemalloc.start()
            try:
                before = tracemalloc.get_traced_memory()[0]
                for i in range(48):
                    reply = await client.request(
                        {"op": "call", "id": str(i), "agent": "counter", "signal": {**big, "id": f"big-{i}"}}
                    )
                    assert reply["code"] == "invalid_params"
                await trio.testing.wait_all_tasks_blocked()
                gc.collect()  # errors and their tracebacks form cycles: count what is reachable
                retained = tracemalloc.get_traced_memory()[0] - before
            finally:
                tracemalloc.stop()
            stats = runtime.statistics()
            assert (stats.dead_letters, len(runtime.dead_letters()) + stats.dead_letters_evicted) == (48, 48)
            assert 0 < len(runtime.dead_letters()) < 48
            stored = journal.statistics()
            assert (
                stored.dead_letters + stored.dead_letters_evicted == 48
                and stored.dead_letter_bytes <= 4 << 20
            )
        assert retained < 16 << 20, f"{retained >> 20} MiB retained"
