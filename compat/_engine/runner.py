"""Who executes a run, where, and what happens when that client goes away.

A run is owned through the store: the client executing it holds a lease (``owner``,
``lease_until``) renewed every third of ``Options.lease_seconds`` by this process's keeper
thread. A run is executed where its caller waits: a poll-helper retrieve executes it in the
polling thread, a sync stream in the thread reading the stream, an async run as a task on
the client's loop; a sync run nobody waits for starts in a background thread after
``START_DELAY``. Any live client of the store takes over a run whose lease lapsed: a queued
one it executes, an interrupted one it fails (``lifecycle.INTERRUPTED``), a pending cancel
it completes. At interpreter exit, runs still executing get ``Options.exit_wait`` seconds,
then their leases are released so the next client takes them over at once.

Imports: store, compat._options, compat._engine (driver, feed, lifecycle, upstream).
"""

from __future__ import annotations

import asyncio
import atexit
import contextvars
import heapq
import logging
import os
import secrets
import socket
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from .._options import Options
from ..store import Repo, Store, StoreUnavailable
from .driver import AsyncRunDriver, RunDriver
from .feed import Feed, RunWatch
from .lifecycle import settle_orphan
from .status import OWNED
from .upstream import AsyncUpstream, Upstream, current_loop

log = logging.getLogger("compat.engine")

T = TypeVar("T")
Obj = dict[str, Any]

#: a sync run nobody streams starts in the background after this long (s), unless a
#: poll-helper retrieve claims it first and executes it in the caller's thread
START_DELAY = 0.05
#: a sync stream whose reader has not asked for more for this long (s) is driven by a
#: background thread instead (a slow handler, or a stream never read)
STALL_AFTER = 1.0
_TICK = 0.2
#: longest a newly queued segment waits for its previous segment's claim to be released (s)
_FINISHING_WAIT = 5.0

_owner: tuple[int, str] | None = None


def owner_id() -> str:
    """This process's lease owner name (host, pid and a random part; new after fork)."""
    global _owner
    pid = os.getpid()
    if _owner is None or _owner[0] != pid:
        _owner = (pid, f"{socket.gethostname()[:32]}:{pid}:{secrets.token_hex(4)}")
    return _owner[1]


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def lease_lapsed(lease_until_ms: int) -> bool:
    """True for a lease nobody renewed in time (or that was released)."""
    return lease_until_ms < now_ms()


@dataclass
class Services:
    """What endpoints and drivers use: the store, the options, the upstream, the runner."""

    store: Store
    options: Options
    upstream: Upstream | AsyncUpstream
    runner: Runner

    def now(self) -> int:
        return int(time.time())


