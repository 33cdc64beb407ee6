"""``import``: bring Assistants objects from export files or a legacy endpoint into a store.

Imports: click, rich, compat.migrate, compat.store (lazily, so ``--help`` stays fast).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .db import DATABASE_HELP

if TYPE_CHECKING:
    from ..migrate import Summary
    from ..store import Store


@click.command("import")
@click.argument("sources", nargs=-1, required=True, metavar="SOURCE...")
@click.option("--database", help=DATABASE_HELP)
@click.option(
    "--threads",
    "threads_file",
    type=click.Path(dir_okay=False),
    help="Thread ids to fetch from the endpoint, one per line (the API cannot list threads).",
)
@click.option(
    "--assistants",
    "all_assistants",
    is_flag=True,
    help="Also fetch every assistant the endpoint lists.",
)
@click.option("--api-key", help="The endpoint's API key (default: $OPENAI_API_KEY).")
@click.option(
    "--header",
    "headers",
    multiple=True,
    metavar="K:V",
    help="An extra request header for the endpoint (repeatable), e.g. api-key:...",
)
@click.option(
    "--tenant",
    help="Tenant owning the imported assistants and threads in a store served by "
    "`assistants-compat serve` (default: the in-process clients' own).",
)
@click.option("--dry-run", is_flag=True, help="Read and compare everything; write nothing.")
@click.option(
    "--overwrite", is_flag=True, help="Replace stored objects that differ from the source."
)
def importer(
    sources: tuple[str, ...],
    database: str | None,
    threads_file: str | None,
    all_assistants: bool,
    api_key: str | None,
    headers: tuple[str, ...],
    tenant: str | None,
    dry_run: bool,
    overwrite: bool,
) -> int:
    """Import assistants, threads, messages, runs and steps with their ids kept.

    SOURCE is a JSON / JSONL file or a folder of them (any arrangement: bare objects, list
    envelopes, per-thread documents), or the http(s) base URL of an Assistants-compatible
    API (Azure AI Foundry classic Agents, astra-assistants, another compat server) with
    --threads and/or --assistants. Re-running is safe: stored objects that match count as
    unchanged, ones that differ are reported and kept unless --overwrite. Each thread is
    written whole in one transaction, so an interrupted import continues on re-run. Runs
    that were still active in the source are stored as `expired` and never executed.

    \b
    Exit codes: 0 everything imported or unchanged (conflicts kept are reported, not
    failures); 1 something could not be imported (bad file, object without id, endpoint
    error); 2 usage error, or a source or the database cannot be read.

    \b
    Examples:
      assistants-compat import export/ --database postgresql://127.0.0.1/app
      assistants-compat import threads.jsonl assistants.json --dry-run
      assistants-compat import https://legacy.example.com/v1 --threads ids.txt --assistants \\
          --header "api-key:$AZURE_KEY"
    """
    from ..migrate import read_thread_ids
    from ..store import StoreError, open_store

    urls = [s for s in sources if s.startswith(("http://", "https://"))]
    paths = [s for s in sources if s not in urls]
    if (threads_file or all_assistants) and not urls:
        return _usage("--threads and --assistants need an http(s) base URL SOURCE")
    if urls and not (threads_file or all_assistants):
        return _usage("an endpoint SOURCE needs --threads FILE and/or --assistants")
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        return _usage(f"{missing[0]}: no such file or folder")
    try:
        header_map = dict(_header(h) for h in headers)
        thread_ids = read_thread_ids(threads_file) if threads_file else []
    except ValueError as exc:
        return _usage(str(exc))
    try:
        store = open_store(database)
    except Exception as exc:  # unreachable, locked, newer: say so, no traceback
        click.echo(f"assistants-compat import: cannot open the database: {exc}", err=True)
        return 2
    try:
        summary = _import(
            store,
            paths,
            urls,
            thread_ids,
            all_assistants=all_assistants,
            api_key=api_key,
            headers=header_map,
            tenant=tenant,
            dry_run=dry_run,
            overwrite=overwrite,
        )
    except StoreError as exc:
        click.echo(f"assistants-compat import: the database failed: {exc}", err=True)
        return 2
    _report(summary, dry_run=dry_run)
    return 0 if summary.complete else 1


def _usage(message: str) -> int:
    click.echo(f"assistants-compat import: {message}", err=True)
    return 2


def _header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise ValueError(f"--header {text!r}: expected NAME:VALUE")
    return name.strip(), value.strip()


def _import(
    store: Store,
    paths: Sequence[str],
    urls: Sequence[str],
    thread_ids: Sequence[str],
    *,
    all_assistants: bool,
    api_key: str | None,
    headers: dict[str, str],
    tenant: str | None,
    dry_run: bool,
    overwrite: bool,
) -> Summary:
    from ..migrate import Problem, Summary, import_assistants, import_export, import_thread, remote
    from ..migrate.sources import read_export

    summary = Summary()
    kw: dict[str, Any] = {"overwrite": overwrite, "dry_run": dry_run, "tenant": tenant}
    if paths:
        export = read_export(paths)
        with _progress(len(export.threads), "files") as advance:
            part = import_export(store, export, progress=lambda _: advance(), **kw)
        _merge(summary, part)
    for url in urls:
        client = remote.make_client(url, api_key=api_key, headers=headers)
        if all_assistants:
            try:
                assistants = list(remote.list_assistants(client))
            except remote.RemoteError as exc:
                summary.problems.append(Problem(f"{url} assistants", str(exc)))
                summary.add("assistant", "failed")
            else:
                import_assistants(store, assistants, summary, **kw)
        with _progress(len(thread_ids), url) as advance:
            for thread_id in thread_ids:
                try:
                    record = remote.fetch_thread(client, thread_id)
                except remote.RemoteError as exc:
                    summary.problems.append(Problem(thread_id, str(exc)))
                    summary.add("thread", "failed")
                else:
                    import_thread(store, thread_id, record, summary, **kw)
                advance()
    return summary


def _merge(into: Summary, part: Summary) -> None:
    for kind, counts in part.counts.items():
        for outcome, n in counts.items():
            into.add(kind, outcome, n)
    into.problems += part.problems
    into.conflicts += part.conflicts


def _progress(total: int, label: str) -> Any:
    """A rich progress bar on a terminal (``advance()`` per thread); nothing otherwise."""
    if not sys.stderr.isatty() or total == 0:
        return nullcontext(lambda: None)
    from contextlib import contextmanager

    from rich.progress import Progress

    @contextmanager
    def bar() -> Any:
        with Progress(transient=True, console=_console()) as progress:
            task = progress.add_task(f"threads from {label}", total=total)
            advance: Callable[[], None] = lambda: progress.advance(task)  # noqa: E731
            yield advance

    return bar()


def _console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def _report(summary: Summary, *, dry_run: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    from ..migrate import OUTCOMES

    title = "import (dry run: nothing written)" if dry_run else "import"
    table = Table(title=title, title_justify="left")
    table.add_column("kind")
    for outcome in OUTCOMES:
        table.add_column(outcome, justify="right")
    for kind, counts in summary.counts.items():
        table.add_row(kind, *(str(counts[o]) for o in OUTCOMES))
    console = Console(width=max(100, Console().width), soft_wrap=True)
    console.print(table)
    err = Console(stderr=True, soft_wrap=True, highlight=False)
    for c in summary.conflicts:
        err.print(f"conflict: {c}", markup=False)
    for p in summary.problems:
        err.print(f"not imported: {p}", markup=False)
