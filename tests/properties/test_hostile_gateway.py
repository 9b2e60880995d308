"""A hostile client against a served runtime, beside an honest one, over real websockets on 127.0.0.1.

One trio loop lives in a helper thread for each run of the state machine (as in ``test_bus_stateful.py``): it
runs the runtime, a gateway with two tokens, and both clients' connections, so everything survives from one
rule to the next. Time is the real clock: every deadline of the server is far longer than a run, so none
fires, and each step is bounded in real time so that a hang fails instead of stalling the suite.

* The **hostile** client (token ``mallory``: it may publish anything and call, but subscribe only to
  ``noise.*``) sends arbitrary frames (garbage text and bytes, JSON of any shape, lone surrogates, deep
  nesting, frames over the size limit, frames so large that the websocket layer closes the connection),
  calls with unroutable types and ill-typed params, publishes of every kind (also near the frame limit), and
  tries to take the honest client's durable subscription.
* The **honest** client (token ``honest``) holds the durable subscription ``ledger`` on ``orders.*``, acks
  what it gets, publishes orders and calls the **bystander** agent.

After every step: the runtime answers a ping; the bystander's and the target's states are exactly the
model's; the honest subscription has lost nothing (every record of ``orders.*`` in the journal arrives once,
in order, and is acked; a redelivery may only repeat an unacked one); every signal accepted for an agent was
handled or dead-lettered exactly once, with the reason the model expects, and no agent restarted; the
gateway's send queues and encoding cache stay within their byte bounds.
"""

from __future__ import annotations

import itertools
import json
import math
import threading
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, Final, TypeVar

import attrs
import trio
import trio.testing
import trio_websocket
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from dsl import agent, route
from jido.gateway import Gateway, TokenPolicy, serve_gateway
from jido.gateway.protocol import ERROR_CODES
from jido.runtime.runtime import Runtime, open_runtime
from jido.runtime.server import AgentRef
from tests.gateway.helpers import Add

T = TypeVar("T")

HONEST_TOKEN: Final = "honest-token"
HOSTILE_TOKEN: Final = "mallory-token"
TOKENS: Final = {
    HONEST_TOKEN: TokenPolicy(name="honest", subscribe=("orders.*",), publish=("orders.*",)),
    HOSTILE_TOKEN: TokenPolicy(name="mallory", subscribe=("noise.*",), publish=("**",)),
}
LEDGER: Final = "ledger"  # the honest client's durable subscription
ORDERS: Final = "orders.*"
MAX_FRAME: Final = 64 << 10
SEND_QUEUE_BYTES: Final = 256 << 10
ENCODED_CACHE_BYTES: Final = 16 << 20  # the gateway's bound on its cache of encoded signals
STEP_SECONDS: Final = 10.0  # real time one step may take before it counts as a hang
TARGET_SUBSCRIPTION: Final = "agent:target:target.**"

