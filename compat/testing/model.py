"""The emulator's deterministic "model": decides the output items of one Responses request.

Owns the default behaviour documented in :mod:`compat.testing` (tool-output answers, function
calls chosen from the user text, code_interpreter / file_search calls, the name-memory rule,
echo answers, reasoning items, ``max_output_tokens`` and ``text.format`` handling) and
applying a scripted :class:`Script`. Pure functions over plain dicts; the only side effects
go through :class:`Context` (containers and their files). Stdlib only.
"""

from __future__ import annotations

import ast
import json
import math
import operator
import re
import secrets
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .._translate.request import ENCRYPTED_REASONING, is_reasoning_model
from .validate import (
    all_text,
    input_items,
    item_text,
    output_text,
)

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

# Reasoning models (o-series, gpt-5) emit a reasoning item that costs this many output tokens.
REASONING_TOKENS = 8


def hex_id(prefix: str, nbytes: int = 24) -> str:
    """``resp_…``/``msg_…``-style id: prefix + hex, like the real API's item ids."""
    return f"{prefix}_{secrets.token_hex(nbytes)}"


def b62_id(prefix: str, n: int = 24, sep: str = "_") -> str:
    """``call_…``/``file-…``-style id: prefix + base62 characters."""
    return prefix + sep + "".join(secrets.choice(_B62) for _ in range(n))


def tokens(text: str) -> int:
    """The emulator's token count: ceil(chars / 4)."""
    return math.ceil(len(text) / 4)


@dataclass
class Script:
    """One scripted answer queued with ``ResponsesEmulator.enqueue`` (see its docstring)."""

    text: str | None = None
    function_calls: list[tuple[str, dict[str, Any]]] | None = None
    code: tuple[str, str] | None = None
    status_error: tuple[int, str, str | None] | None = None
    stream_error: tuple[str, str] | None = None
    incomplete: str | None = None
    refusal: str | None = None
    usage: tuple[int, int] | None = None
    delay: float = 0.0
    disconnect_after: int | None = None

    @property
    def overrides_output(self) -> bool:
        """Whether the script replaces the default output items (not just modifies them)."""
        return any(v is not None for v in (self.text, self.function_calls, self.code, self.refusal))


@dataclass
class Context:
    """What the model may consult besides the request (provided by the emulator)."""

    base_url: str
    # vector store ids -> [{"file_id", "filename", "text", "attributes"}]
    vector_store_files: Callable[[list[str]], list[dict[str, Any]]]
    # (container_id, filename, bytes) -> container file id (written at /mnt/data/filename)
    add_container_file: Callable[[str, str, bytes], str]
    # a code_interpreter tool -> the id of the container its call runs in
    container: Callable[[dict[str, Any]], str]
    # container id -> [(path, bytes)] of the files in it
    container_files: Callable[[str], list[tuple[str, bytes]]]


@dataclass
class Outcome:
    """The decided answer: final output items plus status, usage and failure details."""

    output: list[dict[str, Any]]
    status: str = "completed"
    incomplete_reason: str | None = None
    error: dict[str, Any] | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    # stream_error: the last output item is a message cut mid-stream (no *.done events).
    failed_partial: bool = False


# --------------------------------------------------------------------------------------------
# Reading the conversation


@dataclass
class _Conversation:
    history: list[dict[str, Any]]
    user_texts: list[str]  # every user message's text, in order
    last_user: str
    last_user_images: int


def _read(history: list[dict[str, Any]]) -> _Conversation:
    user_texts: list[str] = []
    images = 0
    for item in history:
        if (item.get("type") or "message") == "message" and item.get("role") == "user":
            user_texts.append(item_text(item))
            content = item.get("content")
            images = (
                sum(1 for p in content if isinstance(p, dict) and p.get("type") == "input_image")
                if isinstance(content, list)
                else 0
            )
    return _Conversation(history, user_texts, user_texts[-1] if user_texts else "", images)


# --------------------------------------------------------------------------------------------
# Function calling

