"""ServerConfig: what `assistants-compat serve` was started with, and each tenant's upstream.

Upstream keys come from the environment only (``OPENAI_API_KEY``, or the variable a
tenant's ``api_key_env`` names in the tenants file); they are never logged or stored.
The config travels to ``--workers`` processes as JSON in ``$COMPAT_SERVE_CONFIG`` (it holds
names of variables, never keys).
Imports: stdlib, compat._options.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._options import Options

#: where the upstream is when neither --upstream-base-url nor $OPENAI_BASE_URL says
DEFAULT_UPSTREAM = "https://api.openai.com/v1"
#: the largest request body accepted on the Assistants routes (bytes): far above any valid
#: request (32 messages of 256,000 characters each is ~8 MB of JSON)
MAX_BODY_BYTES = 32 * 1024 * 1024
ENV_CONFIG = "COMPAT_SERVE_CONFIG"


def _toml(text: str) -> Any:
    try:
        tomllib: Any = importlib.import_module("tomllib")  # Python 3.11+
    except ImportError:
        raise ConfigError("a TOML tenants file needs Python 3.11+: use JSON") from None
    return tomllib.loads(text)


class ConfigError(Exception):
    """The configuration cannot be used (a message for the operator, no traceback)."""


@dataclass(frozen=True)
class TenantUpstream:
    """Where a tenant's runs and pass-through requests go: base URL and the environment
    variable holding the key."""

    base_url: str
    api_key_env: str = "OPENAI_API_KEY"

    def api_key(self) -> str:
        """The key, read from the environment now (an unset one still lets the server
        start: the upstream then answers its own 401 to whatever needs it)."""
        return os.environ.get(self.api_key_env, "")


@dataclass(frozen=True)
class ServerConfig:
    """Everything a worker needs to build the application."""

    database: str
    upstream_base_url: str = ""
    tenants_file: str | None = None
    max_body_bytes: int = MAX_BODY_BYTES
    #: seconds a client may take to send a request body
    body_timeout: float = 60.0
    #: SSE keep-alive comment after this many idle seconds
    keepalive: float = 15.0
    #: at shutdown, how long running runs get to finish before they are handed over
    shutdown_wait: float = 20.0
    #: seconds a verified key is trusted before it is checked again (revocation delay)
    key_cache_seconds: float = 5.0
    log_level: str = "info"
    options: dict[str, Any] = field(default_factory=dict)

    def compat_options(self) -> Options:
        return Options(**self.options)

    def default_upstream(self) -> TenantUpstream:
        base = self.upstream_base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_UPSTREAM
        return TenantUpstream(base.rstrip("/"))

    def tenant_upstreams(self) -> dict[str, TenantUpstream]:
        """The tenants file's upstreams: ``{tenants: {name: {api_key_env, base_url}}}``
        (TOML or JSON); a tenant not in it uses the shared default."""
        if not self.tenants_file:
            return {}
        path = Path(self.tenants_file)
        try:
            text = path.read_text(encoding="utf-8")
            data = json.loads(text) if path.suffix == ".json" else _toml(text)
        except (OSError, ValueError, ConfigError) as exc:
            raise ConfigError(f"cannot read the tenants file {path}: {exc}") from None
        tenants = data.get("tenants") if isinstance(data, dict) else None
        if not isinstance(tenants, dict):
            raise ConfigError(f"{path}: expected a 'tenants' table of tenant names")
        default = self.default_upstream()
        out: dict[str, TenantUpstream] = {}
        for name, spec in tenants.items():
            if not isinstance(spec, dict) or not set(spec) <= {"api_key_env", "base_url"}:
                raise ConfigError(
                    f"{path}: tenant {name!r} takes only 'api_key_env' and 'base_url'"
                )
            out[str(name)] = TenantUpstream(
                str(spec.get("base_url") or default.base_url).rstrip("/"),
                str(spec.get("api_key_env") or default.api_key_env),
            )
        return out

    def to_env(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_env(cls) -> ServerConfig:
        raw = os.environ.get(ENV_CONFIG)
        if not raw:
            raise ConfigError(f"${ENV_CONFIG} is not set (start the server with the CLI)")
        return cls(**json.loads(raw))
