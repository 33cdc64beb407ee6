"""Pure Assistants <-> Responses translation: request building, context budgeting, tools, output.

Re-exports the public names of `request`, `context`, `tools` and `output`. Imports no I/O
(no openai, httpx, store or clock): plain dicts in, plain dicts out.
"""

from __future__ import annotations

from .context import BudgetExhausted, estimate_tokens, select_history
from .output import (
    add_usage,
    annotation_from_stream,
    citation_marker,
    code_interpreter_outputs,
    content_block_from_part,
    file_search_from_item,
    image_blocks_from_item,
    incomplete_reasons,
    is_image_filename,
    last_error_from_upstream,
    text_from_output_text,
    usage_from_response,
)
from .request import (
    TurnInput,
    is_reasoning_model,
    strip_citation_markers,
    to_input_items,
    to_response_request,
)
from .tools import (
    function_tool_call,
    required_action_from_calls,
    to_response_tool,
    to_response_tool_choice,
    to_response_tools,
    to_text_format,
)

__all__ = [
    "BudgetExhausted",
    "TurnInput",
    "add_usage",
    "annotation_from_stream",
    "citation_marker",
    "code_interpreter_outputs",
    "content_block_from_part",
    "estimate_tokens",
    "file_search_from_item",
    "function_tool_call",
    "image_blocks_from_item",
    "incomplete_reasons",
    "is_image_filename",
    "is_reasoning_model",
    "last_error_from_upstream",
    "required_action_from_calls",
    "select_history",
    "strip_citation_markers",
    "text_from_output_text",
    "to_input_items",
    "to_response_request",
    "to_response_tool",
    "to_response_tool_choice",
    "to_response_tools",
    "to_text_format",
    "usage_from_response",
]
