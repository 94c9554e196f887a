"""Whether model data (transcripts, text, server frames) and tool data (arguments, results,
exception text) may appear in log records and error messages.

Voice transcripts are personal data. Turn either off per session
(``RealtimeSession(..., log_model_data=False, log_tool_data=False)``) or for the whole process
with the environment variables ``REALTIME_TRANSPORT_DONT_LOG_MODEL_DATA=1`` and
``REALTIME_TRANSPORT_DONT_LOG_TOOL_DATA=1`` (the reference's ``dontLogModelData`` and
``dontLogToolData``). An explicit option wins over the environment. When off, messages keep
what happened (event type, tool name, exception class, sizes) and drop the content.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

__all__ = [
    "DONT_LOG_MODEL_DATA_ENV",
    "DONT_LOG_TOOL_DATA_ENV",
    "LogDataPolicy",
    "describe_error",
    "log_data_policy",
]

DONT_LOG_MODEL_DATA_ENV = "REALTIME_TRANSPORT_DONT_LOG_MODEL_DATA"
DONT_LOG_TOOL_DATA_ENV = "REALTIME_TRANSPORT_DONT_LOG_TOOL_DATA"
_TRUE = frozenset({"1", "true", "yes", "on"})


@dataclass(frozen=True, slots=True)
class LogDataPolicy:
    """``model_data``/``tool_data``: True when that content may be logged (the default)."""

    model_data: bool = True
    tool_data: bool = True

    def excerpt(self, raw: str | bytes | bytearray | memoryview, limit: int = 200) -> str:
        """The start of a server frame for an error message, or only its size when hidden."""
        if not self.model_data:
            return f"<{len(raw)} bytes hidden: model data logging is off>"
        if isinstance(raw, str):
            return repr(raw[:limit])
        return repr(bytes(raw[:limit]).decode("utf-8", "replace"))

    @property
    def all_data(self) -> bool:
        """Both kinds may be logged (for messages that could hold either, e.g. listener errors)."""
        return self.model_data and self.tool_data


def describe_error(exc: BaseException, show_text: bool = True) -> str:
    """``"ValueError: text"``, or only ``"ValueError"`` when the text may not be shown (an
    exception's text often quotes the data it choked on). Never raises, even when the
    exception's ``__str__`` does."""
    name = type(exc).__name__
    if not show_text:
        return f"{name} (details hidden: data logging is off)"
    try:
        text = str(exc)
    except Exception:
        return f"{name} (its message could not be read)"
    return f"{name}: {text}" if text else name


def _env_says_dont(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _TRUE


def log_data_policy(
    log_model_data: bool | None = None, log_tool_data: bool | None = None
) -> LogDataPolicy:
    """The policy from explicit options, falling back to the environment variables (one shared
    instance per combination, so sessions and transports pay nothing for it)."""
    model = (
        log_model_data
        if log_model_data is not None
        else not _env_says_dont(DONT_LOG_MODEL_DATA_ENV)
    )
    tool = (
        log_tool_data if log_tool_data is not None else not _env_says_dont(DONT_LOG_TOOL_DATA_ENV)
    )
    return _SHARED[bool(model), bool(tool)]


_SHARED = {(m, t): LogDataPolicy(m, t) for m in (True, False) for t in (True, False)}
