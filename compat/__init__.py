"""assistants-compat: the OpenAI Assistants API, kept alive over the Responses API.

Change one import (``from compat import OpenAI``) and ``client.beta.assistants / threads /
messages / runs / steps`` are served from a local store, with every run executed through
``client.responses.create``.
"""

from ._app import Options
from ._client import AsyncOpenAI, OpenAI, wrap

__all__ = ["AsyncOpenAI", "OpenAI", "Options", "wrap"]
