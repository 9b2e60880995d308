"""Node inboxes: signals sent to a node, in a Redis Stream read through a consumer group.

Each node has one inbox stream. Another node sends it a signal (a cast, a call with the node to answer to,
or a bus delivery for an agent it hosts) with :meth:`Inbox.send`; the node reads with :meth:`Inbox.receive`
(``XREADGROUP``, blocking) and acknowledges with :meth:`Inbox.ack` once the signal is handled (``XACK`` and
``XDEL`` in one script, so the stream holds only what is not yet handled). A message read and not acked stays
in the group's pending list: when a node dies, a survivor takes its pending and unread messages with
:meth:`Inbox.claim_from` (``XPENDING`` + ``XCLAIM``) and routes them to the agents' new homes; nothing accepted is lost.

Inboxes are bounded: a send to an inbox holding ``max_pending`` messages raises :class:`InboxFullError`
(the sender decides: wait and retry, or fail the call), never drops a message.

Layout, under namespace ``ns``::

    {ns}:cluster:inbox:<node>   stream  fields s = the signal's JSON, a = the agent it is for ("" if none),
                                        r = the node to answer to ("" if none), c = the correlation id of a
                                        call ("" if none); group "jido"
    {ns}:cluster:reply:<node>   stream  answers to the node's calls: c = the correlation id, n = the node
                                        that answered, d = the answer's JSON; read without a group (an
                                        answer whose caller is gone is not needed), capped near MAXLEN

Answers do not go through the inbox: :meth:`Inbox.reply` adds the answer to the caller's reply stream and acks
the call's message in one script, and the caller reads its reply stream with a plain ``XREAD``, so a call
costs no ack of its own.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

import attrs
import coredis.exceptions
import trio

from jido._redis import DEFAULT_COMMAND_TIMEOUT, Guard, RedisClient, redact_url
from jido.cluster.names import check_cluster_namespace, check_node_id
from jido.errors import BrokenError, JidoError, SignalError
from jido.signal import Signal

__all__ = ["DEFAULT_MAX_PENDING", "GROUP", "Inbox", "InboxFullError", "InboxMessage"]

GROUP: Final = "jido"
"""The consumer group every inbox is read through."""

DEFAULT_MAX_PENDING: Final = 100_000
"""Messages an inbox holds (unread and unacked) before sends to it are refused."""

# KEYS: inbox. ARGV: max, signal JSON, reply-to, correlation, agent id. Returns {'OK', id} or {'FULL', length}.
_SEND: Final = """
local kind = redis.call('TYPE', KEYS[1]).ok
if kind ~= 'none' and kind ~= 'stream' then return {'BROKEN', KEYS[1], 'holds a ' .. kind .. ', not a stream'} end
local length = redis.call('XLEN', KEYS[1])
if length >= tonumber(ARGV[1]) then return {'FULL', length} end
if kind == 'none' then redis.call('XGROUP', 'CREATE', KEYS[1], 'jido', '0', 'MKSTREAM') end
return {'OK', redis.call('XADD', KEYS[1], '*', 's', ARGV[2], 'r', ARGV[3], 'c', ARGV[4], 'a', ARGV[5])}
"""

# KEYS: inbox. ARGV: ids. Acks and deletes them; returns how many were acked.
_ACK: Final = """
if redis.call('TYPE', KEYS[1]).ok ~= 'stream' then return 0 end
local acked = redis.call('XACK', KEYS[1], 'jido', unpack(ARGV))
redis.call('XDEL', KEYS[1], unpack(ARGV))
return acked
"""

# KEYS: inbox. Creates the group (and the stream) if missing.
_ENSURE: Final = """
local kind = redis.call('TYPE', KEYS[1]).ok
if kind ~= 'none' and kind ~= 'stream' then return {'BROKEN', KEYS[1], 'holds a ' .. kind .. ', not a stream'} end
if kind == 'none' then
  redis.call('XGROUP', 'CREATE', KEYS[1], 'jido', '0', 'MKSTREAM')
else
  local ok = redis.pcall('XGROUP', 'CREATE', KEYS[1], 'jido', '0')
  if type(ok) == 'table' and ok.err and not string.find(ok.err, 'BUSYGROUP', 1, true) then return {'BROKEN', KEYS[1], ok.err} end
