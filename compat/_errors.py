"""ApiError: an error answered by the local API exactly as the real API shaped it.

Imports: stdlib only.
"""

from __future__ import annotations

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


def missing(param: str) -> ApiError:
    """400 for a missing required parameter."""
    return ApiError(
        400,
        f"Missing required parameter: '{param}'.",
        param=param,
        code="missing_required_parameter",
    )


def unknown_parameter(param: str) -> ApiError:
    """400 for a parameter the endpoint does not take."""
    return ApiError(400, f"Unknown parameter: '{param}'.", param=param, code="unknown_parameter")


def server_error(
    message: str = "The server had an error while processing your request.",
) -> ApiError:
    """500 server_error, used for internal faults (never a traceback)."""
    return ApiError(500, message, type="server_error", code="server_error")
