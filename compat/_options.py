"""Options: how runs use the Responses API and how runs are owned across processes.

Imports: stdlib only.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Options:
    """How runs use the Responses API, and how long a run may go unattended.

    history: ``"replay"`` (default) sends the thread as input on every call, with
      ``store: false``; it works with any Responses-compatible server. ``"chain"`` sends only
      what is new since the thread's last response with ``previous_response_id`` (and
      ``store: true``), for long threads; it falls back to replay when the chain cannot serve
      (truncation or prompt budgets set, model changed, upstream lost the response).
    upstream_store: the ``store`` flag sent in replay mode.
    materialize_files: copy files code_interpreter writes into the Files API (``file-…`` ids).
    poll_wait: longest time (s) a poll-helper retrieve waits for a run another thread or
      process is executing to need the caller.
    lease_seconds: how long a run stays owned by the client executing it without a renewal
      (renewed every third of it while the client lives). When it lapses (the process died,
      hung, or lost its database), any live client of the same store takes the run over:
      within ``lease_seconds`` plus ``lease_seconds / 3`` (20 s by default).
    exit_wait: at interpreter exit, how long (s) runs this process still executes get to
      finish; what is left is handed over through its lease.
    """

    history: str = "replay"
    upstream_store: bool = False
    materialize_files: bool = True
    poll_wait: float = 5.0
    lease_seconds: float = 15.0
    exit_wait: float = 10.0
