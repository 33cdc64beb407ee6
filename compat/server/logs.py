"""Structured logs: one JSON object a line, with the request id where there is one.

At the default level only request lines (method, route, status, duration, tenant) and
warnings are written: never a body, a message's content, or a key.
Imports: stdlib only.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

#: attributes a record may carry into its JSON line (``log.info(..., extra={...})``)
FIELDS = ("request_id", "method", "path", "route", "status", "duration_ms", "tenant", "worker")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                out[name] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def configure(level: str = "info") -> None:
    """JSON lines on stderr for our loggers and uvicorn's (its access log is off: the
    server writes its own request lines, with request ids)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in ("compat", "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.propagate = False
        logger.setLevel(level.upper())
