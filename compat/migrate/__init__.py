"""Bring existing Assistants data into the local store: read exports (``read_export``),
fetch from an Assistants-compatible endpoint (``fetch_thread``) and import (``import_export``).

Imports: compat.migrate's own modules (which import store / openai as they need).
"""

from __future__ import annotations

from .importer import OUTCOMES, Summary, import_assistants, import_export, import_thread
from .remote import RemoteError, fetch_assistant, fetch_thread, list_assistants, make_client
from .sources import KINDS, Export, Problem, ThreadRecord, read_export, read_thread_ids

__all__ = [
    "KINDS",
    "OUTCOMES",
    "Export",
    "Problem",
    "RemoteError",
    "Summary",
    "ThreadRecord",
    "fetch_assistant",
    "fetch_thread",
    "import_assistants",
    "import_export",
    "import_thread",
    "list_assistants",
    "make_client",
    "read_export",
    "read_thread_ids",
]
