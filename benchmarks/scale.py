"""Scale: turns per second with 1, 4 and 16 processes; messages.list on a 100,000-message thread.

Two measurements, per backend (SQLite: one database file shared by every process;
PostgreSQL: one schema):

1. **Processes.** ``N`` worker processes (each its own OS process and interpreter, started
   once, ``--processes`` 1,4,16) run at the same time against one emulator (itself in a
   child process, answering after ``--latency`` 0.2 s):

   * compat: each worker has its own sync ``compat.OpenAI`` on the shared store, its own
     assistant and its own Assistants threads (a new one every ``--thread-turns`` 10 turns)
     and makes polled turns back to back: ``messages.create`` + ``runs.create`` +
     ``runs.poll`` (= ``runs.create_and_poll``) + ``messages.list(limit=1)``;
   * direct: each worker has a plain ``openai.OpenAI`` and calls ``responses.create`` back
     to back (no store; measured once per ``N``, next to each backend's row).

   Every worker makes one untimed turn first; then all start at one wall-clock time and
   turn until ``--seconds`` (5) have passed (turns started before the end count; the rate
   is all turns / the time from the start to the end of the last one). Every exception and
   every run that did not complete is counted as an error and printed by kind (a 500 or
   "database is locked" shows up there), and the worker goes on with a new thread.

2. **Long thread.** ``messages.list`` (``--limit`` 20, ``order="desc"``) on a
   ``--small`` (100) message thread vs a ``--messages`` (100,000) message thread: the first
   page, and the page ``after=`` a cursor in the middle of the thread. The threads are
   written straight into the store (``_common.seed_thread``, ``--batch`` messages a
   transaction). ``--calls`` (100) calls of each after 5 untimed ones, small and big
   alternating; median / p95 and the ratio big / small of the medians (target <= 1.5x).

Usage::

    python benchmarks/scale.py                       # both parts, SQLite and PostgreSQL
    python benchmarks/scale.py --backends sqlite --processes 1,2,4,8 --seconds 8 --only turns
    python benchmarks/scale.py --only list --messages 1000000

Prints figures only; never fails on a slow result.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # _common, from any working directory

import _common as common
import openai
from _common import P, med, pct, row
from concurrency import threads_arg

import compat

TARGET_LIST_RATIO = 1.5  # messages.list on 100,000 messages <= 1.5x its time on 100


# ---------------------------------------------------------------------------------------------
# Part 1: worker processes


def describe(exc: BaseException) -> str:
    """An error's kind for the tally: its class and the first line of its message."""
    text = (str(exc).strip().splitlines() or [""])[0]
    return f"{exc.__class__.__name__}: {text[:160]}" if text else exc.__class__.__name__


class Worker:
    """In a worker process: the turns of one measurement (``spec["mode"]``: compat or
    direct), prepared with one untimed turn, then ``run`` from a common start."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.k = spec["k"]
        self.bench: common.Clients | None = None
        self.direct: openai.OpenAI | None = None
        if spec["mode"] == "compat":
            self.bench = common.Clients(spec["base_url"], spec["url"], spec["thread_turns"])
        else:
            self.direct = common.direct_client(spec["base_url"])
        self.turn(0)

    def turn(self, i: int) -> None:
        text = f"Worker {self.k}, turn {i}"
        if self.direct is not None:
            _ = self.direct.responses.create(model=common.MODEL, input=text).output_text
        elif self.bench is not None:
            try:
                self.bench.compat_turn(text)  # raises unless the run completed with an answer
            except BaseException:
                b = self.bench
                b.n += -b.n % b.thread_turns  # the next turn starts on a new thread
                raise

    def run(self, start: float, seconds: float) -> dict[str, Any]:
        time.sleep(max(0.0, start - time.time()))
        deadline = start + seconds
        lat: list[float] = []
        errors: Counter[str] = Counter()
        i = 1
        while time.time() < deadline:
            t = P()
            try:
                self.turn(i)
                lat.append(P() - t)
            except Exception as exc:
                errors[describe(exc)] += 1
            i += 1
        return {"end": time.time(), "lat": lat, "errors": errors}

    def close(self) -> None:
        if self.bench is not None:
            self.bench.close()
        if self.direct is not None:
            self.direct.close()


def worker_main() -> None:
    """A worker process's loop: a spec line (answered ``ready``), then a start line
    (answered with the figures), until stdin closes."""
    common.quiet()

    def answer(obj: dict[str, Any]) -> None:
        print(json.dumps(obj), flush=True)

    while line := sys.stdin.readline():
        spec = json.loads(line)
        worker = None
        try:
            worker = Worker(spec)
            answer({"ready": True})
        except Exception as exc:
            answer({"ready": False, "error": describe(exc)})
        go = json.loads(sys.stdin.readline() or "{}")
        if "start" not in go:
            return
        if worker is None:
            answer({"end": go["start"], "lat": [], "errors": {}})  # counted at setup
            continue
        try:
            answer(worker.run(go["start"], go["seconds"]))
        finally:
            worker.close()


class Pool:
    """``n`` worker processes (this script with ``--worker``), started once."""

    def __init__(self, n: int) -> None:
        self.procs = [
            subprocess.Popen(
                [sys.executable, __file__, "--worker"],
                cwd=common.ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                bufsize=1,
            )
            for _ in range(n)
        ]

    @staticmethod
    def _send(proc: subprocess.Popen[str], obj: dict[str, Any]) -> None:
        """One line to the worker (none to one that has exited: ``_read`` says so)."""
        with contextlib.suppress(BrokenPipeError, AttributeError):
            proc.stdin.write(json.dumps(obj) + "\n")  # type: ignore[union-attr]
            proc.stdin.flush()  # type: ignore[union-attr]

    @staticmethod
    def _read(proc: subprocess.Popen[str]) -> dict[str, Any]:
        line = proc.stdout.readline() if proc.stdout is not None else ""
        return json.loads(line) if line else {"error": f"worker exited ({proc.poll()})"}

    def measure(self, n: int, seconds: float, **spec: Any) -> dict[str, Any]:
        """The first ``n`` workers prepare ``spec`` (one untimed turn each), then turn from
        one start for ``seconds``: turns per second, latencies and the errors."""
        procs = self.procs[:n]
        for k, proc in enumerate(procs):
            self._send(proc, {**spec, "k": k})
        setup = Counter(
            f"setup: {r['error']}" for r in map(self._read, procs) if not r.get("ready")
        )
        start = time.time() + 0.3
        for proc in procs:
            self._send(proc, {"start": start, "seconds": seconds})
        results = [self._read(proc) for proc in procs]
        errors = setup + sum((Counter(r.get("errors", {})) for r in results), Counter())
        errors.update(r["error"] for r in results if "error" in r)
        lat = [v for r in results for v in r.get("lat", [])]
        wall = max([r.get("end", start) - start for r in results] + [1e-9])
        return {"tps": len(lat) / wall, "lat": lat, "errors": errors}

    def close(self) -> None:
        for proc in self.procs:
            if proc.stdin is not None:
                proc.stdin.close()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def prepare_store(base_url: str, url: str) -> None:
    """Create the store's tables once, before many processes open it at the same time."""
    common.close_compat(common.compat_client(base_url, url))


