"""The shipped plugins, pure: Thread, Memory and Audit, their bounds and their hostile inputs."""

from __future__ import annotations

import math
from typing import Any

import pytest

import jido
from jido.agent.directives import Error, Schedule
from jido.agent.spec import Agent
from jido.errors import DefinitionError, ValidationError
from jido.plugins import Audit, AuditEntry, Memory, MemoryEntry, Message, Thread
from jido.plugins.memory import EXPIRE

from .kit import Counter, counter, sig


def run(agent: Agent[Counter], *signals: Any) -> tuple[Agent[Counter], list[Any]]:
    directives: list[Any] = []
    for signal in signals:
        agent, more = jido.handle(agent, signal)
        directives.extend(more)
    return agent, directives


def say(text: str, role: str = "user") -> jido.Signal:
    return sig("thread.append", {"role": role, "text": text})


class TestThread:
    def test_appends_numbered_messages(self) -> None:
        """Messages are appended in order, numbered from 1, with the id of the signal that brought them."""
        first = say("hi")
        agent, directives = run(counter(Thread).new(), first, say("hello", "assistant"))
        messages = Thread.state_of(agent).messages
        assert [(m.seq, m.role, m.text) for m in messages] == [(1, "user", "hi"), (2, "assistant", "hello")]
        assert messages[0].signal_id == first.id and directives == []

    def test_bound_drops_oldest(self) -> None:
        """Past the limit the oldest messages go, counted; numbering goes on."""
        agent, _ = run(counter(Thread.configure(limit=2)).new(), say("a"), say("b"), say("c"))
        state = Thread.state_of(agent)
        assert [m.text for m in state.messages] == ["b", "c"]
        assert (state.dropped, state.next_seq) == (1, 4)

    def test_long_text_is_cut_and_marked(self) -> None:
        """A text past max_chars is cut there and marked truncated."""
        agent, _ = run(counter(Thread.configure(max_chars=3)).new(), say("abcdef"))
        assert Thread.state_of(agent).messages == (
            Message(1, "user", "abc", Thread.state_of(agent).messages[0].signal_id, True),
        )

    def test_clear(self) -> None:
        """thread.clear drops every message and counts them as dropped."""
        agent, _ = run(counter(Thread).new(), say("a"), say("b"), sig("thread.clear"))
        state = Thread.state_of(agent)
        assert (state.messages, state.dropped, state.next_seq) == ((), 2, 3)

    @pytest.mark.parametrize(
        "data",
        [
            {"role": "", "text": "x"},
            {"role": "r" * 65, "text": "x"},
            {"role": 1, "text": "x"},
            {"text": "x"},
            ["x"],
        ],
    )
    def test_bad_params_fail_validation(self, data: Any) -> None:
        """A role that is empty, too long or not a string is refused as params."""
        _, [error] = run(counter(Thread).new(), sig("thread.append", data))
        assert isinstance(error, Error) and isinstance(error.error, ValidationError | jido.ActionError)


