"""Side-by-side comparison runs: replay recorded or scripted conversations under variants.

``run(cases, variants, ...) -> Report`` replays every case's user turns on fresh threads
under each variant (model, instructions, tools, sampling, truncation, compat history mode,
or another endpoint) and compares answers, tool calls, status, tokens, cost and latency
with the baseline (the ``recorded`` variant: what the retired API answered). The report's
JSON (``Report.data``, schema in ``compat.compare._report``) renders to HTML and JUnit XML.

    from compat import compare
    cases, _ = compare.cases_from_export(["export/"])
    report = compare.run(cases, [compare.Variant("recorded"),
                                 compare.parse_variant("new:model=gpt-4.1")])
    assert not report.failures

Imports: the package's own modules (openai and the store load when a run starts).
"""

from __future__ import annotations

from ._cases import (
    Case,
    CaseError,
    Recorded,
    ToolCall,
    Turn,
    case_from_record,
    cases_from_export,
    cases_from_store,
    load_scripted,
    read_thread_ids,
)
from ._metrics import DEFAULT_PRICES, load_prices, similarity, word_diff
from ._report import SCHEMA_VERSION, Report, ReportError
from ._runner import ToolFunction, run
from ._variants import RECORDED, Variant, VariantError, parse_variant

__all__ = [
    "DEFAULT_PRICES",
    "RECORDED",
    "SCHEMA_VERSION",
    "Case",
    "CaseError",
    "Recorded",
    "Report",
    "ReportError",
    "ToolCall",
    "ToolFunction",
    "Turn",
    "Variant",
    "VariantError",
    "case_from_record",
    "cases_from_export",
    "cases_from_store",
    "load_prices",
    "load_scripted",
    "parse_variant",
    "read_thread_ids",
    "run",
    "similarity",
    "word_diff",
]
