"""Variants: named overrides of run parameters and compat options, parsed from the CLI.

``NAME:KEY=VALUE[,KEY=VALUE…]`` — values are JSON when they parse as JSON (numbers,
``true``, lists, objects), else text; ``@FILE`` reads a JSON/text value from a file.
Imports: stdlib only.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["COMPAT_KEYS", "RECORDED", "RUN_KEYS", "Variant", "VariantError", "parse_variant"]

#: The baseline variant: what the recording says the retired API answered.
RECORDED = "recorded"

#: Run parameters a variant may override (passed to ``runs.create``).
RUN_KEYS = {
    "model": str,
    "instructions": str,
    "additional_instructions": str,
    "tools": list,
    "temperature": float,
    "top_p": float,
    "reasoning_effort": str,
    "truncation_strategy": dict,
    "max_prompt_tokens": int,
    "max_completion_tokens": int,
    "parallel_tool_calls": bool,
    "tool_choice": object,
    "response_format": object,
}
#: Options of the client that runs the variant.
COMPAT_KEYS = {"history", "base_url", "api_key"}

_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")
_SPLIT = re.compile(r",(?=\s*[A-Za-z_]+\s*=)")


class VariantError(ValueError):
    """A variant that cannot be used (unknown key, bad value): a usage error."""


@dataclass
class Variant:
    """One way of running the cases: run parameter overrides plus client options.

    ``history``: compat's ``replay`` or ``chain``; ``base_url`` / ``api_key``: run on another
    Assistants-compatible endpoint with a plain ``openai.OpenAI`` client instead of compat.
    """

    name: str
    params: dict[str, Any] = field(default_factory=dict)
    history: str | None = None
    base_url: str | None = None
    api_key: str | None = None

    @property
    def is_recorded(self) -> bool:
        return self.name == RECORDED

    def public(self) -> dict[str, Any]:
        """What the report shows about the variant (never the key)."""
        out: dict[str, Any] = {"name": self.name, "params": dict(self.params)}
        if self.history:
            out["history"] = self.history
        if self.base_url:
            out["base_url"] = self.base_url
        if self.api_key:
            out["api_key"] = "***"
        return out

    def describe(self) -> str:
        """A one-line summary of the overrides (for tables and headers)."""
        if self.is_recorded:
            return "recorded baseline"
        bits = [f"{k}={_short(v)}" for k, v in self.params.items()]
        if self.history:
            bits.append(f"history={self.history}")
        if self.base_url:
            bits.append(f"base_url={self.base_url}")
        return ", ".join(bits) or "no overrides"


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _value(raw: str) -> Any:
    raw = raw.strip()
    if raw.startswith("@"):
        try:
            raw = Path(raw[1:]).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise VariantError(f"cannot read {raw[1:]}: {exc.strerror or exc}") from None
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _coerce(key: str, value: Any) -> Any:
    kind = RUN_KEYS[key]
    if key == "truncation_strategy":
        if value == "auto":
            return {"type": "auto"}
        if isinstance(value, int) and not isinstance(value, bool):
            return {"type": "last_messages", "last_messages": value}
        if isinstance(value, str) and value.startswith("last_messages:"):
            n = value.split(":", 1)[1]
            if n.isdigit():
                return {"type": "last_messages", "last_messages": int(n)}
    if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if kind is str and not isinstance(value, str):
        return json.dumps(value) if isinstance(value, dict | list) else str(value)
    if kind is object or isinstance(value, kind) and not (kind is int and value is True):
        return value
    raise VariantError(f"{key}: expected {kind.__name__}, got {value!r}")


def parse_variant(spec: str) -> Variant:
    """A variant from ``NAME:KEY=VALUE[,KEY=VALUE…]`` (or just ``NAME``, e.g. ``recorded``)."""
    name, _, rest = spec.partition(":")
    name = name.strip()
    if not _NAME.match(name):
        raise VariantError(f"bad variant name {name!r} in {spec!r} (letters, digits, _ . -)")
    variant = Variant(name)
    if not rest.strip():
        return variant
    if variant.is_recorded:
        raise VariantError("the 'recorded' variant takes no settings")
    for item in _SPLIT.split(rest):
        key, eq, raw = item.partition("=")
        key = key.strip()
        if not eq:
            raise VariantError(f"expected KEY=VALUE, got {item!r} in variant {name!r}")
        if key in COMPAT_KEYS:
            text = raw.strip()
            if key == "history" and text not in ("replay", "chain"):
                raise VariantError(f"history must be replay or chain, got {text!r}")
            setattr(variant, key, text)
        elif key in RUN_KEYS:
            variant.params[key] = _coerce(key, _value(raw))
        else:
            known = ", ".join(sorted([*RUN_KEYS, *COMPAT_KEYS]))
            raise VariantError(f"unknown key {key!r} in variant {name!r} (known: {known})")
    return variant
