"""Turns per second with 1 and 16 concurrent Assistants threads vs direct concurrent calls.

The emulator answers every ``/responses`` call after ``--latency`` (200 ms) of upstream
latency, as a real model does; the question is whether compat keeps up when many
conversations run at once in one process, or whether its own work (one GIL, the store's
write lock) makes callers queue. The emulator runs in a child process by default
(``--emulator process``): a real upstream does not share the caller's GIL, and the emulator's
own work per request (more for compat's streamed, replayed requests) would otherwise count
against compat; ``--emulator thread`` keeps it in this process.

* compat: ``N`` Python threads share one sync ``compat.OpenAI`` client; each has its own
  Assistants thread (a new one every ``--thread-turns`` turns, created inside the measured
  loop) and makes polled turns back to back: ``messages.create`` + ``runs.create`` +
  ``runs.poll`` (= ``runs.create_and_poll``; the poll's retrieve executes the run in that
  thread) + ``messages.list(limit=1)``.
* direct: ``N`` Python threads share one plain ``openai.OpenAI`` and call
  ``responses.create(model, input)`` (non-streaming) back to back.

Each measurement runs ``--seconds`` (3) after one untimed turn per thread and a common start;
turns started before the end count. For N in ``--threads`` (1,16), per backend: compat then
direct, ``--rounds`` (2) times in turn; turns per second = all turns / the rounds' summed time
(each from the start to the end of its last turn). Figures: turns per second of each and
their ratio (target at 16 threads: compat >= 0.9x direct), the latency of one turn / call
(median, p95) under that load, each round's rate, and this process's CPU time per turn / call
(the emulator's share included only with ``--emulator thread``; the process's idle CPU rate,
measured for a second first, taken off).

Usage::

    python benchmarks/concurrency.py                   # SQLite and PostgreSQL, 1 and 16 threads
    python benchmarks/concurrency.py --backends sqlite --threads 1,4,16,32 --seconds 8

Prints figures only; never fails on a slow result.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # _common, from any working directory

import _common as common
from _common import P, med, pct

from compat.testing import ResponsesEmulator

TARGET_RATIO = 0.9  # the target: compat turns/s >= 0.9x direct calls/s at 16 threads


def threads_arg(value: str) -> list[int]:
    try:
        counts = [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        counts = []
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"thread counts are positive integers, not {value!r}")
    return counts


def load(n: int, seconds: float, setup: Callable[[int], Callable[[int], None]]) -> dict[str, Any]:
    """``n`` threads, each ``turn = setup(k)`` (untimed), one untimed ``turn(0)``, then, from a
    common start, ``turn(i)`` until ``seconds`` have passed. Turns per second and latencies."""
    barrier = threading.Barrier(n + 1)
    latencies: list[list[float]] = [[] for _ in range(n)]
    ends = [0.0] * n
    errors: list[BaseException] = []
    start = [0.0]

    def worker(k: int) -> None:
        try:
            turn = setup(k)
            turn(0)
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()
            return
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            return
        deadline = start[0] + seconds
        i = 1
        try:
            while P() < deadline:
                t = P()
                turn(i)
                latencies[k].append(P() - t)
                i += 1
        except BaseException as exc:
            errors.append(exc)
        ends[k] = P()

    workers = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(n)]
    for t in workers:
        t.start()
    try:
        start[0] = P()
        cpu = time.process_time()
        barrier.wait()
    except threading.BrokenBarrierError:
        pass
    for t in workers:
        t.join()
    cpu = time.process_time() - cpu
    if errors:
        raise RuntimeError(f"{len(errors)} worker(s) failed, first: {errors[0]!r}")
    flat = [v for per in latencies for v in per]
    return {"n": len(flat), "wall": max(ends) - start[0], "cpu": cpu, "lat": flat}


def idle_cpu(seconds: float = 1.0) -> float:
    """The process's CPU seconds per second while nobody calls (the emulator's accept loop,
    compat's lease keeper): taken off the CPU per turn."""
    t, cpu = P(), time.process_time()
    time.sleep(seconds)
    return (time.process_time() - cpu) / (P() - t)


def merge(results: list[dict[str, Any]], idle: float) -> dict[str, Any]:
    """Rounds of ``load`` as one: turns per second over their summed time; CPU per turn
    less the ``idle`` rate."""
    n = sum(r["n"] for r in results)
    wall = sum(r["wall"] for r in results)
    cpu = sum(r["cpu"] for r in results) - idle * wall
    lat = [v for r in results for v in r["lat"]]
    return {
        "tps": n / wall,
        "cpu_per_turn": cpu / n,
        "lat": lat,
        "rounds": [r["n"] / r["wall"] for r in results],
    }


