"""Every request body built in test_translate_request.py validates against `CreateResponse`.

The schema comes from the official OpenAPI spec (/work/shared/spec/openapi.yaml, or
COMPAT_OPENAPI_SPEC), or, when that file is absent, from the bundled extract
compat/_data/create_response.schema.json. `oneOf` is treated as `anyOf` (spec/README.md: some
input-item alternatives overlap). Bodies get `stream: True` added, as the engine sends them.
"""

from __future__ import annotations

import importlib.util
import json
import os
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

jsonschema = pytest.importorskip("jsonschema")
referencing = pytest.importorskip("referencing")
yaml = pytest.importorskip("yaml")

from referencing.jsonschema import DRAFT202012  # noqa: E402

# the spec lies in shared/ beside the checkout (on CI too)
SPEC_PATH = Path(
    os.environ.get(
        "COMPAT_OPENAPI_SPEC",
        str(Path(__file__).resolve().parents[3] / "shared" / "spec" / "openapi.yaml"),
    )
)
EXTRACT_PATH = (
    Path(__file__).resolve().parents[2] / "compat" / "_data" / "create_response.schema.json"
)
BASE_URI = "urn:compat:openapi"


def _one_of_to_any_of(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            ("anyOf" if key == "oneOf" and isinstance(value, list) else key): _one_of_to_any_of(
                value
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_one_of_to_any_of(value) for value in node]
    return node


@cache
def _validator() -> Any:
    """Build the CreateResponse validator once per session (the YAML is ~3 MB)."""
    if SPEC_PATH.is_file():
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        with SPEC_PATH.open("rb") as handle:
            document = yaml.load(handle, Loader=loader)
        uri = BASE_URI
        root = {"$ref": f"{uri}#/components/schemas/CreateResponse"}
    elif EXTRACT_PATH.is_file():
        document = json.loads(EXTRACT_PATH.read_text(encoding="utf-8"))
        uri = document.get("$id", BASE_URI)  # inner refs resolve against the extract's $id
        if "components" in document:
            root = {"$ref": f"{uri}#/components/schemas/CreateResponse"}
        else:
            root = {"$ref": uri}
    else:
        pytest.skip(f"no OpenAPI spec at {SPEC_PATH} and no schema extract at {EXTRACT_PATH}")
    document = _one_of_to_any_of(document)
    registry = referencing.Registry().with_resource(uri, DRAFT202012.create_resource(document))
    return jsonschema.Draft202012Validator(root, registry=registry)


def _errors(body: dict[str, Any]) -> list[str]:
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '<root>'}: {error.message[:300]}"
        for error in _validator().iter_errors(body)
    ]


def _load_cases() -> ModuleType:
    # load the sibling module by path: works whether or not tests/ is a package
    path = Path(__file__).with_name("test_translate_request.py")
    spec = importlib.util.spec_from_file_location("_translate_request_cases", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CASES = _load_cases()


@pytest.mark.parametrize("name", sorted(CASES.BODIES))
def test_request_validates_against_create_response(name: str) -> None:
    body = {**CASES.BODIES[name](), "stream": True}
    assert _errors(body) == []


@pytest.mark.parametrize(
    "broken",
    [
        # a function tool without the required `parameters` / `strict` keys
        {"tools": [{"type": "function", "name": "f"}]},
        # text.format json_schema without `schema`
        {"text": {"format": {"type": "json_schema", "name": "out"}}},
        # below the Responses minimum of max_output_tokens
        {"max_output_tokens": 15},
        # file_search without vector stores
        {"tools": [{"type": "file_search"}]},
        # input_image without `detail`
        {
            "input": [
                {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_image", "file_id": "f"}],
                }
            ]
        },
    ],
)
def test_schema_check_is_not_vacuous(broken: dict[str, Any]) -> None:
    body = {**CASES.BODIES["section9_replay"](), **broken, "stream": True}
    assert _errors(body) != []
