"""What the benchmark scripts (``overhead.py``, ``stream.py``, ``long_thread.py``,
``concurrency.py``, ``takeover.py``) share.

* setup: ``quiet()`` (no logs, no warnings), ``header()`` (versions, CPU count, load average,
  git commit), the ``--backends`` / ``--history`` / ``--postgres-url`` / ``--gc-off`` options
  (``add_store_args``) and ``gc_paused``;
* the stores and clients: ``each_store`` (every requested backend x history mode on a fresh,
  temporary SQLite file or PostgreSQL schema; PostgreSQL skipped with a message when it does
  not answer: ``reachable``; ``each_backend`` without the history modes and the emulator's
  bookkeeping; ``store_urls`` for several at once), ``compat_client`` (any
  ``compat.Options``) / ``direct_client`` / ``close_compat`` and ``Clients`` (both clients on
  one emulator, an assistant, a new thread every N turns); ``EmulatorProcess`` (the emulator
  in a child process, off this process's GIL);
* the calls: ``polled_turn`` (messages.create + runs.create + runs.poll + messages.list, timed
  by phase), ``repost`` (a ``/responses`` body compat sent, posted again by a direct client)
  and ``seed_thread`` (a long thread written straight into the store);
* figures: ``med``, ``pct`` (nearest-rank percentile), ``ms``, ``row`` and ``added_row``
  (aligned columns);
* instrumentation: ``ConnWatch`` (the emulator's TCP connections and resets), ``Patches``
  (wrap functions or methods for a pass, then put them back), ``Timers`` (time the calls of
  functions, generators included, under labels), ``GcWatch`` (the garbage collector's pauses)
  and ``profile_split`` (cProfile of the caller apart from the run segments it executes).

Importing it puts the repository root on ``sys.path`` (the scripts run without installing
the project). Not a benchmark itself.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import logging
import math
import os
import platform
import secrets
import statistics
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import openai  # noqa: E402

import compat  # noqa: E402
from compat.testing import ResponsesEmulator  # noqa: E402

PG_DEFAULT = os.environ.get(
    "COMPAT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
MODEL = "gpt-4.1"
P = time.perf_counter


# ---------------------------------------------------------------------------------------------
# Setup: quiet logs, the header, the shared options


def quiet() -> None:
    """No log lines, no deprecation warnings, no socketserver tracebacks in the figures."""
    logging.basicConfig(level=logging.CRITICAL)
    for name in ("compat", "compat.engine", "openai", "httpx", "httpx2", "httpcore", "sqlalchemy"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    warnings.simplefilter("ignore")


def header(title: str, args: argparse.Namespace) -> None:
    import sqlalchemy

    print(f"== {title}")
    print(
        f"python {platform.python_version()} ({platform.python_implementation()}), "
        f"openai {openai.__version__}, sqlalchemy {sqlalchemy.__version__}, "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs"
    )
    opts = ", ".join(f"{k}={v}" for k, v in sorted(vars(args).items()) if k != "postgres_url")
    print(f"options: {opts}")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    print(
        f"started {time.strftime('%Y-%m-%d %H:%M:%S')}, load average {load}, code {code_version()}"
    )


def code_version() -> str:
    """The checkout's commit, and whether compat/ or store/ differ from it (read-only git)."""
    import subprocess

    def git(*a: str) -> str:
        out = subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True, timeout=5)
        return out.stdout.strip() if out.returncode == 0 else ""

    try:
        head = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--", "compat", "store")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head or 'unknown'}{' + uncommitted changes in compat/ or store/' if dirty else ''}"


def backends_arg(value: str) -> list[str]:
    names = [v.strip() for v in value.split(",") if v.strip()]
    bad = [n for n in names if n not in ("sqlite", "postgres")]
    if bad or not names:
        raise argparse.ArgumentTypeError(f"backends are sqlite and/or postgres, not {value!r}")
    return names


def history_arg(value: str) -> list[str]:
    names = [v.strip() for v in value.split(",") if v.strip()]
    if not names or any(n not in ("replay", "chain") for n in names):
        raise argparse.ArgumentTypeError(f"history modes are replay and/or chain, not {value!r}")
    return names