class Runner:
    """Executes one client's runs and keeps their leases (one per drop-in client, one per
    tenant of the server). It takes over only its ``tenant``'s runs: a run executes with
    its own tenant's upstream (key and base URL), whichever process takes it over."""

    def __init__(
        self,
        store: Store,
        options: Options,
        upstream: Upstream | AsyncUpstream,
        *,
        tenant: str = "",
    ) -> None:
        self.is_async = isinstance(upstream, AsyncUpstream)
        self.tenant = tenant
        self.services = Services(store, options, upstream, self)
        self.store = store
        self.options = options
        self.watch = RunWatch()
        self._lock = threading.Lock()
        self._released = threading.Condition(self._lock)  # a claim ended
        self._claims: dict[str, object] = {}
        self._cancels: set[str] = set()
        self._unstarted: set[str] = set()  # queued here, waiting for a poller or a thread
        self._handed: set[str] = set()  # leases released while executing (release_all)
        self._streams: weakref.WeakSet[DrivenStream] = weakref.WeakSet()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        # store work of async runs (SQLAlchemy is synchronous)
        self._io_pool = (
            ThreadPoolExecutor(max_workers=16, thread_name_prefix="compat-run-io")
            if self.is_async
            else None
        )
        self._next_renew = 0.0
        #: set by close(): takes over nothing more; the keeper lets go once it is idle
        self.closed = False
        _keeper.register(self)

    # -- leases --------------------------------------------------------------------------
    def lease(self) -> tuple[str, int]:
        """``(owner, until_ms)`` for a run this client is about to execute."""
        return owner_id(), now_ms() + int(self.options.lease_seconds * 1000)

    def lapsed(self, repo: Repo, run_id: str) -> bool:
        """True when nobody holds the run's lease any more (so this client may take it)."""
        lease = repo.lease_of(run_id)
        return lease is not None and lease_lapsed(lease[1])

    # -- claims within this process ---------------------------------------------------------
    def claim(
        self, run_id: str, *, unstarted: bool = False, next_segment: bool = False
    ) -> object | None:
        """Claim the run for one thread or task of this process; None if one has it (or,
        with ``unstarted``, if the run is no longer waiting to start here).

        ``next_segment``: this caller just queued the run again (tool outputs submitted), so
        a claim still held here is its previous segment's, between committing its end and
        releasing: wait for that release (bounded) rather than leave the new segment to
        nobody."""
        with self._lock:
            if unstarted and run_id not in self._unstarted:
                return None  # a poller here started it (and may still be executing it)
            if next_segment and run_id in self._claims:
                self._released.wait_for(lambda: run_id not in self._claims, _FINISHING_WAIT)
            if run_id in self._claims or (unstarted and run_id not in self._unstarted):
                return None
            token = object()
            self._claims[run_id] = token
            self._unstarted.discard(run_id)
            return token

    def release(self, run_id: str, token: object) -> None:
        """End ``token``'s claim (a later claim of the same run is left alone)."""
        with self._lock:
            if self._claims.get(run_id) is token:
                del self._claims[run_id]
                self._cancels.discard(run_id)
                self._handed.discard(run_id)
                self._released.notify_all()
            else:
                return
        self.watch.notify(run_id)
        self.watch.forget(run_id)

    def handed_over(self, run_id: str) -> bool:
        """True once this client released the run's lease while still executing it (at
        exit, at server shutdown): it must write nothing more, the next client owns it."""
        with self._lock:
            return run_id in self._handed

    def executing(self, run_id: str) -> bool:
        with self._lock:
            return run_id in self._claims

    def request_cancel(self, run_id: str) -> None:
        with self._lock:
            if run_id in self._claims:
                self._cancels.add(run_id)

    def cancel_requested(self, run_id: str) -> bool:
        return run_id in self._cancels

    # -- starting runs ---------------------------------------------------------------------
    def start(self, run_id: str, feed: Feed | None) -> Any:
        """A run this client just queued (and leased): the SSE body that executes it when
        ``feed`` is given (sync: in the reading thread), else None (it starts on its own)."""
        if self.is_async:
            self.remember_loop()
            self._spawn_async(run_id, feed, next_segment=True)
            return feed.reader() if feed is not None else None
        if feed is None:
            with self._lock:
                self._unstarted.add(run_id)
            _starter.later(self, run_id, time.monotonic() + START_DELAY)
            return None
        token = self.claim(run_id, next_segment=True)
        if token is None:  # unreachable: the run was queued by this very call
            return feed.reader()
        stream = DrivenStream(RunDriver(self.services, run_id, feed, token), feed)
        self._streams.add(stream)
        return stream

    def owns(self, run_id: str) -> bool:
        """True for a run this client queued and nobody has started yet."""
        return run_id in self._unstarted

    def execute_here(self, run_id: str) -> Obj | None:
        """Execute the run's segment in this thread if nobody here is (sync clients); the
        run as the segment left it (None when it did not run here)."""
        if self.is_async:
            return None
        token = self.claim(run_id)
        if token is None:
            return None
        return RunDriver(self.services, run_id, None, token).run()

    def _spawn_thread(self, run_id: str, *, unstarted: bool = False) -> None:
        """Execute the run in a new daemon thread (``unstarted``: only if nobody here
        started it meanwhile: this client queued it, see ``claim``)."""
        token = self.claim(run_id, unstarted=unstarted, next_segment=unstarted)
        if token is None:
            return

        def execute() -> None:
            RunDriver(self.services, run_id, None, token).run()

        threading.Thread(target=execute, name="compat-run", daemon=True).start()

    def remember_loop(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """The async client's loop, where runs taken over from the keeper thread execute."""
        loop = loop or current_loop.get()
        if loop is not None:
            self._loop = loop

    def _spawn_async(self, run_id: str, feed: Feed | None, *, next_segment: bool = False) -> bool:
        # never called on the loop's own thread (endpoints answer in worker threads): the
        # claim may wait for a previous segment, which releases from a store thread
        loop = current_loop.get() or self._loop
        if loop is None or loop.is_closed() or not loop.is_running():
            return False
        token = self.claim(run_id, next_segment=next_segment)
        if token is None:
            return True
        driver = AsyncRunDriver(self.services, run_id, feed, token)

        def spawn() -> None:
            task = loop.create_task(driver.run())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        try:
            loop.call_soon_threadsafe(spawn)
        except RuntimeError:  # the loop closed meanwhile
            self.release(run_id, token)
            return False
        return True

    async def io(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in a store thread, awaited (async runs)."""
        loop = asyncio.get_running_loop()
        ctx = contextvars.copy_context()
        return await loop.run_in_executor(self._io_pool, ctx.run, fn, *args)

    # -- takeover ----------------------------------------------------------------------------
    def adopt(self, repo: Repo, run: Obj, now: int) -> tuple[Obj, bool]:
        """Within a write transaction: take over ``run`` if its lease lapsed (its client
        went away). Returns the run as it is now, and True when this client took it: a
        queued run taken over is then started after the transaction commits
        (``start_adopted``)."""
        if run["status"] not in OWNED or not self.lapsed(repo, run["id"]):
            return run, False
        owner, until = self.lease()
        if repo.claim_run(run["id"], owner, until, now_ms()) is None:
            return run, False
        ended = settle_orphan(repo, run, now)
        return (ended if ended is not None else run), True

    def start_adopted(self, run: Obj) -> None:
        """Execute a queued run ``adopt`` took over (after its transaction committed)."""
        self.watch.notify(run["id"])
        if run["status"] != "queued" or self.executing(run["id"]):
            return
        if self.is_async:
            if not self._spawn_async(run["id"], None):
                self._release_lease(run["id"])
        else:
            self._spawn_thread(run["id"])

    def take_over(self, run_id: str) -> None:
        """Take over a run whose lease lapsed, found by the keeper's sweep."""
        try:
            with self.store.write() as repo:
                found = repo.get("run", run_id)
                if found is None:
                    return
                status = found["status"]
                run, adopted = self.adopt(repo, found, int(time.time()))
        except StoreUnavailable as exc:
            log.warning("could not take over run %s: %s", run_id, exc)
            return
        if not adopted:
            return
        if run["status"] != status:
            log.warning("run %s: its client went away; ended as %s", run_id, run["status"])
        self.start_adopted(run)

    def _release_lease(self, run_id: str) -> None:
        try:
            with self.store.write() as repo:
                repo.release_run(run_id, owner_id())
        except StoreUnavailable:
            pass  # it lapses on its own

    # -- the keeper's work -------------------------------------------------------------------
    def renew(self) -> None:
        """Extend the leases of every run executing here (every third of a lease)."""
        t = time.monotonic()
        if t < self._next_renew:
            return
        self._next_renew = t + self.options.lease_seconds / 3
        with self._lock:
            ids = list(self._claims)
        if not ids or self.store.closed:
            return
        owner, until = self.lease()
        try:
            with self.store.write() as repo:
                repo.renew_leases(owner, ids, until)
        except Exception as exc:  # the store is down: the leases lapse if it stays down
            log.warning("could not renew run leases: %s", exc)

    def sweep(self) -> None:
        """Take over this store's runs of this tenant whose lease lapsed."""
        if self.closed or self.store.closed:
            return
        try:
            with self.store.read() as repo:
                ids = repo.lapsed_runs(now_ms(), tenant=self.tenant)
        except Exception as exc:
            log.debug("lease sweep failed: %s", exc)
            return
        for run_id in ids:
            if not self.executing(run_id):
                self.take_over(run_id)

    def hand_over_stalled(self) -> None:
        t = time.monotonic()
        for stream in list(self._streams):
            if stream.stalled(t):
                stream.hand_over()

    def busy(self) -> bool:
        """True while runs are executing here or queued here and about to start (an async
        run's task counts until it returns: its last store writes follow its release)."""
        with self._lock:
            if self._claims or self._unstarted:
                return True
        # (a task on a loop that closed will never return: not waited for)
        return any(not t.get_loop().is_closed() for t in list(self._tasks))

    def release_all(self) -> None:
        """At exit, client close or server shutdown: hand every run still executing here
        to the next client (this process writes nothing more to them)."""
        with self._lock:
            ids = [*self._claims, *self._unstarted]
            self._handed.update(ids)
        for run_id in ids:
            self._release_lease(run_id)
            log.warning("run %s was still executing; handed over to the next client", run_id)

    def close(self) -> None:
        """Take over no more runs; runs still executing here keep their leases until they
        end, then the keeper drops this runner and its threads end."""
        self.closed = True
        _keeper.retire_idle()

    def wind_down(self) -> None:
        """The client is closing (its connections are about to go): runs executing or
        queued here get ``Options.exit_wait`` seconds to finish, as at interpreter exit;
        what is left is handed over to the next client. Then ``close``."""
        self.closed = True
        deadline = time.monotonic() + self.options.exit_wait
        if self.busy():
            log.info("client closing: waiting for runs still executing")
        while self.busy() and time.monotonic() < deadline:
            time.sleep(0.02)
        self.release_all()
        self.close()

    def _shutdown(self) -> None:
        if self._io_pool is not None:
            self._io_pool.shutdown(wait=False)


class DrivenStream:
    """The SSE body of a sync streamed run, executing the run in the thread that reads it.

    Each read advances the run by one upstream event. When the reader stops early, stalls
    (a slow handler) or never reads, a background thread drives the run to its end instead
    (the real API's runs went on without their stream), and the reader, if it comes back,
    reads the rest from the feed."""

    def __init__(self, driver: RunDriver, feed: Feed) -> None:
        self._driver = driver
        self._reader = feed.reader()
        self._steps: Iterator[None] | None = None
        self._lock = threading.Lock()
        self._handed_over = False
        self._done = False
        self.last_pull = time.monotonic()

    def _advance(self) -> None:
        if self._steps is None:
            self._steps = self._driver.steps()
        for _ in self._steps:
            return
        self._done = True

    def __iter__(self) -> Iterator[bytes]:
        while True:
            chunk, done = self._reader.poll()
            if chunk:
                self.last_pull = time.monotonic()
                yield chunk
                continue
            if done:
                return
            if self._lock.acquire(blocking=False):
                try:
                    if not self._handed_over and not self._done:
                        self.last_pull = time.monotonic()
                        self._advance()
                        continue
                finally:
                    self._lock.release()
            self._reader.wait(0.5)  # another thread drives the run: wait for its events

    def __aiter__(self) -> Any:  # the EventSource protocol; sync clients only
        raise TypeError("DrivenStream serves sync clients")

    def stalled(self, t: float) -> bool:
        return not (self._handed_over or self._done) and t - self.last_pull > STALL_AFTER

    def hand_over(self) -> None:
        """Drive the rest of the run in a background thread (unless it is being driven now)."""
        if not self._lock.acquire(blocking=False):
            return
        try:
            if self._handed_over or self._done:
                return
            self._handed_over = True
        finally:
            self._lock.release()

        def drain() -> None:
            if self._steps is None:
                self._steps = self._driver.steps()
            for _ in self._steps:
                pass
            self._done = True

        threading.Thread(target=drain, name="compat-run", daemon=True).start()

    def close(self) -> None:
        # The consumer went away; the run itself goes on (as the real API's did).
        self._reader.close()
        self.hand_over()


class _Starter:
    """One daemon thread that starts, after ``START_DELAY``, the sync runs nobody polled
    or streamed (most are executed by their poller first: no thread is made for those)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._due: list[tuple[float, int, Runner, str]] = []
        self._n = 0
        self._thread: threading.Thread | None = None
        self._pid = 0

    def later(self, runner: Runner, run_id: str, at: float) -> None:
        with self._cond:
            self._n += 1
            heapq.heappush(self._due, (at, self._n, runner, run_id))
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._loop, name="compat-start", daemon=True)
                self._thread.start()
            self._cond.notify()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._due or self._due[0][0] > time.monotonic():
                    self._cond.wait(self._due[0][0] - time.monotonic() if self._due else None)
                _, _, runner, run_id = heapq.heappop(self._due)
            try:
                runner._spawn_thread(run_id, unstarted=True)
            except Exception:  # never let the starter die
                log.exception("could not start run %s", run_id)


_starter = _Starter()


class _Keeper:
    """This process's one daemon thread: renews leases, sweeps for lapsed runs, hands
    stalled streams over; and the exit hook."""

    def __init__(self) -> None:
        self._runners: weakref.WeakSet[Runner] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._next_sweep: dict[tuple[int, str], float] = {}
        atexit.register(self.at_exit)

    def register(self, runner: Runner) -> None:
        with self._lock:
            self._runners.add(runner)
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._pid = os.getpid()
                self._thread = threading.Thread(
                    target=self._loop, name="compat-keeper", daemon=True
                )
                self._thread.start()

    def _loop(self) -> None:
        while True:
            time.sleep(_TICK)
            try:
                self.tick()
            except Exception:  # never let the keeper die
                log.exception("run keeper tick failed")

    def retire_idle(self) -> None:
        """Drop closed runners with nothing left executing (a closed client's runner holds
        no connection and polls nothing once its runs are done)."""
        for r in list(self._runners):
            if r.closed and not r.busy():
                self._runners.discard(r)
                r._shutdown()

    def tick(self) -> None:
        self.retire_idle()
        runners = list(self._runners)
        sweepers: dict[tuple[int, str], Runner] = {}
        for r in runners:
            r.hand_over_stalled()
            r.renew()
            if r.closed:  # finishing its own runs only
                continue
            # one sweep per store and tenant, by a sync client when there is one
            key = (id(r.store), r.tenant)
            if key not in sweepers or (sweepers[key].is_async and not r.is_async):
                sweepers[key] = r
        t = time.monotonic()
        # stores and tenants nobody sweeps any more (their clients closed) are forgotten
        self._next_sweep = {k: v for k, v in self._next_sweep.items() if k in sweepers}
        for key, r in sweepers.items():
            if t >= self._next_sweep.get(key, 0.0):
                self._next_sweep[key] = t + r.options.lease_seconds / 3
                r.sweep()

    def at_exit(self) -> None:
        """Give runs still executing ``exit_wait`` seconds, then hand them over."""
        runners = [r for r in list(self._runners) if r.busy()]
        if not runners:
            return
        deadline = time.monotonic() + max(r.options.exit_wait for r in runners)
        log.warning("waiting for runs still executing (Ctrl-C hands them over)")
        try:
            while any(r.busy() for r in runners) and time.monotonic() < deadline:
                time.sleep(0.05)
        except KeyboardInterrupt:
            pass
        for r in runners:
            r.release_all()


_keeper = _Keeper()
