"""Offline OpenAI Responses API emulator over real loopback HTTP, plus pytest fixtures.

Owns :class:`ResponsesEmulator` — a threaded HTTP server on ``127.0.0.1`` that speaks enough
of the OpenAI API for an OpenAI client (``base_url=emu.base_url``) to run Assistants-style
flows with no network — and the pytest fixtures ``responses_emulator``, ``compat_client`` and
``async_compat_client`` in :mod:`compat.testing.plugin` (registered as a ``pytest11`` plugin
when the package is installed; else ``-p compat.testing.plugin`` or
``pytest_plugins = ["compat.testing.plugin"]``).

Modules: ``emulator`` (:class:`ResponsesEmulator`: state, lifecycle, routes, endpoints),
``validate`` (request checks: official schema plus the API's semantic 400s), ``model`` (the
deterministic "model" deciding output items; :class:`Script` answers), ``events`` (Response
objects and SSE event sequences), ``_http`` (the http.server wire: server, handler, bodies),
``plugin`` (the pytest fixtures).

Stdlib only at runtime; ``jsonschema`` (the ``test`` extra) is imported lazily to validate
request bodies against the official schema (without it, only the checks below the schema run).
Nothing here imports the ``compat`` client (openai, the store, SQLAlchemy), and the plugin
imports even the emulator only when a fixture runs, so loading it costs a pytest run next to
nothing.

Usage::

    from openai import OpenAI
    from compat.testing import ResponsesEmulator

    with ResponsesEmulator() as emu:
        client = OpenAI(base_url=emu.base_url, api_key="sk-test", max_retries=0)
        r = client.responses.create(model="gpt-4.1", input="Hello")
        assert r.output_text == "You said: Hello"
        assert emu.requests[-1]["input"] == "Hello"

Endpoints
    ``POST /v1/responses`` (JSON or ``stream: true`` SSE), ``GET|DELETE /v1/responses/{id}``;
    Conversations: ``POST /v1/conversations`` (``items``, ``metadata``), ``GET|POST|DELETE
    /v1/conversations/{id}``, ``POST|GET /v1/conversations/{id}/items`` (``limit`` 1-100,
    ``order`` desc by default, ``after``), ``GET|DELETE /v1/conversations/{id}/items/{item_id}``
    (delete answers the conversation); bodies are checked against the official
    ``CreateConversationBody`` / ``UpdateConversationBody`` / items schemas
    (``compat/_data/conversations.schema.json``, made by
    ``scripts/extract_conversation_schema.py``: at most 20 items per call) and metadata
    against the API's limits (16 pairs, keys <= 64, values <= 512 characters), with the real
    error bodies; items are stored as the API keeps them (``msg_…``/``fc_…`` ids, ``status``,
    string content as ``input_text``/``output_text`` parts);
    Files: ``POST /v1/files`` (multipart), ``GET /v1/files``, ``GET|DELETE /v1/files/{id}``,
    ``GET /v1/files/{id}/content``; Vector stores: ``POST|GET /v1/vector_stores``,
    ``GET|POST|DELETE /v1/vector_stores/{id}``, ``POST|GET /v1/vector_stores/{id}/files``,
    ``GET|DELETE /v1/vector_stores/{id}/files/{file_id}``, ``POST
    /v1/vector_stores/{id}/file_batches`` (+ ``GET …/{batch_id}`` and ``…/{batch_id}/files``);
    Containers: ``POST /v1/containers`` (``name``, ``file_ids`` copied in), ``GET|DELETE
    /v1/containers/{id}``, ``POST /v1/containers/{id}/files`` (``{"file_id"}`` JSON, or a
    multipart ``file``), ``GET /v1/containers/{id}/files``, ``GET
    /v1/containers/{id}/files/{file_id}`` and ``…/content``; a container idle for 20 minutes,
    or passed to ``emu.expire_container(id)``, is ``expired`` (its files gone).
    Anything else: 404 ``Invalid URL (METHOD /path)``. Every answer has an
    ``x-request-id`` header; every request needs ``Authorization: Bearer <any key>`` (except
    container file contents, which code-interpreter image URLs point at). ``background`` is
    accepted but not emulated (answers complete synchronously). ``conversation`` (an id or
    ``{"id"}``) puts the conversation's items before ``input`` (the model reads them), then
    appends the input and output items to it, and the Response carries ``conversation``;
    with ``previous_response_id`` too -> 400 ``mutually_exclusive_parameters``; an unknown
    one -> 404 ``Conversation with id '…' not found.``.

Request checks (``POST /v1/responses``), answered with the real error body
``{"error": {"message", "type": "invalid_request_error", "param", "code"}}``
    * the official ``CreateResponse`` schema (``compat/_data/create_response.schema.json``,
      made by ``scripts/extract_schema.py``; ``oneOf`` read as ``anyOf``; ``strict`` on
      function tools optional; assistant messages may use ``output_text`` parts) and unknown
      top-level parameters -> 400 with ``param`` as a JSON path (``tools[0].name``);
    * a ``function_call`` in the conversation without a later ``function_call_output`` -> 400
      ``No tool output found for function call <call_id>.``; an output without its call ->
      400 ``No tool call found for function call output with call_id <call_id>.``;
    * an item carrying an ``id`` with ``store: false`` -> 404 ``Item with id '…' not found.
      Items are not persisted when store is set to false. …``;
    * ``temperature``/``top_p`` with a reasoning model (``o1``/``o3``/``o4``…, ``gpt-5``
      except ``gpt-5-chat``, ``codex-mini``) -> 400 ``Unsupported parameter: 'temperature' is
      not supported with this model.``; ``include: ["reasoning.encrypted_content"]`` with any
      other model -> 400 ``Encrypted content is not supported with this model.``;
    * an input ``reasoning`` item whose ``encrypted_content`` this emulator did not answer
      for the request's model (forged, another model's, or issued before ``emu.reset()``) ->
      400 ``invalid_encrypted_content`` ``The encrypted content for item rs_… could not be
      verified. …``; reasoning items bringing their encrypted content are exempt from the
      ``store: false`` id check below;
    * a code_interpreter tool naming a container (``"container": "cntr_…"``) that does not
      exist or was deleted -> 404 ``Container with id '…' not found.``; one that expired ->
      400 ``Container is expired.``;
    * ``text.format`` ``json_object`` without the word "json" in input/instructions -> 400;
    * unknown ``previous_response_id`` -> 400 ``previous_response_not_found``; user/assistant
      messages with the other role's content part types -> 400.

Default behaviour (the deterministic "model"; first matching rule wins)
    The conversation is the stored chain behind ``previous_response_id`` (when ``store`` was
    not false), or the items of ``conversation``, followed by ``input``; "the user text" is
    the last user message.

    1. ``tool_choice`` forcing a function (or ``"required"``) -> that function is called, even
       right after tool outputs (as the real API does: forced choices loop).
    2. ``input`` ends with ``function_call_output`` items -> text
       ``"Here is what I found: <output1>; <output2>"``.
    3. Function tools whose name has a topic word (name parts minus get/set/fetch/list/…) in the
       user text -> ``function_call`` items (``call_…`` ids). Arguments from the parameters
       schema: string enums -> the value named in the text (else omitted, or the first value if
       required); location/city/place strings -> capitalised names after "in"/"for"/"at";
       other required strings -> the user text; required numbers -> 1. Several matching tools,
       or several places ("in Paris and Tokyo"), give parallel calls unless
       ``parallel_tool_calls`` is false. ``tool_choice: "none"`` disables all tools.
    4. A ``code_interpreter`` tool and the text mentions code/python/compute/calculate/prime/
       plot/chart/function, or a file operation (write/save/store or read/list/show/open,
       then "file(s)" or a file name such as ``notes.txt``) -> ``code_interpreter_call``
       (``ci_…``, ``container_id``, ``outputs`` only with
       ``include=["code_interpreter_call.outputs"]``) then a message with a fenced python
       block and its output. The call runs in the container the tool names (its files stay
       for later requests) or in a new ``auto`` container holding the tool's ``file_ids``.
       Saving writes ``/mnt/data/<name>`` (default ``notes.txt``) with the quoted text (else
       the request); reading prints ``<name>: <content>`` for every file in the container
       (``(no files)`` when empty); plot/chart/image adds an image output and a
       ``container_file_citation`` to a ``cfile_…`` PNG served under
       ``/v1/containers/{id}/files/{file_id}[/content]``.
    5. A ``file_search`` tool with ``vector_store_ids`` -> ``file_search_call`` (``fs_…``;
       ``results`` only with ``include=["file_search_call.results"]``, ranked by word overlap
       over the emulator's vector store files) then a message with ``file_citation``
       annotations.
    6. An earlier user message "my name is X" (and "learning about Y") and the user text asks
       for the name -> ``"Your name is X."`` (+ ``" You are learning about Y."``).
    7. Otherwise an echo: ``"You said: <user text>"`` (+ ``" You also sent an image."``);
       questions about planets get a fixed list.

    ``text.format`` json_schema/json_object turns text answers into JSON (schema's required keys
    with simple values; strings hold the plain answer). ``max_output_tokens`` cuts the text and
    ends ``incomplete`` (``max_output_tokens``). Reasoning models add a leading ``reasoning``
    item (``rs_…``, 8 reasoning tokens), with ``encrypted_content`` only when ``include`` asks
    for ``reasoning.encrypted_content`` (the emulator then accepts it back in later requests'
    input for that model, see the checks above). Usage counts ceil(chars / 4) of all input
    text and of the output text. Text is streamed as word-ish deltas.

Scripting (tests): ``emu.enqueue(...)`` queues answers consumed in FIFO order by the next
``POST /v1/responses`` — see :meth:`ResponsesEmulator.enqueue`; ``emu.reset()`` forgets
everything (reasoning it issued no longer verifies). Conversations: ``emu.conversations``
and ``emu.conversation_items`` (by conversation id, items oldest first). Containers:
``emu.containers`` (by id), ``emu.container_files(id)`` (bytes by path),
``emu.expire_container(id)``. Timing: ``emu.latency`` (seconds before the first byte of an
accepted request's answer) and ``emu.delta_delay`` (seconds after each stream delta). Note
the SDK retries 408/409/429/5xx answers unless the client has ``max_retries=0``.

From another process (an emulator started with ``assistants-compat emulator --port N``, or
by another test process): :class:`EmulatorControl` (``EmulatorControl(base_url)``) has
``enqueue(...)`` (the same arguments), ``reset()``, ``set(latency=, delta_delay=)`` and
``requests()``, over ``POST /v1/_emulator/enqueue|reset|settings`` and
``GET /v1/_emulator/requests``.

Fixtures (:mod:`compat.testing.plugin`): ``responses_emulator`` (a started emulator per
test), ``compat_client`` (``compat.OpenAI`` pointed at it with a SQLite store in ``tmp_path``
and ``max_retries=0``), ``async_compat_client`` (the same with ``compat.AsyncOpenAI``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .emulator import EmulatorControl, ResponsesEmulator

__all__ = ["EmulatorControl", "ResponsesEmulator"]


def __getattr__(name: str) -> Any:
    # Loaded on first use (PEP 562), so the pytest plugin costs a run that never uses the
    # emulator nothing (http.server and the model's tables are ~30 ms).
    if name in __all__:
        from . import emulator

        value = getattr(emulator, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
