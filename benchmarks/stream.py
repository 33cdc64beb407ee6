"""Time to first token and delta throughput: a streamed compat run vs a direct Responses stream.

compat: ``messages.create`` (untimed), then the clock starts and
``runs.create(thread_id, assistant_id, stream=True)`` is read until the first
``thread.message.delta`` (time to first token, TTFT) and on to the end of the stream.
(``--api stream`` uses the SDK's ``runs.stream(...)`` helper instead.)
direct: a plain ``openai.OpenAI`` calls ``responses.create(model, input, stream=True)`` and
reads it until the first ``response.output_text.delta`` and on to the end.

Both hit the same in-process ``compat.testing.ResponsesEmulator`` on loopback, which answers
the same text (``emu.enqueue(text=...)`` with ``--words`` words before every call), streamed
as word deltas with ``--delta-delay`` seconds after each. Calls alternate (compat first on
even iterations, direct first on odd ones) after a warm-up; a new compat thread every
``--thread-turns`` turns (compat replays the thread upstream on every run).

Figures: TTFT median / p95 of each, the added ms (paired per iteration) and the ratio;
total time (call -> end of stream); delta throughput = (deltas - 1) / (last delta - first
delta), i.e. the rate once text flows, which the emulator's delta_delay bounds.

A sync client executes a streamed run in the thread that reads the stream: each read advances
the run by one upstream event. A timeline pass (``--timeline-runs``, 0 to skip) instruments
a few compat streams and prints when each step before the first delta happens;
``--profile N`` cProfiles N streams, the reader's own work apart from the run it drives.

Usage::

    python benchmarks/stream.py                        # SQLite, 100 iterations
    python benchmarks/stream.py --backends sqlite,postgres --delta-delay 0.005

Prints figures only; never fails on a slow result.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # _common, from any working directory

import _common as common
from _common import P, med, pct, row

from compat.testing import ResponsesEmulator

TARGET_TTFT_MS = 2.0  # the target: added to the first token; same delta throughput

WORDS = (
    "The quick brown fox jumps over the lazy dog while seven curious ravens watch from "
    "an old oak tree near the river bank where children often play games of tag and hide "
    "and seek until the sun goes down behind the distant purple hills and the evening "
    "breeze carries the scent of fresh bread from the village bakery across the quiet "
    "fields of golden wheat"
).split()


def answer_text(words: int) -> str:
    return " ".join(WORDS[i % len(WORDS)] for i in range(words))


class Timing:
    __slots__ = ("ttft", "total", "deltas", "first", "last", "text")

    def __init__(self) -> None:
        self.ttft = self.total = self.first = self.last = 0.0
        self.deltas = 0
        self.text: list[str] = []

    def on_delta(self, t0: float) -> None:
        """A text delta arrived now (the call started at ``t0``)."""
        now = P()
        if not self.deltas:
            self.ttft, self.first = now - t0, now
        self.last = now
        self.deltas += 1

    @property
    def rate(self) -> float:
        span = self.last - self.first
        return (self.deltas - 1) / span if self.deltas > 1 and span > 0 else float("nan")


class StreamBench(common.Clients):
    """Streamed compat runs and the direct streams next to them."""

    def __init__(
        self,
        emu: ResponsesEmulator,
        url: str,
        thread_turns: int,
        api: str,
        text: str,
        history: str = "replay",
    ) -> None:
        super().__init__(emu, url, thread_turns, history)
        self.api = api
        self.text = text

    def compat(self, prompt: str) -> Timing:
        self.next_turn()
        threads = self.c.beta.threads
        threads.messages.create(self.thread_id, role="user", content=prompt)
        self.emu.enqueue(text=self.text)
        t = Timing()
        t0 = P()
        if self.api == "stream":
            with threads.runs.stream(thread_id=self.thread_id, assistant_id=self.assistant.id) as s:
                self._read_compat(s, t, t0)
        else:
            s = threads.runs.create(
                thread_id=self.thread_id, assistant_id=self.assistant.id, stream=True
            )
            self._read_compat(s, t, t0)
        t.total = P() - t0
        return t

    @staticmethod
    def _read_compat(stream: Any, t: Timing, t0: float) -> None:
        for ev in stream:
            if ev.event == "thread.message.delta":
                t.on_delta(t0)
                for part in ev.data.delta.content or []:
                    if part.type == "text" and part.text is not None:
                        t.text.append(part.text.value or "")
            elif ev.event in ("thread.run.failed", "error"):
                raise RuntimeError(f"compat run failed: {ev.data}")

    def direct(self, prompt: str) -> Timing:
        self.emu.enqueue(text=self.text)
        t = Timing()
        t0 = P()
        stream = self.d.responses.create(model=common.MODEL, input=prompt, stream=True)
        for ev in stream:
            if ev.type == "response.output_text.delta":
                t.on_delta(t0)
                t.text.append(ev.delta)
        t.total = P() - t0
        return t


def run(
    bench: StreamBench, iterations: int, warmup: int, gc_off: bool
) -> tuple[list[Timing], list[Timing], float]:
    for i in range(warmup):
        bench.compat(f"Warm up {i}")
        bench.direct(f"Warm up {i}")
    cs: list[Timing] = []
    ds: list[Timing] = []
    t0 = P()
    with common.gc_paused(gc_off):
        for i in range(iterations):
            prompt = f"Tell me a story, part {i}."
            if i % 2 == 0:
                cs.append(bench.compat(prompt))
                ds.append(bench.direct(prompt))
            else:
                ds.append(bench.direct(prompt))
                cs.append(bench.compat(prompt))
    return cs, ds, P() - t0


def report(backend: str, cs: list[Timing], ds: list[Timing], wall: float, text: str) -> None:
    print(f"\n-- {backend}: {len(cs)} streams each, measured in {wall:.1f} s")
    bad = [
        i
        for i, (c, d) in enumerate(zip(cs, ds, strict=True))
        if "".join(c.text) != text or "".join(d.text) != text
    ]
    if bad:
        print(f"  WARNING: {len(bad)} iterations streamed a different text than enqueued")
    print(f"  {'':<34}{'median':>8}{'p95':>8}")
    for label, get in (
        ("time to first delta (ms)", lambda t: t.ttft),
        ("total, call -> end (ms)", lambda t: t.total),
    ):
        c = [get(t) for t in cs]
        d = [get(t) for t in ds]
        diff = [a - b for a, b in zip(c, d, strict=True)]
        print(f"  {label}")
        print(row("  compat", c))
        print(row("  direct", d))
        extra = ""
        if label.startswith("time to first"):
            extra = f"   (target: < {TARGET_TTFT_MS:.0f} ms added)"
        print(f"{row('  added (paired)', diff)}   ratio {med(c) / med(d):5.2f}x{extra}")
    cr = [t.rate for t in cs]
    dr = [t.rate for t in ds]
    # p5 is the slow end of a rate
    print(f"  {'deltas per second':<34}{'median':>8}{'p5':>8}")
    print(f"    {'compat':<32}{med(cr):8.0f}{pct(cr, 5):8.0f}")
    print(f"    {'direct':<32}{med(dr):8.0f}{pct(dr, 5):8.0f}")
    print(f"    {'compat / direct':<32}{med(cr) / med(dr):8.3f}   (target: 1.0, same throughput)")
    print(
        f"  deltas per stream: compat {med([t.deltas for t in cs]):.0f}, "
        f"direct {med([t.deltas for t in ds]):.0f}"
    )
    added = med([c.ttft - d.ttft for c, d in zip(cs, ds, strict=True)]) * 1000
    ratio = med(cr) / med(dr)
    same = "the same within 3%" if abs(ratio - 1) <= 0.03 else ("lower" if ratio < 1 else "higher")
    print(
        f"  => TTFT added {added:.2f} ms vs target < {TARGET_TTFT_MS:.0f} ms: "
        f"{'MEETS' if added < TARGET_TTFT_MS else 'MISSES'}; throughput {same} (ratio {ratio:.3f})"
    )


def timeline(bench: StreamBench, iterations: int) -> None:
    """Instrumented compat streams: when each step before the first delta happens (ms after
    the runs.create call starts), median over ``iterations``. The timers add a little."""
    import compat.testing._http as emulator_http
    import compat.testing.emulator as emulator
    from compat._engine import driver, upstream

    marks: dict[str, float] = {}
    t0 = [0.0]

    def mark(label: str) -> None:
        marks.setdefault(label, P() - t0[0])

    patches = common.Patches()
    missing: list[str] = []

    def around(
        owner: Any, attr: str, before: str | None, after: str | None, when: Any = None
    ) -> None:
        def make(fn: Any) -> Any:
            def wrapped(*a: Any, **k: Any) -> Any:
                hit = when is None or when(*a, **k)
                if hit and before:
                    mark(before)
                try:
                    return fn(*a, **k)
                finally:
                    if hit and after:
                        mark(after)

            return wrapped

        if not patches.patch(owner, attr, make):
            missing.append(f"{getattr(owner, '__name__', owner)}.{attr}")

    def is_first_text(_self: Any, ev: Any) -> bool:
        return isinstance(ev, dict) and ev.get("type") == "response.output_text.delta"

    around(driver.Segment, "begin", "the reading thread starts the run (Segment.begin)", None)
    around(driver, "build_turn_input", None, "thread history read (build_turn_input)")
    around(
        driver,
        "to_response_request",
        "run saved in_progress (Segment.begin's transaction)",
        "upstream request built (to_response_request)",
    )
    around(emulator_http.Handler, "setup", None, "emulator accepted a new TCP connection")
    around(
        emulator.ResponsesEmulator, "_create_response", "emulator receives POST /v1/responses", None
    )
    around(emulator, "validate_schema", None, "emulator validated the request")
    around(upstream.Upstream, "open", None, "POST /responses returned (headers)")
    around(
        driver.Segment,
        "on_event",
        "first upstream text delta reaches the run (Segment.on_event)",
        "first delta published to the run's feed",
        is_first_text,
    )
    rows: dict[str, list[float]] = {}
    try:
        for i in range(iterations):
            bench.next_turn()
            threads = bench.c.beta.threads
            threads.messages.create(bench.thread_id, role="user", content=f"Timeline {i}")
            bench.emu.enqueue(text=bench.text)
            marks.clear()
            t0[0] = P()
            s = threads.runs.create(
                thread_id=bench.thread_id, assistant_id=bench.assistant.id, stream=True
            )
            mark("runs.create(stream=True) returned")
            for ev in s:
                if ev.event == "thread.message.delta":
                    mark("client receives first thread.message.delta")
            for k, v in marks.items():
                rows.setdefault(k, []).append(v)
    finally:
        patches.restore()
    print(
        f"  timeline of a compat stream to its first delta ({iterations} instrumented runs; "
        "ms after the call, median):"
    )
    prev = 0.0
    for label, values in sorted(rows.items(), key=lambda kv: med(kv[1])):
        m = med(values) * 1000
        print(f"    {m:7.2f}  (+{m - prev:5.2f})  {label}")
        prev = m
    if missing:
        print(f"  (not instrumented, not found: {', '.join(missing)})")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--iterations", type=int, default=100, help="measured streams of each kind (100)"
    )
    ap.add_argument("--warmup", type=int, default=10, help="warm-up streams of each kind (10)")
    ap.add_argument("--words", type=int, default=50, help="words in the streamed answer (50)")
    ap.add_argument(
        "--delta-delay",
        type=float,
        default=0.002,
        help="emulator pause after each delta, s (0.002)",
    )
    ap.add_argument("--thread-turns", type=int, default=10, help="compat turns per thread (10)")
    ap.add_argument(
        "--api",
        choices=("create", "stream"),
        default="create",
        help="compat call: runs.create(stream=True) or the runs.stream() helper",
    )
    common.add_store_args(ap, ["sqlite"])
    common.add_pass_arg(
        ap, "--timeline-runs", 20, "instrumented compat streams for the first-delta timeline"
    )
    common.add_profile_args(ap, "streams")
    args = ap.parse_args(argv)
    common.quiet()
    common.header(
        "time to first token and delta throughput: compat streamed run vs direct Responses stream",
        args,
    )
    text = answer_text(args.words)
    with ResponsesEmulator(delta_delay=args.delta_delay) as emu:
        conns = common.ConnWatch(emu)
        print(
            f"emulator at {emu.base_url} (in process, loopback), "
            f"delta_delay {args.delta_delay * 1000:g} ms, "
            f"answer of {args.words} words"
        )
        for backend, history, url in common.each_store(emu, args, conns):
            bench = StreamBench(emu, url, args.thread_turns, args.api, text, history)
            try:
                cs, ds, wall = run(bench, args.iterations, args.warmup, args.gc_off)
                report(f"{backend}, history={history}", cs, ds, wall, text)
                if args.timeline_runs > 0:
                    timeline(bench, args.timeline_runs)
                common.profile_split(
                    args,
                    lambda i, b=bench: b.compat(f"Profile {i}"),
                    "runs.create(stream=True) and reading the stream",
                )
            finally:
                bench.close()


if __name__ == "__main__":
    main()
