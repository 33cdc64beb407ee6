"""ApiError: an error answered by the local API exactly as the real API shaped it.

Also owns the real API's wording of request-validation 400s (unknown / missing parameter,
invalid type or value, string / array length, numeric range, pattern): one vocabulary shared
by the local Assistants API (:mod:`compat._params`) and the Responses emulator
(:mod:`compat.testing.validate`). ``param`` is the JSON path the API names (``tools[0].name``).

Imports: stdlib only (the emulator and the pytest plugin load this without the client).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class ApiError(Exception):
    """An HTTP error response of the local API: status plus the real error body."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code

    def body(self) -> dict[str, Any]:
        """The JSON body the real API sent: ``{"error": {message, type, param, code}}``."""
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }


def invalid(message: str, *, param: str | None = None, code: str | None = None) -> ApiError:
    """400 invalid_request_error."""
    return ApiError(400, message, param=param, code=code)


def not_found(kind: str, id_: str) -> ApiError:
    """404 ``No <kind> found with id '<id>'.``"""
    return ApiError(404, f"No {kind} found with id '{id_}'.")


def server_error(
    message: str = "The server had an error while processing your request.",
) -> ApiError:
    """500 server_error, used for internal faults (never a traceback)."""
    return ApiError(500, message, type="server_error", code="server_error")


# --------------------------------------------------------------------------------------------
# request validation: the real API's 400 wording, ``param`` and ``code``


def listing(values: Sequence[Any], conj: str = "and") -> str:
    """``'a'``, ``'a' and 'b'``, ``'a', 'b', and 'c'`` (``conj`` is ``and`` / ``or``)."""
    quoted = [f"'{v}'" for v in values]
    if len(quoted) <= 1:
        return "".join(quoted)
    if len(quoted) == 2:
        return f"{quoted[0]} {conj} {quoted[1]}"
    return ", ".join(quoted[:-1]) + f", {conj} {quoted[-1]}"


TYPE_NAMES = {
    "string": "a string",
    "number": "a decimal",
    "integer": "an integer",
    "boolean": "a boolean",
    "object": "an object",
    "array": "an array",
    "null": "null",
}
"""JSON Schema type -> the API's words for it (``expected an integer, but got a string``)."""


def json_type(value: Any) -> str | None:
    """The JSON Schema type of a decoded JSON value (None for anything JSON cannot hold)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return None


def _bound(value: Any) -> str:
    """A limit as the real API prints it: ``2`` rather than ``2.0``."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def missing(param: str) -> ApiError:
    """400 for a missing required parameter."""
    return invalid(
        f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter"
    )


def unknown_parameter(param: str | None) -> ApiError:
    """400 for a parameter the endpoint does not take."""
    return invalid(f"Unknown parameter: '{param}'.", param=param, code="unknown_parameter")


def invalid_type(param: str | None, expected: str, got: str) -> ApiError:
    """400 ``Invalid type for 'p': expected <expected>, but got <got> instead.``"""
    return invalid(
        f"Invalid type for '{param}': expected {expected}, but got {got} instead.",
        param=param,
        code="invalid_type",
    )


def invalid_value(
    param: str | None, value: Any, supported: Sequence[Any] | None = None
) -> ApiError:
    """400 ``Invalid value: 'v'.`` plus ``Supported values are: …`` when ``supported`` is given."""
    message = f"Invalid value: '{value}'."
    if supported:
        message += f" Supported values are: {listing(supported)}."
    return invalid(message, param=param, code="invalid_value")


def _length_error(
    param: str | None, kind: str, limit: int, length: int, *, maximum: bool, empty: bool = False
) -> ApiError:
    """The length 400 of a ``string`` / ``array``: above ``limit`` (``maximum``) or below it."""
    a = "a" if kind == "string" else "an"
    if empty:
        return invalid(
            f"Invalid '{param}': empty {kind}. Expected {a} {kind} with minimum length {limit}, "
            f"but got an empty {kind} instead.",
            param=param,
            code=f"empty_{kind}",
        )
    word, bound, code = (
        ("long", "maximum", "above_max") if maximum else ("short", "minimum", "below_min")
    )
    return invalid(
        f"Invalid '{param}': {kind} too {word}. Expected {a} {kind} with {bound} length {limit}, "
        f"but got {a} {kind} with length {length} instead.",
        param=param,
        code=f"{kind}_{code}_length",
    )


def string_too_long(param: str | None, limit: int, length: int) -> ApiError:
    """400 for a string above its maximum length."""
    return _length_error(param, "string", limit, length, maximum=True)


def string_too_short(param: str | None, limit: int, length: int) -> ApiError:
    """400 for a string below its minimum length (``""`` has its own: :func:`empty_string`)."""
    return _length_error(param, "string", limit, length, maximum=False)


def empty_string(param: str | None, limit: int) -> ApiError:
    """400 for ``""`` where a minimum length applies."""
    return _length_error(param, "string", limit, 0, maximum=False, empty=True)


def array_too_long(param: str | None, limit: int, length: int) -> ApiError:
    """400 for an array above its maximum length."""
    return _length_error(param, "array", limit, length, maximum=True)


def array_too_short(param: str | None, limit: int, length: int) -> ApiError:
    """400 for an array below its minimum length; ``empty array`` wording when it is empty."""
    return _length_error(param, "array", limit, length, maximum=False, empty=not length)


def pattern_mismatch(param: str | None, pattern: str) -> ApiError:
    """400 for a string that does not match its pattern."""
    return invalid(
        f"Invalid '{param}': string does not match pattern. Expected a string that matches "
        f"the pattern '{pattern}'.",
        param=param,
        code="invalid_value",
    )


def _range_error(
    param: str | None, kind: str, bound: Any, value: Any, *, above: bool, exclusive: bool
) -> ApiError:
    """The range 400 of a number; ``kind`` is ``integer`` or ``decimal``."""
    side, op, code = (
        ("above maximum", "<", "above_max") if above else ("below minimum", ">", "below_min")
    )
    op += "" if exclusive else "="
    return invalid(
        f"Invalid '{param}': {kind} {side} value. Expected a value {op} {_bound(bound)}, "
        f"but got {value} instead.",
        param=param,
        code=f"{kind}_{code}_value",
    )


def below_minimum(
    param: str | None, kind: str, bound: Any, value: Any, *, exclusive: bool = False
) -> ApiError:
    """400 for a number below its minimum (``> bound`` when ``exclusive``)."""
    return _range_error(param, kind, bound, value, above=False, exclusive=exclusive)


def above_maximum(
    param: str | None, kind: str, bound: Any, value: Any, *, exclusive: bool = False
) -> ApiError:
    """400 for a number above its maximum (``< bound`` when ``exclusive``)."""
    return _range_error(param, kind, bound, value, above=True, exclusive=exclusive)
