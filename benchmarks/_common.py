"""What the benchmark scripts (``overhead.py``, ``stream.py``) share.

* setup: ``quiet()`` (no logs, no warnings), ``header()`` (versions, CPU count, load average,
  git commit), the ``--backends`` / ``--history`` / ``--postgres-url`` / ``--gc-off`` options
  (``add_store_args``) and ``gc_paused``;
* the stores and clients: ``each_store`` (every requested backend x history mode on a fresh,
  temporary SQLite file or PostgreSQL schema; PostgreSQL skipped with a message when it does
  not answer), ``compat_client`` / ``direct_client`` / ``close_compat`` and ``Clients`` (both
  clients on one emulator, an assistant, a new thread every N turns);
* figures: ``med``, ``pct`` (nearest-rank percentile), ``ms`` and ``row`` (aligned columns);
* instrumentation: ``ConnWatch`` (the emulator's TCP connections and resets) and ``Patches``
  (wrap functions or methods for a pass, then put them back).

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


def add_store_args(ap: argparse.ArgumentParser, backends: list[str]) -> None:
    """``--backends`` (default ``backends``), ``--history``, ``--postgres-url``, ``--gc-off``."""
    ap.add_argument(
        "--backends",
        type=backends_arg,
        default=backends,
        help=f"comma-separated: sqlite,postgres ({'both' if len(backends) > 1 else backends[0]})",
    )
    ap.add_argument(
        "--history",
        type=history_arg,
        default=["replay"],
        help="compat Options.history: replay (default), chain, or replay,chain for both",
    )
    ap.add_argument("--postgres-url", default=PG_DEFAULT, help=f"default {PG_DEFAULT}")
    ap.add_argument(
        "--gc-off", action="store_true", help="disable the garbage collector while measuring"
    )


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


def each_store(
    emu: ResponsesEmulator, args: argparse.Namespace, conns: ConnWatch
) -> Iterator[tuple[str, str, str]]:
    """``(backend, history, store URL)`` for each of ``args.backends`` x ``args.history``,
    on a fresh store that is removed when the caller's loop body is done; then the emulator's
    connection line is printed and the emulator reset. An unreachable PostgreSQL is skipped
    with a message."""
    for backend in args.backends:
        if backend == "postgres":
            problem = postgres_problem(args.postgres_url)
            if problem:
                print(f"\n-- postgres: skipped, not reachable at {args.postgres_url} ({problem})")
                continue
        for history in args.history:
            with store_url(backend, args.postgres_url) as url:
                yield backend, history, url
            print(conns.line())
            emu.reset()


def compat_client(emu: ResponsesEmulator, url: str, history: str = "replay") -> compat.OpenAI:
    options = None
    if history != "replay":
        names = {f.name for f in dataclasses.fields(compat.Options)}
        if "history" not in names:
            raise SystemExit(f"this compat has no Options.history; cannot use --history {history}")
        options = compat.Options(history=history)  # type: ignore[call-arg]
    return compat.OpenAI(
        base_url=emu.base_url,
        api_key="sk-test",
        max_retries=0,
        store=url,
        compat_options=options,
    )


def direct_client(emu: ResponsesEmulator) -> openai.OpenAI:
    return openai.OpenAI(base_url=emu.base_url, api_key="sk-test", max_retries=0)


def close_compat(client: compat.OpenAI) -> None:
    client.close()
    app = getattr(client, "_compat_app", None)
    if app is not None:
        for pool in ("executor", "workers"):  # the request and run thread pools
            if hasattr(app, pool):
                getattr(app, pool).shutdown(wait=True)
        app.store.close()
    from store import _open  # the process-wide store cache: forget this URL's engine

    _open.pop(client.compat_store.url, None)


class Clients:
    """A compat client (``c``) and a direct ``openai.OpenAI`` (``d``) on one emulator, the
    assistant compat runs use, and the thread its turns go to (a new one every
    ``thread_turns`` turns, see ``next_turn``)."""

    def __init__(
        self, emu: ResponsesEmulator, url: str, thread_turns: int, history: str = "replay"
    ) -> None:
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

    def close(self) -> None:
        close_compat(self.c)
        self.d.close()


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
