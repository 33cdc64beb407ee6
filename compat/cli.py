"""``assistants-compat``: run scripts offline against the bundled emulator, serve the emulator,
upgrade a store's schema (``db upgrade`` / ``db current`` / ``db check``).

Imports: compat.testing (the emulator), store (the schema), stdlib.
"""

from __future__ import annotations

import argparse
import os
import runpy
import sys
import time


def _offline(args: argparse.Namespace) -> int:
    """Run a Python script with OPENAI_BASE_URL pointing at a fresh local emulator."""
    from .testing import ResponsesEmulator

    with ResponsesEmulator(delta_delay=args.delta_delay) as emu:
        os.environ["OPENAI_BASE_URL"] = emu.base_url
        os.environ["OPENAI_API_KEY"] = "sk-offline"
        os.environ.setdefault(
            "COMPAT_DATABASE_URL", args.database or "sqlite:///assistants-offline.db"
        )
        if args.database:
            os.environ["COMPAT_DATABASE_URL"] = args.database
        sys.argv = [args.script, *args.args]
        sys.path.insert(0, os.path.dirname(os.path.abspath(args.script)))
        print(
            f"[assistants-compat] offline: Responses API emulator at {emu.base_url}",
            file=sys.stderr,
        )
        runpy.run_path(args.script, run_name="__main__")
    return 0


def _serve(args: argparse.Namespace) -> int:
    """Serve the emulator until interrupted (for apps in other processes or languages)."""
    from .testing import ResponsesEmulator

    with ResponsesEmulator(port=args.port, delta_delay=args.delta_delay) as emu:
        print(f"Responses API emulator listening at {emu.base_url}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


def _db(args: argparse.Namespace) -> int:
    """``db upgrade`` / ``db current`` / ``db check`` on ``--database`` (default: the client's
    URL resolution). Exit 2 with a message when the database cannot be read or is newer."""
    from . import store

    url = store.resolve_url(args.database)
    try:
        if args.action == "upgrade":
            before, after = store.upgrade_schema(url)
            if before.at_head:
                done = f"already {after.describe()}"
            elif before.empty:
                done = f"created the schema, {after.describe()}"
            else:
                was = before.revision or f"schema_version {before.schema_version}"
                done = f"upgraded from {was} to {after.revision} (head)"
            print(f"{after.database}: {done}")
            return 0
        state = store.schema_state(url)
    except Exception as exc:  # unreachable, locked, newer, not a database: say so
        print(f"assistants-compat db {args.action}: {exc}", file=sys.stderr)
        return 2
    if args.action == "current" or state.at_head:
        print(f"{state.database}: {state.describe()}")
        return 0
    print(f"{state.database}: {state.describe()}; run `assistants-compat db upgrade`")
    return 1


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``assistants-compat`` command."""
    parser = argparse.ArgumentParser(prog="assistants-compat", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    off = sub.add_parser("offline", help="run a script against the bundled Responses API emulator")
    off.add_argument("script")
    off.add_argument("args", nargs=argparse.REMAINDER)
    off.add_argument("--database", help="store URL (default: sqlite:///assistants-offline.db)")
    off.add_argument(
        "--delta-delay", type=float, default=0.02, help="seconds between streamed deltas"
    )
    off.set_defaults(func=_offline)
    srv = sub.add_parser("emulator", help="serve the Responses API emulator on 127.0.0.1")
    srv.add_argument("--port", type=int, default=8765)
    srv.add_argument("--delta-delay", type=float, default=0.0)
    srv.set_defaults(func=_serve)
    db = sub.add_parser("db", help="the store's schema: upgrade it, show or check its revision")
    db_sub = db.add_subparsers(dest="action", required=True)
    for action, what in (
        ("upgrade", "bring the database to the newest schema revision (creates it if empty)"),
        ("current", "show the database's schema revision"),
        ("check", "exit 0 when the schema is at the newest revision, 1 when an upgrade is pending"),
    ):
        one = db_sub.add_parser(action, help=what)
        one.add_argument(
            "--database",
            help="store URL (default: $COMPAT_DATABASE_URL, else sqlite:///assistants.db)",
        )
    db.set_defaults(func=_db)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
