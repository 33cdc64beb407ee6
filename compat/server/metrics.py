"""Prometheus text metrics of one server process: requests by route and status, upstream
latency (time to the response's headers) by path, and runs by status (read from the
store at each scrape, so it is the same for every worker).
Imports: stdlib only.
"""

from __future__ import annotations

import bisect
import threading
from collections import Counter

#: upstream latency histogram buckets (seconds)
BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Metrics:
    """Counters and a histogram, safe to update from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[tuple[str, str, int]] = Counter()
        self._upstream: dict[str, list[float]] = {}  # path -> bucket counts, +Inf, sum

    def request(self, method: str, route: str, status: int) -> None:
        with self._lock:
            self.requests[(method, route, status)] += 1

    def upstream(self, path: str, seconds: float) -> None:
        with self._lock:
            h = self._upstream.setdefault(path, [0.0] * (len(BUCKETS) + 2))
            h[bisect.bisect_left(BUCKETS, seconds)] += 1
            h[-1] += seconds

    def render(self, runs_by_status: dict[str, int]) -> str:
        """The exposition text."""
        out = [
            "# HELP compat_requests_total HTTP requests answered, by route and status.",
            "# TYPE compat_requests_total counter",
        ]
        with self._lock:
            requests = sorted(self.requests.items())
            upstream = {k: list(v) for k, v in sorted(self._upstream.items())}
        for (method, route, code), n in requests:
            out.append(
                f'compat_requests_total{{method="{method}",route="{_label(route)}",'
                f'status="{code}"}} {n}'
            )
        out += [
            "# HELP compat_runs Runs in the store, by status.",
            "# TYPE compat_runs gauge",
        ]
        for status, count in sorted(runs_by_status.items()):
            out.append(f'compat_runs{{status="{_label(status)}"}} {count}')
        out += [
            "# HELP compat_upstream_latency_seconds Upstream time to response headers.",
            "# TYPE compat_upstream_latency_seconds histogram",
        ]
        for path, h in upstream.items():
            cumulative = 0.0
            for bound, hits in zip((*BUCKETS, "+Inf"), h[:-1], strict=True):
                cumulative += hits
                out.append(
                    f'compat_upstream_latency_seconds_bucket{{path="{_label(path)}",'
                    f'le="{bound}"}} {cumulative:g}'
                )
            out.append(f'compat_upstream_latency_seconds_sum{{path="{_label(path)}"}} {h[-1]:.6f}')
            out.append(
                f'compat_upstream_latency_seconds_count{{path="{_label(path)}"}} {cumulative:g}'
            )
        return "\n".join(out) + "\n"