def add_store_args(
    ap: argparse.ArgumentParser, backends: list[str], *, history: bool = True, gc: bool = True
) -> None:
    """``--backends`` (default ``backends``), ``--history``, ``--postgres-url``, ``--gc-off``
    (without ``--history`` / ``--gc-off`` when those are False)."""
    ap.add_argument(
        "--backends",
        type=backends_arg,
        default=backends,
        help=f"comma-separated: sqlite,postgres ({'both' if len(backends) > 1 else backends[0]})",
    )
    if history:
        ap.add_argument(
            "--history",
            type=history_arg,
            default=["replay"],
            help="compat Options.history: replay (default), chain, or replay,chain for both",
        )
    ap.add_argument("--postgres-url", default=PG_DEFAULT, help=f"default {PG_DEFAULT}")
    if gc:
        ap.add_argument(
            "--gc-off", action="store_true", help="disable the garbage collector while measuring"
        )


def add_pass_arg(ap: argparse.ArgumentParser, flag: str, default: int, what: str) -> None:
    """An optional instrumented pass: ``flag N`` (``default``; 0 skips) runs ``what``."""
    ap.add_argument(flag, type=int, default=default, help=f"{what} ({default}; 0 skips)")


def add_profile_args(ap: argparse.ArgumentParser, unit: str) -> None:
    """``--profile N`` (0: off) and ``--profile-top`` for ``profile_split``."""
    ap.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar=unit.upper(),
        help=f"after the figures, cProfile this many {unit} (the caller apart from the run it "
        "executes); 0: off",
    )
    ap.add_argument("--profile-top", type=int, default=25, help="rows per profile table (25)")


@contextlib.contextmanager
def gc_paused(enabled: bool) -> Iterator[None]:
    if not enabled:
        yield
        return
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


# ---------------------------------------------------------------------------------------------
# Stores and clients


def postgres_problem(url: str) -> str | None:
    """None when PostgreSQL answers at ``url``, else why not."""
    try:
        import psycopg

        with psycopg.connect(
            url.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=3
        ):
            return None
    except Exception as exc:  # any failure means: skip PostgreSQL
        first = (str(exc).strip().splitlines() or [""])[0]
        return f"{exc.__class__.__name__}: {first}"


@contextlib.contextmanager
def store_url(backend: str, pg_url: str) -> Iterator[str]:
    """A fresh, empty store URL: a temp SQLite file, or a new PostgreSQL schema (dropped after)."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="compat-bench-") as tmp:
            yield f"sqlite:///{tmp}/bench.db"
        return
    import psycopg

    dsn = pg_url.replace("postgresql+psycopg://", "postgresql://")
    schema = "compat_bench_" + secrets.token_hex(6)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        sep = "&" if "?" in pg_url else "?"
        yield f"{pg_url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def reachable(backend: str, args: argparse.Namespace) -> bool:
    """False (with a message) for a PostgreSQL that does not answer at ``args.postgres_url``."""
    if backend != "postgres":
        return True
    problem = postgres_problem(args.postgres_url)
    if problem:
        print(f"\n-- postgres: skipped, not reachable at {args.postgres_url} ({problem})")
    return problem is None


@contextlib.contextmanager
def store_urls(backend: str, pg_url: str, n: int) -> Iterator[list[str]]:
    """``n`` fresh store URLs at once (see ``store_url``), all removed afterwards."""
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(store_url(backend, pg_url)) for _ in range(n)]


def each_backend(args: argparse.Namespace) -> Iterator[tuple[str, str]]:
    """``(backend, fresh store URL)`` for each of ``args.backends``; the store is removed when
    the caller's loop body is done. An unreachable PostgreSQL is skipped with a message."""
    for backend in args.backends:
        if reachable(backend, args):
            with store_url(backend, args.postgres_url) as url:
                yield backend, url


def each_store(
    emu: ResponsesEmulator, args: argparse.Namespace, conns: ConnWatch
) -> Iterator[tuple[str, str, str]]:
    """``(backend, history, store URL)`` for each of ``args.backends`` x ``args.history``,
    on a fresh store that is removed when the caller's loop body is done; then the emulator's
    connection line is printed and the emulator reset. An unreachable PostgreSQL is skipped
    with a message."""
    for backend in args.backends:
        if not reachable(backend, args):
            continue
        for history in args.history:
            with store_url(backend, args.postgres_url) as url:
                yield backend, history, url
            print(conns.line())
            emu.reset()


