"""Added latency of one Assistants turn through compat vs one direct Responses call.

A *turn* through compat is what Assistants code does per user message::

    messages.create(thread, "user", text)      # store the message
    runs.create(thread, assistant)             # queue the run (leased to this client)
    runs.poll(run, thread)                     # the poll's retrieve executes the run here,
                                               #   streaming POST /responses upstream
    messages.list(thread, limit=1)             # read the answer

(``runs.create`` + ``runs.poll`` is exactly what ``runs.create_and_poll`` does; they are
timed apart for the breakdown.) The baselines are a plain ``openai.OpenAI`` on the same
emulator calling ``responses.create(model=..., input=text)`` — once non-streaming and once
with ``stream=True`` read to the end (compat always streams upstream).

Everything runs in this one process on loopback against ``compat.testing.ResponsesEmulator``
(no network, no model): warm-up turns first, then ``--turns`` turns, each followed by the two
direct calls in a rotating order so compat and the baselines share the machine's noise.
A new thread is started every ``--thread-turns`` turns (default 10): compat replays the whole
thread to ``/responses`` on each turn (``Options.upstream_store=False``), so a turn's cost grows
with the thread; short threads keep the figures about the per-turn overhead, and the
"by position in thread" row shows the growth.

"added" = compat turn - direct call, per turn (paired), then median / p95 of those
differences; "ratio" = median(compat) / median(direct).

An instrumented pass follows (``--detail-turns``, 0 to skip): it wraps a few compat / SDK /
emulator internals with timers (if they exist under the expected names) to show where the
run's time goes. The wrappers add a little time of their own; that pass is not part of the
headline figures. ``--profile N`` adds a cProfile of N turns, the caller's own work apart from
the run segment it executes.

Usage::

    python benchmarks/overhead.py                      # SQLite and PostgreSQL, 200 turns
    python benchmarks/overhead.py --backends sqlite --turns 500
    python benchmarks/overhead.py --postgres-url postgresql+psycopg://user@host:5432/db

Prints figures only; never fails on a slow result.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # _common, from any working directory

import _common as common
from _common import P, med, ms, pct, row

from compat.testing import ResponsesEmulator

TARGET_ADDED_MS = 3.0  # the target: added latency per turn on SQLite


# ---------------------------------------------------------------------------------------------
# The turns


class Bench(common.Clients):
    """Compat turns (``Clients.compat_turn``) and the direct calls next to them."""

    def direct(self, text: str) -> float:
        t0 = P()
        r = self.d.responses.create(model=common.MODEL, input=text)
        _ = r.output_text
        return P() - t0

    def direct_stream(self, text: str) -> float:
        t0 = P()
        stream = self.d.responses.create(model=common.MODEL, input=text, stream=True)
        for _ev in stream:
            pass
        return P() - t0


def measure(bench: Bench, turns: int, warmup: int, gc_off: bool) -> dict[str, Any]:
    calls: list[Callable[[str], float]] = [bench.direct, bench.direct_stream]
    for i in range(warmup):
        bench.compat_turn(f"Warm up {i}")
        for f in calls:
            f(f"Warm up {i}")
    out: dict[str, Any] = {
        "compat": [],
        "direct": [],
        "direct_stream": [],
        "phases": defaultdict(list),
        "position": defaultdict(list),
        "t0": P(),
    }
    with common.gc_paused(gc_off):
        for i in range(turns):
            text = f"Hello number {i}, how are you?"
            # Rotate the order so no call always follows the same one.
            order = [0, 1, 2][i % 3 :] + [0, 1, 2][: i % 3]
            for k in order:
                if k == 0:
                    total, phases, pos = bench.compat_turn(text)
                    out["compat"].append(total)
                    out["position"][pos].append(total)
                    for name, v in phases.items():
                        out["phases"][name].append(v)
                elif k == 1:
                    out["direct"].append(bench.direct(text))
                else:
                    out["direct_stream"].append(bench.direct_stream(text))
    out["wall"] = P() - out["t0"]
    return out


def report(backend: str, r: dict[str, Any], position_direct: float, *, target: bool) -> None:
    c, d, ds = r["compat"], r["direct"], r["direct_stream"]
    n = len(c)
    print(f"\n-- {backend}: {n} turns measured in {r['wall']:.1f} s")
    print(f"  {'latency (ms)':<34}{'median':>8}{'p95':>8}")
    print(row("compat turn", c))
    print(row("direct responses.create", d))
    print(row("direct responses.create stream", ds))
    note = f"   (target: < {TARGET_ADDED_MS:.0f} ms on SQLite)" if target else ""
    for label, base in (("", d), (" stream", ds)):
        diff = [a - b for a, b in zip(c, base, strict=True)]
        print(
            f"  added vs direct{label + ':':<19}{ms(med(diff))}{ms(pct(diff, 95))}"
            f"   ratio {med(c) / med(base):5.1f}x{note}"
        )
    if target:
        added = med([a - b for a, b in zip(c, d, strict=True)]) * 1000
        verdict = "MEETS" if added < TARGET_ADDED_MS else "MISSES"
        print(
            f"  => added median {added:.2f} ms/turn vs target < {TARGET_ADDED_MS:.0f} ms: "
            f"{verdict} the target"
        )
    print("  breakdown of a compat turn (ms):      median     p95   share of median sum")
    sums = {k: med(v) for k, v in r["phases"].items()}
    total = sum(sums.values())
    for name in common.PHASES:
        v = r["phases"][name]
        print(f"    {name:<32}{ms(med(v))}{ms(pct(v, 95))}   {sums[name] / total * 100:5.1f}%")
    print("  compat turn by position in thread (median ms; added vs direct median):")
    parts = [
        f"{p}: {med(v) * 1000:.1f} (+{(med(v) - position_direct) * 1000:.1f})"
        for p, v in sorted(r["position"].items())
    ]
    for i in range(0, len(parts), 5):
        print("    " + ",  ".join(parts[i : i + 5]))


# ---------------------------------------------------------------------------------------------
# Instrumented pass: where a run's time goes


def _as_is(*a: Any, cast_to: Any = None, **k: Any) -> bool:
    """The SDK hands data over unparsed (``cast_to=object``: compat's upstream events)."""
    return cast_to is object


def _not_as_is(*a: Any, cast_to: Any = None, **k: Any) -> bool:
    return cast_to is not object


def detail(bench: Bench, turns: int) -> None:
    import threading

    import openai._base_client as base_client
    import openai.resources.responses.responses as sdk_responses

    import compat.store as store
    import compat.testing.emulator as emulator
    from compat._engine import driver, upstream

    timers = common.Timers()
    w = timers.wrap
    emu_handler = "emulator: POST /v1/responses handler"
    emu_schema = "emulator: request schema validation"
    post = "  POST /responses (until headers)"
    w(driver.RunDriver, "steps", "run segment: RunDriver.steps (time inside)", steps=True)
    w(driver.Segment, "begin", "  Segment.begin (-> in_progress + request)")
    w(driver, "build_turn_input", "    build_turn_input (history, in its txn)")
    w(driver, "to_response_request", "    to_response_request (-> wire JSON)")
    w(upstream.Upstream, "open", post)  # compat: client.post("/responses", wire JSON)
    w(sdk_responses.Responses, "create", post)  # direct: responses.create(stream=True)
    sdk_cls, sdk_data = base_client.SyncAPIClient, "_process_response_data"
    w(sdk_cls, sdk_data, "  SDK hand-off of upstream events (sum)", when=_as_is)
    w(driver.Segment, "on_event", "  Segment.on_event (machine + apply, sum)")
    w(driver.Segment, "apply", "    Segment.apply (sum)")
    w(driver.Segment, "write", "  Segment.write (txns of begin + apply, sum)")
    w(driver.Segment, "close", "  Segment.close (flush, release)")
    w(sdk_cls, sdk_data, "SDK parse into models (caller, sum)", when=_not_as_is)
    w(store.Store, "write", "store write transactions (all threads, sum)", context=True)
    w(store.Store, "read", "store read transactions (all threads, sum)", context=True)
    # Where segments run (the polling thread, unless a background thread started the run
    # first), and the poll's return: from the segment saving the run's final state to
    # runs.poll returning.
    main = threading.get_ident()
    where = {"polling thread": 0, "another thread": 0}
    saved: list[float] = []
    woke: list[float] = []

    def on_final_save(fn: Any) -> Any:
        def wrapped(seg: Any, *a: Any, **k: Any) -> Any:
            before = seg.machine is not None and seg.machine.finished
            try:
                return fn(seg, *a, **k)
            finally:
                if not before and seg.machine is not None and seg.machine.finished:
                    saved.append(P())
                    key = "polling thread" if threading.get_ident() == main else "another thread"
                    where[key] += 1

        return wrapped

    def on_return(fn: Any) -> Any:
        def wrapped(*a: Any, **k: Any) -> Any:
            try:
                return fn(*a, **k)
            finally:
                woke.append(P())

        return wrapped

    timers.patch(driver.Segment, "on_event", on_final_save)
    timers.patch(type(bench.c.beta.threads.runs), "poll", on_return)
    w(emulator.ResponsesEmulator, "_create_response", emu_handler)
    w(emulator, "validate_schema", emu_schema)  # the name _create_response calls
    # Timers are shared by both clients: read compat's figures, then reset for the direct calls.
    try:
        for i in range(turns):
            bench.compat_turn(f"Detail {i}")
        compat_acc = {k: list(v) for k, v in timers.acc.items()}
        for v in timers.acc.values():
            v.clear()
        for i in range(turns):
            bench.direct_stream(f"Detail {i}")
        direct_acc = {k: list(v) for k, v in timers.acc.items()}
    finally:
        timers.restore()
    print(
        f"  inside a compat turn ({turns} instrumented turns; mean ms per turn; "
        f"the direct stream call's own figure for comparison):"
    )
    for label, values in compat_acc.items():
        if label.startswith("emulator"):
            continue
        same = direct_acc.get(label) or []
        cmp_ = f"   direct: {sum(same) / turns * 1000:6.2f}" if same else ""
        print(
            f"    {label:<44}{sum(values) / turns * 1000:7.2f}   "
            f"({len(values) / turns:4.1f} calls/turn){cmp_}"
        )
    if compat_acc.get(emu_handler) and direct_acc.get(emu_handler):
        print("  emulator time per /v1/responses request (the upstream's side; median ms):")
        rows = [
            ("handler, compat request (carries the thread)", compat_acc[emu_handler]),
            ("handler, direct stream request", direct_acc[emu_handler]),
        ]
        if compat_acc.get(emu_schema) and direct_acc.get(emu_schema):
            rows += [
                ("  of which schema validation, compat", compat_acc[emu_schema]),
                ("  of which schema validation, direct", direct_acc[emu_schema]),
            ]
        for label, values in rows:
            print(f"    {label:<44}{med(values) * 1000:7.2f}")
    print(
        f"  runs executed in the polling thread: {where['polling thread']}, "
        f"in another thread: {where['another thread']}"
    )
    if len(saved) == len(woke) == turns:
        wake = [b - a for a, b in zip(saved, woke, strict=True)]
        print(
            f"  runs.poll returns {med(wake) * 1000:.2f} ms (median) after the segment saved "
            "the run's final state (segment close, the retrieve's re-read and answer, SDK parse)"
        )
    if timers.missing:
        print(f"  (not instrumented, not found: {', '.join(timers.missing)})")


# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--turns", type=int, default=200, help="measured turns per backend (200)")
    ap.add_argument("--warmup", type=int, default=20, help="warm-up turns per backend (20)")
    ap.add_argument("--thread-turns", type=int, default=10, help="turns per thread (10)")
    common.add_store_args(ap, ["sqlite", "postgres"])
    common.add_pass_arg(ap, "--detail-turns", 50, "turns of the instrumented pass per backend")
    common.add_profile_args(ap, "turns")
    args = ap.parse_args(argv)
    common.quiet()
    common.header("compat overhead per Assistants turn vs a direct Responses call", args)
    print(
        f"turn = messages.create + runs.create + runs.poll + messages.list(limit=1); "
        f"new thread every {args.thread_turns} turns"
    )
    with ResponsesEmulator() as emu:
        conns = common.ConnWatch(emu)
        print(f"emulator at {emu.base_url} (in process, loopback)")
        for backend, history, url in common.each_store(emu, args, conns):
            bench = Bench(emu, url, args.thread_turns, history)
            try:
                r = measure(bench, args.turns, args.warmup, args.gc_off)
                label = f"{backend}, history={history}"
                report(label, r, med(r["direct"]), target=backend == "sqlite")
                if args.detail_turns > 0:
                    detail(bench, args.detail_turns)
                common.profile_split(
                    args,
                    lambda i, b=bench: b.compat_turn(f"Profile {i}"),
                    "the 4 API calls of a turn",
                )
            finally:
                bench.close()


if __name__ == "__main__":
    main()
