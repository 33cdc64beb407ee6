"""Prometheus metrics of the server: requests by route and status, upstream latency (time to
the response's headers) by path, and runs by status (read from the store at each scrape).

With several workers (``serve --workers N``) every worker records into the files of one
directory, ``$PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's multiprocess mode, set up by
``serve``), and a scrape answered by any worker adds them all up: the figures are the
server's, not one worker's.
Imports: prometheus_client.
"""

from __future__ import annotations

import os

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

#: upstream latency histogram buckets (seconds)
BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
#: the variable naming the shared directory (read by prometheus_client at import)
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = prometheus_client.CONTENT_TYPE_LATEST

# *_created samples (one per label set) would double the output for nothing a dashboard uses
prometheus_client.disable_created_metrics()


class _Runs(Collector):
    """``compat_runs``: the store's runs by status, as read for this scrape."""

    def __init__(self, counts: dict[str, int]) -> None:
        self.counts = counts

    def collect(self) -> list[GaugeMetricFamily]:  # type: ignore[override]
        g = GaugeMetricFamily("compat_runs", "Runs in the store, by status.", labels=["status"])
        for status, n in sorted(self.counts.items()):
            g.add_metric([status], n)
        return [g]


class Metrics:
    """The server's counters and histogram; safe to update from any thread."""

    def __init__(self) -> None:
        self.shared_dir = os.environ.get(MULTIPROC_ENV) or None
        # in multiprocess mode the values live in the directory's files, not a registry
        self._registry = None if self.shared_dir else CollectorRegistry()
        self._requests = Counter(
            "compat_requests",
            "HTTP requests answered, by route and status.",
            ["method", "route", "status"],
            registry=self._registry,
        )
        self._upstream = Histogram(
            "compat_upstream_latency_seconds",
            "Upstream time to response headers.",
            ["path"],
            buckets=BUCKETS,
            registry=self._registry,
        )

    def request(self, method: str, route: str, status: int) -> None:
        self._requests.labels(method, route, str(status)).inc()

    def upstream(self, path: str, seconds: float) -> None:
        self._upstream.labels(path).observe(seconds)

    def render(self, runs_by_status: dict[str, int]) -> bytes:
        """The exposition text (every worker's figures in multiprocess mode)."""
        if self._registry is None:
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=self.shared_dir)
        else:
            registry = self._registry
        runs = CollectorRegistry()
        runs.register(_Runs(runs_by_status))
        return generate_latest(registry) + generate_latest(runs)