# Words in a function name that say nothing about its topic.
_GENERIC = {
    "get",
    "set",
    "fetch",
    "list",
    "create",
    "update",
    "delete",
    "remove",
    "add",
    "find",
    "search",
    "lookup",
    "look",
    "up",
    "query",
    "retrieve",
    "read",
    "write",
    "make",
    "do",
    "run",
    "call",
    "check",
    "current",
    "by",
    "for",
    "the",
    "a",
    "an",
    "of",
    "to",
    "from",
    "info",
    "information",
    "data",
    "details",
    "detail",
    "api",
    "tool",
    "func",
    "function",
    "and",
    "or",
}
_PLACE_PARAM = re.compile(r"location|city|place|town|country|destination|where", re.I)
_CAP = r"[A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)*"
_PLACE_START = re.compile(rf"\b(?:in|for|at)\s+({_CAP})")
_PLACE_MORE = re.compile(rf"(?:\s*,\s*(?:and\s+)?|\s+and\s+)(?:(?:in|for|at)\s+)?({_CAP})")
_NOT_PLACES = {"I", "The", "A", "An", "It", "Me", "My", "Celsius", "Fahrenheit", "Kelvin"}


def _topic_words(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    words = [w.lower() for w in re.split(r"[\s_\-.]+", spaced) if w]
    return [w for w in words if w not in _GENERIC and len(w) >= 3]


def _topic_positions(name: str, text: str) -> list[int]:
    """Character positions where a topic word of function ``name`` occurs in ``text``."""
    out: list[int] = []
    for word in _topic_words(name):
        stem = word[:-1] if word.endswith("s") and len(word) > 3 else word
        out.extend(m.start() for m in re.finditer(rf"\b{re.escape(stem)}", text, re.I))
    return sorted(out)


def _places(text: str, exclude: set[str]) -> list[str]:
    """Capitalised place names after "in"/"for"/"at" (and lists like "Paris and Tokyo")."""
    found: list[str] = []
    for m in _PLACE_START.finditer(text):
        names = [m.group(1)]
        pos = m.end()
        while more := _PLACE_MORE.match(text, pos):
            names.append(more.group(1))
            pos = more.end()
        for name in names:
            if name not in _NOT_PLACES and name.lower() not in exclude and name not in found:
                found.append(name)
    return found


def _resolve(schema: Any, root: dict[str, Any]) -> dict[str, Any]:
    """Follow local ``$ref``s and pick the first non-null ``anyOf``/``oneOf`` branch."""
    for _ in range(20):
        if not isinstance(schema, dict):
            return {}
        if "$ref" in schema and isinstance(schema["$ref"], str):
            node: Any = root
            for part in schema["$ref"].lstrip("#/").split("/"):
                node = node.get(part, {}) if isinstance(node, dict) else {}
            schema = node
            continue
        for key in ("anyOf", "oneOf"):
            if key in schema:
                alts = [a for a in schema[key] if _resolve(a, root).get("type") != "null"]
                schema = alts[0] if alts else {}
                break
        else:
            return schema
    return {}


def _schema_type(schema: dict[str, Any]) -> str | None:
    t = schema.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), None)
    if t is None and "enum" in schema:
        return "string"
    if t is None and "properties" in schema:
        return "object"
    return t


def _enum_words(schema: dict[str, Any], root: dict[str, Any]) -> set[str]:
    out: set[str] = set()
    for prop in (schema.get("properties") or {}).values():
        for v in _resolve(prop, root).get("enum") or []:
            out.add(str(v).lower())
    return out


def _build_args(
    schema: dict[str, Any], root: dict[str, Any], text: str, place: str | None, full: str
) -> dict[str, Any]:
    """Arguments for one call, following the documented per-type rules."""
    props: dict[str, Any] = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    args: dict[str, Any] = {}
    for name, raw in props.items():
        prop = _resolve(raw, root)
        typ = _schema_type(prop)
        enum = prop.get("enum")
        if enum:
            hit = next(
                (
                    v
                    for v in enum
                    if isinstance(v, str) and re.search(rf"\b{re.escape(v)}\b", text, re.I)
                ),
                None,
            )
            if hit is not None:
                args[name] = hit
            elif name in required:
                args[name] = enum[0]
        elif typ == "string":
            if _PLACE_PARAM.search(name) and place:
                args[name] = place
            elif name in required:
                args[name] = full
        elif typ in ("number", "integer") and name in required:
            args[name] = 1
        elif typ == "boolean" and name in required:
            args[name] = False
        elif typ == "array" and name in required:
            args[name] = []
        elif typ == "object" and name in required:
            args[name] = _build_args(prop, root, text, place, full)
    return args


