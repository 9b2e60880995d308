"""Attaching, detaching and emitting: patterns, order, failing handlers, the catalogue and its checks."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from jido.telemetry import (
    CATALOGUE,
    Event,
    FieldSpec,
    attach,
    attachments,
    define_event,
    detach_all,
    emit,
    enabled,
    event_spec,
    validate_fields,
)
from jido.telemetry.events import _REGISTRY
from jido.telemetry.handlers import _BY_NAME, _FAMILIES, _rebuild

PUBLISHED = {"offset": 1, "signal_id": "s1", "signal_type": "a.b", "subscriptions": 0}


class TestAttach:
    def test_exact_name(self) -> None:
        """A handler attached to one name gets that event and no other."""
        seen: list[Event] = []
        attach("jido.bus.published", seen.append)
        emit("jido.bus.published", **PUBLISHED)
        emit("jido.bus.delivered", subscription="s")
        assert [e.name for e in seen] == ["jido.bus.published"]
        assert seen[0].fields == PUBLISHED

    def test_star_matches_one_segment(self) -> None:
        """'jido.bus.*' matches every bus event and nothing outside the bus family."""
        attachment = attach("jido.bus.*", lambda e: None)
        assert attachment.names == {n for n in CATALOGUE if n.startswith("jido.bus.")}

    def test_double_star_matches_everything(self) -> None:
        """'**' matches every catalogued event."""
        assert attach("**", lambda e: None).names == set(CATALOGUE)

    def test_pattern_matching_no_event_is_refused(self) -> None:
        """A pattern that matches no event raises at attach time (a typo would never fire)."""
        with pytest.raises(ValueError, match=r"^attach: pattern 'jido\.buss\.\*' matches no telemetry event"):
            attach("jido.buss.*", lambda e: None)

    def test_malformed_pattern_is_refused(self) -> None:
        """A malformed pattern raises ValueError naming the problem."""
        with pytest.raises(ValueError, match=r"^attach: invalid pattern 'jido\.\.bus': empty segment"):
            attach("jido..bus", lambda e: None)

    def test_non_callable_handler_is_refused(self) -> None:
        """A handler that cannot be called raises TypeError."""
        with pytest.raises(TypeError, match=r"^attach: handler must be callable, got 3$"):
            attach("jido.bus.published", 3)  # type: ignore[arg-type]

    def test_non_string_pattern_is_refused(self) -> None:
        """A pattern that is not a string raises TypeError."""
        with pytest.raises(TypeError, match=r"^attach: pattern must be a string, got None$"):
            attach(None, print)  # type: ignore[arg-type]

    def test_attachments_lists_in_order(self) -> None:
        """attachments() lists what is attached, in attach order."""
        first = attach("jido.bus.*", lambda e: None)
        second = attach("jido.agent.*", lambda e: None)
        assert attachments() == [first, second]


class TestDetach:
    def test_detach_stops_delivery(self) -> None:
        """After detach the handler gets nothing and the name has no handlers."""
        seen: list[Event] = []
        attachment = attach("jido.bus.published", seen.append)
        attachment.detach()
        emit("jido.bus.published", **PUBLISHED)
        assert seen == [] and not enabled("jido.bus.published") and not attachment.attached

    def test_detach_twice_is_harmless(self) -> None:
        """Detaching an attachment twice does nothing the second time."""
        attachment = attach("jido.bus.published", lambda e: None)
        attachment.detach()
        attachment.detach()
        assert attachments() == []

    def test_context_manager_detaches(self) -> None:
        """Used as a context manager, an attachment detaches on exit."""
        with attach("jido.bus.published", lambda e: None) as attachment:
            assert enabled("jido.bus.published")
        assert not attachment.attached and not enabled("jido.bus.published")

    def test_detach_keeps_other_handlers(self) -> None:
        """Detaching one handler of a name leaves the others attached."""
        seen: list[str] = []
        one = attach("jido.bus.published", lambda e: seen.append("one"))
        attach("jido.bus.*", lambda e: seen.append("two"))
        one.detach()
        emit("jido.bus.published", **PUBLISHED)
        assert seen == ["two"]

    def test_detach_all(self) -> None:
        """detach_all removes every handler and clears the per-name table."""
        attach("**", lambda e: None)
        detach_all()
        assert attachments() == [] and _BY_NAME == {} and not _FAMILIES


class TestEmit:
    def test_handlers_called_in_attach_order(self) -> None:
        """Handlers of one event run in attach order."""
        seen: list[str] = []
        attach("jido.bus.*", lambda e: seen.append("pattern"))
        attach("jido.bus.published", lambda e: seen.append("exact"))
        emit("jido.bus.published", **PUBLISHED)
        assert seen == ["pattern", "exact"]

    def test_without_handlers_nothing_happens(self) -> None:
        """Emitting an event nobody listens to is a no-op (and the table stays empty)."""
        emit("jido.bus.published", **PUBLISHED)
        assert _BY_NAME == {}

    def test_unknown_name_is_a_no_op(self) -> None:
        """Emitting a name outside the catalogue reaches nobody, even a '**' handler."""
        seen: list[Event] = []
        attach("**", seen.append)
        emit("myapp.not.defined", x=1)
        assert seen == []

    def test_raising_handler_is_detached_and_logged(self, caplog: pytest.LogCaptureFixture) -> None:
        """A handler that raises is detached, logged on 'jido.telemetry', and the others still run."""
        seen: list[str] = []

        def broken(event: Event) -> None:
            raise RuntimeError("boom")

        bad = attach("jido.bus.published", broken)
        attach("jido.bus.published", lambda e: seen.append(e.name))
        with caplog.at_level(logging.ERROR, logger="jido.telemetry"):
            emit("jido.bus.published", **PUBLISHED)
            emit("jido.bus.published", **PUBLISHED)
        assert not bad.attached
        assert seen == ["jido.bus.published"] * 2
        [record] = caplog.records
        assert record.name == "jido.telemetry"
        assert "raised on 'jido.bus.published' and was detached" in record.getMessage()
        assert record.exc_info is not None and isinstance(record.exc_info[1], RuntimeError)

    def test_families_follow_handlers(self) -> None:
        """The family set holds the families that have a handled event, and nothing else."""
        attachment = attach("jido.bus.published", lambda e: None)
        assert sorted(_FAMILIES) == ["jido.bus"]
        attachment.detach()
        assert not _FAMILIES


class TestCatalogue:
    def test_names_are_three_segments_under_jido(self) -> None:
        """Every built-in event is named jido.<family>.<event>."""
        for name in CATALOGUE:
            assert name.startswith("jido.") and name.count(".") == 2, name

    def test_issue_events_are_catalogued(self) -> None:
        """The events the runtime promises are all in the catalogue."""
        wanted = {
            "jido.action.start",
            "jido.action.stop",
            "jido.action.exception",
            "jido.signal.received",
            "jido.signal.routed",
            "jido.signal.unroutable",
            "jido.directive.executed",
            "jido.agent.started",
            "jido.agent.stopped",
            "jido.agent.restarted",
            "jido.agent.crashed",
            "jido.supervisor.escalated",
            "jido.bus.published",
            "jido.bus.delivered",
            "jido.bus.redelivered",
            "jido.bus.dead_lettered",
            "jido.gateway.connected",
            "jido.gateway.disconnected",
            "jido.gateway.lagging",
        }
        assert wanted <= set(CATALOGUE)

    def test_every_field_is_documented(self) -> None:
        """Every field of every event has a type and a description."""
        for spec in CATALOGUE.values():
            assert spec.doc
            for field in spec.fields:
                assert field.types and field.doc, (spec.name, field.name)

    def test_event_spec_of_unknown_name(self) -> None:
        """event_spec of a name outside the catalogue raises LookupError."""
        with pytest.raises(LookupError, match=r"^no telemetry event named 'jido\.nope\.x'$"):
            event_spec("jido.nope.x")


class TestValidateFields:
    def test_exact_fields_pass(self) -> None:
        """Fields exactly as documented pass."""
        validate_fields("jido.bus.published", PUBLISHED)

    def test_missing_unexpected_and_mistyped(self) -> None:
        """Missing, unexpected and mistyped fields are all named in one message."""
        fields = {"offset": "1", "signal_id": "s1", "signal_type": "a.b", "extra": 1}
        with pytest.raises(
            ValueError,
            match=r"^event 'jido\.bus\.published': missing subscriptions; unexpected extra; "
            r"offset should be int, got str$",
        ):
            validate_fields("jido.bus.published", fields)

    def test_bool_is_not_an_int(self) -> None:
        """A bool where an int is documented is refused."""
        with pytest.raises(ValueError, match=r"offset should be int, got bool$"):
            validate_fields("jido.bus.published", {**PUBLISHED, "offset": True})

    def test_optional_field_accepts_none(self) -> None:
        """A field documented as optional accepts None."""
        fields = {"agent_id": "a", "agent": "x", "supervisor": "root", "parent_id": None, "tag": None}
        validate_fields("jido.agent.started", fields)

    def test_union_types(self) -> None:
        """A field documented with two types accepts either (a gateway connection id: int or str)."""
        for connection_id in (3, "c3"):
            fields = {"connection_id": connection_id, "peer": "h:1", "authenticated": False}
            validate_fields("jido.gateway.connected", fields)


@pytest.fixture
def _forget_defined() -> Iterator[None]:
    before = dict(_REGISTRY)
    yield
    _REGISTRY.clear()
    _REGISTRY.update(before)
    _rebuild()


@pytest.mark.usefixtures("_forget_defined")
class TestDefineEvent:
    def test_defined_event_reaches_pattern_attached_before(self) -> None:
        """An event defined after a matching pattern was attached reaches that handler."""
        seen: list[Event] = []
        attach("**", seen.append)
        define_event("myapp.order.placed", "An order was placed.", [FieldSpec("order_id", (str,), "id")])
        emit("myapp.order.placed", order_id="o1")
        assert [e.fields for e in seen] == [{"order_id": "o1"}]
        validate_fields("myapp.order.placed", {"order_id": "o1"})

    def test_duplicate_name_is_refused(self) -> None:
        """Defining a name twice raises ValueError."""
        with pytest.raises(ValueError, match=r"^event 'jido\.bus\.published' is already defined$"):
            define_event("jido.bus.published", "again", [])

    def test_one_segment_name_is_refused(self) -> None:
        """A name must have at least two segments."""
        with pytest.raises(ValueError, match=r"^event name 'orders': expected at least two segments"):
            define_event("orders", "x", [])

    def test_malformed_name_is_refused(self) -> None:
        """A name that is not a dot path is refused with the type rule's message."""
        with pytest.raises(ValueError, match=r"^event name 'a\.\.b': "):
            define_event("a..b", "x", [])

    def test_repeated_field_names_are_refused(self) -> None:
        """Two fields of one name are refused."""
        field = FieldSpec("x", (int,), "x")
        with pytest.raises(ValueError, match=r"^event 'myapp\.twice\.x': field names repeat"):
            define_event("myapp.twice.x", "x", [field, field])
