"""The HTTP and webhook adapters against a real HTTP/1.1 server on 127.0.0.1, and webhook signatures."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import trio
import trio.testing

from jido.bus.dispatch import (
    CLOUDEVENTS_CONTENT_TYPE,
    Adapter,
    DispatchError,
    HttpAdapter,
    WebhookAdapter,
    make_adapter,
    sign_webhook,
    verify_webhook_signature,
)
from jido.errors import ClosedError
from jido.signal import Signal

from .server import TestServer, refused_port

T0 = dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
EPOCH = int(T0.timestamp())
SECRET = "whsec-test"


def exactly(message: str) -> str:
    return f"^{re.escape(message)}$"


def sig(kind: str = "order.placed", **data: Any) -> Signal:
    return Signal(type=kind, source="/shop", data=data or {"order": 42}, subject="o-42")


class FixedClock:
    def now(self) -> dt.datetime:
        return T0


@pytest.fixture
async def server(nursery: trio.Nursery) -> TestServer:
    served = TestServer()
    await served.serve(nursery)
    return served


MakeAdapter = Callable[..., Any]


@pytest.fixture
async def make() -> AsyncIterator[MakeAdapter]:
    """make_adapter, with every adapter made closed at the end of the test."""
    made: list[Adapter] = []

    def build(kind: str, **options: Any) -> Any:
        adapter = make_adapter(kind, **options)
        made.append(adapter)
        return adapter

    yield build
    for adapter in made:
        await adapter.aclose()


class TestHttpAdapter:
    async def test_body_is_structured_cloudevent(self, server: TestServer, make: MakeAdapter) -> None:
        """One POST whose body is the signal's CloudEvents JSON, with the CloudEvents content type."""
        signal = sig()
        await make("http", url=server.url).deliver(signal)
        [request] = server.requests
        assert (request.method, request.target) == ("POST", "/hooks/jido")
        assert request.headers["content-type"] == CLOUDEVENTS_CONTENT_TYPE
        assert request.body == signal.to_json().encode()
        assert Signal.from_json(request.body) == signal

    async def test_method_and_headers(self, server: TestServer, make: MakeAdapter) -> None:
        """The method and extra headers given are used."""
        await make("http", url=server.url, method="put", headers={"Authorization": "Bearer t"}).deliver(sig())
        [request] = server.requests
        assert request.method == "PUT"
        assert request.headers["authorization"] == "Bearer t"

    async def test_connection_reused(self, server: TestServer, make: MakeAdapter) -> None:
        """Deliveries share one kept-alive connection."""
        adapter = make("http", url=server.url)
        for _ in range(3):
            await adapter.deliver(sig())
        assert (len(server.requests), server.connections) == (3, 1)

    async def test_server_error_retryable(self, server: TestServer, make: MakeAdapter) -> None:
        """A 5xx answer is a retryable failure, keeping the Retry-After seconds."""
        server.statuses.append(503)
        server.response_headers.append(("retry-after", "7"))
        message = f"POST 'http://127.0.0.1:{server.port}/hooks/jido' answered 503 Service Unavailable"
        with pytest.raises(DispatchError, match=exactly(message)) as caught:
            await make("http", url=server.url).deliver(sig())
        error = caught.value
        assert (error.adapter, error.retryable, error.retry_after) == ("http", True, 7.0)

    async def test_too_many_requests_retryable(self, server: TestServer, make: MakeAdapter) -> None:
        """A 429 answer is retryable."""
        server.statuses.append(429)
        with pytest.raises(DispatchError, match=r" answered 429 Too Many Requests$") as caught:
            await make("http", url=server.url).deliver(sig())
        assert caught.value.retryable is True and caught.value.retry_after is None

    async def test_not_found_not_retryable(self, server: TestServer, make: MakeAdapter) -> None:
        """A 404 answer is a failure that is not retried."""
        server.statuses.append(404)
        message = f"PATCH 'http://127.0.0.1:{server.port}/hooks/jido' answered 404 Not Found"
        with pytest.raises(DispatchError, match=exactly(message)) as caught:
            await make("http", url=server.url, method="patch").deliver(sig())
        assert caught.value.retryable is False and caught.value.retry_after is None

    async def test_redirect_not_followed(self, server: TestServer, make: MakeAdapter) -> None:
        """A redirect is not followed: it fails as not retryable after one request."""
        server.statuses.append(302)
        server.response_headers.append(("location", "http://127.0.0.1:1/elsewhere"))
        with pytest.raises(DispatchError, match=r" answered 302 Found$") as caught:
            await make("http", url=server.url).deliver(sig())
        assert caught.value.retryable is False and len(server.requests) == 1

    async def test_status_decides_when_body_cut(self, server: TestServer, make: MakeAdapter) -> None:
        """A connection lost while reading the answer's body changes nothing: the status line decides."""
        server.truncate = True
        adapter = make("http", url=server.url)
        await adapter.deliver(sig())
        server.statuses.append(404)
        with pytest.raises(DispatchError, match=r" answered 404 Not Found$"):
            await adapter.deliver(sig())

    async def test_connection_refused_retryable(self, make: MakeAdapter) -> None:
        """No server listening is a retryable failure with httpx's error as the cause."""
        port = await refused_port()
        with pytest.raises(
            DispatchError, match=rf"^POST 'http://127\.0\.0\.1:{port}/' failed: ConnectError: .+$"
        ) as caught:
            await make("http", url=f"http://127.0.0.1:{port}/").deliver(sig())
        assert caught.value.retryable is True
        assert isinstance(caught.value.__cause__, httpx.ConnectError)

    async def test_no_answer_in_time_retryable(
        self, server: TestServer, make: MakeAdapter, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A server that never answers fails the delivery after the timeout (trio's clock), as retryable."""
        server.hang = True
        message = f"POST 'http://127.0.0.1:{server.port}/hooks/jido' got no answer within 2s"
        start = trio.current_time()
        with pytest.raises(DispatchError, match=exactly(message)) as caught:
            await make("http", url=server.url, timeout=2).deliver(sig())
        assert caught.value.retryable is True
        assert trio.current_time() - start == pytest.approx(2)

    async def test_cancellable(self, server: TestServer, make: MakeAdapter) -> None:
        """Cancelling a delivery in flight raises nothing more, and the adapter still works afterwards."""
        server.hang = True
        adapter = make("http", url=server.url)
        with trio.CancelScope() as scope:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(adapter.deliver, sig())
                await server.received.wait()
                scope.cancel()
        assert scope.cancelled_caught
        server.hang = False
        await adapter.deliver(sig())
        assert len(server.requests) == 2

    async def test_closed_adapter(self, server: TestServer) -> None:
        """After aclose (idempotent), a delivery raises ClosedError."""
        adapter = HttpAdapter(url=server.url)
        await adapter.deliver(sig())
        await adapter.aclose()
        await adapter.aclose()
        message = f"the http adapter for 'http://127.0.0.1:{server.port}/hooks/jido' is closed"
        with pytest.raises(ClosedError, match=exactly(message)):
            await adapter.deliver(sig())

    async def test_credentials_kept_out_of_messages(self, server: TestServer, make: MakeAdapter) -> None:
        """User name and password in the URL are left out of error messages."""
        server.statuses.append(404)
        url = f"http://user:pa55@127.0.0.1:{server.port}/hooks/jido"
        message = f"POST 'http://127.0.0.1:{server.port}/hooks/jido' answered 404 Not Found"
        with pytest.raises(DispatchError, match=exactly(message)):
            await make("http", url=url).deliver(sig())
        assert server.requests[0].headers["authorization"].startswith("Basic ")


class TestWebhookAdapter:
    async def test_receiver_verifies_signature(self, server: TestServer, make: MakeAdapter) -> None:
        """The receiver finds the timestamp, event and a signature that verifies over the body it got."""
        signal = sig()
        await make("webhook", url=server.url, secret=SECRET, clock=FixedClock()).deliver(signal)
        [request] = server.requests
        headers = request.headers
        assert headers["x-jido-timestamp"] == str(EPOCH)
        assert headers["x-jido-event"] == "order.placed"
        assert headers["content-type"] == CLOUDEVENTS_CONTENT_TYPE
        assert Signal.from_json(request.body) == signal
        assert verify_webhook_signature(
            SECRET, headers["x-jido-timestamp"], request.body, headers["x-jido-signature"], now=EPOCH + 1
        )
        assert not verify_webhook_signature(
            "other", headers["x-jido-timestamp"], request.body, headers["x-jido-signature"], now=EPOCH + 1
        )

    async def test_event_type_map(self, server: TestServer, make: MakeAdapter) -> None:
        """Mapped types are sent as their event name; others as they are."""
        adapter = make(
            "webhook", url=server.url, secret=SECRET, event_type_map={"order.placed": "order_created"}
        )
        await adapter.deliver(sig())
        await adapter.deliver(sig("order.cancelled"))
        assert [r.headers["x-jido-event"] for r in server.requests] == ["order_created", "order.cancelled"]

    async def test_bytes_secret(self, server: TestServer, make: MakeAdapter) -> None:
        """A bytes secret signs like its UTF-8 str."""
        await make("webhook", url=server.url, secret=SECRET.encode(), clock=FixedClock()).deliver(sig())
        [request] = server.requests
        signature = request.headers["x-jido-signature"]
        assert verify_webhook_signature(SECRET, EPOCH, request.body, signature, now=T0)

    async def test_failures_classified_like_http(self, server: TestServer, make: MakeAdapter) -> None:
        """Answers are classified as for the HTTP adapter, in the webhook adapter's name."""
        server.statuses.extend([500, 401])
        adapter = make("webhook", url=server.url, secret=SECRET)
        results = []
        for _ in range(2):
            with pytest.raises(DispatchError) as caught:
                await adapter.deliver(sig())
            results.append((caught.value.adapter, caught.value.retryable))
        assert results == [("webhook", True), ("webhook", False)]


class TestVerifyWebhookSignature:
    BODY = b'{"specversion":"1.0"}'

    def signature(self) -> str:
        return sign_webhook(SECRET, EPOCH, self.BODY)

    def test_known_answer(self) -> None:
        """The signature is sha256= and the hex HMAC-SHA256 of '<timestamp>.<body>'."""
        digest = hmac.new(SECRET.encode(), f"{EPOCH}.".encode() + self.BODY, hashlib.sha256).hexdigest()
        assert self.signature() == "sha256=" + digest

    def test_valid(self) -> None:
        """A fresh, intact request verifies, with the timestamp as str or int and the body as bytes or str."""
        assert verify_webhook_signature(SECRET, str(EPOCH), self.BODY, self.signature(), now=EPOCH)
        assert verify_webhook_signature(SECRET, EPOCH, self.BODY.decode(), self.signature(), now=float(EPOCH))

    def test_tampered_body(self) -> None:
        """A body changed by one byte does not verify."""
        body = self.BODY.replace(b"1.0", b"1.1")
        assert not verify_webhook_signature(SECRET, EPOCH, body, self.signature(), now=EPOCH)

    def test_other_timestamp(self) -> None:
        """A signature moved to another timestamp does not verify."""
        assert not verify_webhook_signature(SECRET, EPOCH + 1, self.BODY, self.signature(), now=EPOCH)

    def test_stale_rejected(self) -> None:
        """A timestamp older than the tolerance is refused; at the tolerance it is accepted."""
        sig_ = self.signature()
        assert verify_webhook_signature(SECRET, EPOCH, self.BODY, sig_, now=EPOCH + 300)
        assert not verify_webhook_signature(SECRET, EPOCH, self.BODY, sig_, now=EPOCH + 301)
        assert not verify_webhook_signature(SECRET, EPOCH, self.BODY, sig_, now=EPOCH + 11, tolerance=10)

    def test_future_rejected(self) -> None:
        """A timestamp further in the future than the tolerance is refused."""
        assert not verify_webhook_signature(SECRET, EPOCH, self.BODY, self.signature(), now=EPOCH - 301)

    def test_datetime_now(self) -> None:
        """now may be a timezone-aware datetime."""
        later = T0 + dt.timedelta(seconds=299)
        assert verify_webhook_signature(SECRET, EPOCH, self.BODY, self.signature(), now=later)

    @pytest.mark.parametrize("timestamp", [None, "", "12a", "-5", "+5", "\uff11\uff12", True])
    def test_malformed_timestamp(self, timestamp: Any) -> None:
        """A missing or malformed timestamp makes it False, not an exception."""
        assert not verify_webhook_signature(SECRET, timestamp, self.BODY, self.signature(), now=EPOCH)

    @pytest.mark.parametrize("signature", [None, "", "sha256=", "sha1=abc", "sha256=é"])
    def test_malformed_signature(self, signature: Any) -> None:
        """A missing or malformed signature makes it False, not an exception."""
        assert not verify_webhook_signature(SECRET, EPOCH, self.BODY, signature, now=EPOCH)

    @pytest.mark.parametrize(
        ("kwargs", "error", "message"),
        [
            ({"secret": ""}, ValueError, "secret must not be empty"),
            ({"secret": 3}, TypeError, "secret must be str or bytes, got int"),
            ({"body": None}, TypeError, "body must be bytes or str, got NoneType"),
            ({"tolerance": 0}, ValueError, "tolerance must be a positive number of seconds, got 0"),
            (
                {"now": dt.datetime(2025, 1, 2)},
                ValueError,
                "now must be timezone-aware, got naive 2025-01-02T00:00:00",
            ),
            ({"now": "now"}, TypeError, "now must be Unix seconds or a datetime, got str"),
        ],
    )
    def test_bad_arguments(self, kwargs: dict[str, Any], error: type[Exception], message: str) -> None:
        """Arguments that are the receiver's own mistakes raise, with an exact message."""
        args: dict[str, Any] = {"secret": SECRET, "body": self.BODY, "now": EPOCH, **kwargs}
        with pytest.raises(error, match=exactly(message)):
            verify_webhook_signature(args.pop("secret"), EPOCH, args.pop("body"), self.signature(), **args)


def test_webhook_adapter_is_http_shaped() -> None:
    """The webhook adapter takes the HTTP adapter's options too."""
    adapter = WebhookAdapter(url="https://example.com/", secret="k", method="put", timeout=1.5)
    assert (adapter.method, adapter.timeout) == ("put", 1.5)


def test_without_httpx_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without httpx installed, making an HTTP adapter says which extra to install."""
    monkeypatch.setitem(sys.modules, "httpx", None)
    message = "the http and webhook dispatch adapters need httpx: pip install 'jido[http]'"
    with pytest.raises(ModuleNotFoundError, match=exactly(message)):
        make_adapter("http", url="https://example.com/")
