"""``export``: local threads to OpenAI Conversations or to a JSONL of Responses input items.

Imports: click, rich, and lazily compat.export / openai / the store.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from .db import DATABASE_HELP

if TYPE_CHECKING:
    from ..export import Progress, ThreadResult

DEFAULT_MAPPING = "conversations-mapping.json"


@click.command(
    epilog="Exit codes: 0 every thread exported (or exported before); 1 some thread failed "
    "or was skipped (a run still active, an unknown id); 2 usage error, unreadable store or "
    "mapping file, no API key, or the key was refused."
)
@click.argument("thread_ids", nargs=-1, metavar="[THREAD_ID]...")
@click.option(
    "--to",
    "target",
    type=click.Choice(["conversations", "jsonl"]),
    required=True,
    help="conversations: one OpenAI Conversation per thread; jsonl: one JSON line per thread.",
)
@click.option("--all", "all_threads", is_flag=True, help="Export every thread in the store.")
@click.option(
    "--threads",
    "threads_file",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="A file of thread ids, one per line ('-': stdin).",
)
@click.option(
    "--database",
    help=DATABASE_HELP,
)
@click.option(
    "--out",
    default="-",
    show_default=True,
    help="jsonl: the file to write (whole or not at all); '-' is stdout.",
)
@click.option(
    "--mapping",
    default=DEFAULT_MAPPING,
    show_default=True,
    type=click.Path(dir_okay=False),
    help="conversations: the JSON file recording thread id -> conversation id (read to skip "
    "and resume, written as each thread progresses).",
)
@click.option(
    "--base-url",
    help="conversations: the API base URL (default: $OPENAI_BASE_URL, else OpenAI's).",
)
def export(
    thread_ids: tuple[str, ...],
    target: str,
    all_threads: bool,
    threads_file: str | None,
    database: str | None,
    out: str,
    mapping: str,
    base_url: str | None,
) -> int:
    """Export local threads to OpenAI Conversations, or to JSONL.

    Each thread becomes the Responses input items a replayed run sends (messages, function
    calls and their outputs). With --to conversations a Conversation is created per thread
    (its metadata and first 20 items, then the rest 20 at a time) through the OpenAI API,
    configured like the SDK: OPENAI_API_KEY, OPENAI_BASE_URL, OPENAI_ORG_ID,
    OPENAI_PROJECT_ID. The mapping file gets thread id -> conversation id; running the
    same export again skips finished threads and resumes an interrupted one without
    duplicating items. Continue a thread natively with
    client.responses.create(conversation=ID, input=...).

    With --to jsonl each line is {"thread_id", "created_at", "metadata", "items"}.

    \b
    Examples:
      assistants-compat export thread_abc thread_def --to conversations
      assistants-compat export --all --to conversations --mapping done.json
      assistants-compat export --threads ids.txt --to jsonl --out threads.jsonl
      assistants-compat export --all --to jsonl --database postgresql://127.0.0.1/app
    """
    from .. import export as ex
    from ..migrate import read_thread_ids

    ids = list(thread_ids)
    if threads_file is not None:
        try:
            ids += read_thread_ids(threads_file)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--threads") from None
    if all_threads and ids:
        raise click.UsageError("give thread ids or --all, not both")
    try:
        if all_threads:
            ids = ex.all_thread_ids(database)
        elif not ids:
            raise click.UsageError("give thread ids, --threads FILE or --all")
        ids = list(dict.fromkeys(ids))  # once each, in the order given
        if target == "jsonl":
            with _progress(ids) as progress:
                if out == "-":
                    results = ex.export_to_jsonl(database, ids, sys.stdout, progress=progress)
                else:
                    results = ex.export_to_jsonl(database, ids, out, progress=progress)
        else:
            client = _upstream(base_url)
            with _progress(ids) as progress:
                results = ex.export_to_conversations(
                    database, ids, client, mapping=mapping, progress=progress
                )
    except click.UsageError:
        raise
    except ex.ExportError as exc:
        click.echo(f"assistants-compat export: {exc}", err=True)
        return 2
    except Exception as exc:  # the store cannot be opened or read: say so, no traceback
        click.echo(f"assistants-compat export: {type(exc).__name__}: {exc}", err=True)
        return 2
    return _report(results, target, out, mapping)


def _upstream(base_url: str | None) -> Any:
    """A plain ``openai.OpenAI`` from the environment (the SDK's own resolution)."""
    import openai

    try:
        return openai.OpenAI(base_url=base_url) if base_url else openai.OpenAI()
    except openai.OpenAIError as exc:  # no OPENAI_API_KEY
        raise click.UsageError(str(exc)) from None


@contextmanager
def _progress(ids: list[str]) -> Iterator[Progress | None]:
    """A rich progress bar over items sent, on a terminal (stderr) only."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    overall = bar.add_task("threads", total=len(ids))
    current: dict[str, Any] = {}

    def update(thread_id: str, sent: int, total: int) -> None:
        if current.get("thread") != thread_id:
            if "task" in current:
                bar.remove_task(current["task"])
                bar.advance(overall)
            current.update(thread=thread_id, task=bar.add_task(thread_id, total=total or 1))
        bar.update(current["task"], completed=sent if total else 1)

    with bar:
        yield update


def _report(results: list[ThreadResult], target: str, out: str, mapping: str) -> int:
    """One line per thread not done, then the counts; the exit code."""
    counts: dict[str, int] = {}
    for r in results:
        done_before = r.status == "skipped" and r.conversation_id is not None
        label = "already exported" if done_before else r.status
        counts[label] = counts.get(label, 0) + 1
        if r.status == "failed" or (r.status == "skipped" and not done_before):
            click.echo(f"{r.thread_id}: {r.status}: {r.reason}", err=True)
        elif r.reason and not done_before:
            click.echo(f"{r.thread_id}: {r.reason}", err=True)
    where = mapping if target == "conversations" else ("stdout" if out == "-" else out)
    summary = ", ".join(f"{n} {label}" for label, n in counts.items())
    click.echo(f"{summary or 'nothing to export'} -> {where}", err=True)
    omitted = sum(1 for r in results if r.omitted)
    if omitted:
        click.echo(
            f"{omitted} thread(s) held content the items cannot carry (tool calls other than "
            "functions, attachments, annotations): see MIGRATION.md, Move to Conversations.",
            err=True,
        )
    return 1 if any(label in counts for label in ("failed", "skipped")) else 0
