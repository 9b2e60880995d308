"""make_adapter and the adapter classes: names, options checked up front, every bad option's exact message."""

from __future__ import annotations

import io
import re
import ssl
from typing import Any

import pytest
import trio

from jido.bus.dispatch import (
    ADAPTERS,
    Adapter,
    AgentAdapter,
    CallbackAdapter,
    ChannelAdapter,
    ConsoleAdapter,
    DispatchError,
    HttpAdapter,
    LoggerAdapter,
    WebhookAdapter,
    make_adapter,
)
from jido.errors import JidoError, ValidationError
from jido.runtime.runtime import open_runtime
from jido.signal import Signal

URL = "https://example.com/hooks"


def exactly(message: str) -> str:
    return f"^{re.escape(message)}$"


def _noop(signal: Signal) -> None:
    del signal


class TestMakeAdapter:
    def test_names(self) -> None:
        """ADAPTERS maps every adapter name to its class."""
        assert dict(ADAPTERS) == {
            "agent": AgentAdapter,
            "callback": CallbackAdapter,
            "channel": ChannelAdapter,
            "logger": LoggerAdapter,
            "console": ConsoleAdapter,
            "http": HttpAdapter,
            "webhook": WebhookAdapter,
        }

    async def test_builds_each_kind(self) -> None:
        """make_adapter builds the class of the name with the options given."""
        send, _receive = trio.open_memory_channel[Signal](1)
        async with open_runtime() as rt:
            made = [
                make_adapter("agent", target="a", runtime=rt, delivery="call", timeout=2),
                make_adapter("callback", fn=_noop),
                make_adapter("channel", channel=send, mode="nowait"),
                make_adapter("logger", level="debug", logger_name="x", structured=True),
                make_adapter("console", stream=io.StringIO(), color=True),
                make_adapter("http", url=URL, method="put", headers={"authorization": "t"}, timeout=1),
                make_adapter("webhook", url=URL, secret=b"k", event_type_map={"a.b": "ab"}),
            ]
            assert [type(a) for a in made] == list(ADAPTERS.values())
            assert all(isinstance(a, Adapter) for a in made)
            assert made[0] == made[0] and made[0] != AgentAdapter(target="a", runtime=rt)
            for adapter in made:
                await adapter.aclose()

    def test_options_are_kept(self) -> None:
        """The options given become the adapter's attributes; the others keep their defaults."""
        adapter = make_adapter("http", url=URL, method="patch")
        assert isinstance(adapter, HttpAdapter)
        assert (adapter.url, adapter.method, dict(adapter.headers), adapter.timeout) == (
            URL,
            "patch",
            {},
            5.0,
        )

    def test_unknown_kind_hints_closest(self) -> None:
        """An unknown adapter name is a ValueError naming the closest one."""
        with pytest.raises(
            ValueError, match=exactly("unknown dispatch adapter 'htp' (did you mean 'http'?)")
        ):
            make_adapter("htp", url=URL)

    def test_unknown_kind_lists_known(self) -> None:
        """With no close name, the message lists the known adapters."""
        message = (
            "unknown dispatch adapter 'zzz' (known: agent, callback, channel, logger, console, http, webhook)"
        )
        with pytest.raises(ValueError, match=exactly(message)):
            make_adapter("zzz")

    def test_kind_must_be_str(self) -> None:
        """A kind that is not a str is a TypeError."""
        with pytest.raises(TypeError, match=exactly("the adapter kind must be a str, got 3")):
            make_adapter(3)  # type: ignore[arg-type]

    def test_unknown_option_hints_closest(self) -> None:
        """An unknown option is reported at its path with the closest option name."""
        message = "$.options.methd: unknown option of the 'http' adapter (did you mean 'method'?)"
        with pytest.raises(ValidationError, match=exactly(message)):
            make_adapter("http", url=URL, methd="put")

    def test_unknown_option_without_hint(self) -> None:
        """An unknown option with no close name gets no hint."""
        with pytest.raises(
            ValidationError, match=exactly("$.options.zzz: unknown option of the 'logger' adapter")
        ):
            make_adapter("logger", zzz=1)

    def test_missing_option(self) -> None:
        """A required option that is missing is reported at its path."""
        with pytest.raises(ValidationError, match=exactly("$.options.url: required option missing")):
            make_adapter("http")

    def test_all_problems_at_once(self) -> None:
        """Unknown, missing and wrong options are all reported in one error."""
        with pytest.raises(ValidationError) as caught:
            make_adapter("webhook", method="get", timeout=0, bogus=1)
        assert [str(e) for e in caught.value.errors] == [
            "$.options.bogus: unknown option of the 'webhook' adapter",
            "$.options.url: required option missing",
            "$.options.secret: required option missing",
            '$.options.method: expected one of "post", "put", "patch", got "get"',
            "$.options.timeout: expected a positive number of seconds, got 0",
        ]

    def test_direct_construction_checks_options(self) -> None:
        """Building an adapter class directly checks its options the same way."""
        message = '$.options.url: expected an http or https URL, got "ftp://x"\n$.options.timeout: expected a positive number of seconds, got -1'
        with pytest.raises(ValidationError, match=exactly(message)):
            HttpAdapter(url="ftp://x", timeout=-1)

    def test_headers_are_copied_read_only(self) -> None:
        """Headers are copied: changing the dict given later changes nothing, and the copy is read-only."""
        given = {"x-a": "1"}
        adapter = HttpAdapter(url=URL, headers=given)
        given["x-b"] = "2"
        assert dict(adapter.headers) == {"x-a": "1"}
        with pytest.raises(TypeError):
            adapter.headers["x-c"] = "3"  # type: ignore[index]

    def test_secrets_stay_out_of_repr(self) -> None:
        """The repr of a webhook adapter shows neither the secret nor header values."""
        adapter = WebhookAdapter(url=URL, secret="s3cr3t", headers={"authorization": "Bearer t0k3n"})
        text = repr(adapter)
        assert "s3cr3t" not in text and "t0k3n" not in text
        assert "{'authorization': ...}" in text