end
return {'OK'}
"""

# KEYS: the dead node's inbox. ARGV: our consumer name, count, the dead node's consumer name. Claims the
# messages the dead node read and did not ack (any idle time: it is known dead), then reads its unread ones
# into our consumer. Returns a flat list id, fields, ...
_CLAIM: Final = """
if redis.call('TYPE', KEYS[1]).ok ~= 'stream' then return {} end
local out = {}
local pending = redis.call('XPENDING', KEYS[1], 'jido', '-', '+', tonumber(ARGV[2]), ARGV[3])
if #pending > 0 then
  local ids = {}
  for i, entry in ipairs(pending) do ids[i] = entry[1] end
  for _, entry in ipairs(redis.call('XCLAIM', KEYS[1], 'jido', ARGV[1], 0, unpack(ids))) do
    out[#out + 1] = entry
  end
end
if #out < tonumber(ARGV[2]) then
  local unread = redis.call('XREADGROUP', 'GROUP', 'jido', ARGV[1], 'COUNT', tonumber(ARGV[2]) - #out,
    'STREAMS', KEYS[1], '>')
  if unread then for _, entry in ipairs(unread[1][2]) do out[#out + 1] = entry end end
end
return out
"""


# KEYS: the caller's reply stream, the inbox the call was read from. ARGV: correlation, node, answer JSON, max
# length, then the ids to ack in that inbox. Adds the answer, acks and deletes the ids.
_REPLY: Final = """
local kind = redis.call('TYPE', KEYS[1]).ok
if kind ~= 'none' and kind ~= 'stream' then return {'BROKEN', KEYS[1], 'holds a ' .. kind .. ', not a stream'} end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], '*', 'c', ARGV[1], 'n', ARGV[2], 'd', ARGV[3])
if #ARGV > 4 and redis.call('TYPE', KEYS[2]).ok == 'stream' then
  redis.call('XACK', KEYS[2], 'jido', unpack(ARGV, 5))
  redis.call('XDEL', KEYS[2], unpack(ARGV, 5))
end
return {'OK'}
"""

REPLY_MAXLEN: Final = 10_000
"""Answers a reply stream keeps (about): its reader takes them within moments; the cap bounds a dead caller's."""


def _bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8")


class InboxFullError(JidoError, trio.WouldBlock):
    """The node's inbox holds ``max_pending`` messages already; the message was not sent."""

    def __init__(self, node_id: str, size: int) -> None:
        super().__init__(f"inbox of node {node_id!r} is full ({size} messages)")
        self.node_id = node_id
        self.size = size


@attrs.frozen
class InboxMessage:
    """A message read from an inbox.

    Attributes:
        id: its stream entry id (what :meth:`Inbox.ack` takes).
        inbox: the node whose inbox it was read from (another node's, when claimed from it).
        signal: the signal.
        agent_id: the agent it is for, or None for the node itself.
        reply_to: the node to send the answer to, or None for a cast or a delivery.
        correlation: the call's correlation id, or None.
    """

    id: str
    inbox: str
    signal: Signal
    agent_id: str | None
    reply_to: str | None
    correlation: str | None