class TestMemory:
    def test_put_and_delete(self) -> None:
        """Values are stored under their keys, each with the write's version; delete forgets one."""
        agent, _ = run(
            counter(Memory).new(),
            sig("memory.put", {"key": "a", "value": {"x": [1, 2]}}),
            sig("memory.put", {"key": "b", "value": "two"}),
            sig("memory.delete", {"key": "a"}),
            sig("memory.delete", {"key": "missing"}),
        )
        state = Memory.state_of(agent)
        assert state.entries == {"b": MemoryEntry("two", 2, None)} and state.next_version == 3

    def test_ttl_schedules_expiry(self) -> None:
        """A TTL stores the entry and schedules its expiry as a directive (the runtime's clock runs it)."""
        agent, [directive] = run(
            counter(Memory).new(id="m"), sig("memory.put", {"key": "k", "value": 1, "ttl": 5})
        )
        assert isinstance(directive, Schedule) and directive.delay == 5
        assert directive.signal.type == EXPIRE and directive.signal.data == {"key": "k", "version": 1}
        agent, _ = run(agent, directive.signal)
        assert Memory.state_of(agent).entries == {} and Memory.state_of(agent).expired == 1

    def test_stale_expiry_ignored(self) -> None:
        """An expiry scheduled by an older write does not remove a newer value."""
        agent, [old] = run(counter(Memory).new(), sig("memory.put", {"key": "k", "value": 1, "ttl": 5}))
        agent, _ = run(agent, sig("memory.put", {"key": "k", "value": 2}), old.signal)
        assert Memory.state_of(agent).entries == {"k": MemoryEntry(2, 2, None)}

    def test_ttl_capped_and_default(self) -> None:
        """A TTL above max_ttl is capped; default_ttl applies to puts without one."""
        plugin = Memory.configure(max_ttl=10.0, default_ttl=3.0)
        _, directives = run(
            counter(plugin).new(),
            sig("memory.put", {"key": "a", "ttl": 100}),
            sig("memory.put", {"key": "b"}),
        )
        assert [d.delay for d in directives] == [10.0, 3.0]

    def test_max_keys_evicts_oldest_written(self) -> None:
        """A new key in a full memory evicts the oldest written key; rewriting a key evicts nothing."""
        agent, _ = run(
            counter(Memory.configure(max_keys=2)).new(),
            sig("memory.put", {"key": "a", "value": 1}),
            sig("memory.put", {"key": "b", "value": 2}),
            sig("memory.put", {"key": "a", "value": 3}),
            sig("memory.put", {"key": "c", "value": 4}),
        )
        state = Memory.state_of(agent)
        assert sorted(state.entries) == ["a", "c"] and state.evicted == 1

    def test_clear(self) -> None:
        """memory.clear forgets every key."""
        agent, _ = run(
            counter(Memory).new(), sig("memory.put", {"key": "a"}), sig("memory.clear"), sig("memory.clear")
        )
        assert Memory.state_of(agent).entries == {}

    @pytest.mark.parametrize(
        "data",
        [
            {"key": "", "value": 1},
            {"key": "k" * 257},
            {"key": "k", "ttl": 0},
            {"key": "k", "ttl": -1},
            {"key": "k", "ttl": True},
            {"key": "k", "ttl": "5"},
            {"key": 3},
        ],
    )
    def test_hostile_puts_refused(self, data: Any) -> None:
        """Empty or huge keys and TTLs that are not finite positive numbers are refused as params."""
        agent, [error] = run(counter(Memory).new(), sig("memory.put", data))
        assert isinstance(error, Error) and Memory.state_of(agent).entries == {}

    def test_value_bytes_bounded(self) -> None:
        """A value over max_value_bytes as JSON fails the put, naming the key; the memory stays as it was."""
        agent, [error] = run(
            counter(Memory.configure(max_value_bytes=10)).new(),
            sig("memory.put", {"key": "big", "value": "x" * 20}),
        )
        assert isinstance(error, Error) and "memory value for 'big' is 22 bytes as JSON" in str(error.error)
        assert Memory.state_of(agent).entries == {}

    @pytest.mark.parametrize("ttl", [math.inf, math.nan, -math.inf])
    def test_non_finite_ttl_refused(self, ttl: float) -> None:
        """Non-finite TTLs (which no signal can carry, but code can) are refused as params too."""
        spec = counter(Memory)
        [put] = [r.action for r in spec.routes if r.pattern == "memory.put"]
        agent, [error] = jido.cmd(spec.new(), (put, {"key": "k", "ttl": ttl}))
        assert isinstance(error, Error) and Memory.state_of(agent).entries == {}