class TestDispatchError:
    def test_attributes(self) -> None:
        """DispatchError is a JidoError carrying the adapter name, retryable and retry_after."""
        error = DispatchError("boom", adapter="http", retryable=True, retry_after=3.0)
        assert isinstance(error, JidoError)
        assert (str(error), error.adapter, error.retryable, error.retry_after) == ("boom", "http", True, 3.0)


BAD_OPTIONS: list[tuple[str, dict[str, Any], str]] = [
    # agent
    ("agent", {"target": 3}, "$.options.target: expected a str, got 3"),
    ("agent", {"target": ""}, "$.options.target: expected a non-empty str"),
    ("agent", {"runtime": "rt"}, '$.options.runtime: expected a jido Runtime, got "rt"'),
    ("agent", {"delivery": "push"}, '$.options.delivery: expected one of "cast", "call", got "push"'),
    ("agent", {"timeout": "5"}, '$.options.timeout: expected a positive number of seconds, got "5"'),
    ("agent", {"timeout": True}, "$.options.timeout: expected a positive number of seconds, got true"),
    (
        "agent",
        {"timeout": float("inf")},
        "$.options.timeout: expected a positive number of seconds, got Infinity",
    ),
    # callback
    ("callback", {"fn": 3}, "$.options.fn: expected a callable, got 3"),
    # channel
    ("channel", {"channel": None}, "$.options.channel: expected a trio.MemorySendChannel, got null"),
    ("channel", {"mode": "block"}, '$.options.mode: expected one of "wait", "nowait", got "block"'),
    # logger
    (
        "logger",
        {"level": "INFO"},
        '$.options.level: expected one of "debug", "info", "warning", "error", got "INFO"',
    ),
    ("logger", {"logger_name": ""}, "$.options.logger_name: expected a non-empty str"),
    ("logger", {"structured": 1}, "$.options.structured: expected a bool, got 1"),
    # console
    ("console", {"stream": 3}, "$.options.stream: expected a text stream (with write) or null, got 3"),
    ("console", {"color": "yes"}, '$.options.color: expected a bool, got "yes"'),
    # http
    ("http", {"url": "ftp://x"}, '$.options.url: expected an http or https URL, got "ftp://x"'),
    ("http", {"url": "http://"}, '$.options.url: expected an http or https URL, got "http://"'),
    ("http", {"url": "example.com/x"}, '$.options.url: expected an http or https URL, got "example.com/x"'),
    ("http", {"url": "http://h:port/"}, '$.options.url: expected an http or https URL, got "http://h:port/"'),
    ("http", {"url": "http://a b/"}, '$.options.url: expected an http or https URL, got "http://a b/"'),
    ("http", {"url": 3}, "$.options.url: expected an http or https URL, got 3"),
    ("http", {"method": "get"}, '$.options.method: expected one of "post", "put", "patch", got "get"'),
    ("http", {"method": "POST"}, '$.options.method: expected one of "post", "put", "patch", got "POST"'),
    (
        "http",
        {"headers": ["a"]},
        '$.options.headers: expected an object of header names to values, got ["a"]',
    ),
    ("http", {"headers": {"a b": "1"}}, "$.options.headers: invalid header name 'a b'"),
    (
        "http",
        {"headers": {"Content-Type": "text/plain"}},
        "$.options.headers: header 'Content-Type' is set by the adapter and cannot be given",
    ),
    ("http", {"headers": {"x-a": 1}}, "$.options.headers: header 'x-a': expected a str, got 1"),
    (
        "http",
        {"headers": {"x-a": "1\r\nx-b: 2"}},
        "$.options.headers: header 'x-a': contains a line break or NUL: '1\\r\\nx-b: 2'",
    ),
    ("http", {"timeout": -1}, "$.options.timeout: expected a positive number of seconds, got -1"),
    ("http", {"ssl_context": "tls"}, '$.options.ssl_context: expected an ssl.SSLContext or null, got "tls"'),
    # webhook
    ("webhook", {"secret": 3}, "$.options.secret: expected a str or bytes, got 3"),
    ("webhook", {"secret": ""}, "$.options.secret: expected a non-empty secret"),
    ("webhook", {"secret": b""}, "$.options.secret: expected a non-empty secret"),
    (
        "webhook",
        {"headers": {"X-Jido-Signature": "forged"}},
        "$.options.headers: header 'X-Jido-Signature' is set by the adapter and cannot be given",
    ),
    (
        "webhook",
        {"event_type_map": "a"},
        '$.options.event_type_map: expected an object of signal types to event names, got "a"',
    ),
    (
        "webhook",
        {"event_type_map": {"": "x"}},
        '$.options.event_type_map: expected signal types as keys, got ""',
    ),
    (
        "webhook",
        {"event_type_map": {"a.b": ""}},
        "$.options.event_type_map: event name for 'a.b': expected a non-empty str",
    ),
    (
        "webhook",
        {"event_type_map": {"a.b": "x\ny"}},
        "$.options.event_type_map: event name for 'a.b': contains a line break or NUL: 'x\\ny'",
    ),
    ("webhook", {"clock": 3}, "$.options.clock: expected a Clock (with now()), got 3"),
    ("webhook", {"url": "ftp://x"}, '$.options.url: expected an http or https URL, got "ftp://x"'),
]