class EmulatorProcess:
    """A ``ResponsesEmulator`` in a child process (its own interpreter and GIL, as a real
    upstream would be): ``base_url`` once started; stopped when the block ends. Only what a
    client needs of an emulator: no ``requests``, no scripting."""

    _CODE = (
        "import sys, time\n"
        "from compat.testing import ResponsesEmulator\n"
        "emu = ResponsesEmulator(latency=float(sys.argv[1]), delta_delay=float(sys.argv[2]))\n"
        "emu.start()\n"
        "print(emu.base_url, flush=True)\n"
        "sys.stdin.read()\n"  # until the parent closes it (or dies)
    )

    def __init__(self, *, latency: float = 0.0, delta_delay: float = 0.0) -> None:
        import subprocess

        self._proc = subprocess.Popen(
            [sys.executable, "-c", self._CODE, str(latency), str(delta_delay)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._proc.stdout is not None
        self.base_url = self._proc.stdout.readline().strip()
        if not self.base_url.startswith("http"):
            self.close()
            raise RuntimeError("the emulator process did not start")

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=5)
        except Exception:
            self._proc.kill()

    def __enter__(self) -> EmulatorProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def base_url_of(emu: ResponsesEmulator | EmulatorProcess | str) -> str:
    return emu if isinstance(emu, str) else emu.base_url


def compat_client(
    emu: ResponsesEmulator | EmulatorProcess | str,
    url: str,
    history: str = "replay",
    **options: Any,
) -> compat.OpenAI:
    """A drop-in client on the emulator (or base URL) and the store at ``url``; ``options``
    are ``compat.Options`` fields (e.g. ``lease_seconds``)."""
    if history != "replay":
        options["history"] = history
    names = {f.name for f in dataclasses.fields(compat.Options)}
    unknown = sorted(set(options) - names)
    if unknown:
        raise SystemExit(f"this compat has no Options.{', '.join(unknown)}")
    return compat.OpenAI(
        base_url=base_url_of(emu),
        api_key="sk-test",
        max_retries=0,
        store=url,
        compat_options=compat.Options(**options) if options else None,
    )


def direct_client(emu: ResponsesEmulator | EmulatorProcess | str) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url_of(emu), api_key="sk-test", max_retries=0)


def close_compat(client: compat.OpenAI) -> None:
    """Close the client, its local API's request threads and its store (and forget the
    store's engine: each benchmark store is used once)."""
    client.close()
    app = getattr(client, "_compat_app", None)
    if app is not None:
        if hasattr(app, "close"):
            app.close()
        app.store.close()
    from compat.store import _open  # the process-wide store cache: forget this URL's engine

    _open.pop(client.compat_store.url, None)


class Clients:
    """A compat client (``c``) and a direct ``openai.OpenAI`` (``d``) on one emulator, the
    assistant compat runs use, and the thread its turns go to (a new one every
    ``thread_turns`` turns, see ``next_turn``)."""

    def __init__(self, emu: Any, url: str, thread_turns: int, history: str = "replay") -> None:
        self.emu = emu
        self.c = compat_client(emu, url, history)
        self.d = direct_client(emu)
        self.thread_turns = thread_turns
        self.assistant = self.c.beta.assistants.create(model=MODEL, instructions="Be brief.")
        self.thread_id = ""
        self.n = 0

    def next_turn(self) -> int:
        """Count a compat turn, starting a new thread (untimed) when the current one has had
        its turns; the turn's 1-based position in its thread."""
        if self.n % self.thread_turns == 0:
            self.thread_id = self.c.beta.threads.create().id
        self.n += 1
        return (self.n - 1) % self.thread_turns + 1

    def compat_turn(self, text: str) -> tuple[float, dict[str, float], int]:
        """One ``polled_turn`` on the current thread (see ``next_turn``): (seconds, seconds
        per phase, 1-based position in its thread)."""
        position = self.next_turn()
        total, phases = polled_turn(self.c, self.thread_id, self.assistant.id, text)
        return total, phases, position

    def close(self) -> None:
        close_compat(self.c)
        self.d.close()