def latency(r: dict[str, Any]) -> str:
    lat = r["lat"]
    if not lat:
        return f"{'-':>8} / {'-':>6}"
    return f"{med(lat) * 1000:8.1f} / {pct(lat, 95) * 1000:6.1f}"


def errors_text(errors: Counter[str]) -> str:
    return "; ".join(f"{n}x {kind}" for kind, n in errors.most_common()) or "none"


def measure_processes(
    args: argparse.Namespace, base_url: str, urls: dict[str, str]
) -> list[tuple[int, str, dict[str, Any], dict[str, Any]]]:
    """(processes, backend, compat figures, direct figures) for every count and backend."""
    results = []
    pool = Pool(max(args.processes))
    try:
        for n in args.processes:
            direct = pool.measure(n, args.seconds, mode="direct", base_url=base_url)
            for backend, url in urls.items():
                spec = {"base_url": base_url, "url": url, "thread_turns": args.thread_turns}
                results.append(
                    (n, backend, pool.measure(n, args.seconds, mode="compat", **spec), direct)
                )
    finally:
        pool.close()
    return results


def report_processes(results: list[tuple[int, str, dict[str, Any], dict[str, Any]]]) -> None:
    print(
        f"\n  {'procs':>5}  {'store':<8}  {'compat turns/s':>14}  {'direct calls/s':>14}  "
        f"{'ratio':>6}   {'latency ms: compat median / p95':>31}   {'direct median / p95':>19}"
    )
    for n, backend, c, d in results:
        ratio = c["tps"] / d["tps"] if d["tps"] else float("nan")
        print(
            f"  {n:>5}  {backend:<8}  {c['tps']:>14.1f}  {d['tps']:>14.1f}  {ratio:>5.2f}x   "
            f"{latency(c):>31}   {latency(d):>19}"
        )
    print("  errors (every exception or run that did not complete; compat | direct):")
    for n, backend, c, d in results:
        turns, calls = len(c["lat"]), len(d["lat"])
        print(
            f"  {n:>5}  {backend:<8}  compat {sum(c['errors'].values())} in {turns} turns: "
            f"{errors_text(c['errors'])} | direct {sum(d['errors'].values())} in {calls} calls: "
            f"{errors_text(d['errors'])}"
        )


# ---------------------------------------------------------------------------------------------
# Part 2: messages.list on a long thread