def _calls_for(
    tools: list[dict[str, Any]], text: str, parallel: bool
) -> list[tuple[str, dict[str, Any]]]:
    """(name, arguments) per call for the given tools, from the user ``text``."""
    located = [(t, _topic_positions(t["name"], text)) for t in tools]
    starts = sorted(p[0] for _, p in located if p)
    calls: list[tuple[str, dict[str, Any]]] = []
    for tool, positions in located:
        params = tool.get("parameters") or {}
        # The tool's part of the text: from its topic to the next other tool's topic.
        begin = positions[0] if positions else 0
        end = next((s for s in starts if s > begin and s not in positions), len(text))
        ctx = text[begin:end]
        has_place = any(_PLACE_PARAM.search(k) for k in (params.get("properties") or {}))
        places: list[str | None] = []
        if has_place:
            places.extend(_places(ctx, _enum_words(params, params)))
        for place in places or [None]:
            calls.append((tool["name"], _build_args(params, params, ctx, place, text)))
    return calls if parallel else calls[:1]


def _function_calls(
    body: dict[str, Any], conv: _Conversation, functions: list[dict[str, Any]]
) -> list[tuple[str, dict[str, Any]]]:
    """Which functions to call for this turn (empty: answer in text)."""
    choice = body.get("tool_choice")
    parallel = body.get("parallel_tool_calls") is not False
    text = conv.last_user
    if isinstance(choice, dict) and choice.get("type") == "function":
        forced = [t for t in functions if t.get("name") == choice.get("name")]
        return _calls_for(forced, text, parallel)[:1] if forced else []
    matched = [t for t in functions if _topic_positions(t["name"], text)]
    if choice == "required":
        return _calls_for(matched or functions[:1], text, parallel)
    if _ends_with_outputs(conv.history):
        return []
    return _calls_for(matched, text, parallel)


def _ends_with_outputs(history: list[dict[str, Any]]) -> bool:
    return bool(history) and history[-1].get("type") == "function_call_output"


def _trailing_outputs(history: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    for item in reversed(history):
        if item.get("type") != "function_call_output":
            break
        out.append(output_text(item.get("output")))
    return out[::-1]


# --------------------------------------------------------------------------------------------
# Code interpreter

_CODE_WORDS = re.compile(
    r"\b(code|python|comput|calculat|prime|plot|chart|graph|function|program|script)", re.I
)
# "save 'hi' to notes.txt", "list the files", "read notes.txt": a file operation
_FILE_NAME = r"\b[\w-]+\.(?:txt|csv|json|md|py|log|html)\b"
_FILE_OP = re.compile(
    rf"\b(write|save|store|read|list|show|open)\b[^.!?]*?(\bfiles?\b|{_FILE_NAME})", re.I
)
_QUOTED = re.compile(r"[\"“']([^\"”']+)[\"”']")
_IMAGE_WORDS = re.compile(r"\b(plot|chart|image|graph|visuali[sz])", re.I)
_EXPR = re.compile(r"\d+(?:\.\d+)?(?:\s*(?:\*\*|[-+*/^x×])\s*\d+(?:\.\d+)?)+")
_OPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}