class Inbox:
    """A node's inbox, and the way it sends to the others'.

    Args:
        client: a connected ``coredis`` client (``decode_responses=False``), entered by the caller.
        node_id: this node's id.
        namespace: the hash tag shared with the cluster's other keys.
        max_pending: the most messages an inbox holds before sends to it are refused.
        url: the server's URL for messages (a password in it is never shown).
        command_timeout: seconds to wait for one answer (a blocking receive waits its own ``timeout`` more).
    """

    def __init__(
        self,
        client: RedisClient,
        *,
        node_id: str,
        namespace: str = "jido",
        max_pending: int = DEFAULT_MAX_PENDING,
        url: str = "redis",
        command_timeout: float = DEFAULT_COMMAND_TIMEOUT,
    ) -> None:
        if isinstance(max_pending, bool) or not isinstance(max_pending, int) or max_pending < 1:
            raise ValueError(f"max_pending must be an int >= 1, got {max_pending!r}")
        self.node_id = check_node_id(node_id)
        self._namespace = check_cluster_namespace(namespace)
        self.max_pending = max_pending
        self._client = client
        self._url = redact_url(url)
        self._guard = Guard(self._url, command_timeout)
        self._prefix = f"{{{namespace}}}:cluster:inbox:"
        self._send = client.register_script(_SEND)
        self._ack = client.register_script(_ACK)
        self._ensure = client.register_script(_ENSURE)
        self._claim = client.register_script(_CLAIM)
        self._reply = client.register_script(_REPLY)
        self._reply_prefix = f"{{{namespace}}}:cluster:reply:"
        self._reply_seen: bytes | None = None
        self._ready = False

    def __repr__(self) -> str:
        return f"<Inbox of node {self.node_id!r}>"

    def key(self, node_id: str | None = None) -> str:
        """The stream key of ``node_id``'s inbox (this node's by default)."""
        return self._prefix + (self.node_id if node_id is None else node_id)

    def _broken(self, reply: Any) -> None:
        if isinstance(reply, list | tuple) and reply and reply[0] == b"BROKEN":
            raise BrokenError(
                f"Redis key {reply[1].decode('utf-8', 'replace')!r} {reply[2].decode('utf-8', 'replace')}"
            )

    async def send(
        self,
        node_id: str,
        signal: Signal,
        *,
        agent_id: str | None = None,
        reply_to: str | None = None,
        correlation: str | None = None,
    ) -> str:
        """Put ``signal`` for ``agent_id`` in ``node_id``'s inbox; returns its entry id.

        Raises:
            InboxFullError: that inbox holds ``max_pending`` messages; nothing was sent.
            BrokenError: its key holds another type (named).
            RedisUnavailableError: the server could not be reached or did not answer.
        """
        if not isinstance(signal, Signal):
            raise TypeError(f"signal must be a Signal, got {type(signal).__name__}")
        reply: list[Any] = await self._guard(
            self._send(
                keys=[self.key(node_id)],
                args=[
                    str(self.max_pending),
                    signal.to_json().encode(),
                    reply_to or "",
                    correlation or "",
                    (agent_id or "").encode(),
                ],
            )
        )
        self._broken(reply)
        if reply[0] == b"FULL":
            raise InboxFullError(node_id, int(reply[1]))
        return str(reply[1].decode("ascii"))

    def reply_key(self, node_id: str | None = None) -> str:
        """The stream key of ``node_id``'s answers (this node's by default)."""
        return self._reply_prefix + (self.node_id if node_id is None else node_id)

    async def reply(
        self, node_id: str, correlation: str, answer: bytes, *, ack: InboxMessage | None = None
    ) -> None:
        """Answer the call ``correlation`` of node ``node_id`` with ``answer`` (JSON), and ack the call's
        message ``ack`` (read from this node's inbox, or claimed from another's) in the same round trip.

        Raises:
            BrokenError: the reply key holds another type (named).
            RedisUnavailableError: the server could not be reached or did not answer.
        """
        args: list[str | bytes] = [correlation, self.node_id, answer, str(REPLY_MAXLEN)]
        inbox = self.key()
        if ack is not None:
            args.append(ack.id)
            inbox = self.key(ack.inbox)
        self._broken(await self._guard(self._reply(keys=[self.reply_key(node_id), inbox], args=args)))

    async def receive_replies(
        self, *, count: int = 256, timeout: float = 1.0
    ) -> list[tuple[str, str, bytes]]:
        """Up to ``count`` new answers to this node's calls, waiting up to ``timeout`` seconds for the first:
        (correlation, answering node, answer JSON) each. Answers added before the first call are skipped."""
        key = self.reply_key()
        if self._reply_seen is None:
            last = await self._guard(self._client.xrevrange(key, count=1))
            self._reply_seen = _bytes(last[0].identifier) if last else b"0-0"
        reply = await self._guard(
            self._client.xread(
                {key: self._reply_seen or b"0-0"},
                count=count,
                block=dt.timedelta(milliseconds=max(1, round(timeout * 1000))),
            ),
            extra=timeout,
        )
        if not reply:
            return []
        out: list[tuple[str, str, bytes]] = []
        for entry in next(iter(reply.values())):
            self._reply_seen = _bytes(entry.identifier)
            fields = entry.field_values
            correlation = _bytes(fields.get(b"c", b"")).decode("utf-8", "replace")
            node = _bytes(fields.get(b"n", b"")).decode("utf-8", "replace")
            out.append((correlation, node, _bytes(fields.get(b"d", b""))))
        return out

    async def _ensure_group(self) -> None:
        if not self._ready:
            self._broken(await self._guard(self._ensure(keys=[self.key()], args=[])))
            self._ready = True

    def _message(self, inbox: str, ident: str | bytes, fields: Any) -> InboxMessage:
        if isinstance(ident, str):  # pragma: no cover - the client gives bytes (decode_responses=False)
            ident = ident.encode("ascii")
        if isinstance(fields, list):  # from a script: a flat field, value list
            fields = dict(zip(fields[::2], fields[1::2], strict=True))
        where = f"{self.key(inbox)!r} entry {ident.decode('ascii', 'replace')}"
        try:
            signal = Signal.from_json(fields[b"s"], max_bytes=None)
        except (KeyError, SignalError):
            raise BrokenError(f"Redis key {where} is not a readable inbox message") from None
        reply_to = fields.get(b"r", b"").decode("utf-8", "replace") or None
        correlation = fields.get(b"c", b"").decode("utf-8", "replace") or None
        agent_id = fields.get(b"a", b"").decode("utf-8", "replace") or None
        return InboxMessage(ident.decode("ascii"), inbox, signal, agent_id, reply_to, correlation)

    async def receive_pending(self, *, after: str = "0", count: int = 100) -> list[InboxMessage]:
        """Up to ``count`` messages this node read and did not ack (an earlier incarnation of it, killed
        before it acked), after entry id ``after``: call again with the last id returned until it returns
        nothing. They stay pending until :meth:`ack`."""
        await self._ensure_group()
        reply = await self._guard(
            self._client.xreadgroup(GROUP, self.node_id, streams={self.key(): after}, count=count)
        )
        if not reply:
            return []
        return [
            self._message(self.node_id, entry.identifier, entry.field_values)
            for entry in next(iter(reply.values()))
        ]

    async def receive(self, *, count: int = 100, timeout: float = 1.0) -> list[InboxMessage]:
        """Up to ``count`` new messages of this node's inbox, waiting up to ``timeout`` seconds for the first.

        Returns an empty list when none came in time. What is returned is pending until :meth:`ack`.
        """
        await self._ensure_group()
        block = max(1, round(timeout * 1000))
        try:
            reply = await self._guard(
                self._client.xreadgroup(
                    GROUP,
                    self.node_id,
                    streams={self.key(): ">"},
                    count=count,
                    block=dt.timedelta(milliseconds=block),
                ),
                extra=timeout,
            )
        except coredis.exceptions.ResponseError as exc:
            if "NOGROUP" in str(exc):  # the stream was deleted under us (FLUSHDB): make it again
                self._ready = False
                return []
            raise
        if not reply:
            return []
        return [
            self._message(self.node_id, entry.identifier, entry.field_values)
            for entry in next(iter(reply.values()))
        ]

    async def ack(self, messages: list[InboxMessage]) -> int:
        """Acknowledge handled messages (and delete them from their inbox); returns how many were pending."""
        done = 0
        by_inbox: dict[str, list[str]] = {}
        for message in messages:
            by_inbox.setdefault(message.inbox, []).append(message.id)
        for inbox, ids in by_inbox.items():
            done += int(await self._guard(self._ack(keys=[self.key(inbox)], args=ids)))
        return done

    async def claim_from(self, node_id: str, *, count: int = 100) -> list[InboxMessage]:
        """Take over up to ``count`` messages of a dead node's inbox: its pending (read, not acked) ones first,
        then its unread ones. Ack them here once routed; call again until it returns nothing."""
        reply: list[Any] = await self._guard(
            self._claim(keys=[self.key(node_id)], args=[self.node_id, str(count), node_id])
        )
        return [self._message(node_id, entry[0], entry[1]) for entry in reply]

    async def pending(self, node_id: str | None = None) -> int:
        """How many messages ``node_id``'s inbox holds (unread or unacked)."""
        try:
            return int(await self._guard(self._client.xlen(self.key(node_id))))
        except coredis.exceptions.WrongTypeError:
            raise BrokenError(f"Redis key {self.key(node_id)!r} holds another type than a stream") from None
