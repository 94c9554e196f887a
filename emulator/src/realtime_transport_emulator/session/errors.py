"""Protocol errors in the real API's shape, and the exact messages the emulator uses.

Messages marked "seen" are wording observed from the live API in public code and issues (see
``protocols.md`` §1.6 and §9); the others are modelled on them. All of them live here so that a
wording change is a one-line edit. No message ever contains a key or client secret.
"""

from __future__ import annotations

import json
from typing import Any


class ProtocolError(Exception):
    """A client event (or REST request) the real API would answer with an error.

    Raised inside the session and turned into an ``error`` event (WebSocket) or a
    ``{"error": {...}}`` body (REST); the connection stays open, as with the real API.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str | None,
        param: str | None = None,
        type: str = "invalid_request_error",
        status: int = 400,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.param = param
        self.type = type
        self.status = status

    def to_error(self, event_id: str | None = None) -> dict[str, Any]:
        """The ``error`` object of an ``error`` event."""
        return {
            "type": self.type,
            "code": self.code,
            "message": self.message,
            "param": self.param,
            "event_id": event_id,
        }

    def to_rest(self) -> dict[str, Any]:
        """The REST error body: ``{"error": {"message", "type", "param", "code"}}``."""
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }


def show(value: Any) -> str:
    """A value as the API quotes it in messages (strings in single quotes, JSON otherwise)."""
    if isinstance(value, str):
        return f"'{value}'" if len(value) <= 80 else f"'{value[:77]}...'"
    text = json.dumps(value)
    return text if len(text) <= 80 else text[:77] + "..."


def missing(param: str) -> ProtocolError:  # seen
    return ProtocolError(
        f"Missing required parameter: '{param}'.", code="missing_required_parameter", param=param
    )


def unknown_parameter(param: str) -> ProtocolError:  # seen
    return ProtocolError(f"Unknown parameter: '{param}'.", code="unknown_parameter", param=param)


def invalid_value(param: str, value: Any, supported: list[str] | None = None) -> ProtocolError:
    """``Invalid value: 'x'. Supported values are: 'a', 'b' and 'c'.`` (seen)."""
    text = f"Invalid value: {show(value)}."
    if supported:
        quoted = [f"'{s}'" for s in supported]
        listed = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + f" and {quoted[-1]}"
        text += f" Supported values are: {listed}."
    return ProtocolError(text, code="invalid_value", param=param)


_KIND = {
    bool: "a boolean",
    int: "an integer",
    float: "a decimal",
    str: "a string",
    list: "an array",
    dict: "an object",
    type(None): "null",
}


def kind_of(value: Any) -> str:
    return _KIND.get(type(value), "a value")


def invalid_type(param: str, value: Any, expected: str) -> ProtocolError:
    return ProtocolError(
        f"Invalid type for '{param}': expected {expected}, but got {kind_of(value)} instead.",
        code="invalid_type",
        param=param,
    )


def out_of_range(param: str, value: Any, low: float | None, high: float | None) -> ProtocolError:
    integer = isinstance(value, int)
    noun = "integer" if integer else "decimal"
    if high is not None and value > high:
        return ProtocolError(
            f"Invalid '{param}': {noun} above maximum value. Expected a value <= {high}, "
            f"but got {value} instead.",
            code=f"{noun}_above_max_value",
            param=param,
        )
    return ProtocolError(
        f"Invalid '{param}': {noun} below minimum value. Expected a value >= {low}, "
        f"but got {value} instead.",
        code=f"{noun}_below_min_value",
        param=param,
    )


def too_long(param: str, kind: str, limit: int, length: int) -> ProtocolError:
    """``kind`` is ``"a string"`` or ``"an array"``; the code names the noun."""
    noun = kind.split(" ")[-1]
    return ProtocolError(
        f"Invalid '{param}': {noun} too long. Expected {kind} with maximum length {limit}, "
        f"but got {kind} with length {length} instead.",
        code=f"{noun}_above_max_length",
        param=param,
    )


def item_not_found(item_id: str, param: str = "item_id") -> ProtocolError:
    return ProtocolError(
        f"Item with item_id '{item_id}' not found in the conversation.",
        code="item_not_found",
        param=param,
    )


def active_response(response_id: str) -> ProtocolError:  # seen
    return ProtocolError(
        f"Conversation already has an active response in progress: {response_id}. "
        "Wait until the response is finished before creating a new one.",
        code="conversation_already_has_active_response",
    )


def cancel_not_active() -> ProtocolError:  # seen
    return ProtocolError(
        "Can only cancel an active response.",
        code="response_cancel_not_active",
        param="response.cancel",
    )


def commit_empty(buffer_ms: float) -> ProtocolError:  # seen
    return ProtocolError(
        "Error committing input audio buffer: buffer too small. Expected at least 100ms of "
        f"audio, but buffer only has {buffer_ms:.2f}ms of audio.",
        code="input_audio_buffer_commit_empty",
    )


def truncate_too_long(audio_ms: int, requested_ms: int) -> ProtocolError:  # seen
    return ProtocolError(
        f"Audio content of {audio_ms}ms is already shorter than {requested_ms}ms",
        code="invalid_value",
        param="audio_end_ms",
    )


def truncate_unsupported() -> ProtocolError:  # seen
    return ProtocolError(
        "Only model output audio messages can be truncated",
        code="unsupported_content_type",
        param="item_id",
    )


def session_expired(limit_seconds: float) -> ProtocolError:  # seen (for 60 minutes)
    if limit_seconds >= 60 and limit_seconds % 60 == 0:
        minutes = int(limit_seconds // 60)
        span = f"{minutes} minute" + ("s" if minutes != 1 else "")
    else:
        span = f"{limit_seconds:g} second" + ("s" if limit_seconds != 1 else "")
    return ProtocolError(
        f"Your session hit the maximum duration of {span}.", code="session_expired"
    )


def api_version_mismatch() -> ProtocolError:  # seen
    return ProtocolError(
        "API version mismatch. You cannot start a Realtime beta session with a GA client secret.",
        code="api_version_mismatch",
    )


def server_error() -> ProtocolError:
    return ProtocolError(
        "The server had an error while processing your request. Sorry about that! "
        "You can retry your request (emulator fault injection).",
        code="server_error",
        type="server_error",
    )