def _safe_eval(expr: str) -> float | int | None:
    """Evaluate a plain arithmetic expression (numbers and + - * / ** only)."""

    def ev(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            left, right = ev(node.left), ev(node.right)
            if isinstance(node.op, ast.Pow) and abs(right) > 100:
                raise ValueError("exponent too large")
            return _OPS[type(node.op)](left, right)
        raise ValueError("unsupported")

    try:
        return ev(ast.parse(expr, mode="eval"))
    except (ValueError, SyntaxError, ZeroDivisionError, OverflowError):
        return None


def tiny_png() -> bytes:
    """A valid 1x1 PNG (the chart "drawn" by the emulated code interpreter)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x30\x60\xc0")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


@dataclass
class _Program:
    """What the emulated interpreter runs for a request: its code, what it prints, the
    files it writes (name, bytes) and whether it draws the chart."""

    code: str
    logs: str
    writes: list[tuple[str, bytes]] = field(default_factory=list)
    image: bool = False


def _file_program(op: re.Match[str], text: str, files: list[tuple[str, bytes]]) -> _Program:
    """Write a file (the quoted text, else the request) or print every file's content."""
    named = re.search(_FILE_NAME, text)
    if op.group(1).lower() in ("write", "save", "store"):
        name = named.group(0) if named else "notes.txt"
        quoted = _QUOTED.search(text)
        content = quoted.group(1) if quoted else text
        code = (
            f"with open('/mnt/data/{name}', 'w') as f:\n    f.write({content!r})\n"
            f"print('saved /mnt/data/{name}')"
        )
        return _Program(code, f"saved /mnt/data/{name}\n", [(name, content.encode())])
    code = (
        "import os\n\nfor name in sorted(os.listdir('/mnt/data')):\n"
        "    print(name + ': ' + open('/mnt/data/' + name, errors='replace').read())"
    )
    shown = sorted((path.rsplit("/", 1)[-1], data) for path, data in files)
    logs = "".join(f"{name}: {data.decode('utf-8', 'replace')[:200]}\n" for name, data in shown)
    return _Program(code, logs or "(no files)\n")


def _program(text: str, files: list[tuple[str, bytes]]) -> _Program:
    """The program for the user's request; ``files``: what the container holds."""
    op = _FILE_OP.search(text)
    if op:
        return _file_program(op, text, files)
    if _IMAGE_WORDS.search(text):
        code = (
            "import matplotlib.pyplot as plt\n\n"
            "xs = list(range(10))\n"
            "plt.plot(xs, [x * x for x in xs])\n"
            "plt.title('y = x^2')\n"
            "plt.savefig('/mnt/data/chart.png')\n"
            "print('saved /mnt/data/chart.png')"
        )
        return _Program(code, "saved /mnt/data/chart.png\n", image=True)
    if re.search(r"\bprime", text, re.I):
        code = (
            "def is_prime(n):\n"
            "    return n > 1 and all(n % d for d in range(2, int(n ** 0.5) + 1))\n\n"
            "print([n for n in range(2, 30) if is_prime(n)])"
        )
        return _Program(code, "[2, 3, 5, 7, 11, 13, 17, 19, 23, 29]\n")
    m = _EXPR.search(text)
    if m:
        expr = re.sub(r"\s*[x×]\s*", " * ", m.group(0)).replace("^", "**")
        value = _safe_eval(expr)
        if value is not None:
            return _Program(f"result = {expr}\nprint(result)", f"{value}\n")
    words = len(text.split())
    return _Program(f"text = {text!r}\nprint(len(text.split()), 'words')", f"{words} words\n")


# --------------------------------------------------------------------------------------------
# File search

_STOP = {
    "the",
    "and",
    "for",
    "what",
    "which",
    "who",
    "how",
    "does",
    "did",
    "are",
    "is",
    "was",
    "about",
    "with",
    "from",
    "this",
    "that",
    "tell",
    "please",
    "can",
    "you",
    "your",
    "our",
    "files",
    "file",
    "document",
    "documents",
    "say",
    "says",
    "find",
}


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) >= 3 and w not in _STOP}


def _search(files: list[dict[str, Any]], query: str, limit: int) -> list[dict[str, Any]]:
    """Rank files by word overlap with the query; each hit carries its best chunk."""
    qwords = _words(query)
    hits = []
    for f in files:
        chunks = [c.strip() for c in re.split(r"\n\s*\n|(?<=[.!?])\s+", f["text"]) if c.strip()]
        best, best_score = (chunks[0] if chunks else ""), 0
        for c in chunks:
            score = len(qwords & _words(c))
            if score > best_score:
                best, best_score = c, score
        hits.append(
            {
                "file_id": f["file_id"],
                "filename": f["filename"],
                "score": round(best_score / len(qwords), 4) if qwords else 0.0,
                "text": best[:500],
                "attributes": dict(f.get("attributes") or {}),
            }
        )
    hits.sort(key=lambda h: (-h["score"], h["filename"], h["file_id"]))
    return hits[:limit]


