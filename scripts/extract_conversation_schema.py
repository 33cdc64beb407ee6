"""Extract the Conversations API request schemas from OpenAI's OpenAPI spec into one JSON file.

Owns producing ``compat/_data/conversations.schema.json``, the schemas that
``compat.testing.ResponsesEmulator`` validates ``/v1/conversations`` request bodies against:
``CreateConversationBody`` (``POST /conversations``), ``UpdateConversationBody`` (``POST
/conversations/{id}``) and ``CreateConversationItemsBody`` (``POST /conversations/{id}/items``,
inline in the spec's path, named here). Conversion rules are those of ``extract_schema.py``
(``oneOf`` read as ``anyOf``, ``nullable`` as a ``null`` alternative, annotations dropped);
the file holds every root and the union of their ``$ref`` closures under ``$defs``.

Usage::

    python scripts/extract_conversation_schema.py [--spec openapi.yaml] [--out PATH]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_SPEC = Path("/work/shared/spec/openapi.yaml")
DEFAULT_OUT = HERE.parent / "compat" / "_data" / "conversations.schema.json"
ROOTS = ("CreateConversationBody", "UpdateConversationBody")
ITEMS_BODY = "CreateConversationItemsBody"
ITEMS_PATH = "/conversations/{conversation_id}/items"


def _extract_module() -> Any:
    spec = importlib.util.spec_from_file_location("extract_schema", HERE / "extract_schema.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def extract(spec: dict[str, Any]) -> dict[str, Any]:
    """``{"$schema", "$id", "$defs"}`` with the three request bodies and their closures."""
    ex = _extract_module()
    defs: dict[str, Any] = {}
    for root in ROOTS:
        defs.update(ex.extract(spec, root)["$defs"])
    inline = spec["paths"][ITEMS_PATH]["post"]["requestBody"]["content"]["application/json"]
    refs: set[str] = set()
    defs[ITEMS_BODY] = {"type": "object", **ex.convert(inline["schema"], refs)}
    for name in sorted(refs):
        defs.update(ex.extract(spec, name)["$defs"])
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:assistants-compat:conversations",
        "$defs": dict(sorted(defs.items())),
    }


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: read the spec, write the schema file, print a one-line summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=DEFAULT_SPEC)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    raw = args.spec.read_bytes()
    ex = _extract_module()
    ex.write_schema(extract(ex.load_spec(raw)), raw, args.out, "extract_conversation_schema.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