class Concurrency(common.Clients):
    """One compat client and one direct client on the emulator; turns for ``load``."""

    def compat_setup(self, k: int) -> Callable[[int], None]:
        thread_id = [""]

        def turn(i: int) -> None:
            if i % self.thread_turns == 0:
                thread_id[0] = self.c.beta.threads.create().id
            common.polled_turn(self.c, thread_id[0], self.assistant.id, f"Worker {k}, turn {i}")

        return turn

    def direct_setup(self, k: int) -> Callable[[int], None]:
        def call(i: int) -> None:
            _ = self.d.responses.create(
                model=common.MODEL, input=f"Worker {k}, turn {i}"
            ).output_text

        return call


def report(
    label: str, results: list[tuple[int, dict[str, Any], dict[str, Any]]], *, in_process: bool
) -> None:
    print(f"\n-- {label}")
    print(
        f"  {'threads':>7}  {'compat turns/s':>14}  {'direct calls/s':>14}  {'ratio':>6}   "
        f"{'latency ms: compat median / p95':>32}   {'direct median / p95':>20}"
    )
    for n, c, d in results:
        ratio = c["tps"] / d["tps"]
        note = f"   (target >= {TARGET_RATIO}x)" if n == 16 else ""
        print(
            f"  {n:>7}  {c['tps']:>14.1f}  {d['tps']:>14.1f}  {ratio:>5.2f}x   "
            f"{med(c['lat']) * 1000:>22.1f} / {pct(c['lat'], 95) * 1000:6.1f}   "
            f"{med(d['lat']) * 1000:>11.1f} / {pct(d['lat'], 95) * 1000:6.1f}{note}"
        )
    print("  each round (turns/s, compat | direct) and the process's CPU per turn / call (ms):")
    emulator = "the emulator's included, " if in_process else ""
    for n, c, d in results:
        rounds = " ".join(f"{v:.1f}" for v in c["rounds"])
        direct = " ".join(f"{v:.1f}" for v in d["rounds"])
        print(
            f"  {n:>7}  {rounds} | {direct};  CPU compat {c['cpu_per_turn'] * 1000:.1f}, "
            f"direct {d['cpu_per_turn'] * 1000:.1f} ({emulator}idle CPU taken off)"
        )
    for n, c, d in results:
        if n == 16:
            ratio = c["tps"] / d["tps"]
            verdict = "MEETS" if ratio >= TARGET_RATIO else "MISSES"
            print(
                f"  => 16 threads: compat {ratio:.2f}x direct vs target >= {TARGET_RATIO}x: "
                f"{verdict} the target"
            )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--threads",
        type=threads_arg,
        default=[1, 16],
        help="comma-separated concurrent thread counts (1,16)",
    )
    ap.add_argument("--seconds", type=float, default=3.0, help="each measurement, s (3)")
    ap.add_argument("--rounds", type=int, default=2, help="measurements of each, alternating (2)")
    ap.add_argument("--latency", type=float, default=0.2, help="emulator latency per call, s (0.2)")
    ap.add_argument("--thread-turns", type=int, default=10, help="turns per Assistants thread (10)")
    ap.add_argument(
        "--emulator",
        choices=("process", "thread"),
        default="process",
        help="run the emulator in a child process (default: off this process's GIL, as a "
        "real upstream is) or in a thread of this process",
    )
    common.add_store_args(ap, ["sqlite", "postgres"], history=False)
    args = ap.parse_args(argv)
    common.quiet()
    common.header("turns per second under concurrency: compat polled turns vs direct calls", args)
    print(
        "turn = messages.create + runs.create + runs.poll + messages.list(limit=1); "
        f"direct = responses.create; upstream latency {args.latency * 1000:g} ms"
    )
    if args.emulator == "process":
        emu: Any = common.EmulatorProcess(latency=args.latency)
        conns = None
        where = "in a child process"
    else:
        emu = ResponsesEmulator(latency=args.latency).start()
        conns = common.ConnWatch(emu)
        where = "in this process, sharing its GIL"
    try:
        print(f"emulator at {emu.base_url} ({where}, loopback)")
        for backend, url in common.each_backend(args):
            bench = Concurrency(emu, url, args.thread_turns)
            results = []
            idle = idle_cpu()
            try:
                for n in args.threads:
                    cs, ds = [], []
                    with common.gc_paused(args.gc_off):
                        for _ in range(args.rounds):
                            cs.append(load(n, args.seconds, bench.compat_setup))
                            ds.append(load(n, args.seconds, bench.direct_setup))
                    results.append((n, merge(cs, idle), merge(ds, idle)))
            finally:
                bench.close()
            report(backend, results, in_process=conns is not None)
            if conns is not None:
                print(conns.line())
    finally:
        if isinstance(emu, ResponsesEmulator):
            emu.stop()
        else:
            emu.close()


if __name__ == "__main__":
    main()