# --------------------------------------------------------------------------------------------
# Text answers

_NAME_IS = re.compile(r"\bmy name is\s+([\w'-]+)", re.I)
_LEARNING = re.compile(r"\blearning about\s+([^.!?\n]+)", re.I)
# A question mentioning "name" ("What was my name again?", "Do you remember my name?").
_ASKS_NAME = re.compile(
    r"\bwho am i\b|\bname\b.*\?|\b(what|tell|remember|recall|know)\b.*\bname\b", re.I | re.S
)
PLANETS = (
    "The eight planets of the Solar System are Mercury, Venus, Earth, Mars, Jupiter, Saturn, "
    "Uranus and Neptune."
)


def _text_answer(conv: _Conversation) -> str:
    """Rules 1, 5 and 6: tool outputs, the name memory, the echo."""
    outputs = _trailing_outputs(conv.history)
    if outputs:
        return "Here is what I found: " + "; ".join(outputs)
    last = conv.last_user
    if _ASKS_NAME.search(last) and not _NAME_IS.search(last):
        name = learning = None
        for text in conv.user_texts[:-1]:
            if m := _NAME_IS.search(text):
                name = m.group(1)
            if m := _LEARNING.search(text):
                learning = m.group(1).strip()
        if name:
            answer = f"Your name is {name}."
            return answer + (f" You are learning about {learning}." if learning else "")
    if re.search(r"\bplanets?\b", last, re.I):
        return PLANETS
    images = conv.last_user_images
    seen = "an image" if images == 1 else f"{images} images"
    if not last.strip():
        return f"You sent {seen}." if images else "Hello! How can I help you today?"
    return f"You said: {last}" + (f" You also sent {seen}." if images else "")


def _fill_schema(schema: Any, root: dict[str, Any], answer: str) -> Any:
    """A JSON value fitting ``schema``: strings get the plain answer, numbers 1, etc."""
    s = _resolve(schema, root)
    if "const" in s:
        return s["const"]
    if s.get("enum"):
        return s["enum"][0]
    typ = _schema_type(s)
    if typ == "object":
        props = s.get("properties") or {}
        keys = s.get("required") or list(props)
        return {k: _fill_schema(props.get(k, {}), root, answer) for k in keys}
    if typ == "array":
        return []
    if typ == "integer":
        return 1
    if typ == "number":
        return 1.0
    if typ == "boolean":
        return True
    if typ == "null":
        return None
    return answer


def _apply_format(body: dict[str, Any], answer: str) -> str:
    fmt = (body.get("text") or {}).get("format") or {}
    if fmt.get("type") == "json_schema":
        schema = fmt.get("schema") or {}
        return json.dumps(_fill_schema(schema, schema, answer))
    if fmt.get("type") == "json_object":
        return json.dumps({"answer": answer})
    return answer


# --------------------------------------------------------------------------------------------
# Output items