class TestAudit:
    def test_records_handled_signals(self) -> None:
        """Each handled signal is recorded with its type, id, actions and outcome."""
        first = sig("counter.inc")
        agent, _ = run(counter(Audit).new(), first, sig("counter.shout"))
        entries = Audit.state_of(agent).entries
        assert entries[0] == AuditEntry(1, "counter.inc", first.id, "ok", ("inc",), None)
        assert [e.signal_type for e in entries] == ["counter.inc", "counter.shout"]

    def test_records_errors(self) -> None:
        """A failed signal is recorded with outcome "error" and its first error, shortened."""
        agent, _ = run(counter(Audit.configure(max_error_chars=20)).new(), sig("counter.boom"))
        state = Audit.state_of(agent)
        [entry] = state.entries
        assert entry.outcome == "error" and entry.error is not None and len(entry.error) == 20
        assert state.errors == 1

    def test_bound(self) -> None:
        """Only the last `limit` entries are kept; total counts all."""
        agent, _ = run(counter(Audit.configure(limit=2)).new(), *(sig("counter.inc") for _ in range(5)))
        state = Audit.state_of(agent)
        assert [e.seq for e in state.entries] == [4, 5] and state.total == 5

    def test_direct_cmd_not_recorded(self) -> None:
        """cmd without a signal is not a handled signal."""
        from .kit import INC

        agent, _ = jido.cmd(counter(Audit).new(), INC)
        assert Audit.state_of(agent).total == 0

    def test_system_signals(self) -> None:
        """jido.* signals are left out unless include_system; child notices are recorded by the signal hook."""
        agent, _ = run(counter(Audit).new(), sig("jido.agent.child.started", {"tag": "w"}))
        [entry] = Audit.state_of(agent).entries
        assert (entry.signal_type, entry.actions) == ("jido.agent.child.started", ())
        agent, _ = run(counter(Audit.configure(include_system=True)).new(), sig("jido.agent.child.exit"))
        assert [e.actions for e in Audit.state_of(agent).entries] == [(), ("audit.on_child",)]
        agent, _ = run(counter(Audit.configure(children=False)).new(), sig("jido.agent.child.exit"))
        assert Audit.state_of(agent).total == 0


@pytest.mark.parametrize(
    ("plugin", "config"),
    [
        (Thread, {"limit": 0}),
        (Thread, {"limit": -1}),
        (Thread, {"limit": 10**12}),
        (Thread, {"limit": 1.5}),
        (Thread, {"limit": None}),
        (Thread, {"max_chars": 0}),
        (Memory, {"max_keys": 0}),
        (Memory, {"max_value_bytes": 0}),
        (Memory, {"max_value_bytes": 2**40}),
        (Memory, {"max_ttl": math.inf}),
        (Memory, {"max_ttl": math.nan}),
        (Memory, {"max_ttl": -5.0}),
        (Memory, {"default_ttl": 0.0}),
        (Memory, {"default_ttl": "1"}),
        (Audit, {"limit": True}),
        (Audit, {"limit": 10_001}),
        (Audit, {"include_system": "yes"}),
        (Audit, {"max_error_chars": 0}),
        (Audit, {"bogus": 1}),
    ],
)
def test_hostile_config_refused(plugin: Any, config: dict[str, Any]) -> None:
    """Out-of-range, non-finite, wrongly typed or unknown config values are refused at definition."""
    with pytest.raises(DefinitionError, match=rf"^invalid plugin '{plugin.name}' config: "):
        plugin.configure(**config)


def test_called_like_a_plugin_class() -> None:
    """A shipped plugin is configured by calling it, as in @agent(plugins=[Audit(limit=100)])."""
    assert Audit(limit=100).config.limit == 100 and Thread(limit=5) == Thread.configure(limit=5)
    with pytest.raises(DefinitionError, match=r"^invalid plugin 'audit' config: \$\.limit: "):
        Audit(limit=0)


def test_all_three_mount_together() -> None:
    """The three plugins mount into one agent side by side."""
    spec = counter(Thread, Memory, Audit)
    agent, _ = run(spec.new(), say("x"), sig("memory.put", {"key": "k"}))
    assert Audit.state_of(agent).total == 2 and len(Thread.state_of(agent).messages) == 1
