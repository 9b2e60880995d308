"""One runtime in a cluster: virtual agents reachable from every node, owned by one node at a time.

:func:`open_cluster_runtime` opens a :class:`~jido.cluster.node.ClusterNode` (membership, leases, inbox), a
runtime on the cluster's Redis journal and fenced state store, and the :class:`ClusterRuntime` that ties them.

**Where an agent runs.** The node holding an agent's lease runs it. A message for an agent that no node holds
goes to its home (rendezvous over the live nodes), which claims the lease (raising the store's fence, so a
former owner can no longer write) and activates the agent from its stored state. A lease sticks: when a node
joins, agents stay where they run; an agent started explicitly (:meth:`ClusterRuntime.start_agent`) stays on
the node that started it.

**Calls and casts.** :meth:`ClusterRuntime.call` on the owner is a local call; from elsewhere the signal goes
to the owner's inbox and the answer comes back through the caller's. A cast always goes through the owner's
inbox (its own node's included): once ``cast`` returns, the signal is in Redis, and a node dying before it
handled it does not lose it. Every signal is applied with its id as idempotency key, so a signal delivered
again (a call sent again, an inbox message rerouted after a crash) changes the state once.

**Failover.** Each node watches the live set. When a node leaves (its heartbeat key expired), every survivor
claims a share of the dead node's inbox (read-and-unacked messages first) and sends each message to its
agent's new home, and reactivates the dead node's agents whose new home it is, as soon as their leases run
out. A call in flight to the dead node is answered by the new owner, within the caller's timeout.

**Lost leases.** A node that finds a lease lost (at renewal, or because the store refused a write with its
old fencing token after a pause) stops its copy of the agent and treats it as moved: what it was handling is
sent on to the new owner.

**Bus delivery.** Agents declare bus subscriptions as usual; the node that activates an agent subscribes it,
on the shared Redis journal, resuming from the subscription's checkpoint. A watcher wakes the local
subscriptions when another node appends to the journal.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
from collections.abc import AsyncIterator, Callable
from typing import Any, Final

import attrs
import trio

from jido._redis import (
    DEFAULT_COMMAND_TIMEOUT,
    DEFAULT_CONNECT_TIMEOUT,
    RedisUnavailableError,
    unwrap,
)
from jido.agent.spec import Agent, AgentSpec, agent_spec_of
from jido.bus.redis import RedisJournal
from jido.cluster.events import CLUSTER_FAILOVER, CLUSTER_LEASE_LOST, CLUSTER_NODE_DOWN, CLUSTER_NODE_UP
from jido.cluster.inbox import InboxMessage
from jido.cluster.leases import DEFAULT_LEASE_TTL, Lease
from jido.cluster.membership import DEFAULT_NODE_TTL
from jido.cluster.node import ClusterNode, open_cluster_node
from jido.cluster.placement import place
from jido.cluster.remote import NoLiveNodeError, RemoteCallError
from jido.cluster.serving import InboxServer
from jido.convert import structure, unstructure
from jido.errors import (
    AgentExistsError,
    CallTimeoutError,
    ClosedError,
    DefinitionError,
    JidoError,
    StaleStateError,
)
from jido.runtime.runtime import Runtime, open_runtime
from jido.runtime.server import MOVED
from jido.signal import Signal
from jido.store.redis import FencedWriteError
from jido.telemetry.handlers import _BY_NAME, emit

__all__ = ["ClusterRuntime", "ClusterStatistics", "open_cluster_runtime"]

logger = logging.getLogger("jido.cluster")

Resolve = Callable[[str], "type[Any] | AgentSpec[Any]"]

DEFAULT_MAX_IN_FLIGHT: Final = 1000
"""Inbox messages a node handles at once (read and not yet acked); it reads more as they finish."""
DEFAULT_HANDLE_TIMEOUT: Final = 60.0
"""Seconds an inbox message may take in its agent before the caller is answered with a timeout."""
_MAX_MOVES: Final = 20  # an agent found moved this many times while one message is handled: give up on it
_REACTIVATE_AT_ONCE: Final = 64  # a failover's reactivations run this many at a time
_DEAD_KEPT: Final = 256  # dead nodes whose inboxes are watched for late messages
_HOLDER_HINTS: Final = 100_000  # agents whose owner this node remembers (to send to it directly)


class _Moved(Exception):
    """The agent's lease moved away while this node handled a message for it: route the message again."""


