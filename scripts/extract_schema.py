"""Extract the ``CreateResponse`` request schema from OpenAI's OpenAPI spec into one JSON file.

Owns producing ``compat/_data/create_response.schema.json``, the schema that
``compat.testing.ResponsesEmulator`` validates ``POST /v1/responses`` bodies against.

What it does, and why:

* takes ``#/components/schemas/CreateResponse`` and the closure of every schema it ``$ref``s,
  and writes them as ``$defs`` of a standalone JSON Schema (Draft 2020-12) whose root is a
  ``$ref`` to ``CreateResponse`` (refs are rewritten ``#/components/schemas/X`` ->
  ``#/$defs/X``);
* rewrites ``oneOf`` as ``anyOf``: some input-item unions overlap (a plain user message matches
  several alternatives), so a literal ``oneOf`` rejects valid requests (see the spec README);
* turns the OpenAPI 3.0 leftover ``nullable: true`` into a JSON-Schema ``null`` alternative;
* drops annotations that never affect validation (descriptions, examples, ``x-*`` vendor keys,
  ``discriminator``, ``deprecated``, ...) so the bundled file stays small.

Usage::

    python scripts/extract_schema.py [--spec /work/shared/spec/openapi.yaml] [--out PATH]

Needs PyYAML (the project's ``test`` extra); the generated file is committed and read at runtime
with the stdlib ``json`` module only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = "CreateResponse"
REF_PREFIX = "#/components/schemas/"
DEFAULT_SPEC = Path("/work/shared/spec/openapi.yaml")
DEFAULT_OUT = (
    Path(__file__).resolve().parent.parent / "compat" / "_data" / ("create_response.schema.json")
)

# Keywords whose value is a map of name -> subschema.
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
# Keywords whose value is one subschema.
_SCHEMA_SINGLE = (
    "items",
    "additionalProperties",
    "unevaluatedProperties",
    "unevaluatedItems",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
)
# Keywords whose value is a list of subschemas.
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
# Annotation-only keywords: they never change what validates.
_DROP = {
    "description",
    "title",
    "example",
    "examples",
    "discriminator",
    "deprecated",
    "default",
    "externalDocs",
    "xml",
    "readOnly",
    "writeOnly",
    "$comment",
    "markdownDescription",
}


def _ref_name(ref: str) -> str:
    """``#/components/schemas/X`` -> ``X``; other refs are not expected in this closure."""
    if not ref.startswith(REF_PREFIX):
        raise ValueError(f"unsupported $ref {ref!r}")
    return ref[len(REF_PREFIX) :]


def convert(schema: Any, refs: set[str]) -> Any:
    """Return a validation-only copy of ``schema``; collect referenced names into ``refs``."""
    if isinstance(schema, bool) or not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _DROP or key.startswith("x-") or key == "nullable":
            continue
        if key == "$ref":
            name = _ref_name(value)
            refs.add(name)
            out["$ref"] = "#/$defs/" + name
        elif key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {k: convert(v, refs) for k, v in value.items()}
        elif key in _SCHEMA_SINGLE:
            out[key] = convert(value, refs)
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            # oneOf -> anyOf: the spec's unions overlap (see module docstring).
            target = "anyOf" if key == "oneOf" else key
            converted = [convert(v, refs) for v in value]
            if target in out:  # both oneOf and anyOf present: both must hold
                out.setdefault("allOf", []).append({"anyOf": converted})
            else:
                out[target] = converted
        else:
            out[key] = value
    if schema.get("nullable") is True:
        out = {"anyOf": [out, {"type": "null"}]}
    return out


def extract(spec: dict[str, Any], root: str = ROOT) -> dict[str, Any]:
    """The standalone Draft 2020-12 schema for ``root`` and its ``$ref`` closure."""
    schemas: dict[str, Any] = spec["components"]["schemas"]
    defs: dict[str, Any] = {}
    todo = [root]
    while todo:
        name = todo.pop()
        if name in defs:
            continue
        refs: set[str] = set()
        defs[name] = convert(schemas[name], refs)
        todo.extend(sorted(refs - defs.keys()))
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:assistants-compat:create-response",
        "$ref": "#/$defs/" + root,
        "$defs": dict(sorted(defs.items())),
    }


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: read the spec, write the schema, print a one-line summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=DEFAULT_SPEC)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    raw = args.spec.read_bytes()
    write_schema(extract(load_spec(raw)), raw, args.out, "extract_schema.py")
    return 0


def load_spec(raw: bytes) -> dict[str, Any]:
    """The parsed OpenAPI document (the C loader when PyYAML has it: the spec is large)."""
    return yaml.load(raw, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # type: ignore[no-any-return]


def write_schema(schema: dict[str, Any], raw: bytes, out: Path, script: str) -> None:
    """Write ``schema`` to ``out`` with its provenance, and print a one-line summary."""
    # Provenance, so a reader can tell which spec snapshot the file came from.
    schema["$comment"] = (
        f"Generated by scripts/{script} from openapi.yaml "
        f"(sha256 {hashlib.sha256(raw).hexdigest()}); oneOf rewritten as anyOf."
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(schema, indent=1, sort_keys=False, ensure_ascii=False) + "\n"
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out} ({len(schema['$defs'])} schemas, {len(text)} bytes)")


if __name__ == "__main__":
    sys.exit(main())