# ---------------------------------------------------------------------------------------------
# The calls

#: the phases of a polled turn, as ``polled_turn`` times them
PHASES = ("messages.create", "runs.create", "runs.poll", "messages.list")
#: run statuses after which nothing changes any more
TERMINAL = ("completed", "failed", "cancelled", "expired", "incomplete")


def polled_turn(
    c: compat.OpenAI, thread_id: str, assistant_id: str, text: str
) -> tuple[float, dict[str, float]]:
    """What Assistants code does per user message: ``messages.create``, ``runs.create`` +
    ``runs.poll`` (= ``runs.create_and_poll``; a sync client executes the run inside the
    poll's retrieve), ``messages.list(limit=1)`` reading the answer. (seconds, per phase);
    raises unless the run completed with an answer."""
    threads = c.beta.threads
    t0 = P()
    threads.messages.create(thread_id, role="user", content=text)
    t1 = P()
    run = threads.runs.create(thread_id=thread_id, assistant_id=assistant_id)
    t2 = P()
    run = threads.runs.poll(run.id, thread_id=thread_id)
    t3 = P()
    page = threads.messages.list(thread_id, limit=1)
    answer = page.data[0].content[0].text.value  # type: ignore[union-attr]
    t4 = P()
    if run.status != "completed" or not answer:
        raise RuntimeError(f"turn did not complete: {run.status} {run.last_error}")
    phases = dict(zip(PHASES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True))
    return t4 - t0, phases


def repost(d: openai.OpenAI, body: dict[str, Any], *, stream: bool) -> tuple[float, float]:
    """Post ``body`` (a ``/responses`` request as compat sent it: wire JSON) again with the
    direct client, as ``responses.create`` would minus its per-field transform of the body
    (which costs far more than the call on a long input): parsed into a ``Response``, or
    with ``stream`` into its events, read to the end. Seconds to the first text delta (to
    the answer when not streaming) and to the end."""
    from openai.types.responses import Response, ResponseStreamEvent

    body = {**body, "stream": True} if stream else {k: v for k, v in body.items() if k != "stream"}
    t0 = P()
    if not stream:
        _ = d.post("/responses", body=body, cast_to=Response).output_text
        end = P() - t0
        return end, end
    first = 0.0
    events = d.post(
        "/responses",
        body=body,
        cast_to=Response,
        stream=True,
        stream_cls=openai.Stream[ResponseStreamEvent],
    )
    for ev in events:
        if not first and ev.type == "response.output_text.delta":
            first = P() - t0
    return first, P() - t0


def seed_thread(c: compat.OpenAI, thread_id: str, assistant_id: str, n: int) -> float:
    """Write ``n`` messages (user and assistant in turn, ~30 words each) into the thread
    straight through the store, shaped as the API stores them; seconds taken."""
    from compat import _objects
    from compat._ids import new_id, now_ns

    t0 = P()
    base = now_ns()
    rows = []
    for i in range(n):
        role = "user" if i % 2 == 0 else "assistant"
        text = f"Message {i}: " + " ".join(_WORDS[(i + k) % len(_WORDS)] for k in range(30))
        body = _objects.message(
            new_id("msg"),
            (base + i) // 10**9,
            thread_id,
            {"role": role, "content": text},
            assistant_id=assistant_id if role == "assistant" else None,
            status="completed" if role == "assistant" else None,
        )
        rows.append((body, base + i))
    with c.compat_store.write() as repo:
        repo.insert_many("message", rows)
    return P() - t0


_WORDS = (
    "the quick brown fox jumps over the lazy dog while seven curious ravens watch from an "
    "old oak tree near the river bank"
).split()


# ---------------------------------------------------------------------------------------------
# Figures


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f}"


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    s = sorted(values)
    return s[max(0, min(len(s) - 1, math.ceil(q / 100 * len(s)) - 1))]


def med(values: list[float]) -> float:
    return statistics.median(values)


