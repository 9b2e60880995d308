"""Encode and decode rates of a ~450-byte signal as CloudEvents JSON, against raw json on the same dict.

Run: ``python bench/signal_json.py``. "ours" is ``Signal.to_json()`` (build the structured-mode dict, write it)
and ``Signal.from_json(text)`` (read the text, check every attribute, build the frozen Signal); "raw json" is
``json.dumps``/``json.loads`` of the equivalent dict in the same run, with nothing checked or built, and the
ratio is ours / raw json (above 1: faster than the bare standard library). For context the table also shows our
standard-library path (orjson hidden) and raw orjson. Each figure is the median of 5 runs.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
import time
from collections.abc import Callable
from typing import Any
from unittest import mock

from jido.signal import Signal, serialization

try:
    import orjson
except ImportError:  # pragma: no cover - optional
    orjson = None  # type: ignore[assignment]

REPEATS = 5
BATCH = 20_000


def sample_signal() -> Signal:
    return Signal(
        type="order.item.added",
        source="/shop/orders",
        subject="order-12345",
        time=dt.datetime(2026, 11, 22, 10, 0, 0, 123456, tzinfo=dt.UTC),
        data={
            "order_id": "order-12345",
            "sku": "SKU-000981",
            "qty": 3,
            "price": 19.99,
            "tags": ["gift"],
            "customer": {"id": "cust-981", "tier": "gold"},
        },
        extensions={
            "correlationid": "019a7a5c-3b1e-7d2f-9c41-5f0e2b7d8a10",
            "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        },
    )


def rate(fn: Callable[[], Any]) -> float:
    """Calls per second: the median of REPEATS timed batches."""
    fn()
    rates = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        for _ in range(BATCH):
            fn()
        rates.append(BATCH / (time.perf_counter() - start))
    return statistics.median(rates)


def main() -> None:
    signal = sample_signal()
    text = signal.to_json()
    raw = text.encode()
    as_dict = json.loads(text)

    def raw_dumps() -> str:
        return json.dumps(as_dict, ensure_ascii=False, separators=(",", ":"))

    assert raw_dumps() == text
    assert Signal.from_json(text) == signal

    rows: list[tuple[str, float, float, float | None, float | None]] = []
    ours_encode = rate(signal.to_json)
    raw_encode = rate(raw_dumps)
    ours_decode = rate(lambda: Signal.from_json(raw))
    raw_decode = rate(lambda: json.loads(text))
    with mock.patch.object(serialization, "_orjson", None):
        stdlib_encode = rate(signal.to_json)
        stdlib_decode = rate(lambda: Signal.from_json(raw))
    orjson_encode = rate(lambda: orjson.dumps(as_dict)) if orjson is not None else None
    orjson_decode = rate(lambda: orjson.loads(raw)) if orjson is not None else None
    rows.append(("encode", ours_encode, raw_encode, stdlib_encode, orjson_encode))
    rows.append(("decode", ours_decode, raw_decode, stdlib_decode, orjson_decode))

    print(
        f"signal JSON: {len(raw)} bytes, backend {serialization.JSON_BACKEND}, median of {REPEATS} x {BATCH:,}"
    )
    header = (
        f"{'':8}{'ours/s':>12}{'raw json/s':>12}{'ours/raw':>10}{'ours, stdlib/s':>16}{'raw orjson/s':>14}"
    )
    print(header)
    print("-" * len(header))
    for name, ours, baseline, stdlib, fast in rows:
        shown_fast = f"{fast:>14,.0f}" if fast is not None else f"{'-':>14}"
        print(f"{name:8}{ours:>12,.0f}{baseline:>12,.0f}{ours / baseline:>10.2f}{stdlib:>16,.0f}{shown_fast}")
    print(f"per call: encode {1e6 / ours_encode:.2f} us, decode {1e6 / ours_decode:.2f} us")


if __name__ == "__main__":
    main()