def seed(
    c: compat.OpenAI, thread_id: str, assistant_id: str, n: int, batch: int
) -> tuple[float, str]:
    """``n`` messages into the thread through the store (``common.seed_thread``, ``batch``
    per transaction, ``ord`` increasing); seconds taken, and the id of the message in the
    middle (the newest once the first half is written)."""
    seconds, middle = 0.0, ""
    for part in (n // 2, n - n // 2):
        done = 0
        while done < part:
            k = min(batch, part - done)
            seconds += common.seed_thread(c, thread_id, assistant_id, k)
            done += k
        if not middle:
            middle = c.beta.threads.messages.list(thread_id, limit=1).data[0].id
    return seconds, middle


def measure_lists(args: argparse.Namespace, base_url: str, url: str) -> dict[str, Any]:
    """Latencies of the first page and the page after the middle, on both threads."""
    c = common.compat_client(base_url, url)
    try:
        assistant = c.beta.assistants.create(model=common.MODEL)
        threads: dict[str, tuple[str, str]] = {}
        seeded = {}
        for size in (args.small, args.messages):
            tid = c.beta.threads.create().id
            seeded[size], middle = seed(c, tid, assistant.id, size, args.batch)
            threads[str(size)] = (tid, middle)
        queries = {"first page": False, "after= the middle": True}
        lat: dict[tuple[str, str], list[float]] = {}
        items: dict[tuple[str, str], int] = {}
        for i in range(5 + args.calls):
            order = list(threads.items())
            for size, (tid, middle) in order if i % 2 else reversed(order):
                for q, after in queries.items():
                    extra = {"after": middle} if after else {}
                    t = P()
                    page = c.beta.threads.messages.list(
                        tid, limit=args.limit, order="desc", **extra
                    )
                    n = len(page.data)
                    took = P() - t
                    if i >= 5:
                        lat.setdefault((q, size), []).append(took)
                        items[(q, size)] = n
        return {"lat": lat, "items": items, "seeded": seeded, "queries": list(queries)}
    finally:
        common.close_compat(c)


def report_lists(args: argparse.Namespace, backend: str, r: dict[str, Any]) -> None:
    small, big = str(args.small), str(args.messages)
    print(
        f"\n-- {backend}: messages.list(limit={args.limit}, order='desc'), "
        f"{args.calls} calls each; seeded {args.small:,} messages"
        f" in {r['seeded'][args.small]:.2f} s, "
        f"{args.messages:,} in {r['seeded'][args.messages]:.1f} s"
    )
    print(f"  {'latency (ms)':<44}{'median':>8}{'p95':>8}   items")
    for q in r["queries"]:
        for size in (small, big):
            label = f"{q}, {int(size):,} messages"
            print(f"{row(label, r['lat'][(q, size)], 44)}   {r['items'][(q, size)]:>5}")
        ratio = med(r["lat"][(q, big)]) / med(r["lat"][(q, small)])
        verdict = "MEETS" if ratio <= TARGET_LIST_RATIO else "MISSES"
        print(
            f"  => {q}: {int(big):,} / {int(small):,} messages = {ratio:.2f}x "
            f"(target <= {TARGET_LIST_RATIO}x: {verdict})"
        )


# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        worker_main()
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--only", choices=("turns", "list"), help="run only part 1 (turns) or part 2 (list)"
    )
    ap.add_argument(
        "--processes",
        type=threads_arg,
        default=[1, 4, 16],
        help="comma-separated worker process counts (1,4,16)",
    )
    ap.add_argument("--seconds", type=float, default=5.0, help="each measuring window, s (5)")
    ap.add_argument("--latency", type=float, default=0.2, help="emulator latency per call, s (0.2)")
    ap.add_argument("--thread-turns", type=int, default=10, help="turns per Assistants thread (10)")
    ap.add_argument("--messages", type=int, default=100_000, help="the big thread (100,000)")
    ap.add_argument("--small", type=int, default=100, help="the small thread (100)")
    ap.add_argument("--batch", type=int, default=10_000, help="messages per seeding transaction")
    ap.add_argument("--calls", type=int, default=100, help="messages.list calls of each (100)")
    ap.add_argument("--limit", type=int, default=20, help="messages.list page size (20)")
    common.add_store_args(ap, ["sqlite", "postgres"], history=False, gc=False)
    args = ap.parse_args(argv)
    common.quiet()
    common.header("scale: turns/s with N processes; messages.list on a long thread", args)
    with common.EmulatorProcess(latency=args.latency) as emu, contextlib.ExitStack() as stack:
        print(f"emulator at {emu.base_url} (in a child process, loopback)")
        urls = {
            b: stack.enter_context(common.store_url(b, args.postgres_url))
            for b in args.backends
            if common.reachable(b, args)
        }
        for url in urls.values():
            prepare_store(emu.base_url, url)
        if args.only != "list":
            print(
                f"\n-- turns per second with N processes, {args.seconds:g} s from a common start; "
                f"upstream latency {args.latency * 1000:g} ms; turn = messages.create + "
                "runs.create_and_poll + messages.list(limit=1); direct = responses.create"
            )
            t0 = P()
            report_processes(measure_processes(args, emu.base_url, urls))
            print(f"  ({P() - t0:.0f} s)")
        if args.only != "turns":
            for backend, url in urls.items():
                t0 = P()
                report_lists(args, backend, measure_lists(args, emu.base_url, url))
                print(f"  ({P() - t0:.0f} s)")


if __name__ == "__main__":
    main()
