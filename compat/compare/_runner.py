"""Running cases under variants: each case's user turns replayed on a fresh thread.

Each (case, repetition, variant) is one unit of work on a thread pool; a unit that fails
records the error on its turns and never stops the others. Variants run through
``compat.OpenAI`` on a scratch store (or a plain ``openai.OpenAI`` for ``base_url``
variants); tool outputs come from the recording, else the user's callable, else the run is
cancelled and the turn marked ``needs_tool_output``.
Imports: openai, compat (clients), the compare package's modules.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from ._cases import Case, Recorded, ToolCall, tool_calls_of_steps
from ._metrics import DEFAULT_PRICES, cost
from ._report import SCHEMA_VERSION, Report, score
from ._variants import RECORDED, Variant

__all__ = ["ToolFunction", "run"]

#: ``tools(name, arguments) -> output``: answers a function call the recording cannot.
ToolFunction = Callable[[str, dict[str, Any]], Any]
TERMINAL = {"completed", "failed", "incomplete", "cancelled", "expired"}
DEFAULT_MODEL = "gpt-4o"


@dataclass
class _Settings:
    base_url: str | None
    api_key: str | None
    run_store: str | None
    tools: ToolFunction | None
    prices: dict[str, dict[str, float]]
    max_retries: int
    timeout: float
    stop: threading.Event = field(default_factory=threading.Event)


def _result(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "status": "completed",
        "error": None,
        "answer": "",
        "tool_calls": [],
        "model": None,
        "prompt_tokens": None,
        "completion_tokens": None,
        "cost": None,
        "latency_s": None,
        "ttft_s": None,
        "run_id": None,
    }
    base.update(kw)
    return base


def _recorded_result(rec: Recorded | None, case: Case, prices: dict[str, Any]) -> dict[str, Any]:
    if rec is None:
        return _result(status="not_recorded")
    model = rec.model or case.model
    return _result(
        status=rec.status,
        error=rec.error,
        answer=rec.answer,
        tool_calls=[asdict(c) for c in rec.tool_calls],
        model=model,
        prompt_tokens=rec.prompt_tokens,
        completion_tokens=rec.completion_tokens,
        cost=cost(model, rec.prompt_tokens, rec.completion_tokens, prices),
        latency_s=rec.latency_s,
        run_id=rec.run_id,
    )


# --------------------------------------------------------------------------------------------
# Clients


class _Clients:
    """One client per variant, shared by the pool's threads; scratch stores cleaned up."""

    def __init__(self, settings: _Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._clients: dict[str, Any] = {}
        self._tmp: str | None = None

    def get(self, variant: Variant) -> Any:
        with self._lock:
            client = self._clients.get(variant.name)
            if client is None:
                client = self._clients[variant.name] = self._make(variant)
            return client

    def _make(self, variant: Variant) -> Any:
        s = self.settings
        common: dict[str, Any] = {"max_retries": s.max_retries, "timeout": s.timeout}
        if variant.base_url:
            import openai

            from .._client import _quiet

            plain = openai.OpenAI(
                base_url=variant.base_url, api_key=variant.api_key or s.api_key, **common
            )
            _quiet(plain.beta)  # the SDK's Assistants deprecation warnings, silenced
            return plain
        import compat

        if s.run_store is not None:
            url = s.run_store
        else:
            if self._tmp is None:
                self._tmp = tempfile.mkdtemp(prefix="compat-compare-")
            url = f"sqlite:///{self._tmp}/{variant.name}.db"
        options = compat.Options(history=variant.history or "replay")
        return compat.OpenAI(
            base_url=s.base_url,
            api_key=variant.api_key or s.api_key,
            store=url,
            compat_options=options,
            **common,
        )

    def judge_client(self) -> Any:
        import openai

        s = self.settings
        return openai.OpenAI(
            base_url=s.base_url, api_key=s.api_key, max_retries=s.max_retries, timeout=s.timeout
        )

    def close(self) -> None:
        for client in self._clients.values():
            try:
                client.close()
                store = getattr(client, "compat_store", None)
                if store is not None and self._tmp and self._tmp in store.url:
                    from ..store import _open

                    _open.pop(store.url, None)
                    store.close()
            except Exception:  # closing is best effort
                pass
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# One turn


def _error_text(exc: BaseException) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("message"):
            return f"{type(exc).__name__}: {err['message']}"
    return f"{type(exc).__name__}: {exc}"


def _dump(obj: Any) -> dict[str, Any]:
    return obj.model_dump() if hasattr(obj, "model_dump") else dict(obj)


class _TurnRunner:
    def __init__(self, client: Any, case: Case, variant: Variant, settings: _Settings) -> None:
        self.client = client
        self.case = case
        self.variant = variant
        self.settings = settings
        self.recorded = case.recorded_outputs()

    def _output_for(self, name: str, arguments: str) -> str | None:
        found = self.recorded.get(ToolCall(name, arguments).key())
        if found is not None:
            return found
        fn = self.settings.tools
        if fn is None:
            return None
        try:
            args = json.loads(arguments) if arguments else {}
        except ValueError:
            args = {"_raw": arguments}
        try:
            value = fn(name, args)
        except Exception:  # the user's function failed: no output, never invented
            return None
        if value is None:
            return None
        return value if isinstance(value, str) else json.dumps(value)

    def _consume(self, stream: Any, t0: float, state: dict[str, Any]) -> Any:
        """Read one event stream; returns the run needing tool outputs, if any."""
        pending = None
        for event in stream:
            kind = getattr(event, "event", "")
            if kind == "thread.message.delta" and state["ttft"] is None:
                state["ttft"] = time.perf_counter() - t0
            elif kind == "thread.run.requires_action":
                pending = event.data
                state["run"] = event.data
            elif kind.startswith("thread.run.") and not kind.startswith("thread.run.step"):
                state["run"] = event.data
            elif kind == "error":
                state["error"] = str(getattr(event.data, "message", event.data))
        return pending

    def run_turn(self, thread_id: str, assistant_id: str) -> dict[str, Any]:
        beta = self.client.beta.threads
        state: dict[str, Any] = {"ttft": None, "run": None, "error": None}
        status: str | None = None
        t0 = time.perf_counter()
        stream = beta.runs.create(
            thread_id=thread_id, assistant_id=assistant_id, stream=True, **self.variant.params
        )
        while True:
            pending = self._consume(stream, t0, state)
            if pending is None:
                break
            outputs = []
            for tc in pending.required_action.submit_tool_outputs.tool_calls:
                out = self._output_for(tc.function.name, tc.function.arguments)
                if out is None:
                    status = "needs_tool_output"
                    state["error"] = (
                        f"no tool output for {tc.function.name}({tc.function.arguments})"
                    )
                    break
                outputs.append({"tool_call_id": tc.id, "output": out})
            if status is not None:
                break
            stream = beta.runs.submit_tool_outputs(
                run_id=pending.id, thread_id=thread_id, tool_outputs=outputs, stream=True
            )
        latency = time.perf_counter() - t0
        run = state["run"]
        if run is None:
            return _result(status="error", error=state["error"] or "no run in the stream")
        if status == "needs_tool_output" or run.status not in TERMINAL:
            # Leave no active run behind: the next turn's message would be refused.
            try:
                beta.runs.cancel(run_id=run.id, thread_id=thread_id)
            except Exception:  # cancelling is best effort: the turn is reported anyway
                pass
        run = beta.runs.retrieve(run_id=run.id, thread_id=thread_id)
        return self._result(thread_id, run, status, state, latency)

    def _result(
        self, thread_id: str, run: Any, status: str | None, state: dict[str, Any], latency: float
    ) -> dict[str, Any]:
        beta = self.client.beta.threads
        msgs = beta.messages.list(thread_id=thread_id, run_id=run.id, order="asc", limit=100)
        texts = []
        for m in msgs.data:
            parts = [p.text.value for p in m.content if getattr(p, "type", "") == "text"]
            texts.append("\n".join(parts))
        steps = beta.runs.steps.list(thread_id=thread_id, run_id=run.id, order="asc", limit=100)
        calls = tool_calls_of_steps(_dump(s) for s in steps.data)
        usage = run.usage
        pt = usage.prompt_tokens if usage else None
        ct = usage.completion_tokens if usage else None
        err = state["error"]
        if run.last_error is not None:
            err = f"{run.last_error.code}: {run.last_error.message}"
        elif run.status == "incomplete" and run.incomplete_details is not None:
            err = f"incomplete: {run.incomplete_details.reason}"
        return _result(
            status=status or run.status,
            error=err,
            answer="\n".join(t for t in texts if t),
            tool_calls=[asdict(c) for c in calls],
            model=run.model,
            prompt_tokens=pt,
            completion_tokens=ct,
            cost=cost(run.model, pt, ct, self.settings.prices),
            latency_s=round(latency, 4),
            ttft_s=None if state["ttft"] is None else round(state["ttft"], 4),
            run_id=run.id,
        )


def _run_unit(
    case: Case, variant: Variant, clients: _Clients, settings: _Settings
) -> list[dict[str, Any]]:
    """All turns of one case under one variant (never raises)."""
    results: list[dict[str, Any]] = []
    try:
        client = clients.get(variant)
        extra: dict[str, Any] = {}
        if case.tool_resources:
            extra["tool_resources"] = case.tool_resources
        assistant = client.beta.assistants.create(
            model=case.model or DEFAULT_MODEL,
            instructions=case.instructions,
            tools=case.tools,
            name=f"compare {case.id}"[:256],
            **extra,
        )
        thread = (
            client.beta.threads.create(tool_resources=case.thread_tool_resources)
            if case.thread_tool_resources
            else client.beta.threads.create()
        )
        runner = _TurnRunner(client, case, variant, settings)
        for turn in case.turns:
            if settings.stop.is_set():
                break
            try:
                for params in turn.message_params():
                    client.beta.threads.messages.create(thread_id=thread.id, role="user", **params)
                results.append(runner.run_turn(thread.id, assistant.id))
            except Exception as exc:  # this turn failed; later turns still run
                results.append(_result(status="error", error=_error_text(exc)))
        if variant.base_url:  # a real endpoint: leave nothing behind
            for delete in (
                lambda: client.beta.threads.delete(thread.id),
                lambda: client.beta.assistants.delete(assistant.id),
            ):
                try:
                    delete()
                except Exception:  # cleanup is best effort
                    pass
    except Exception as exc:  # setup failed: every turn reports it
        err = _error_text(exc)
        results.extend(_result(status="error", error=err) for _ in case.turns[len(results) :])
    results.extend(_result(status="not_run") for _ in case.turns[len(results) :])
    return results


# --------------------------------------------------------------------------------------------
# The judge


JUDGE_SCHEMA = {
    "type": "object",
    "properties": {"score": {"type": "number"}, "reason": {"type": "string"}},
    "required": ["score", "reason"],
    "additionalProperties": False,
}


def _judge(client: Any, model: str, rubric: str, user: str, base: str, answer: str) -> Any:
    prompt = (
        f"User message:\n{user}\n\nReference answer:\n{base}\n\nCandidate answer:\n{answer}\n\n"
        "Score the candidate against the reference from 0 (unacceptable) to 1 (as good)."
    )
    try:
        resp = client.responses.create(
            model=model,
            instructions=rubric,
            input=prompt,
            text={
                "format": {
                    "type": "json_schema",
                    "name": "verdict",
                    "schema": JUDGE_SCHEMA,
                    "strict": True,
                }
            },
        )
        verdict = json.loads(resp.output_text)
        value = float(verdict.get("score"))
        return {"score": max(0.0, min(1.0, value)), "reason": str(verdict.get("reason", ""))}
    except Exception as exc:  # a judge failure leaves the turn unjudged, with the reason
        return {"score": None, "reason": _error_text(exc)}


# --------------------------------------------------------------------------------------------
# The run


def _baseline(case: Case, variants: Sequence[Variant]) -> str | None:
    names = [v.name for v in variants]
    if RECORDED in names and case.has_recording:
        return RECORDED
    return next((n for n in names if n != RECORDED), None)


def _progress(total: int, enabled: bool | None) -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    console = Console(stderr=True)
    if enabled is None:
        enabled = console.is_terminal
    if not enabled:
        return None
    progress = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    return progress


def run(
    cases: Sequence[Case],
    variants: Sequence[Variant],
    *,
    repeat: int = 1,
    concurrency: int = 4,
    base_url: str | None = None,
    api_key: str | None = None,
    run_store: str | None = None,
    tools: ToolFunction | None = None,
    prices: dict[str, dict[str, float]] | None = None,
    fail_under: float | None = None,
    max_cost_increase: float | None = None,
    judge: str | None = None,
    rubric: str | None = None,
    progress: bool | None = False,
    max_retries: int = 2,
    timeout: float = 120.0,
    problems: Sequence[str] = (),
    stop: threading.Event | None = None,
) -> Report:
    """Run every case under every variant and return the scored :class:`Report`.

    ``variants`` may include ``Variant("recorded")``, the baseline read from the recording;
    otherwise a case's baseline is the first variant. ``base_url`` / ``api_key``: the
    Responses endpoint compat variants use (default: the SDK's environment variables).
    ``run_store``: store URL the replayed threads go to (default: a scratch SQLite file,
    removed afterwards). ``tools``: ``tools(name, arguments) -> output`` for function calls
    the recording cannot answer. ``judge`` + ``rubric``: score each answer against the
    baseline with that model through the Responses API. ``progress``: a rich progress bar
    (None: when stderr is a terminal). Ctrl-C (KeyboardInterrupt) or ``stop`` set stops
    early: the report is returned with ``partial: true``.
    """
    if repeat < 1 or concurrency < 1:
        raise ValueError("repeat and concurrency must be at least 1")
    names = [v.name for v in variants]
    if len(set(names)) != len(names):
        raise ValueError("variant names must be unique")
    table = dict(DEFAULT_PRICES if prices is None else prices)
    settings = _Settings(base_url, api_key, run_store, tools, table, max_retries, timeout)
    if stop is not None:
        settings.stop = stop
    data: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "generator": "assistants-compat compare",
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "partial": False,
        "variants": [{**v.public(), "description": v.describe()} for v in variants],
        "thresholds": {"fail_under": fail_under, "max_cost_increase": max_cost_increase},
        "judge": {"model": judge, "rubric": rubric} if judge else None,
        "prices": table,
        "cases": [],
        "summary": {},
        "failures": [],
        "problems": list(problems),
    }
    units: list[tuple[dict[str, Any], Case, Variant]] = []
    for case in cases:
        for k in range(1, repeat + 1):
            entry: dict[str, Any] = {
                "id": case.id,
                "label": case.id if repeat == 1 else f"{case.id} #{k}",
                "source": case.source,
                "repeat": k,
                "baseline": _baseline(case, variants),
                "turns": [
                    {"index": i + 1, "user": "\n".join(t.user), "results": {}}
                    for i, t in enumerate(case.turns)
                ],
            }
            data["cases"].append(entry)
            for v in variants:
                if v.is_recorded:
                    for t, turn in zip(entry["turns"], case.turns, strict=True):
                        t["results"][v.name] = _recorded_result(turn.recorded, case, table)
                else:
                    for t in entry["turns"]:
                        t["results"][v.name] = _result(status="not_run")
                    units.append((entry, case, v))

    clients = _Clients(settings)
    bar = _progress(len(units), progress)
    pool = cf.ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="compare")
    futures: dict[cf.Future[list[dict[str, Any]]], tuple[dict[str, Any], Variant]] = {}
    collected: set[cf.Future[list[dict[str, Any]]]] = set()

    def collect(fut: cf.Future[list[dict[str, Any]]]) -> None:
        entry, v = futures[fut]
        for t, res in zip(entry["turns"], fut.result(), strict=True):
            t["results"][v.name] = res
        collected.add(fut)

    interrupted = False
    try:
        for e, c, v in units:
            futures[pool.submit(_run_unit, c, v, clients, settings)] = (e, v)
        task = bar.add_task("comparing", total=len(futures)) if bar else None
        if bar:
            bar.start()
        pending = set(futures)
        while pending and not settings.stop.is_set():
            done, pending = cf.wait(pending, timeout=0.2, return_when=cf.FIRST_COMPLETED)
            for fut in done:
                collect(fut)
                if bar:
                    bar.advance(task)
        interrupted = bool(pending)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if bar:
            bar.stop()
    if interrupted:
        settings.stop.set()
        data["partial"] = True
        # Running units stop after their current turn (kept); unstarted ones never start.
        # A second Ctrl-C stops waiting for them.
        try:
            pool.shutdown(wait=True, cancel_futures=True)
        except KeyboardInterrupt:
            pool.shutdown(wait=False, cancel_futures=True)
        for fut in futures:
            if fut not in collected and fut.done() and not fut.cancelled():
                collect(fut)
    else:
        pool.shutdown()
        if judge:
            _judge_all(data, clients, judge, rubric or "", concurrency)
    if len(collected) == len(futures):
        clients.close()
    return Report(score(data))


def _judge_all(
    data: dict[str, Any], clients: _Clients, model: str, rubric: str, concurrency: int
) -> None:
    client = clients.judge_client()
    jobs = []
    for case in data["cases"]:
        base_name = case["baseline"]
        for turn in case["turns"]:
            base = turn["results"].get(base_name)
            if base is None or base["status"] in ("not_run", "not_recorded"):
                continue
            for name, res in turn["results"].items():
                if name != base_name and res["status"] not in ("not_run", "not_recorded"):
                    jobs.append((res, turn["user"], base["answer"]))
    with cf.ThreadPoolExecutor(max_workers=concurrency) as pool:
        verdicts = pool.map(
            lambda j: _judge(client, model, rubric, j[1], j[2], j[0]["answer"]), jobs
        )
        for (res, _, _), verdict in zip(jobs, verdicts, strict=True):
            res["judge"] = verdict
    client.close()