def message_item(text: str, annotations: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A completed assistant ``message`` output item with one ``output_text`` part."""
    return {
        "id": hex_id("msg"),
        "type": "message",
        "status": "completed",
        "content": [
            {
                "type": "output_text",
                "annotations": annotations or [],
                "logprobs": [],
                "text": text,
            }
        ],
        "role": "assistant",
    }


def refusal_item(refusal: str) -> dict[str, Any]:
    """A completed assistant ``message`` whose content is a refusal."""
    return {
        "id": hex_id("msg"),
        "type": "message",
        "status": "completed",
        "content": [{"type": "refusal", "refusal": refusal}],
        "role": "assistant",
    }


def function_call_item(name: str, args: dict[str, Any] | str) -> dict[str, Any]:
    """A completed ``function_call`` output item with a fresh ``call_…`` id."""
    arguments = args if isinstance(args, str) else json.dumps(args, separators=(",", ":"))
    return {
        "id": hex_id("fc"),
        "type": "function_call",
        "status": "completed",
        "arguments": arguments,
        "call_id": b62_id("call"),
        "name": name,
    }


def _code_items(
    program: _Program,
    cid: str,
    include: set[str],
    ctx: Context,
    text: str | None,
) -> list[dict[str, Any]]:
    """A ``code_interpreter_call`` run in container ``cid`` plus the message that reports
    its result."""
    code, logs = program.code, program.logs
    for name, data in program.writes:
        ctx.add_container_file(cid, name, data)
    outputs: list[dict[str, Any]] = [{"type": "logs", "logs": logs}] if logs else []
    annotations: list[dict[str, Any]] = []
    answer = (
        f"I ran this Python code:\n\n```python\n{code}\n```\n\nOutput:\n\n```\n{logs.rstrip()}\n```"
    )
    if program.image:
        file_id = ctx.add_container_file(cid, "chart.png", tiny_png())
        outputs.append(
            {
                "type": "image",
                "url": f"{ctx.base_url}/containers/{cid}/files/{file_id}/content",
            }
        )
        link = "[chart.png](sandbox:/mnt/data/chart.png)"
        answer += "\n\nHere is the chart: "
        annotations.append(
            {
                "type": "container_file_citation",
                "container_id": cid,
                "file_id": file_id,
                "filename": "chart.png",
                "start_index": len(answer),
                "end_index": len(answer) + len(link),
            }
        )
        answer += link
    call = {
        "id": hex_id("ci"),
        "type": "code_interpreter_call",
        "status": "completed",
        "code": code,
        "container_id": cid,
        "outputs": outputs if "code_interpreter_call.outputs" in include else None,
    }
    return [
        call,
        message_item(answer if text is None else text, annotations if text is None else []),
    ]


def _file_search_items(
    tool: dict[str, Any], query: str, include: set[str], ctx: Context
) -> list[dict[str, Any]]:
    """A ``file_search_call`` item plus a message citing the best files."""
    files = ctx.vector_store_files(list(tool.get("vector_store_ids") or []))
    hits = _search(files, query, int(tool.get("max_num_results") or 10))
    cited = [h for h in hits if h["score"] > 0][:2] or hits[:1]
    answer = ""
    annotations: list[dict[str, Any]] = []
    for hit in cited:
        snippet = hit["text"][:300].rstrip(" .") or hit["filename"]
        answer += ("" if not answer else " ") + f"According to {hit['filename']}, {snippet}."
        annotations.append(
            {
                "type": "file_citation",
                "file_id": hit["file_id"],
                "filename": hit["filename"],
                "index": len(answer),
            }
        )
    if not cited:
        answer = "I couldn't find any relevant information in the attached files."
    call = {
        "id": hex_id("fs"),
        "type": "file_search_call",
        "status": "completed",
        "queries": [query],
        "results": hits if "file_search_call.results" in include else None,
    }
    return [call, message_item(answer, annotations)]


def _default_items(body: dict[str, Any], conv: _Conversation, ctx: Context) -> list[dict[str, Any]]:
    tools = [t for t in body.get("tools") or [] if isinstance(t, dict)]
    choice = body.get("tool_choice")
    include = set(body.get("include") or [])
    if choice == "none":
        tools = []
    functions = [t for t in tools if t.get("type") == "function" and t.get("name")]
    calls = _function_calls(body, conv, functions) if functions else []
    if calls:
        return [function_call_item(name, args) for name, args in calls]
    forced = choice.get("type") if isinstance(choice, dict) else None
    if not _ends_with_outputs(conv.history):
        interp = next((t for t in tools if t.get("type") == "code_interpreter"), None)
        text = conv.last_user
        wants_code = _CODE_WORDS.search(text) or _FILE_OP.search(text)
        if interp and (forced == "code_interpreter" or wants_code):
            cid = ctx.container(interp)
            program = _program(text, ctx.container_files(cid))
            return _code_items(program, cid, include, ctx, None)
        search = next((t for t in tools if t.get("type") == "file_search"), None)
        if search and search.get("vector_store_ids"):
            return _file_search_items(search, conv.last_user, include, ctx)
    return [message_item(_apply_format(body, _text_answer(conv)))]


def _script_items(
    body: dict[str, Any], script: Script, conv: _Conversation, ctx: Context
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    include = set(body.get("include") or [])
    if script.code is not None:
        tool = next(
            (t for t in body.get("tools") or [] if t.get("type") == "code_interpreter"),
            {"type": "code_interpreter", "container": {"type": "auto"}},
        )
        # The call's report message is the scripted text, else the default code summary.
        program = _Program(*script.code)
        items += _code_items(program, ctx.container(tool), include, ctx, script.text)
        if script.refusal is not None:
            items[-1] = refusal_item(script.refusal)
    elif script.refusal is not None:
        items.append(refusal_item(script.refusal))
    elif script.text is not None:
        items.append(message_item(script.text))
    for name, args in script.function_calls or []:
        items.append(function_call_item(name, args))
    return items


# --------------------------------------------------------------------------------------------
# Entry point


def _message_text(item: dict[str, Any]) -> str:
    return "".join(p.get("text") or p.get("refusal") or "" for p in item.get("content") or [])


def _truncate(item: dict[str, Any], chars: int) -> None:
    """Cut a message's text to ``chars`` characters, dropping annotations past the cut."""
    for part in item.get("content") or []:
        key = "text" if part.get("type") == "output_text" else "refusal"
        part[key] = part.get(key, "")[:chars]
        if "annotations" in part:
            part["annotations"] = [
                a for a in part["annotations"] if a.get("end_index", a.get("index", 0)) <= chars
            ]
    item["status"] = "incomplete"


def decide(
    body: dict[str, Any],
    history: list[dict[str, Any]],
    script: Script | None,
    ctx: Context,
) -> Outcome:
    """Decide the output of one request from its body, full history and optional script."""
    conv = _read(history)
    if script is not None and script.overrides_output:
        items = _script_items(body, script, conv, ctx)
    else:
        items = _default_items(body, conv, ctx)
    reasoning = is_reasoning_model(body.get("model"))
    if reasoning:
        include = set(body.get("include") or [])
        items.insert(
            0,
            {
                "id": hex_id("rs"),
                "type": "reasoning",
                "summary": [],
                "encrypted_content": (
                    "gAAAA" + secrets.token_urlsafe(48) if ENCRYPTED_REASONING in include else None
                ),
            },
        )
    outcome = Outcome(output=items)
    messages = [i for i in items if i["type"] == "message"]

    # max_output_tokens: message text is cut where the budget runs out.
    limit = body.get("max_output_tokens")
    reasoning_tokens = REASONING_TOKENS if reasoning else 0
    other = sum(
        tokens(i.get("arguments") or i.get("code") or "") for i in items if i["type"] != "message"
    )
    if limit is not None and messages:
        budget = max(0, int(limit) - reasoning_tokens - other)
        text = "".join(_message_text(m) for m in messages)
        if tokens(text) > budget:
            _truncate(
                messages[-1], max(0, budget * 4 - (len(text) - len(_message_text(messages[-1]))))
            )
            outcome.status, outcome.incomplete_reason = "incomplete", "max_output_tokens"
    if script is not None and script.incomplete and messages:
        last = messages[-1]
        _truncate(last, max(1, len(_message_text(last)) // 2))
        outcome.status, outcome.incomplete_reason = "incomplete", script.incomplete
    elif script is not None and script.incomplete:
        outcome.status, outcome.incomplete_reason = "incomplete", script.incomplete
    if script is not None and script.stream_error is not None:
        code, message = script.stream_error
        if messages and items[-1] is messages[-1]:
            _truncate(messages[-1], max(1, len(_message_text(messages[-1])) // 2))
            outcome.failed_partial = True
        outcome.status = "failed"
        outcome.error = {"code": code, "message": message}

    out_text = "".join(
        _message_text(i) if i["type"] == "message" else (i.get("arguments") or i.get("code") or "")
        for i in items
    )
    if script is not None and script.usage is not None:
        in_tok, out_tok = script.usage
        reasoning_tokens = 0
    else:
        in_tok = tokens(all_text(body, history))
        out_tok = tokens(out_text) + reasoning_tokens
    outcome.usage = {
        "input_tokens": in_tok,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": out_tok,
        "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
        "total_tokens": in_tok + out_tok,
    }
    return outcome


__all__ = [
    "Context",
    "Outcome",
    "Script",
    "b62_id",
    "decide",
    "hex_id",
    "input_items",
    "tiny_png",
    "tokens",
]
