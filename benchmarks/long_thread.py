"""Added latency per turn on a long thread: compat vs the same request sent directly.

Per backend (and ``--history`` mode), one thread of ``--messages`` (1,000) messages, user and
assistant in turn, ~30 words each, written straight into the store once (``repo.insert_many``,
bodies shaped by ``compat._objects.message``: what the API stores), then turns on it:

* **polled** turns: ``messages.create`` + ``runs.create`` + ``runs.poll`` (the poll's retrieve
  executes the run) + ``messages.list(limit=1)``. Baseline: the ``/responses`` body compat sent
  for that very turn (the emulator's ``requests[-1]``: the whole thread as input in replay mode)
  posted again, non-streaming, by a plain ``openai.OpenAI`` as wire JSON (``client.post``,
  parsed into a ``Response``).
* **streamed** turns: ``messages.create`` (untimed) + ``runs.create(stream=True)`` read to the
  end: time to the first ``thread.message.delta`` and to the end. Baseline: the same body
  posted again with ``stream=True``, read to the end (first ``response.output_text.delta``).

So compat and the direct call carry the same input to the same in-process
``compat.testing.ResponsesEmulator``, whose own (large) time on a long input is in both and
cancels out of "added" (= compat - direct, paired per turn; median / p95). Each turn adds two
messages (the question and the answer), so the thread grows from ``--messages`` by two a turn.
The first turn on the thread (``--warmup`` turns are untimed) is printed apart: it reads the
whole history, later turns only what is new. An instrumented pass (``--detail-turns``, 0 to
skip) then times compat's own steps inside a few more polled turns. The garbage collector's
passes are counted too: a full collection over the thread's objects can take longer than a
turn (``--gc-off`` to measure without).

Why wire JSON and not ``responses.create(**body)``: the SDK's per-field transform of a
1,000-item input costs several hundred ms, far more than the call; compat posts wire JSON, and
a fair baseline does too.

Usage::

    python benchmarks/long_thread.py                   # SQLite and PostgreSQL, 20 turns each way
    python benchmarks/long_thread.py --backends sqlite --turns 50 --messages 2000

Prints figures only; never fails on a slow result.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # _common, from any working directory

import _common as common
from _common import P, added_row, med, ms, row

from compat.testing import ResponsesEmulator

TARGET_ADDED_MS = 5.0  # the target: added per turn on a 1,000-message thread, SQLite


class LongThread(common.Clients):
    """One long thread, and its turns next to the direct re-post of the same request."""

    def __init__(self, emu: ResponsesEmulator, url: str, history: str, messages: int) -> None:
        super().__init__(emu, url, thread_turns=10**9, history=history)
        self.thread_id = self.c.beta.threads.create().id
        self.n = 1  # next_turn keeps this thread
        self.seeded = common.seed_thread(self.c, self.thread_id, self.assistant.id, messages)
        # the direct client's first parse of a Response builds the SDK's models: not a turn's
        for stream in (False, True):
            common.repost(self.d, {"model": common.MODEL, "input": "Warm up"}, stream=stream)

    def polled(self, text: str) -> tuple[float, dict[str, float], float, dict[str, Any]]:
        """(compat turn s, its phases, direct non-stream s, the request body)."""
        total, phases = common.polled_turn(self.c, self.thread_id, self.assistant.id, text)
        body = self.emu.requests[-1]
        return total, phases, common.repost(self.d, body, stream=False)[1], body

    def streamed(self, text: str) -> tuple[tuple[float, float], tuple[float, float]]:
        """((compat TTFT, total), (direct TTFT, total)) in seconds."""
        threads = self.c.beta.threads
        threads.messages.create(self.thread_id, role="user", content=text)
        first = 0.0
        t0 = P()
        stream = threads.runs.create(
            thread_id=self.thread_id, assistant_id=self.assistant.id, stream=True
        )
        for ev in stream:
            if ev.event == "thread.message.delta" and not first:
                first = P() - t0
            elif ev.event in ("thread.run.failed", "error"):
                raise RuntimeError(f"compat run failed: {ev.data}")
        compat = (first, P() - t0)
        return compat, common.repost(self.d, self.emu.requests[-1], stream=True)


def measure(bench: LongThread, turns: int, warmup: int, gc_off: bool) -> dict[str, Any]:
    out: dict[str, Any] = defaultdict(list)
    out["phases"] = defaultdict(list)
    for i in range(warmup):
        c, _phases, d, body = bench.polled(f"Warm up {i}")
        if i == 0:
            out["first"] = (c, d, len(body.get("input") or []), len(json.dumps(body)))
        bench.streamed(f"Warm up {i}")
    t0 = P()
    with common.gc_paused(gc_off), common.GcWatch() as gcw:
        for i in range(turns):
            c, phases, d, body = bench.polled(f"Question {i}: how are you?")
            out["compat"].append(c)
            out["direct"].append(d)
            for name, v in phases.items():
                out["phases"][name].append(v)
            (cf, ct), (df, dt) = bench.streamed(f"Question {i}, streamed: go on.")
            out["c_ttft"].append(cf)
            out["c_total"].append(ct)
            out["d_ttft"].append(df)
            out["d_total"].append(dt)
    out["wall"] = P() - t0
    out["gc"] = gcw.line()
    out["items"] = len(body.get("input") or [])
    out["bytes"] = len(json.dumps(body))
    return out


def report(label: str, bench: LongThread, r: dict[str, Any], messages: int, target: bool) -> None:
    n = len(r["compat"])
    print(
        f"\n-- {label}: {messages} messages written in {bench.seeded:.2f} s; "
        f"{n} polled + {n} streamed turns measured in {r['wall']:.1f} s"
    )
    if "first" in r:
        c, d, items, size = r["first"]
        print(
            f"  first turn (whole history read): compat {c * 1000:.1f} ms, "
            f"direct {d * 1000:.1f} ms, added {(c - d) * 1000:.1f} ms; "
            f"request {items} input items, {size / 1024:.0f} KiB"
        )
    print(
        f"  last request: {r['items']} input items, {r['bytes'] / 1024:.0f} KiB of JSON "
        "(sent by compat, re-posted as is)"
    )
    print(f"  {'latency (ms)':<34}{'median':>8}{'p95':>8}")
    print(row("polled compat turn", r["compat"]))
    print(row("direct, same body, non-stream", r["direct"]))
    note = f"   (target: <= {TARGET_ADDED_MS:.0f} ms on SQLite)" if target else ""
    print(added_row("added per polled turn", r["compat"], r["direct"], note))
    print(row("streamed compat: first delta", r["c_ttft"]))
    print(row("direct, same body: first delta", r["d_ttft"]))
    print(added_row("added to the first delta", r["c_ttft"], r["d_ttft"]))
    print(row("streamed compat: to the end", r["c_total"]))
    print(row("direct, same body: to the end", r["d_total"]))
    print(added_row("added per streamed turn", r["c_total"], r["d_total"]))
    if target:
        added = med([a - b for a, b in zip(r["compat"], r["direct"], strict=True)]) * 1000
        verdict = "MEETS" if added <= TARGET_ADDED_MS else "MISSES"
        print(
            f"  => added median {added:.2f} ms per polled turn on a {messages}-message thread vs "
            f"target <= {TARGET_ADDED_MS:.0f} ms: {verdict} the target"
        )
    print("  polled compat turn by phase (ms):   median")
    for name in common.PHASES:
        print(f"    {name:<32}{ms(med(r['phases'][name]))}")
    print(f"  during the measured turns, {r['gc']}")


def _responses_post(_client: Any, path: str, *a: Any, **k: Any) -> bool:
    return path == "/responses"


def detail(bench: LongThread, turns: int) -> None:
    """Timers around compat's own steps of a polled turn on the long thread (mean ms), and
    the direct client's POST of the same bodies (stream=True, as compat posts) until its
    headers."""
    import openai._base_client as base_client

    import compat.store as store
    from compat._engine import driver

    timers = common.Timers()
    w = timers.wrap
    post = "  POST /responses (until headers)"
    w(driver.RunDriver, "steps", "run segment: RunDriver.steps (time inside)", steps=True)
    w(driver.Segment, "begin", "  Segment.begin (-> in_progress + request)")
    w(driver, "build_turn_input", "    build_turn_input (history, in its txn)")
    w(driver, "to_response_request", "    to_response_request (-> wire JSON)")
    w(base_client.SyncAPIClient, "post", post, when=_responses_post)
    w(driver.Segment, "on_event", "  Segment.on_event (machine + apply, sum)")
    w(store.Store, "write", "store write transactions (all threads, sum)", context=True)
    w(store.Store, "read", "store read transactions (all threads, sum)", context=True)
    bodies = []
    gcw = common.GcWatch()
    try:
        with gcw:
            for i in range(turns):
                text = f"Detail {i}"
                common.polled_turn(bench.c, bench.thread_id, bench.assistant.id, text)
                bodies.append(bench.emu.requests[-1])
        compat_acc = {k: list(v) for k, v in timers.acc.items()}
        for v in timers.acc.values():
            v.clear()
        for body in bodies:
            common.repost(bench.d, body, stream=True)
    finally:
        timers.restore()
    print(
        f"  inside a polled turn ({turns} instrumented turns; mean ms per turn; the direct "
        "client's stream of the same body for comparison):"
    )
    for label, values in compat_acc.items():
        same = timers.acc.get(label) or []
        cmp_ = f"   direct: {sum(same) / turns * 1000:6.2f}" if same else ""
        print(
            f"    {label:<44}{sum(values) / turns * 1000:7.2f}   "
            f"({len(values) / turns:4.1f} calls/turn){cmp_}"
        )
    print(f"  during the instrumented turns, {gcw.line()}")
    if timers.missing:
        print(f"  (not instrumented, not found: {', '.join(timers.missing)})")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--messages", type=int, default=1000, help="messages in the thread before (1000)"
    )
    ap.add_argument(
        "--turns", type=int, default=20, help="measured turns of each kind per backend (20)"
    )
    ap.add_argument("--warmup", type=int, default=3, help="untimed turns of each kind first (3)")
    common.add_store_args(ap, ["sqlite", "postgres"])
    common.add_pass_arg(ap, "--detail-turns", 5, "polled turns of an instrumented pass per backend")
    args = ap.parse_args(argv)
    common.quiet()
    common.header(
        f"compat turns on a {args.messages}-message thread vs the same request sent directly",
        args,
    )
    with ResponsesEmulator() as emu:
        conns = common.ConnWatch(emu)
        print(f"emulator at {emu.base_url} (in process, loopback)")
        for backend, history, url in common.each_store(emu, args, conns):
            bench = LongThread(emu, url, history, args.messages)
            try:
                r = measure(bench, args.turns, max(1, args.warmup), args.gc_off)
                report(
                    f"{backend}, history={history}",
                    bench,
                    r,
                    args.messages,
                    target=backend == "sqlite",
                )
                if args.detail_turns > 0:
                    detail(bench, args.detail_turns)
            finally:
                bench.close()


if __name__ == "__main__":
    main()
