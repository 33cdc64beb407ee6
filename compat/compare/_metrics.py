"""Metrics of a comparison: text similarity, word diffs, prices and costs, statistics.

Pure functions over plain values. Imports: stdlib only.
"""

from __future__ import annotations

import difflib
import json
import math
import re
import statistics
from pathlib import Path

__all__ = [
    "DEFAULT_PRICES",
    "cost",
    "load_prices",
    "similarity",
    "stats",
    "word_diff",
]

#: USD per 1M tokens (input, output), list prices of common models; ``--prices`` overrides.
DEFAULT_PRICES: dict[str, dict[str, float]] = {
    "gpt-5": {"input": 1.25, "output": 10.0},
    "gpt-5-mini": {"input": 0.25, "output": 2.0},
    "gpt-5-nano": {"input": 0.05, "output": 0.4},
    "gpt-4.1": {"input": 2.0, "output": 8.0},
    "gpt-4.1-mini": {"input": 0.4, "output": 1.6},
    "gpt-4.1-nano": {"input": 0.1, "output": 0.4},
    "gpt-4o": {"input": 2.5, "output": 10.0},
    "gpt-4o-mini": {"input": 0.15, "output": 0.6},
    "gpt-4-turbo": {"input": 10.0, "output": 30.0},
    "gpt-4": {"input": 30.0, "output": 60.0},
    "gpt-3.5-turbo": {"input": 0.5, "output": 1.5},
    "o1": {"input": 15.0, "output": 60.0},
    "o3": {"input": 2.0, "output": 8.0},
    "o3-mini": {"input": 1.1, "output": 4.4},
    "o4-mini": {"input": 1.1, "output": 4.4},
}

_WORD = re.compile(r"\w+", re.UNICODE)


def _norm_tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def similarity(a: str, b: str) -> float:
    """Normalised text similarity in [0, 1]: difflib's ratio over lower-cased word tokens
    (punctuation and spacing ignored); two empty texts are identical."""
    ta, tb = _norm_tokens(a), _norm_tokens(b)
    if not ta and not tb:
        return 1.0
    return round(difflib.SequenceMatcher(None, ta, tb, autojunk=False).ratio(), 4)


def word_diff(base: str, other: str) -> list[list[str]]:
    """A word-level diff: ``[["=", text] | ["-", removed] | ["+", added], ...]``."""
    wa, wb = base.split(), other.split()
    out: list[list[str]] = []
    sm = difflib.SequenceMatcher(None, wa, wb, autojunk=False)
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op == "equal":
            out.append(["=", " ".join(wa[i1:i2])])
            continue
        if op in ("delete", "replace"):
            out.append(["-", " ".join(wa[i1:i2])])
        if op in ("insert", "replace"):
            out.append(["+", " ".join(wb[j1:j2])])
    return out


def price_of(model: str | None, prices: dict[str, dict[str, float]]) -> dict[str, float] | None:
    """The price entry of a model: exact, else the longest prefix (dated snapshots)."""
    if not model:
        return None
    if model in prices:
        return prices[model]
    best = max((k for k in prices if model.startswith(k + "-")), key=len, default=None)
    return prices[best] if best else None


def cost(
    model: str | None,
    prompt_tokens: int | None,
    completion_tokens: int | None,
    prices: dict[str, dict[str, float]],
) -> float | None:
    """Estimated USD of one turn, or None when the model's price or the usage is unknown."""
    price = price_of(model, prices)
    if price is None or prompt_tokens is None or completion_tokens is None:
        return None
    total = prompt_tokens * price["input"] + completion_tokens * price["output"]
    return round(total / 1_000_000, 8)


def load_prices(path: str | Path) -> dict[str, dict[str, float]]:
    """The default price table updated from a JSON (or YAML) file:
    ``{"model": {"input": USD_per_1M, "output": USD_per_1M}}``."""
    p = Path(path)
    text = p.read_text(encoding="utf-8")
    if p.suffix.lower() in (".yaml", ".yml"):
        import yaml

        data = yaml.safe_load(text)
    else:
        data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected an object of model -> {{input, output}}")
    table = dict(DEFAULT_PRICES)
    for model, entry in data.items():
        if not isinstance(entry, dict) or not {"input", "output"} <= set(entry):
            raise ValueError(f"{path}: {model}: needs 'input' and 'output' (USD per 1M tokens)")
        table[str(model)] = {"input": float(entry["input"]), "output": float(entry["output"])}
    return table


def stats(values: list[float]) -> dict[str, float | None]:
    """``mean``, ``median`` and ``p95`` (nearest rank) of the values (None when empty)."""
    if not values:
        return {"mean": None, "median": None, "p95": None}
    ordered = sorted(values)
    rank = max(1, math.ceil(0.95 * len(ordered)))
    return {
        "mean": round(statistics.fmean(ordered), 6),
        "median": round(statistics.median(ordered), 6),
        "p95": round(ordered[rank - 1], 6),
    }