PROFILE_EXAMPLES = settings().max_examples
HOSTILE_SETTINGS = settings(
    max_examples=max(10, PROFILE_EXAMPLES // 2),
    stateful_step_count=25 if PROFILE_EXAMPLES <= 100 else 50,
    deadline=None,
)


@agent
@route("counter.add", Add)
class Bystander:
    count: int = 0


@agent(subscribe=["target.**"])
@route("target.add", Add)
class Target:
    count: int = 0


# -- what the hostile client sends ---------------------------------------------------------------------------

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
_OPS = st.sampled_from(["auth", "subscribe", "unsubscribe", "ack", "publish", "call", "inspect", "ping"])
_FRAME_OBJECTS = st.fixed_dictionaries(
    {"op": _OPS | st.text(max_size=6), "id": st.text(min_size=1, max_size=4) | _JSON},
    optional=dict.fromkeys(
        ("token", "pattern", "from", "durable", "subscription", "offset", "signal", "agent"), _JSON
    ),
)
_SURROGATES = ["\\ud800", "\\udfff", "\\udbff"]


@attrs.frozen
class Garbage:
    """A frame no honest client sends, and the error code it must get (None: any known code, or a result)."""

    kind: str
    frame: str | bytes = attrs.field(repr=lambda f: repr(f) if len(f) <= 80 else f"<{len(f)} chars>")
    code: str | None


@st.composite
def garbage(draw: st.DrawFn) -> Garbage:
    kind = draw(
        st.sampled_from(["object", "surrogate", "nested", "text", "bytes", "undecodable", "too_large"])
    )
    if kind == "object":
        return Garbage(kind, json.dumps(draw(_FRAME_OBJECTS)), None)
    if kind == "surrogate":
        base = json.dumps({"op": draw(_OPS), "id": "g", "pattern": "noise.x", "agent": "target"})
        openings = [i + 1 for i, c in enumerate(base) if c == '"'][::2]  # inside each string (no escapes)
        at = draw(st.sampled_from(openings))
        return Garbage(kind, base[:at] + draw(st.sampled_from(_SURROGATES)) + base[at:], "bad_frame")
    if kind == "nested":
        depth = draw(st.integers(min_value=1_000, max_value=20_000))
        return Garbage(kind, '{"op":"ping","id":"g","x":' + "[" * depth + "]" * depth + "}", "bad_frame")
    if kind == "text":
        return Garbage(kind, draw(st.text(max_size=40)), None)
    if kind == "bytes":
        return Garbage(kind, draw(st.binary(max_size=40)), None)
    if kind == "undecodable":
        junk = draw(st.sampled_from([b"\xed\xa0\x80", b"\xff", b"\xc3\x28", b"\xf8\x88\x80\x80\x80"]))
        return Garbage(kind, b'{"op":"ping","id":"' + junk + b'"}', "bad_frame")
    size = draw(st.integers(min_value=MAX_FRAME + 1, max_value=4 * MAX_FRAME - 100))
    return Garbage(kind, '{"op":"ping","id":"g","x":"' + "x" * size + '"}', "too_large")


@attrs.frozen
class Data:
    """Signal data for an action with params ``by: int = 1``, and the ``by`` it means (None: it does not fit)."""

    value: Any = attrs.field(repr=lambda v: repr(v) if len(repr(v)) <= 80 else f"<{len(repr(v))} chars>")
    by: int | None
    present: bool = True


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


_VALID_DATA = st.one_of(
    st.integers(-1000, 1000).map(lambda n: Data({"by": n}, n)),
    st.just(Data({}, 1)),
    st.just(Data(None, 1, present=False)),
)
_INVALID_DATA = st.one_of(
    st.sampled_from(
        [
            Data({"by": "2"}, None),
            Data({"by": 1.5}, None),
            Data({"by": True}, None),
            Data({"by": None}, None),
            Data({"by": [1]}, None),
            Data({"bx": 1}, None),
            Data({"by": 1, "extra": 0}, None),
            Data({"by": {"\ud83d\ude00": 1}}, None),
        ]
    ),
    st.integers(1, 100).map(lambda depth: Data({"by": _nested(depth)}, None)),
    st.integers(1_000, MAX_FRAME - 1_000).map(lambda size: Data({"by": "x" * size}, None)),
)


# -- the clients -------------------------------------------------------------------------------------------


class Disconnected(Exception):
    """The server closed the connection (with the close code, if one came)."""

    def __init__(self, code: int | None) -> None:
        super().__init__(f"connection closed ({code})")
        self.code = code


class WireClient:
    """Frames over a trio-websocket connection whose TCP stream is ours to close (trio-websocket leaves it
    open when the server closes first)."""

    def __init__(self, ws: trio_websocket.WebSocketConnection, stream: trio.SocketStream) -> None:
        self.ws = ws
        self.stream = stream

    @classmethod
    async def open(cls, nursery: trio.Nursery, port: int, token: str) -> WireClient:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        ws = await trio_websocket.wrap_client_stream(
            nursery,
            stream,
            f"127.0.0.1:{port}",
            "/",
            extra_headers=[(b"authorization", f"Bearer {token}".encode())],
            message_queue_size=64,
        )
        return cls(ws, stream)

    async def send(self, frame: str | bytes | dict[str, Any]) -> None:
        try:
            await self.ws.send_message(frame if isinstance(frame, str | bytes) else json.dumps(frame))
        except trio_websocket.ConnectionClosed as exc:
            raise Disconnected(None if exc.reason is None else exc.reason.code) from None

    async def recv(self) -> dict[str, Any]:
        try:
            text = await self.ws.get_message()
        except trio_websocket.ConnectionClosed as exc:
            raise Disconnected(None if exc.reason is None else exc.reason.code) from None
        frame: dict[str, Any] = json.loads(text)
        return frame

    async def close(self) -> None:
        with trio.move_on_after(5):
            await self.ws.aclose()
        await self.stream.aclose()


class Honest:
    """The honest client: its requests, and the signal frames of its durable subscription, which it acks."""

    def __init__(self, client: WireClient) -> None:
        self.client = client
        self.ids = itertools.count(1)
        self.subscription = ""
        self.start = 0
        self.received: list[int] = []  # first deliveries, in arrival order
        self.redelivered: list[int] = []
        self.acked: set[int] = set()
        self._to_ack: list[int] = []

    def _on_signal(self, frame: dict[str, Any]) -> None:
        assert frame["subscription"] == self.subscription, frame
        offset: int = frame["offset"]
        assert in_orders(frame["signal"]["type"]), frame
        if offset in self.received:
            # Redelivered: the protocol allows it only for a delivery not acked yet.
            assert offset not in self.acked, f"offset {offset} delivered again after its ack"
            self.redelivered.append(offset)
            return
        assert not self.received or offset > self.received[-1], (
            f"offset {offset} after {self.received[-1]}: out of order"
        )
        self.received.append(offset)
        self._to_ack.append(offset)

    async def request(self, frame: dict[str, Any]) -> dict[str, Any]:
        frame = {**frame, "id": f"h{next(self.ids)}"}
        await self.client.send(frame)
        while True:
            answer = await self.client.recv()
            if answer["op"] == "signal":
                self._on_signal(answer)
            else:
                assert answer["id"] == frame["id"], f"unexpected frame for the honest client: {answer}"
                return answer

    async def ack_received(self) -> None:
        while self._to_ack:
            offset = self._to_ack.pop(0)
            answer = await self.request({"op": "ack", "subscription": self.subscription, "offset": offset})
            assert answer["op"] == "result", answer
            self.acked.add(offset)

    async def receive(self, expected: list[int]) -> None:
        """Read signal frames until every offset of ``expected`` has come, acking each."""
        await self.ack_received()
        while len(self.received) < len(expected):
            frame = await self.client.recv()
            assert frame["op"] == "signal", f"unexpected frame for the honest client: {frame}"
            self._on_signal(frame)
            await self.ack_received()


def in_orders(signal_type: str) -> bool:
    """Whether ``signal_type`` matches ``orders.*``."""
    head, _, rest = signal_type.partition(".")
    return head == "orders" and bool(rest) and "." not in rest


# -- the model -----------------------------------------------------------------------------------------------


@attrs.define
class AgentModel:
    """What an agent must have done: its count, and each accepted signal's fate by id."""

    count: int = 0
    handled: int = 0
    rejected: dict[str, str] = attrs.field(factory=dict)  # signal id -> dead letter reason

    def accept(self, signal_id: str, routed: bool, data: Data) -> str | None:
        """Note a signal the agent accepted; returns the reason it is rejected with, or None."""
        if not routed:
            self.rejected[signal_id] = "no_route"
            return "no_route"
        if data.by is None:
            self.rejected[signal_id] = "invalid_params"
            return "invalid_params"
        self.count += data.by
        self.handled += 1
        return None


class _Loop:
    """The machine's trio loop in a helper thread: runtime, gateway and client connections live in it."""

    def __init__(self) -> None:
        self.error: BaseException | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hostile-gateway", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        try:
            trio.run(self._main)
        except BaseException as exc:  # handed to the test thread
            self.error = exc
            self._ready.set()

    async def _main(self) -> None:
        self.token = trio.lowlevel.current_trio_token()
        self._stop = trio.Event()
        self.clients: list[WireClient] = []
        async with open_runtime() as rt, trio.open_nursery() as nursery:
            self.rt: Runtime = rt
            self.nursery = nursery
            self.bystander: AgentRef = await rt.start_agent(Bystander, id="bystander")
            self.target: AgentRef = await rt.start_agent(Target, id="target")
            self.gateway: Gateway = await nursery.start(
                partial(
                    serve_gateway,
                    rt,
                    tokens=TOKENS,
                    max_frame_bytes=MAX_FRAME,
                    send_queue_bytes=SEND_QUEUE_BYTES,
                    slow_consumer_timeout=3600.0,
                    heartbeat_interval=math.inf,
                )
            )
            self._ready.set()
            await self._stop.wait()
            for client in self.clients:
                await client.close()
            nursery.cancel_scope.cancel()

    async def connect(self, token: str) -> WireClient:
        client = await WireClient.open(self.nursery, self.gateway.port, token)
        self.clients.append(client)
        return client

    async def _bounded(self, afn: Callable[[], Awaitable[T]]) -> T:
        with trio.fail_after(STEP_SECONDS):
            return await afn()

    def run(self, afn: Callable[..., Awaitable[T]], *args: Any) -> T:
        return trio.from_thread.run(self._bounded, partial(afn, *args), trio_token=self.token)

    def close(self) -> None:
        if self._thread.is_alive():
            trio.from_thread.run_sync(self._stop.set, trio_token=self.token)
        self._thread.join(timeout=30)
        assert not self._thread.is_alive(), "the machine's trio loop did not stop"
        if self.error is not None:
            raise self.error


# -- the machine ---------------------------------------------------------------------------------------------


class HostileGateway(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = _Loop()
        self.signal_ids = itertools.count(1)
        self.bystander = AgentModel()
        self.target = AgentModel()
        self.hostile_durable: dict[str, str] = {}  # the hostile identity's durable names -> bound pattern
        self.hostile_subs: dict[str, str | None] = {}  # its connection's subscriptions -> durable name
        self.hostile_ids = itertools.count(1)
        self.reconnects = 0
        self.honest = Honest(self.loop.run(self.loop.connect, HONEST_TOKEN))
        self.hostile = self.loop.run(self.loop.connect, HOSTILE_TOKEN)
        answer = self.loop.run(
            self.honest.request, {"op": "subscribe", "pattern": ORDERS, "durable": LEDGER, "from": "latest"}
        )
        assert answer["op"] == "result", answer
        self.honest.subscription = answer["result"]["subscription"]
        self.honest.start = answer["result"]["from"]

    def teardown(self) -> None:
        self.loop.close()

    # -- helpers -------------------------------------------------------------------------------------------
    def signal(self, signal_type: str, data: Data, source: str = "/hostile") -> dict[str, Any]:
        signal: dict[str, Any] = {
            "specversion": "1.0",
            "id": f"sig-{next(self.signal_ids)}",
            "source": source,
            "type": signal_type,
        }
        if data.present:
            signal["data"] = data.value
        return signal

    async def _hostile_request(self, frame: str | bytes | dict[str, Any]) -> dict[str, Any]:
        """Send one frame and read its one answer (signal frames of the hostile client's own subscriptions
        may come before it)."""
        if isinstance(frame, dict):
            frame = {**frame, "id": f"m{next(self.hostile_ids)}"}
        await self.hostile.send(frame)
        while True:
            answer = await self.hostile.recv()
            if answer["op"] != "signal":
                return answer

    def hostile_request(self, frame: str | bytes | dict[str, Any]) -> dict[str, Any]:
        answer = self.loop.run(self._hostile_request, frame)
        assert answer["op"] in ("result", "error"), answer
        if answer["op"] == "error":
            assert answer["code"] in ERROR_CODES, answer
        return answer

    def reconnect_hostile(self) -> None:
        self.loop.run(self.hostile.close)
        self.hostile = self.loop.run(self.loop.connect, HOSTILE_TOKEN)
        self.hostile_subs.clear()
        self.reconnects += 1

    # -- the hostile client ----------------------------------------------------------------------------------
    @rule(frame=garbage())
    def send_garbage(self, frame: Garbage) -> None:
        answer = self.hostile_request(frame.frame)
        if frame.code is not None:
            assert answer["op"] == "error", answer
            assert answer["code"] == frame.code, answer
        elif answer["op"] == "result" and isinstance(frame.frame, str) and frame.kind == "object":
            # An arbitrary subscribe may pass (within noise.*), an unsubscribe may end one of its own.
            sent = json.loads(frame.frame)
            if sent["op"] == "subscribe":
                durable = sent.get("durable")
                self.hostile_subs[answer["result"]["subscription"]] = durable
                if durable is not None:
                    self.hostile_durable[durable] = sent["pattern"]
            elif sent["op"] == "unsubscribe":
                del self.hostile_subs[sent["subscription"]]

    @rule(extra=st.integers(1, 4 * MAX_FRAME))
    def send_oversized(self, extra: int) -> None:
        """A frame past what the websocket layer reads: it closes the connection (1009); nothing else."""

        async def attempt() -> int | None:
            try:
                await self._hostile_request(
                    '{"op":"ping","id":"big","x":"' + "x" * (4 * MAX_FRAME + extra) + '"}'
                )
            except Disconnected as exc:
                return exc.code
            raise AssertionError("a frame over the websocket layer's limit was answered")

        code = self.loop.run(attempt)
        assert code in (1009, None), code  # None: the TCP connection went before the close frame was read
        self.reconnect_hostile()

    @rule(
        agent_id=st.sampled_from(["target", "bystander"]),
        routed=st.booleans(),
        data=_VALID_DATA | _INVALID_DATA,
        unroutable=st.sampled_from(["nope", "add.more", "ad", "add-", "ADD"]),
    )
    def call(self, agent_id: str, routed: bool, data: Data, unroutable: str) -> None:
        prefix = "target" if agent_id == "target" else "counter"
        signal = self.signal(f"{prefix}.{'add' if routed else unroutable}", data)
        model = self.target if agent_id == "target" else self.bystander
        reason = model.accept(signal["id"], routed, data)
        answer = self.hostile_request({"op": "call", "agent": agent_id, "signal": signal, "timeout": 30})
        if reason is None:
            assert answer["op"] == "result", answer
            assert answer["result"] == {"agent": agent_id, "state": {"count": model.count}}
        else:
            assert (answer["op"], answer["code"]) == ("error", reason), answer
            if reason == "invalid_params":
                paths = [error["path"] for error in answer["details"]["errors"]]
                assert all(path.startswith("$.signal.data") for path in paths), answer

    @rule(
        kind=st.sampled_from(["target", "orders", "elsewhere"]),
        routed=st.booleans(),
        data=_VALID_DATA | _INVALID_DATA,
    )
    def publish(self, kind: str, routed: bool, data: Data) -> None:
        """Publish as the hostile client: to the target (routed or not, params fitting or not, up to near the
        frame limit), to the honest client's pattern, or to types nobody routes."""
        if kind == "target":
            signal = self.signal("target.add" if routed else "target.nope.deeper", data)
        elif kind == "orders":
            signal = self.signal("orders.placed" if routed else "orders.placed.twice", data)
        else:
            signal = self.signal("noise.x" if routed else "jido.agent.stop", data)
        answer = self.hostile_request({"op": "publish", "signal": signal})
        if signal["type"].startswith("jido."):  # the runtime's own types: refused to every client
            assert answer["code"] == "forbidden", answer
            return
        assert answer["op"] == "result", answer
        assert isinstance(answer["result"]["offset"], int)
        if kind == "target":
            self.target.accept(signal["id"], routed, data)

    @rule(
        name=st.sampled_from([LEDGER, "mine", "other"]),
        pattern=st.sampled_from([ORDERS, "orders.**", "**", "noise.*", "noise.x"]),
    )
    def subscribe_durable(self, name: str, pattern: str) -> None:
        """Try the honest client's durable name, or the hostile's own ones, with patterns in and out of the
        token's ``noise.*``."""
        answer = self.hostile_request({"op": "subscribe", "pattern": pattern, "durable": name})
        if not pattern.startswith("noise."):
            expected: str | None = "forbidden"  # not within the token's subscribe patterns
        elif name == LEDGER:
            expected = "forbidden"  # another identity's
        elif name in self.hostile_subs.values() or self.hostile_durable.get(name, pattern) != pattern:
            expected = "conflict"
        else:
            expected = None
        if expected is None:
            assert answer["op"] == "result", answer
            self.hostile_durable[name] = pattern
            self.hostile_subs[answer["result"]["subscription"]] = name
        else:
            assert (answer["op"], answer["code"]) == ("error", expected), answer

    @rule()
    def reconnect(self) -> None:
        self.reconnect_hostile()

    # -- the honest client -------------------------------------------------------------------------------------
    @rule(by=st.integers(-5, 5))
    def honest_call(self, by: int) -> None:
        data = Data({"by": by}, by)
        signal = self.signal("counter.add", data, source="/honest")
        self.bystander.accept(signal["id"], True, data)
        answer = self.loop.run(
            self.honest.request, {"op": "call", "agent": "bystander", "signal": signal, "timeout": 30}
        )
        assert answer["op"] == "result", answer
        assert answer["result"]["state"] == {"count": self.bystander.count}

    @rule(n=st.integers(1, 3))
    def honest_publish(self, n: int) -> None:
        for _ in range(n):
            signal = self.signal("orders.placed", Data({"n": 1}, None), source="/honest")
            answer = self.loop.run(self.honest.request, {"op": "publish", "signal": signal})
            assert answer["op"] == "result", answer

    # -- after every step ----------------------------------------------------------------------------------------
    @invariant()
    def holds(self) -> None:
        self.loop.run(self._settle)
        self.runtime_serves()
        self.honest_lost_nothing()
        self.agents_match_the_model()
        self.memory_bounded()

    async def _settle(self) -> None:
        """Wait until the target has worked off what the bus holds for it: each time every task is blocked
        (the bus and the agents work in this process), look whether its subscription has nothing in flight
        and no record of its pattern left to read, and its mailbox is empty."""
        rt, target = self.loop.rt, self.loop.target
        (sub,) = [s for s in rt.bus.subscriptions() if s.name == TARGET_SUBSCRIPTION]
        while True:
            await trio.testing.wait_all_tasks_blocked()
            stats = sub.statistics()
            if stats.in_flight or target.mailbox_depth:
                continue
            unread = await rt.bus.journal.read(stats.cursor, limit=10_000)
            if not any(r.signal.type.startswith("target.") for r in unread):
                return

    def runtime_serves(self) -> None:
        answer = self.loop.run(self.honest.request, {"op": "ping"})
        assert answer["op"] == "result", answer
        assert self.hostile_request({"op": "ping"})["op"] == "result"

    def honest_lost_nothing(self) -> None:
        async def expected() -> list[int]:
            journal = self.loop.rt.bus.journal
            offsets: list[int] = []
            start, last = self.honest.start, await journal.last_offset()
            while start <= last:
                records = await journal.read(start, limit=1000)
                if not records:
                    break
                offsets += [r.offset for r in records if in_orders(r.signal.type)]
                start = records[-1].offset + 1
            return offsets

        offsets = self.loop.run(expected)
        self.loop.run(self.honest.receive, offsets)
        assert self.honest.received == offsets
        assert self.honest.acked == set(offsets)

    def agents_match_the_model(self) -> None:
        rt = self.loop.rt
        letters = rt.dead_letters()
        for ref, model in ((self.loop.bystander, self.bystander), (self.loop.target, self.target)):
            assert rt.whereis(ref.id) is ref
            assert (ref.status, ref.restarts) == ("running", 0)
            assert ref.state.count == model.count
            assert (ref.handled, ref.rejected, ref.errors) == (
                model.handled,
                len(model.rejected),
                len(model.rejected),
            )
            mine = [letter for letter in letters if letter.agent_id == ref.id]
            # Each rejected signal is dead-lettered exactly once, with the reason the model expects.
            assert sorted((letter.signal.id, letter.reason) for letter in mine) == sorted(
                model.rejected.items()
            )
        assert len(letters) == len(self.bystander.rejected) + len(self.target.rejected)
        stats = rt.statistics()
        assert (dict(stats.restarts), dict(stats.failed)) == ({}, {})

    def memory_bounded(self) -> None:
        stats = self.loop.gateway.statistics()
        assert stats.peak_queued_bytes <= SEND_QUEUE_BYTES, stats
        assert stats.queued_bytes <= stats.connections * SEND_QUEUE_BYTES, stats
        assert stats.cached_bytes <= ENCODED_CACHE_BYTES, stats
        # The honest and the hostile connection: those the hostile client left are gone.
        assert stats.connections == 2, stats
        assert stats.subscriptions == 1 + len(self.hostile_subs), stats


HostileGateway.TestCase.settings = HOSTILE_SETTINGS
TestHostileGateway = HostileGateway.TestCase
