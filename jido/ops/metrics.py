"""``/metrics``: the runtime, its bus and its gateway in the Prometheus text format.

Values are read when Prometheus scrapes (a custom collector over one snapshot), not kept up to date on the
hot path: the runtime already counts per agent, and the latency histogram comes from the
:class:`~jido.ops.recorder.Recorder`. Each server has its own ``CollectorRegistry``, so two runtimes in one
process (tests, say) never share or clash over series.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import attrs
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from jido.ops.recorder import BUCKETS, Totals

if TYPE_CHECKING:
    from jido.bus.bus import BusStatistics
    from jido.gateway.server import GatewayStatistics
    from jido.runtime.runtime import RuntimeStatistics

__all__ = ["CONTENT_TYPE", "STATUSES", "Metrics", "Snapshot"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
STATUSES = ("starting", "running", "restarting", "stopped", "failed", "hibernated")
"""Statuses always exported (0 when no agent has them), so a dashboard query never meets a missing series."""


@attrs.frozen
class Snapshot:
    """What one scrape shows, read at once."""

    runtime: RuntimeStatistics
    bus: BusStatistics
    latency: Totals
    gateway: GatewayStatistics | None = None


class _SnapshotCollector(Collector):
    def __init__(self) -> None:
        self.snapshot: Snapshot | None = None

    def collect(self) -> Iterator[Metric]:
        s = self.snapshot
        if s is None:
            return
        rt = s.runtime
        by_status = dict.fromkeys(STATUSES, 0)
        for status in rt.statuses.values():
            by_status[status] = by_status.get(status, 0) + 1
        by_status["hibernated"] = by_status.get("hibernated", 0) + rt.hibernated
        agents = GaugeMetricFamily("jido_agents", "Agents by status.", labels=["status"])
        for status, count in sorted(by_status.items()):
            agents.add_metric([status], count)
        yield agents

        depth = GaugeMetricFamily(
            "jido_agent_mailbox_depth", "Signals waiting in an agent's mailbox.", labels=["agent"]
        )
        size = GaugeMetricFamily("jido_agent_mailbox_size", "An agent's mailbox bound.", labels=["agent"])
        handled = CounterMetricFamily(
            "jido_agent_handled", "Signals an agent handled and committed.", labels=["agent"]
        )
        errors = CounterMetricFamily(
            "jido_agent_errors", "Signals whose handling failed, per agent.", labels=["agent"]
        )
        restarts = CounterMetricFamily(
            "jido_agent_restarts", "Restarts of an agent's server.", labels=["agent"]
        )
        for agent_id, value in rt.mailbox_depths.items():
            depth.add_metric([agent_id], value)
            size.add_metric([agent_id], rt.mailbox_sizes.get(agent_id, 0))
            handled.add_metric([agent_id], rt.handled.get(agent_id, 0))
            errors.add_metric([agent_id], rt.errors.get(agent_id, 0))
            restarts.add_metric([agent_id], rt.restarts.get(agent_id, 0))
        yield from (depth, size, handled, errors, restarts)

        histogram = HistogramMetricFamily(
            "jido_signal_handling_seconds",
            "Seconds agents took to handle a signal (since the dashboard started).",
        )
        cumulative = 0
        points: list[tuple[str, float]] = []
        for bound, count in zip((*BUCKETS, float("inf")), s.latency.buckets, strict=True):
            cumulative += count
            points.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
        histogram.add_metric([], points, sum_value=s.latency.seconds)
        yield histogram
        yield CounterMetricFamily(
            "jido_signal_handling_errors",
            "Signals whose handling failed or was rejected.",
            value=s.latency.errors,
        )

        yield CounterMetricFamily(
            "jido_dead_letters", "Dead letters the runtime recorded.", value=rt.dead_letters
        )
        yield CounterMetricFamily(
            "jido_dead_letters_evicted",
            "Dead letters dropped from memory past its bounds.",
            value=rt.dead_letters_evicted,
        )
        yield CounterMetricFamily("jido_hibernations", "Times agents went to sleep.", value=rt.hibernations)
        yield CounterMetricFamily(
            "jido_activations", "Times sleeping agents were woken.", value=rt.activations
        )

        bus = s.bus
        yield GaugeMetricFamily(
            "jido_bus_first_offset", "Offset of the oldest retained record.", value=bus.first_offset
        )
        yield GaugeMetricFamily("jido_bus_last_offset", "Offset of the newest record.", value=bus.last_offset)
        yield CounterMetricFamily("jido_bus_published", "Signals published to the bus.", value=bus.published)
        yield CounterMetricFamily("jido_bus_trimmed", "Records removed by retention.", value=bus.trimmed)
        lag = GaugeMetricFamily(
            "jido_subscription_lag",
            "Records matching a subscription's pattern that it has not read yet.",
            labels=["subscription"],
        )
        checkpoint = GaugeMetricFamily(
            "jido_subscription_checkpoint",
            "Offset up to which a subscription is done.",
            labels=["subscription"],
        )
        dead = CounterMetricFamily(
            "jido_subscription_dead_lettered", "Records a subscription gave up on.", labels=["subscription"]
        )
        for sub in bus.subscriptions:
            lag.add_metric([sub.name], sub.lag)
            checkpoint.add_metric([sub.name], sub.checkpoint)
            dead.add_metric([sub.name], sub.dead_lettered)
        yield from (lag, checkpoint, dead)

        gw = s.gateway
        if gw is not None:
            yield GaugeMetricFamily(
                "jido_gateway_connections", "Open gateway connections.", value=gw.connections
            )
            yield GaugeMetricFamily(
                "jido_gateway_subscriptions",
                "Subscriptions over all gateway connections.",
                value=gw.subscriptions,
            )
            yield CounterMetricFamily(
                "jido_gateway_accepted", "Gateway connections accepted.", value=gw.accepted
            )
            yield CounterMetricFamily(
                "jido_gateway_slow_consumers",
                "Gateway connections dropped as slow consumers.",
                value=gw.slow_consumers,
            )
            yield GaugeMetricFamily(
                "jido_gateway_queued_bytes", "Bytes in gateway send queues.", value=gw.queued_bytes
            )


class Metrics:
    """The ``CollectorRegistry`` of one server, and the exposition of a snapshot through it."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self._collector = _SnapshotCollector()
        self.registry.register(self._collector)

    def render(self, snapshot: Snapshot) -> bytes:
        """The Prometheus text exposition of ``snapshot``."""
        # One trio thread renders at a time (generate_latest does not await), so setting then reading the
        # collector's snapshot cannot interleave with another scrape.
        self._collector.snapshot = snapshot
        try:
            return generate_latest(self.registry)
        finally:
            self._collector.snapshot = None
