"""The requests of the gateway protocol, as the server carries them out for one connection."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import attrs
import trio

from jido.bus.bus import StartPastEndError
from jido.bus.subscription import Subscription
from jido.convert import unstructure
from jido.errors import (
    AgentExistsError,
    AgentNotFoundError,
    CallTimeoutError,
    ClosedError,
    FieldError,
    ForbiddenError,
    JidoError,
    NoRouteError,
    PluginRejectedError,
    SubscriptionConflictError,
    ValidationError,
)
from jido.gateway.policy import OPEN_POLICY, TooComplexError, uncovered_type
from jido.gateway.protocol import (
    AckRequest,
    AuthRequest,
    CallRequest,
    FrameError,
    InspectRequest,
    PingRequest,
    PublishRequest,
    Request,
    RestartRequest,
    SubscribeRequest,
    UnsubscribeRequest,
    error_frame,
    result_frame,
)
from jido.runtime.server import SYSTEM_PREFIX

if TYPE_CHECKING:
    from jido.gateway.connection import Connection

__all__ = ["MAX_DURABLE_SUBSCRIPTIONS", "ServerSubscription", "dispatch"]

MAX_DURABLE_SUBSCRIPTIONS = 1000
"""Durable subscriptions one identity may have stored (each is a row of the journal, kept until forgotten)."""

_AGENT_SUBSCRIPTION: Final = "agent:"  # how the runtime names the bus subscription of an agent's routes
DURABLE_PREFIX: Final = "gateway:"  # how the bus names a client's durable subscription


@attrs.define(eq=False)
class ServerSubscription:
    """A subscription of a connection: its id there, its pattern, its durable name (as the bus knows it), the
    bus subscription, its pump, and the frames of its deliveries not acked yet (bytes by offset)."""

    id: str
    pattern: str
    durable: str | None
    bus_subscription: Subscription
    scope: trio.CancelScope = attrs.field(factory=trio.CancelScope)
    unacked: dict[int, int] = attrs.field(factory=dict)
    held: int = 0

    @property
    def name(self) -> str:
        """The name the client knows it by: its durable name, or its id on the connection."""
        return self.durable.removeprefix(DURABLE_PREFIX) if self.durable is not None else self.id


async def dispatch(conn: Connection, request: Request) -> None:
    """Carry out one request of ``conn``; a :class:`FrameError` says which error frame answers it."""
    if isinstance(request, PublishRequest):
        await publish(conn, request)
    elif isinstance(request, SubscribeRequest):
        await subscribe(conn, request)
    elif isinstance(request, AckRequest):
        await ack(conn, request)
    elif isinstance(request, CallRequest):
        await start_call(conn, request)
    elif isinstance(request, UnsubscribeRequest):
        await unsubscribe(conn, request)
    elif isinstance(request, InspectRequest):
        await conn.reply(request.id, await inspect(conn))
    elif isinstance(request, RestartRequest):
        await conn.reply(request.id, await restart(conn, request))
    elif isinstance(request, PingRequest):
        await conn.reply(request.id, {})
    else:
        assert isinstance(request, AuthRequest)
        if conn.gateway.requires_auth:
            raise FrameError("bad_frame", "already authenticated", request_id=request.id)
        await conn.reply(request.id, OPEN_POLICY.to_json())


# Signal types the runtime sends itself (workflow outcomes, lifecycle notices): a client may not send them, or it
# could end a workflow run it did not run or fake a child's exit.
RESERVED_PREFIX = SYSTEM_PREFIX


def check_not_reserved(signal_type: str, request_id: str) -> None:
    if signal_type.startswith(RESERVED_PREFIX):
        raise FrameError(
            "forbidden",
            f"signal type {signal_type!r} is reserved: types under {RESERVED_PREFIX!r} are the runtime's own",
            request_id=request_id,
        )


async def publish(conn: Connection, request: PublishRequest) -> None:
    policy = conn.token_policy
    signal = request.signal
    check_not_reserved(signal.type, request.id)
    if not policy.may_publish(signal.type):
        allowed = ", ".join(map(repr, policy.publish)) or "none"
        raise FrameError(
            "forbidden",
            f"publishing {signal.type!r} is not allowed for this token (allowed: {allowed})",
            request_id=request.id,
        )
    try:
        offset = await conn.gateway.runtime.publish(signal)
    except ClosedError as exc:
        raise FrameError("internal", str(exc), request_id=request.id) from None
    await conn.reply(request.id, {"offset": offset})


async def unsubscribe(conn: Connection, request: UnsubscribeRequest) -> None:
    sub = find(conn, request.id, request.subscription)
    if request.forget and sub.durable is None:
        raise FrameError.invalid(
            "bad_frame",
            [
                FieldError(
                    "$.forget", f"subscription {sub.id!r} is transient: only a durable one is forgotten"
                )
            ],
            request.id,
        )
    await conn.drop_subscription(sub)
    if request.forget:
        assert sub.durable is not None
        try:
            await conn.gateway.runtime.bus.forget(sub.durable)
        except NotImplementedError as exc:
            raise FrameError("internal", str(exc), request_id=request.id) from None
        except ValueError:  # another connection of the identity took it over meanwhile: it stays
            raise FrameError(
                "conflict",
                f"durable subscription {sub.name!r} was subscribed again meanwhile",
                request_id=request.id,
            ) from None
        except ClosedError as exc:
            raise FrameError("internal", str(exc), request_id=request.id) from None
    await conn.reply(request.id, {})


async def check_durable_room(conn: Connection, request: SubscribeRequest, name: str) -> None:
    """A new durable name is a row of the journal kept until forgotten: an identity may have only so many."""
    journal = conn.gateway.runtime.bus.journal
    count = getattr(journal, "count_durable", None)
    if count is None or await journal.get_checkpoint(name) is not None:
        return  # a journal that cannot count them (Redis), or a name that exists: resuming costs nothing
    if await count(conn.identity) >= MAX_DURABLE_SUBSCRIPTIONS:
        raise FrameError(
            "forbidden",
            f"at most {MAX_DURABLE_SUBSCRIPTIONS} durable subscriptions per identity: reuse a name, or "
            'unsubscribe one with "forget": true',
            request_id=request.id,
            details={"limit": MAX_DURABLE_SUBSCRIPTIONS},
        )


def find(conn: Connection, request_id: str, subscription: str) -> ServerSubscription:
    sub = conn.subscriptions.get(subscription)
    if sub is None:
        raise FrameError(
            "not_found", f"no subscription {subscription!r} on this connection", request_id=request_id
        )
    return sub


def check_pattern(conn: Connection, request: SubscribeRequest) -> None:
    allowed = conn.token_policy.subscribe
    shown = ", ".join(map(repr, allowed)) or "none"
    try:
        example = uncovered_type(request.pattern, allowed)
    except TooComplexError:
        raise FrameError(
            "forbidden",
            f"pattern {request.pattern!r} is too complex to check against the allowed patterns ({shown})",
            request_id=request.id,
        ) from None
    if example is not None:
        raise FrameError(
            "forbidden",
            f"pattern {request.pattern!r} is not within the allowed subscribe patterns ({shown}): "
            f"it matches {example!r}",
            request_id=request.id,
            details={"pattern": request.pattern, "allowed": list(allowed), "example": example},
        )


def check_subscription_room(conn: Connection, request: SubscribeRequest) -> None:
    """A subscription holds its share of the connection's account, and more while its deliveries wait for
    acks: a connection may have only so many, and only while there is room."""
    gateway = conn.gateway
    limit = gateway.max_subscriptions
    if len(conn.subscriptions) >= limit:
        gateway._over_budget += 1
        raise FrameError(
            "forbidden",
            f"at most {limit} subscriptions per connection",
            request_id=request.id,
            details={"limit": limit},
        )
    share = gateway.subscription_bytes
    account = conn.account
    if account.parts["deliveries"] and not account.part_room("deliveries", share):
        gateway._over_budget += 1
        limit = gateway.part_limit("deliveries")
        raise FrameError(
            "forbidden",
            f"no room for another subscription on this connection: its subscriptions and unacked deliveries "
            f"hold {account.parts['deliveries']} of {limit} bytes (ack deliveries, or unsubscribe one)",
            request_id=request.id,
            details={"held": account.parts["deliveries"], "limit": limit},
        )
    if not account.budget_room(share):
        gateway._over_budget += 1
        raise FrameError(
            "unavailable",
            "the gateway holds all the memory it may for its clients: try again later",
            request_id=request.id,
            details={"limit": gateway.max_total_bytes},
        )


async def subscribe(conn: Connection, request: SubscribeRequest) -> None:
    check_pattern(conn, request)
    check_subscription_room(conn, request)
    bus = conn.gateway.runtime.bus
    name = None
    if request.durable is not None:
        name = f"{DURABLE_PREFIX}{request.durable}"
        await check_durable_room(conn, request, name)
        await take_over(conn, request, name)
    try:
        bus_sub = await bus.subscribe(
            request.pattern, name=name, owner=conn.identity, start_from=request.start or "latest"
        )
    except ForbiddenError:
        raise forbidden_durable(request) from None
    except SubscriptionConflictError as exc:
        raise conflicting_durable(request, exc.bound) from None
    except StartPastEndError as exc:  # an offset of another journal, or a typo: it would deliver nothing
        raise FrameError.invalid("bad_frame", [FieldError("$.from", str(exc))], request.id) from None
    except ValueError as exc:  # the durable name is held by a subscriber outside the gateway
        raise FrameError("conflict", str(exc), request_id=request.id) from None
    except ClosedError as exc:
        raise FrameError("internal", str(exc), request_id=request.id) from None
    sub = ServerSubscription(f"s{next(conn.subscription_ids)}", request.pattern, name, bus_sub)
    conn.subscriptions[sub.id] = sub
    conn.account.charge("deliveries", conn.gateway.subscription_bytes)
    if name is not None:
        conn.gateway._durable[name] = (conn, sub.id)
    first = max(bus_sub.statistics().cursor, await bus.journal.first_offset())
    await conn.reply(request.id, {"subscription": sub.id, "from": first})
    assert conn.tasks is not None
    conn.tasks.start_soon(conn.pump, sub)


def forbidden_durable(request: SubscribeRequest) -> FrameError:
    assert request.durable is not None
    return FrameError(
        "forbidden", str(ForbiddenError(f"durable subscription {request.durable!r}")), request_id=request.id
    )


def conflicting_durable(request: SubscribeRequest, bound: str) -> FrameError:
    assert request.durable is not None
    return FrameError(
        "conflict",
        str(SubscriptionConflictError(request.durable, request.pattern, bound)),
        request_id=request.id,
        details={"durable": request.durable, "pattern": bound},
    )


async def take_over(conn: Connection, request: SubscribeRequest, name: str) -> None:
    """A durable name is one consumer: a new subscriber of the same identity and pattern replaces the one
    before (whose connection may be dead without the server knowing yet), and that one is told. Another
    identity, or another pattern, is refused before the holder is disturbed (the bus, which stores both,
    refuses it too when nobody holds the name)."""
    holder = conn.gateway._durable.get(name)
    if holder is None:
        return
    connection, sub_id = holder
    if connection.identity != conn.identity:
        raise forbidden_durable(request)
    held = connection.subscriptions.get(sub_id)
    if held is not None and held.pattern != request.pattern:
        raise conflicting_durable(request, held.pattern)
    if connection is conn:
        raise FrameError(
            "conflict",
            f"durable subscription {request.durable!r} is already subscribed on this connection "
            f"as {sub_id!r}",
            request_id=request.id,
        )
    sub = connection.subscriptions.get(sub_id)
    if sub is None:
        return
    await connection.drop_subscription(sub)
    notice = error_frame(
        None,
        "conflict",
        f"durable subscription {request.durable!r} was taken over by another connection",
        {"subscription": sub_id, "durable": request.durable},
    )
    if connection.tasks is not None and connection._close is None:
        conn.gateway._errors_sent += 1
        connection.tasks.start_soon(connection.queue, notice)


async def ack(conn: Connection, request: AckRequest) -> None:
    sub = find(conn, request.id, request.subscription)
    if sub.durable is not None:
        try:
            await sub.bus_subscription.ack(request.offset)
        except LookupError:
            conn.release_delivery(sub, request.offset)  # dead-lettered meanwhile, if it was ours at all
            raise FrameError(
                "not_found",
                f"offset {request.offset} is not in flight for subscription {sub.name!r}",
                request_id=request.id,
            ) from None
        conn.release_delivery(sub, request.offset)
    await conn.reply(request.id, {})


async def start_call(conn: Connection, request: CallRequest) -> None:
    if not conn.token_policy.call:
        raise FrameError("forbidden", "calls are not allowed for this token", request_id=request.id)
    check_not_reserved(request.signal.type, request.id)
    size = conn.frame_bytes
    account = conn.account
    if not account.budget_room(size):
        conn.gateway._over_budget += 1
        raise FrameError(
            "unavailable",
            "the gateway holds all the memory it may for its clients: try again later",
            request_id=request.id,
            details={"limit": conn.gateway.max_total_bytes},
        )
    await conn.calls.acquire()
    try:
        # The call holds its frame's signal until it ends: the next frames wait for room among the calls.
        await account.wait_room("calls", size, budget=False)  # calls end by themselves
    except BaseException:
        conn.calls.release()
        raise
    account.charge("calls", size)
    assert conn.tasks is not None
    conn.tasks.start_soon(call, conn, request, size)


async def call(conn: Connection, request: CallRequest, size: int) -> None:
    try:
        try:
            result = await call_agent(conn, request)
        except FrameError as error:
            await conn.error(error)
            return
        try:
            frame = result_frame(request.id, result)
        except ValueError as exc:
            await conn.error(
                FrameError(
                    "internal",
                    f"state of agent {request.agent!r} is not JSON: {exc}",
                    request_id=request.id,
                )
            )
            return
        await conn.queue(frame, wait_budget=True)
    finally:
        conn.account.release("calls", size)
        conn.calls.release()


async def call_agent(conn: Connection, request: CallRequest) -> dict[str, Any]:
    ref = conn.gateway.runtime.whereis(request.agent)
    if ref is None:
        raise FrameError("not_found", f"no agent with id {request.agent!r}", request_id=request.id)
    try:
        agent = await ref.call(request.signal, timeout=request.timeout, idempotent=request.idempotent)
    except CallTimeoutError as exc:
        raise FrameError("timeout", str(exc), request_id=request.id) from None
    except NoRouteError as exc:
        raise FrameError("no_route", str(exc), request_id=request.id) from None
    except PluginRejectedError as exc:  # a mounted plugin refused the signal: nothing ran
        raise FrameError(
            "rejected", str(exc), request_id=request.id, details={"plugin": exc.plugin}
        ) from None
    except ValidationError as exc:
        if exc.subject is None or not exc.subject.endswith(" params"):
            # The action's output or the agent's new state did not fit its schema: the agent's fault.
            raise FrameError(
                "action_failed", str(exc), request_id=request.id, details={"error": type(exc).__name__}
            ) from None
        # The action's params are read from the signal's data: re-rooted under $.signal, as in the frame.
        raise FrameError.invalid(
            "invalid_params", list(exc.prefixed("$.signal").errors), request.id
        ) from None
    except ClosedError as exc:
        raise FrameError("not_found", str(exc), request_id=request.id) from None
    except JidoError as exc:
        raise FrameError(
            "action_failed", str(exc), request_id=request.id, details={"error": type(exc).__name__}
        ) from None
    except Exception as exc:  # what the agent's own code raised: the caller's failure, not the gateway's
        raise FrameError(
            "action_failed",
            f"{type(exc).__name__}: {exc}",
            request_id=request.id,
            details={"error": type(exc).__name__},
        ) from None
    return {"agent": ref.id, "state": unstructure(agent.state)}


async def restart(conn: Connection, request: RestartRequest) -> dict[str, Any]:
    """Start a failed agent again from its last committed state (a token that may call may restart)."""
    if not conn.token_policy.call:
        raise FrameError(
            "forbidden", "restarting agents is not allowed for this token", request_id=request.id
        )
    runtime = conn.gateway.runtime
    try:
        ref = await runtime.restart_agent(request.agent)
    except AgentExistsError:
        raise FrameError(
            "conflict",
            f"agent {request.agent!r} is running: only a failed agent is restarted",
            request_id=request.id,
        ) from None
    except AgentNotFoundError:
        raise FrameError(
            "not_found", f"no failed agent with id {request.agent!r}", request_id=request.id
        ) from None
    except ClosedError as exc:
        raise FrameError("internal", str(exc), request_id=request.id) from None
    return {"agent": ref.id, "status": ref.status, "state": unstructure(ref.state)}


async def inspect(conn: Connection) -> dict[str, Any]:
    """What the connection's token may see: agents only if it may call them; of the bus subscriptions, its
    identity's durable ones and this connection's own, and the agents' if it may call."""
    runtime = conn.gateway.runtime
    journal = runtime.bus.journal
    stats = runtime.statistics()
    policy = conn.token_policy
    visible = {sub.bus_subscription.name for sub in conn.subscriptions.values()}
    visible.update(
        name for name, (holder, _) in conn.gateway._durable.items() if holder.identity == conn.identity
    )
    return {
        "agents": [
            {
                "id": ref.id,
                "name": ref.spec.name,
                "status": ref.status,
                "mailbox_depth": ref.mailbox_depth,
                "mailbox_size": ref.mailbox_size,
                "handled": ref.handled,
                "errors": ref.errors,
                "restarts": ref.restarts,
            }
            for ref in (runtime.agents() if policy.call else [])
        ]
        + [
            {
                "id": agent_id,
                "name": failed.agent.spec.name,
                "status": "failed",
                "mailbox_depth": 0,
                "mailbox_size": failed.mailbox_size or runtime.mailbox_size,
                "handled": failed.handled,
                "errors": failed.errors,
                "restarts": failed.restarts,
                "reason": failed.reason,
            }
            for agent_id, failed in (runtime.failed_agents().items() if policy.call else ())
        ],
        "bus": {
            "first_offset": await journal.first_offset(),
            "last_offset": await journal.last_offset(),
            "subscription_lag": {
                name: lag
                for name, lag in stats.subscription_lag.items()
                if name in visible or (policy.call and name.startswith(_AGENT_SUBSCRIPTION))
            },
        },
        "dead_letters": stats.dead_letters,
        "hibernated": stats.hibernated if policy.call else 0,
    }