VALID: dict[str, dict[str, Any]] = {
    "agent": {"target": "a"},  # runtime added by the test
    "callback": {"fn": _noop},
    "channel": {},  # channel added by the test
    "logger": {},
    "console": {},
    "http": {"url": URL},
    "webhook": {"url": URL, "secret": "k"},
}


class TestBadOptions:
    @pytest.mark.parametrize(("kind", "options", "message"), BAD_OPTIONS, ids=[m for _, _, m in BAD_OPTIONS])
    async def test_rejected_with_exact_message(
        self, kind: str, options: dict[str, Any], message: str
    ) -> None:
        """Each bad option value is refused up front with one exact `$.options.<name>` line."""
        send, _receive = trio.open_memory_channel[Signal](1)
        async with open_runtime() as rt:
            extras: dict[str, dict[str, Any]] = {"agent": {"runtime": rt}, "channel": {"channel": send}}
            extra = extras.get(kind, {})
            with pytest.raises(ValidationError, match=exactly(message)):
                make_adapter(kind, **{**VALID[kind], **extra, **options})

    def test_ssl_context_must_verify(self) -> None:
        """An SSLContext that does not verify certificates and host names is refused."""
        context = ssl.create_default_context()
        context.check_hostname = False
        message = "$.options.ssl_context: certificate verification must stay on (verify_mode CERT_REQUIRED and check_hostname True)"
        with pytest.raises(ValidationError, match=exactly(message)):
            make_adapter("http", url=URL, ssl_context=context)

    def test_verifying_ssl_context_accepted(self) -> None:
        """A default (verifying) SSLContext is accepted, for private certificate authorities."""
        context = ssl.create_default_context()
        assert make_adapter("http", url=URL, ssl_context=context).ssl_context is context  # type: ignore[attr-defined]