@attrs.frozen
class ClusterStatistics:
    """Counters of one node's :class:`ClusterRuntime`.

    Attributes:
        live_nodes: the live nodes as this node last saw them.
        local_agents: agents this node owns (holds the lease of) now.
        received: inbox messages handled here (applied here or sent on).
        forwarded: messages sent on to the agent's owner.
        calls_out: calls this node sent to other nodes.
        failovers: dead nodes this node took a share of.
        rerouted: messages of dead nodes' inboxes this node sent on.
        reactivated: agents of dead nodes activated here.
        leases_lost: leases found lost (the local copy was stopped).
        reactivate_failed: agents of dead nodes this node could not activate (resolve or activation
            raised, or it took too long; logged with the agent id). A message for such an agent later
            tries again.
    """

    live_nodes: tuple[str, ...]
    local_agents: int
    received: int
    forwarded: int
    calls_out: int
    failovers: int
    rerouted: int
    reactivated: int
    leases_lost: int
    reactivate_failed: int = 0


class ClusterRuntime:
    """A runtime taking part in a cluster. Obtain one from :func:`open_cluster_runtime`.

    Args:
        node: this node (membership, leases, inbox, fenced store).
        runtime: the runtime this node runs its agents in (on ``node.store``).
        resolve: the agent class (or spec) of an agent id: the same function on every node.
        host: whether this node runs agents (a member); a node that only calls and casts is not.
        max_in_flight: inbox messages handled at once.
        handle_timeout: seconds an inbox message may take in its agent.
        watch_interval: seconds between looks at the live set (a quarter of the node TTL by default).
        journal_poll: seconds between looks for records other nodes appended to the journal.
    """

    def __init__(
        self,
        node: ClusterNode,
        runtime: Runtime,
        resolve: Resolve,
        *,
        host: bool = True,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        handle_timeout: float = DEFAULT_HANDLE_TIMEOUT,
        watch_interval: float | None = None,
        journal_poll: float = 0.05,
    ) -> None:
        self.node = node
        self.runtime = runtime
        self.resolve = resolve
        self.host = host
        self.max_in_flight = max_in_flight
        self.handle_timeout = handle_timeout
        self.watch_interval = node.membership.ttl / 4 if watch_interval is None else watch_interval
        self.journal_poll = journal_poll
        self._live: tuple[str, ...] = ()
        self._live_set: frozenset[str] = frozenset()
        self._live_error: RedisUnavailableError | None = None  # why the live set was last not read
        self._dead: dict[str, float] = {}
        self._holders: dict[str, str] = {}  # agent -> the node last seen holding its lease (a hint)
        self._local: dict[str, int] = {}  # agent -> the lease token its local incarnation runs under
        self._claiming: dict[str, trio.Event] = {}
        self.server = InboxServer(node.inbox, self._handle, max_in_flight=max_in_flight)
        self._rerouting: set[str] = set()
        self._nursery: trio.Nursery | None = None
        self._received = 0
        self._forwarded = 0
        self._failovers = 0
        self._rerouted = 0
        self._reactivated = 0
        self._leases_lost = 0
        self._reactivate_failed = 0
        node.on_lost.append(self._on_lost)

    def __repr__(self) -> str:
        return f"<ClusterRuntime node={self.node_id!r} live={list(self._live)} local={len(self._local)}>"

    @property
    def node_id(self) -> str:
        return self.node.node_id

    def statistics(self) -> ClusterStatistics:
        """This node's counters."""
        return ClusterStatistics(
            self._live,
            len(self._local),
            self._received,
            self._forwarded,
            self.server.calls_out,
            self._failovers,
            self._rerouted,
            self._reactivated,
            self._leases_lost,
            self._reactivate_failed,
        )

    def live_nodes(self) -> tuple[str, ...]:
        """The live nodes as this node last saw them (refreshed every ``watch_interval``)."""
        return self._live

    def local_agents(self) -> list[str]:
        """The agents this node owns now, sorted."""
        return sorted(self._local)

    # -- the public surface -----------------------------------------------------------------------------
    def _spec(self, agent_id: str) -> AgentSpec[Any]:
        if not isinstance(agent_id, str) or not agent_id:
            raise ValueError(f"agent id must be a non-empty str, got {agent_id!r}")
        running = self.runtime.whereis(agent_id)
        if running is not None:  # started here (start_agent): its own spec, whatever resolve says
            return running.spec
        spec = agent_spec_of(self.resolve(agent_id))
        if spec is None:
            raise DefinitionError(
                f"resolve({agent_id!r}) did not give an agent (an @agent class or AgentSpec)"
            )
        return spec

    async def call(self, agent_id: str, signal: Signal, *, timeout: float = 5.0) -> Agent[Any]:
        """Send ``signal`` to the virtual agent ``agent_id`` wherever it runs and wait until it is handled;
        returns the agent as committed after it.

        The signal's id is its idempotency key: a call sent again with the same signal (after a timeout) is
        not applied twice. A call to an agent whose node died waits for the agent to be reactivated on a
        survivor, within ``timeout``.

        Raises:
            CallTimeoutError: no answer within ``timeout`` seconds (the signal may still be applied).
            RemoteCallError: handling it failed on another node (the message names the error).
            JidoError: handling it failed here (the runtime's own errors: NoRouteError, ActionError, ...).
        """
        if not isinstance(signal, Signal):
            raise TypeError(f"signal must be a Signal, got {type(signal).__name__}")
        spec = self._spec(agent_id)
        with trio.move_on_after(timeout) as scope:
            return await self._call(spec, agent_id, signal, trio.current_time() + timeout)
        assert scope.cancelled_caught
        raise CallTimeoutError(agent_id, signal.type, timeout)

    async def cast(self, agent_id: str, signal: Signal, *, timeout: float = 5.0) -> None:
        """Send ``signal`` to the virtual agent ``agent_id`` through its owner's inbox; returns once Redis
        holds it (it is then applied once, even if the owner dies first).

        Args:
            timeout: seconds to wait for a live node to send it to, when none is live (a cluster whose
                nodes are all restarting; a node with ``host=False`` alone).

        Raises:
            NoLiveNodeError: no node was live within ``timeout``; nothing was sent.
            InboxFullError: the owner's inbox is full; nothing was sent.
            RedisUnavailableError: Redis could not be reached; nothing was sent, or it is unknown whether.
        """
        if not isinstance(signal, Signal):
            raise TypeError(f"signal must be a Signal, got {type(signal).__name__}")
        self._spec(agent_id)
        target: str | None = None
        with trio.move_on_after(timeout):  # finding a node only: a send cut short might have been applied
            target = await self._target(agent_id)
        if target is None:
            if self._live_error is not None:  # the live set could not be read all along: say why
                raise self._live_error.with_traceback(None) from None
            raise NoLiveNodeError(agent_id, timeout)
        await self.node.inbox.send(target, signal, agent_id=agent_id)

    async def start_agent(self, agent: type[Any] | AgentSpec[Any], *, id: str, **options: Any) -> Any:
        """Start ``agent`` as ``id`` on this node (it stays here while this node lives), like
        ``Runtime.start_agent``; returns its ref.

        Raises:
            AgentExistsError: another node holds the agent.
        """
        if not self.host:
            raise ClosedError(f"node {self.node_id!r} does not host agents (host=False)")
        owner = await self._own(id, math.inf, wait_for_dead=False)
        if owner != self.node_id:
            raise AgentExistsError(id)
        return await self.runtime.start_agent(agent, id=id, **options)

    async def publish(self, signal: Signal) -> int:
        """Publish ``signal`` on the cluster's bus (the shared journal); returns its offset."""
        return await self.runtime.publish(signal)

    # -- placement and ownership -------------------------------------------------------------------------
    async def _target(self, agent_id: str) -> str:
        """The node to send a message for ``agent_id`` to: its owner as far as this node knows, else its home."""
        if self.node.leases.token(agent_id):
            return self.node_id
        holder = self._holders.get(agent_id)
        if holder is not None and holder in self._live_set:
            return holder
        while True:
            home = place(agent_id, self._live)
            if home is not None:
                return home
            await trio.sleep(
                self.watch_interval
            )  # no live node: wait for one (the caller's timeout bounds it)
            await self._refresh_live()

    def _hint(self, agent_id: str, node_id: str) -> None:
        if len(self._holders) >= _HOLDER_HINTS and agent_id not in self._holders:
            self._holders.clear()  # a hint is only a shortcut: forgetting them all costs a hop each, once
        self._holders[agent_id] = node_id

    async def _refresh_live(self) -> frozenset[str]:
        try:
            live = await self.node.live_nodes()
        except RedisUnavailableError as exc:
            logger.warning("node %r cannot read the live nodes: %s", self.node_id, exc)
            self._live_error = exc
            return self._live_set
        self._live_error = None
        self._update_live(live)
        return self._live_set

    async def _own(self, agent_id: str, deadline: float, *, wait_for_dead: bool = True) -> str:
        """Who owns ``agent_id``: this node (claimed now if no node held it; its local copy reset if it ran
        under an older lease) or another live node. A lease held by a node that is not live is waited out."""
        while True:
            claiming = self._claiming.get(agent_id)
            if claiming is not None:
                await claiming.wait()
                continue
            token = self.node.leases.token(agent_id)
            if token and self._local.get(agent_id) == token:
                return self.node_id
            event = self._claiming[agent_id] = trio.Event()
            try:
                if token:  # a lease held, the local copy not yet (or no longer) under it
                    await self._reset_local(agent_id, token)
                    return self.node_id
                lease = await self.node.leases.acquire(agent_id)
                if lease.node_id == self.node_id:
                    fence = await self.node.raw_store.raise_fence(agent_id, lease.token)
                    if fence > lease.token:  # a newer owner came and went since: try again
                        await self.node.leases.release(lease)
                        continue
                    self._holders.pop(agent_id, None)
                    await self._reset_local(agent_id, lease.token)
                    return self.node_id
                self._hint(agent_id, lease.node_id)
                if lease.node_id in self._live_set or lease.node_id in await self._refresh_live():
                    return lease.node_id
                if not wait_for_dead:
                    return lease.node_id
                # Held by a node that is gone: its lease runs out on Redis's clock; then try again.
                await trio.sleep_until(
                    min(deadline, trio.current_time() + (lease.expires_in or 0.05) + 0.005)
                )
                if trio.current_time() >= deadline:
                    raise trio.TooSlowError
            finally:
                del self._claiming[agent_id]
                event.set()

    async def _reset_local(self, agent_id: str, token: int) -> None:
        """The agent runs here under lease ``token`` from now on: a copy running under an older lease (it
        may hold a state another owner wrote over since) is stopped first, so the next message loads it."""
        if self._local.get(agent_id) != token:
            await self._stop_local(agent_id)
            self._local[agent_id] = token

    async def _stop_local(self, agent_id: str) -> None:
        """Stop this node's copy of ``agent_id``, running or asleep (hibernated): the agent runs elsewhere, or
        starts again here from what is stored. The timers stored with its state stay for whoever runs it."""
        ref = self.runtime.whereis(agent_id)
        if ref is not None:
            await ref.stop(MOVED)
        elif self.runtime.hibernated_agent(agent_id) is not None:
            # A sleeper is not in the registry, and waking it to stop it would run its due timers under a
            # lease it no longer holds. Its dormant entry (and the alarm that would wake it here) goes; its
            # stored timers stay for the new owner.
            self.runtime.forget_hibernated(agent_id, keep_pending=True)

    def _on_lost(self, leases: list[Lease]) -> None:
        nursery = self._nursery
        for lease in leases:
            if nursery is not None:
                nursery.start_soon(self._drop, lease.agent_id, lease.token, "expired")

    async def _drop(self, agent_id: str, token: int, reason: str) -> None:
        """This node no longer owns ``agent_id`` (lease ``token`` lost): stop its copy here."""
        if self._local.get(agent_id) != token and reason == "expired":
            return  # it was claimed again (or dropped) since
        self._local.pop(agent_id, None)
        lease = next((x for x in self.node.leases.held() if x.agent_id == agent_id), None)
        if lease is not None and lease.token == token:
            with contextlib.suppress(RedisUnavailableError):
                await self.node.leases.release(lease)  # only if still ours: the script checks
        self._leases_lost += 1
        if CLUSTER_LEASE_LOST in _BY_NAME:
            emit(CLUSTER_LEASE_LOST, node_id=self.node_id, agent_id=agent_id, token=token, reason=reason)
        await self._stop_local(agent_id)

    # -- calls -------------------------------------------------------------------------------------------
    async def _call(self, spec: AgentSpec[Any], agent_id: str, signal: Signal, deadline: float) -> Agent[Any]:
        for _ in range(_MAX_MOVES):
            target = await self._target(agent_id)
            if target == self.node_id and self.host:
                target = await self._own(agent_id, deadline)
                if target == self.node_id:
                    try:
                        return await self._local_call(spec, agent_id, signal, deadline - trio.current_time())
                    except _Moved:
                        continue
            answer = await self.server.request(target, agent_id, signal)
            return self._answer(spec, agent_id, answer)
        raise RemoteCallError(agent_id, self.node_id, f"the agent moved {_MAX_MOVES} times during the call")

    async def _local_call(
        self, spec: AgentSpec[Any], agent_id: str, signal: Signal, timeout: float
    ) -> Agent[Any]:
        token = self._local.get(agent_id, 0)
        try:
            return await self.runtime.agent(spec, agent_id).call(signal, timeout=timeout, idempotent=True)
        except FencedWriteError:
            await self._drop(agent_id, token, "fenced")
            raise _Moved from None
        except StaleStateError:
            # Another writer stored the agent since this copy loaded it (it adopted that state already):
            # start again from what is stored.
            await self._reset_local(agent_id, -1)
            self._local.pop(agent_id, None)
            raise _Moved from None
        except ClosedError:
            if self._local.get(agent_id) == token and self.runtime.whereis(agent_id) is not None:
                raise
            raise _Moved from None  # stopped because it moved (or is being reset): route again

    def _answer(self, spec: AgentSpec[Any], agent_id: str, answer: tuple[str, dict[str, Any]]) -> Agent[Any]:
        node, data = answer
        if not data.get("ok"):
            raise RemoteCallError(agent_id, node, str(data.get("error")))
        if self.host and node != self.node_id:
            self._hint(agent_id, node)
        state = structure(data.get("state"), spec.state, subject=f"{spec.name} state")
        return Agent(id=agent_id, state=state, spec=spec)

    async def _handle(self, message: InboxMessage) -> bool:
        """Handle one inbox message: apply it here or send it on to the agent's owner. Returns True when
        the message was acked already (with the answer to its call)."""
        agent_id = message.agent_id
        assert agent_id is not None
        self._received += 1
        answer: dict[str, Any]
        try:
            spec = self._spec(agent_id)
            for _ in range(_MAX_MOVES):
                owner = await self._own(agent_id, math.inf)
                if owner != self.node_id:
                    await self._send_on(owner, message)
                    return False
                try:
                    agent = await self._local_call(spec, agent_id, message.signal, self.handle_timeout)
                except _Moved:
                    continue
                answer = {"ok": True, "state": unstructure(agent.state)}
                break
            else:
                answer = {"ok": False, "error": f"agent {agent_id!r} moved {_MAX_MOVES} times"}
        except Exception as exc:
            # The caller is told (a call's answer), and this node goes on. Errors of the agent's handling
            # (the runtime's own: NoRouteError, ActionError, ...) are the caller's business; anything else
            # (a KeyError from the user's resolve, a bug) is logged with its traceback here as well.
            answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            if not isinstance(exc, JidoError | ValueError | TypeError):
                logger.exception(
                    "node %r could not handle a %s for agent %r",
                    self.node_id,
                    "cast" if message.reply_to is None else "call",
                    agent_id,
                )
            elif message.reply_to is None:
                logger.warning(
                    "node %r: cast to agent %r failed: %s", self.node_id, agent_id, answer["error"]
                )
        if message.reply_to is None:
            return False
        raw = json.dumps(answer, separators=(",", ":")).encode()
        delay = 0.05
        while True:  # acked only once answered: Redis being away is waited out
            try:
                await self.node.inbox.reply(message.reply_to, message.correlation or "", raw, ack=message)
            except RedisUnavailableError as exc:
                logger.warning("node %r cannot answer node %r yet: %s", self.node_id, message.reply_to, exc)
                await trio.sleep(delay)
                delay = min(delay * 2, 1.0)
            else:
                return True

    async def _send_on(self, owner: str, message: InboxMessage) -> None:
        self._forwarded += 1
        await self.server.send_with_retry(
            owner,
            message.signal,
            agent_id=message.agent_id,
            reply_to=message.reply_to,
            correlation=message.correlation,
        )

    # -- membership and failover -------------------------------------------------------------------------
    def _update_live(self, live: list[str]) -> None:
        before = self._live_set
        now = frozenset(live)
        self._live = tuple(live)
        self._live_set = now
        if not before and not self._dead:
            return  # the first look: nothing joined or left as far as this node knows
        for peer in sorted(now - before):
            self._dead.pop(peer, None)
            if CLUSTER_NODE_UP in _BY_NAME:
                emit(CLUSTER_NODE_UP, node_id=self.node_id, peer=peer)
        for peer in sorted(before - now):
            if peer == self.node_id:
                continue
            logger.warning("node %r sees node %r gone", self.node_id, peer)
            if CLUSTER_NODE_DOWN in _BY_NAME:
                emit(CLUSTER_NODE_DOWN, node_id=self.node_id, peer=peer)
            for agent_id, holder in list(self._holders.items()):
                if holder == peer:
                    del self._holders[agent_id]
            self._dead[peer] = trio.current_time()
            while len(self._dead) > _DEAD_KEPT:
                del self._dead[next(iter(self._dead))]
            if self.host and self._nursery is not None:
                self._nursery.start_soon(self._failover, peer)

    async def _watch(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Look at the live set every ``watch_interval``; take over from nodes that left; send on messages
        that reached a dead node's inbox after its takeover (senders that did not know yet)."""
        self._update_live(await self.node.live_nodes())
        if self.host and self._nursery is not None:
            # Nodes that left before this one started (even all of them, in a restart of the whole cluster)
            # may have left messages and agents behind: nobody who saw them go may be left to take over.
            for peer in sorted(
                set(await self.node.membership.known_nodes()) - self._live_set - {self.node_id}
            ):
                self._dead[peer] = trio.current_time()
                self._nursery.start_soon(self._failover, peer)
        task_status.started()
        while True:
            await trio.sleep(self.watch_interval)
            await self._refresh_live()
            if not self.host:
                continue
            for peer in list(self._dead):
                if peer in self._rerouting or peer in self._live_set:
                    continue
                try:
                    late = await self.node.inbox.pending(peer)
                except (RedisUnavailableError, JidoError):
                    continue
                if late and self._nursery is not None:
                    self._nursery.start_soon(self._reroute, peer)

    async def _reroute(self, peer: str) -> int:
        if peer in self._rerouting:
            return 0
        self._rerouting.add(peer)
        try:
            moved = await self.node.reroute_from(peer)
        except RedisUnavailableError as exc:
            logger.warning("node %r cannot take over the inbox of node %r yet: %s", self.node_id, peer, exc)
            return 0
        finally:
            self._rerouting.discard(peer)
        self._rerouted += moved
        return moved

    async def _failover(self, peer: str) -> None:
        """Take this node's share of dead node ``peer``: its inbox's messages (sent to their agents' new
        homes) and its agents whose new home this node is (reactivated once their leases run out)."""
        try:
            await self._take_over(peer)
        except (
            RedisUnavailableError,
            JidoError,
        ) as exc:  # Redis away, or a key of ours broken: this node goes on
            logger.warning("node %r could not take over from node %r: %s", self.node_id, peer, exc)

    async def _take_over(self, peer: str) -> None:
        started = trio.current_time()
        self._failovers += 1
        rerouted = await self._reroute(peer)
        try:
            agents = await self.node.leases.owned_by(peer)
        except RedisUnavailableError as exc:
            logger.warning("node %r cannot read the agents of node %r: %s", self.node_id, peer, exc)
            agents = []
        mine = [agent_id for agent_id in agents if place(agent_id, self._live) == self.node_id]
        done: list[str] = []
        limiter = trio.CapacityLimiter(_REACTIVATE_AT_ONCE)
        bound = self.node.leases.ttl * 2 + self.node.membership.ttl + 5.0

        async def reactivate(agent_id: str) -> None:
            async with limiter:
                with trio.move_on_after(bound) as scope:
                    try:
                        spec = self._spec(agent_id)
                        owner = await self._own(agent_id, trio.current_time() + bound)
                        if owner == self.node_id:
                            await self.runtime.agent(spec, agent_id).ref()
                            self._reactivated += 1
                        done.append(agent_id)
                    except Exception as exc:
                        # The user's resolve (a dict lookup's KeyError), the agent's activation or Redis:
                        # whatever one agent raises must not end the failover of the others, nor this node.
                        self._reactivate_failed += 1
                        logger.warning(
                            "node %r could not reactivate agent %r of node %r: %s: %s",
                            self.node_id,
                            agent_id,
                            peer,
                            type(exc).__name__,
                            exc,
                        )
                if scope.cancelled_caught:
                    self._reactivate_failed += 1
                    logger.warning(
                        "node %r could not reactivate agent %r of node %r within %g s",
                        self.node_id,
                        agent_id,
                        peer,
                        bound,
                    )

        async with trio.open_nursery() as nursery:
            for agent_id in mine:
                nursery.start_soon(reactivate, agent_id)
        with contextlib.suppress(RedisUnavailableError):
            await self.node.leases.disown(peer, done)
            if not await self.node.leases.owned_by(peer) and not await self.node.inbox.pending(peer):
                await self.node.membership.forget(peer)  # nothing left of it for a node starting later
        if CLUSTER_FAILOVER in _BY_NAME:
            emit(
                CLUSTER_FAILOVER,
                node_id=self.node_id,
                peer=peer,
                rerouted=rerouted,
                reactivated=len(done),
                duration=trio.current_time() - started,
            )

    async def _watch_journal(self, journal: RedisJournal) -> None:
        """Wake this runtime's bus subscriptions when another node appended to the shared journal."""
        seen = await journal.last_offset()
        while True:
            await trio.sleep(self.journal_poll)
            try:
                last = await journal.last_offset()
            except RedisUnavailableError:
                continue
            if last > seen:
                seen = last
                for sub in self.runtime.bus.subscriptions():
                    sub.notify()

    async def _serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            await nursery.start(self.server.serve)
            await nursery.start(self._watch)
            journal = self.runtime.bus.journal
            if isinstance(journal, RedisJournal):
                nursery.start_soon(self._watch_journal, journal)
            task_status.started()


@contextlib.asynccontextmanager
async def open_cluster_runtime(
    url: str,
    *,
    node_id: str,
    resolve: Resolve,
    namespace: str = "jido",
    host: bool = True,
    node_ttl: float = DEFAULT_NODE_TTL,
    lease_ttl: float = DEFAULT_LEASE_TTL,
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
    handle_timeout: float = DEFAULT_HANDLE_TIMEOUT,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    command_timeout: float = DEFAULT_COMMAND_TIMEOUT,
    **runtime_options: Any,
) -> AsyncIterator[ClusterRuntime]:
    """Join the cluster on Redis at ``url`` as ``node_id`` with a runtime on the cluster's journal and fenced
    store; on the way out, stop the runtime's agents, then release their leases and leave.

    Args:
        resolve: the agent class (or spec) of an agent id, the same on every node.
        host: run agents here (False: a node that only calls, casts and publishes).
        runtime_options: passed to :func:`jido.open_runtime` (``mailbox_size``, ``idle_timeout``, ...).

    Raises:
        RedisUnavailableError: the server could not be reached, or has not the database ``url`` names (named
            by its URL, without a password).
        ValueError: ``url`` is not a Redis URL (or names its database by other than a number), or a bad node
            id, namespace or TTL.
    """
    inner: BaseException | None = None
    async with open_cluster_node(
        url,
        node_id=node_id,
        namespace=namespace,
        node_ttl=node_ttl,
        lease_ttl=lease_ttl,
        member=host,
        connect_timeout=connect_timeout,
        command_timeout=command_timeout,
    ) as node:
        journal = RedisJournal(node.client, namespace=namespace, url=url, command_timeout=command_timeout)
        async with open_runtime(journal=journal, store=node.store, **runtime_options) as runtime:
            cluster = ClusterRuntime(
                node,
                runtime,
                resolve,
                host=host,
                max_in_flight=max_in_flight,
                handle_timeout=handle_timeout,
            )
            try:
                async with trio.open_nursery() as nursery:
                    await nursery.start(cluster._serve)
                    try:
                        yield cluster
                    finally:
                        nursery.cancel_scope.cancel()
            except BaseExceptionGroup as group:
                inner = unwrap(group)
                if inner is group:
                    raise
    if inner is not None:
        raise inner
