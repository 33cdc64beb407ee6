"""Load on `assistants-compat serve`: many concurrent streamed runs through HTTP, against the
offline Responses emulator; figures only (runs, streams complete, errors, latency), next to
the same runs through the in-process drop-in client measured in the same run.

    python benchmarks/serve_load.py                 # 200 runs, 50 at a time, SQLite
    python benchmarks/serve_load.py --runs 500 --concurrency 100 --database postgresql+psycopg://...

Each run: a new thread with one message, ``runs.stream`` read to its end (AsyncOpenAI). A
stream is complete when its last event is ``thread.run.completed``. Latency is from the
stream's request to its last event. The server, its clients and the in-process clients share
this one process (and its GIL): the HTTP figures include the client's own HTTP and SSE work.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import openai
import uvicorn

import compat
from compat.server import Server, ServerConfig, create_key
from compat.store import Store
from compat.testing import ResponsesEmulator


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(round(q * len(ordered) + 0.5)) - 1))]


async def _load(client: Any, runs: int, concurrency: int) -> dict[str, Any]:
    asst = await client.beta.assistants.create(model="gpt-4o")
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    complete = errors = 0

    async def one(i: int) -> None:
        nonlocal complete, errors
        async with gate:
            try:
                t = await client.beta.threads.create(
                    messages=[{"role": "user", "content": f"Tell me about number {i}"}]
                )
                t0 = time.perf_counter()
                last = None
                async with client.beta.threads.runs.stream(
                    thread_id=t.id, assistant_id=asst.id
                ) as stream:
                    async for event in stream:
                        last = event.event
                latencies.append(time.perf_counter() - t0)
                complete += last == "thread.run.completed"
            except Exception as exc:  # counted, and the first few shown
                errors += 1
                if errors <= 3:
                    print(f"  error: {exc.__class__.__name__}: {exc}", file=sys.stderr)

    t0 = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(runs)))
    wall = time.perf_counter() - t0
    return {"complete": complete, "errors": errors, "lat": latencies, "wall": wall}


def _serve(config: ServerConfig, store: Store) -> tuple[uvicorn.Server, str, threading.Thread]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = Server(config, store=store)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    while not (server.started and app.ready):
        time.sleep(0.02)
    return server, f"http://127.0.0.1:{port}/v1", thread


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--database", default=None, help="store URL (default: a temporary SQLite)")
    args = ap.parse_args()
    warnings.simplefilter("ignore", DeprecationWarning)
    logging.disable(logging.WARNING)
    tmp = tempfile.mkdtemp()
    url = args.database or f"sqlite:///{tmp}/serve_load.db"
    with ResponsesEmulator() as emu:
        os.environ["OPENAI_API_KEY"] = "sk-emulator"
        store = Store(url)
        key = create_key(store, "bench")[1]
        config = ServerConfig(database=url, upstream_base_url=emu.base_url)
        server, base, thread = _serve(config, store)

        async def over_http() -> dict[str, Any]:
            c = openai.AsyncOpenAI(base_url=base, api_key=key, max_retries=0)
            try:
                return await _load(c, args.runs, args.concurrency)
            finally:
                await c.close()

        async def in_process() -> dict[str, Any]:
            c = compat.AsyncOpenAI(base_url=emu.base_url, api_key="sk-emulator", store=store)
            try:
                return await _load(c, args.runs, args.concurrency)
            finally:
                await c.close()

        http = asyncio.run(over_http())
        local = asyncio.run(in_process())
        server.should_exit = True
        thread.join(10)
    backend = url.split(":", 1)[0]
    print(f"serve_load: {args.runs} streamed runs, {args.concurrency} at a time, {backend}")
    for name, r in (("HTTP (serve)", http), ("in-process", local)):
        lat = r["lat"] or [float("nan")]
        print(
            f"  {name:13} runs {args.runs}  streams complete {r['complete']}  "
            f"errors {r['errors']}  runs/s {args.runs / r['wall']:.1f}  "
            f"latency p50 {statistics.median(lat) * 1000:.0f} ms  p95 {_p(lat, 0.95) * 1000:.0f} ms"
        )
    if http["lat"] and local["lat"]:
        p50 = statistics.median(http["lat"]) / statistics.median(local["lat"])
        print(
            f"  HTTP / in-process: p50 x{p50:.2f}"
            f"  p95 x{_p(http['lat'], 0.95) / _p(local['lat'], 0.95):.2f}"
            f"  throughput x{local['wall'] / http['wall']:.2f}"
        )
    lost = args.runs - http["complete"]
    print(f"  lost or incomplete streams over HTTP: {lost}")


if __name__ == "__main__":
    main()
