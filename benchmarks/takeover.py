"""How long until another process takes over a run whose process died.

A compat run is owned through the store: the client executing it holds a lease
(``Options.lease_seconds``, 15 s by default) that its process renews every third of a lease.
When the process dies, any live client of the same store takes the run over once the lease
has lapsed: a run killed mid-segment is failed (``server_error``, "The run was interrupted"),
a queued one nobody started is executed by the client that took it.

Each scenario spawns a child process (``sys.executable`` running this script with
``--child``) that creates a run and kills itself with SIGKILL (no exit hook runs):

* **mid-run**: the child creates the run on a slow answer (its own emulator, ``delta_delay``
  ``--delta-delay`` after each of ``--words`` words), waits until the run is ``in_progress``
  and ``--mid`` seconds more, then dies while the run streams.
* **after runs.create**: the child dies right after ``runs.create`` returns (the run is
  queued, leased to the child, not started).

The child prints the wall-clock time of its kill. A client in this process (created before
the child, so its lease keeper runs as in a long-lived service) then calls ``runs.retrieve``
every 0.1 s until the run is terminal. Figures, in seconds after the kill: the lease left at
the kill (read from the store), the first retrieve that found the run taken over (lease owner
changed, or terminal) and the first one that found it terminal; their difference with the lease
left is what the takeover adds to the lease. Child and client use the same ``Options``: the
defaults (``compat.Options()``, lease 15 s) and ``--short-lease`` (2 s). Target: at most 30 s
with the defaults.

The scenarios of a backend run at the same time, each on its own fresh store (so the ~15 s
waits overlap); ``--repeat`` runs them again. Default run: SQLite and PostgreSQL, ~40 s.

Usage::

    python benchmarks/takeover.py                      # SQLite and PostgreSQL, both leases
    python benchmarks/takeover.py --backends sqlite --repeat 3 --short-lease 1

Prints figures only; never fails on a slow result.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # _common, from any working directory

import _common as common

from compat.testing import ResponsesEmulator

TARGET_S = 30.0  # the target: a dead run is taken over within 30 s with the defaults
VARIANTS = ("mid-run", "after runs.create")


def child(spec: dict[str, Any]) -> None:
    """In the child process: create the run, print the kill time, die by SIGKILL."""
    common.quiet()
    options = {"lease_seconds": spec["lease"]} if spec["lease"] else {}
    c = common.compat_client(spec["base_url"], spec["url"], **options)
    runs = c.beta.threads.runs
    run = runs.create(thread_id=spec["thread_id"], assistant_id=spec["assistant_id"])
    if spec["variant"] == "mid-run":
        deadline = time.monotonic() + 30
        while run.status == "queued" and time.monotonic() < deadline:
            time.sleep(0.02)
            run = runs.retrieve(run.id, thread_id=spec["thread_id"])
        time.sleep(spec["mid"])
        run = runs.retrieve(run.id, thread_id=spec["thread_id"])
    print(json.dumps({"run_id": run.id, "status": run.status, "killed_at": time.time()}))
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def scenario(
    variant: str, lease: float | None, url: str, emu: ResponsesEmulator, args: argparse.Namespace
) -> dict[str, Any]:
    """One child killed, and the watch that follows; the figures (s after the kill)."""
    options = {"lease_seconds": lease} if lease else {}
    c = common.compat_client(emu, url, **options)
    try:
        assistant = c.beta.assistants.create(model=common.MODEL, instructions="Be brief.")
        thread = c.beta.threads.create(messages=[{"role": "user", "content": "Tell me a story."}])
        spec = {
            "variant": variant,
            "lease": lease,
            "mid": args.mid,
            "base_url": emu.base_url,
            "url": url,
            "thread_id": thread.id,
            "assistant_id": assistant.id,
        }
        proc = subprocess.run(
            [sys.executable, __file__, "--child", json.dumps(spec)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
        if not lines:
            return {"error": f"child exited {proc.returncode}: {proc.stderr.strip()[-300:]}"}
        info = json.loads(lines[-1])
        killed = info["killed_at"]
        with c.compat_store.read() as repo:
            first_lease = repo.lease_of(info["run_id"])
        out: dict[str, Any] = {
            "status_at_kill": info["status"],
            "seen_after": time.time() - killed,
            "lease_left": (first_lease[1] / 1000 - killed) if first_lease else float("nan"),
            "taken": None,
            "terminal": None,
            "final": "",
        }
        owner = first_lease[0] if first_lease else None
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            run = c.beta.threads.runs.retrieve(info["run_id"], thread_id=thread.id)
            now = time.time() - killed
            with c.compat_store.read() as repo:
                lease_now = repo.lease_of(run.id)
            if out["taken"] is None and (
                run.status in common.TERMINAL or (lease_now and lease_now[0] != owner)
            ):
                out["taken"] = now
            if run.status in common.TERMINAL:
                out["terminal"] = now
                err = f" ({run.last_error.code})" if run.last_error else ""
                out["final"] = run.status + err
                break
            time.sleep(0.1)
        else:
            out["final"] = f"{run.status} after {args.timeout:g} s"
        return out
    finally:
        common.close_compat(c)


def _s(v: float | None) -> str:
    return f"{v:8.1f}" if v is not None else "       -"


def report(backend: str, rows: list[tuple[str, float | None, dict[str, Any]]]) -> None:
    print(f"\n-- {backend}")
    print(
        f"  {'scenario':<20}{'lease':>6}  {'status':<12}{'lease left':>10}{'taken over':>11}"
        f"{'terminal':>9}{'minus lease':>12}  final status"
    )
    for variant, lease, r in rows:
        name = f"{lease:g} s" if lease else "15 s*"
        if "error" in r:
            print(f"  {variant:<20}{name:>6}  {r['error']}")
            continue
        extra = r["terminal"] - r["lease_left"] if r["terminal"] is not None else None
        print(
            f"  {variant:<20}{name:>6}  {r['status_at_kill']:<12}{_s(r['lease_left']):>10}"
            f"{_s(r['taken']):>11}{_s(r['terminal']):>9}{_s(extra):>12}  {r['final']}"
        )
    done = [r["terminal"] for _v, lease, r in rows if not lease and r.get("terminal") is not None]
    if done:
        worst = max(done)
        missing = sum(1 for _v, lease, r in rows if not lease and r.get("terminal") is None)
        verdict = "MEETS" if worst <= TARGET_S and not missing else "MISSES"
        print(
            f"  => defaults: terminal at most {worst:.1f} s after the kill vs target <= "
            f"{TARGET_S:.0f} s: {verdict} the target"
            + (f" ({missing} never terminal)" if missing else "")
        )


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        child(json.loads(argv[1]))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--short-lease", type=float, default=2.0, help="the short lease_seconds, s (2; 0 skips)"
    )
    ap.add_argument("--repeat", type=int, default=1, help="rounds of the scenarios (1)")
    ap.add_argument("--mid", type=float, default=1.0, help="mid-run: s in_progress before (1)")
    ap.add_argument("--words", type=int, default=200, help="mid-run: words answered (200)")
    ap.add_argument(
        "--delta-delay", type=float, default=0.05, help="mid-run: s after each word (0.05)"
    )
    ap.add_argument("--timeout", type=float, default=60.0, help="give up watching after, s (60)")
    common.add_store_args(ap, ["sqlite", "postgres"], history=False, gc=False)
    args = ap.parse_args(argv)
    common.quiet()
    common.header("takeover of a run whose process died (SIGKILL)", args)
    leases: list[float | None] = [None]  # None: compat.Options() as is
    if args.short_lease > 0:
        leases.append(args.short_lease)
    print(
        "lease 15 s* = compat.Options() defaults; times in s after the kill; 'minus lease' = "
        "terminal - lease left at the kill"
    )
    text = " ".join(f"word{i}" for i in range(args.words))
    with (
        ResponsesEmulator() as fast,
        ResponsesEmulator(delta_delay=args.delta_delay) as slow,
    ):
        print(f"emulators at {fast.base_url} and (slow answers) {slow.base_url}")
        lock = threading.Lock()

        def one(job: tuple[str, float | None, str]) -> dict[str, Any]:
            variant, lease, url = job
            emu = fast
            if variant == "mid-run":
                emu = slow
                with lock:
                    slow.enqueue(text=text)
            return scenario(variant, lease, url, emu, args)

        for backend in args.backends:
            if not common.reachable(backend, args):
                continue
            rows = []
            t0 = time.monotonic()
            for _ in range(args.repeat):
                n = len(VARIANTS) * len(leases)
                with common.store_urls(backend, args.postgres_url, n) as urls:
                    jobs = [
                        (v, lease, urls[i * len(leases) + j])
                        for i, v in enumerate(VARIANTS)
                        for j, lease in enumerate(leases)
                    ]
                    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
                        results = list(pool.map(one, jobs))
                rows += [(v, lease, r) for (v, lease, _u), r in zip(jobs, results, strict=True)]
            report(f"{backend} ({time.monotonic() - t0:.0f} s)", rows)


if __name__ == "__main__":
    main()