def row(label: str, values: list[float], width: int = 34) -> str:
    """``  label   median p95`` in ms."""
    return f"  {label:<{width}}{ms(med(values))}{ms(pct(values, 95))}"


def added_row(label: str, c: list[float], base: list[float], note: str = "") -> str:
    """``  label  median p95  ratio`` of the paired differences ``c - base`` (ms), with the
    ratio of the medians."""
    diff = [a - b for a, b in zip(c, base, strict=True)]
    return f"{row(label, diff)}   ratio {med(c) / med(base):5.2f}x{note}"


# ---------------------------------------------------------------------------------------------
# Instrumentation


class ConnWatch:
    """Count the emulator's TCP connections, and count (instead of print) its "connection
    reset by peer" tracebacks.

    A client that closes a keep-alive connection with unread bytes (e.g. a stream's final
    chunk) makes the kernel send RST; the emulator's idle handler then logs a traceback.
    More connections than a few per client means connections are not reused.
    """

    def __init__(self, emu: ResponsesEmulator) -> None:
        self.emu = emu
        self.resets = self.opened = 0
        server = getattr(emu, "_server", None)
        track = getattr(emu, "_track", None)
        if server is None or track is None:
            return
        original = server.handle_error

        def handle_error(request: Any, client_address: Any) -> None:
            if isinstance(sys.exc_info()[1], ConnectionResetError):
                self.resets += 1
            else:
                original(request, client_address)

        def counting_track(conn: Any, *, add: bool) -> None:
            if add:
                self.opened += 1
            track(conn, add=add)

        server.handle_error = handle_error
        emu._track = counting_track  # type: ignore[method-assign]

    def line(self) -> str:
        n = len(self.emu.requests)
        out = (
            f"  emulator: {self.opened} TCP connections opened for {n} POST /v1/responses; "
            f"{self.resets} reset by the client (closed with the stream's end unread)"
        )
        self.resets = self.opened = 0
        return out


_MISSING = object()


class Patches:
    """Replace functions or methods with wrappers for an instrumented pass; ``restore()``
    puts the originals back."""

    def __init__(self) -> None:
        self._undo: list[tuple[Any, str, Any]] = []

    def patch(self, owner: Any, attr: str, make: Callable[[Any], Any]) -> bool:
        """``owner.attr = make(owner.attr)``; False (and nothing done) when there is none."""
        fn = getattr(owner, attr, None)
        if fn is None:
            return False
        own = vars(owner)
        self._undo.append((owner, attr, own[attr] if attr in own else _MISSING))
        setattr(owner, attr, make(fn))
        return True

    def restore(self) -> None:
        for owner, attr, old in reversed(self._undo):
            if old is _MISSING:
                delattr(owner, attr)  # was found through the class: drop the instance override
            else:
                setattr(owner, attr, old)
        self._undo.clear()


class GcWatch:
    """Count the garbage collector's passes and their pauses while the block runs (a full
    collection over a long thread's objects can take longer than a turn)."""

    def __init__(self) -> None:
        self.pauses: dict[int, list[float]] = defaultdict(list)  # by generation
        self._start = 0.0

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._start = P()
        else:
            self.pauses[info["generation"]].append(P() - self._start)

    def __enter__(self) -> GcWatch:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)

    def line(self) -> str:
        parts = [
            f"gen {g}: {len(v)} pass{'es' if len(v) > 1 else ''}, {sum(v) * 1000:.1f} ms "
            f"(longest {max(v) * 1000:.1f})"
            for g, v in sorted(self.pauses.items())
        ]
        return "garbage collector: " + ("; ".join(parts) if parts else "no passes")


class Timers(Patches):
    """Time the calls of functions (only those that exist) under labels; ``restore()`` undoes.
    ``acc[label]`` holds one duration per call; ``missing`` the labels not found."""

    def __init__(self) -> None:
        super().__init__()
        self.acc: dict[str, list[float]] = defaultdict(list)
        self.missing: list[str] = []

    def wrap(
        self,
        owner: Any,
        attr: str,
        label: str,
        *,
        context: bool = False,
        steps: bool = False,
        when: Callable[..., bool] | None = None,
    ) -> None:
        """Time each call of ``owner.attr`` (for which ``when(*args)`` holds, if given) under
        ``label``; with ``context``, time the context manager it returns from enter to exit
        instead (a transaction and the work inside it); with ``steps``, time the generator it
        returns: the time spent inside it, summed over its steps (not the consumer's)."""

        def make(fn: Any) -> Any:
            acc = self.acc[label]

            def timed(*a: Any, **k: Any) -> Any:
                if when is not None and not when(*a, **k):
                    return fn(*a, **k)
                t = P()
                try:
                    return fn(*a, **k)
                finally:
                    acc.append(P() - t)

            @contextlib.contextmanager
            def timed_with(*a: Any, **k: Any) -> Iterator[Any]:
                t = P()
                try:
                    with fn(*a, **k) as value:
                        yield value
                finally:
                    acc.append(P() - t)

            def timed_steps(*a: Any, **k: Any) -> Iterator[Any]:
                inner = fn(*a, **k)
                inside = 0.0
                try:
                    while True:
                        t = P()
                        try:
                            value = next(inner)
                        except StopIteration:
                            return
                        finally:
                            inside += P() - t
                        yield value
                finally:
                    inner.close()
                    acc.append(inside)

            return timed_with if context else timed_steps if steps else timed

        if not self.patch(owner, attr, make):
            self.missing.append(label.strip())


def _site_dirs() -> list[str]:
    import site

    dirs = [*site.getsitepackages(), site.getusersitepackages()]
    return [d.rstrip(os.sep) + os.sep for d in dirs if d]


def profile_split(args: argparse.Namespace, call: Callable[[int], Any], what: str) -> None:
    """cProfile ``call(i)`` for i in range(args.profile) (nothing when 0), the calling thread
    apart from the run segments (``RunDriver.steps``) it executes — a sync client executes a
    polled run inside the poll's retrieve, a streamed one while the stream is read — and
    print the top ``args.profile_top`` rows of each by tottime and cumtime. ``what`` names
    the calls for the tables' titles (see ``add_profile_args``).

    (``python -m cProfile`` would mix the two; a segment driven by a background thread — a
    run nobody polled in time, a stalled stream — lands in the segment table too.)"""
    import cProfile
    import io
    import pstats
    import threading

    from compat._engine import driver

    n, top = args.profile, args.profile_top
    if n <= 0:
        return
    caller, segment = cProfile.Profile(), cProfile.Profile()
    main = threading.get_ident()
    lock = threading.Lock()
    active = [False]  # the caller's profiler is on (in the main thread)

    def make(fn: Any) -> Any:
        def profiled(*a: Any, **k: Any) -> Iterator[Any]:
            inner = fn(*a, **k)
            try:
                while True:
                    here = threading.get_ident() == main and active[0]
                    with lock:  # one segment step at a time in the segment profiler
                        if here:
                            caller.disable()
                        segment.enable()
                        try:
                            value = next(inner)
                        except StopIteration:
                            return
                        finally:
                            segment.disable()
                            if here:
                                caller.enable()
                    yield value
            finally:
                inner.close()

        return profiled

    patches = Patches()
    patches.patch(driver.RunDriver, "steps", make)
    try:
        for i in range(n):
            active[0] = True
            caller.enable()
            try:
                call(i)
            finally:
                caller.disable()
                active[0] = False
    finally:
        patches.restore()
    tables = ((f"caller thread ({what}), minus the run", caller), ("run segments", segment))
    for name, prof in tables:
        for key in ("tottime", "cumtime"):
            print(f"\n  cProfile, {name}, {n} calls, top {top} by {key}:")
            out = io.StringIO()
            try:
                pstats.Stats(prof, stream=out).sort_stats(key).print_stats(top)
            except TypeError:  # nothing was recorded
                print("    (no calls)")
                continue
            text = out.getvalue()
            for prefix in (*_site_dirs(), str(ROOT) + os.sep, sys.base_prefix + os.sep):
                text = text.replace(prefix, "")
            body = text.split("ncalls", 1)[-1].rstrip().splitlines()
            print("    ncalls" + body[0])
            for line in body[1:]:
                if line.strip():
                    print("    " + line.strip())
