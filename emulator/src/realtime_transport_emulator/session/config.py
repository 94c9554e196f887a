"""GA session configuration: the server's defaults, validation of updates, and merge rules.

``session.update`` is validated against the GA schema (``protocols.md`` §2): ``type`` is required,
objects are closed (beta names like ``modalities`` or top-level ``voice`` are ``Unknown
parameter`` errors), enum values and ranges are checked. A valid update is merged into the
current session (absent keys keep their value, ``null`` clears, ``audio.input``/``audio.output``
merge field by field, every other value is replaced) and the full result is echoed in
``session.updated``.
"""

from __future__ import annotations

import copy
from typing import Any

from realtime_transport_emulator.session import errors
from realtime_transport_emulator.session import schema as s

DEFAULT_MODEL = "gpt-realtime"
DEFAULT_INSTRUCTIONS = (
    "You are the realtime-transport emulator, a scripted stand-in for a speech-to-speech model. "
    "Your replies come from a script, not from a model."
)
VOICES = ("alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar")

SERVER_VAD_DEFAULTS: dict[str, Any] = {
    "type": "server_vad",
    "threshold": 0.5,
    "prefix_padding_ms": 300,
    "silence_duration_ms": 500,
    "idle_timeout_ms": None,
    "create_response": True,
    "interrupt_response": True,
}
SEMANTIC_VAD_DEFAULTS: dict[str, Any] = {
    "type": "semantic_vad",
    "eagerness": "auto",
    "create_response": True,
    "interrupt_response": True,
}

_FORMAT = s.tagged(
    {
        "audio/pcm": s.obj({"type": s.anything(), "rate": s.integer(24000, 24000)}),
        "audio/pcmu": s.obj({"type": s.anything()}),
        "audio/pcma": s.obj({"type": s.anything()}),
    }
)
_TURN_DETECTION = s.nullable(
    s.tagged(
        {
            "server_vad": s.obj(
                {
                    "type": s.anything(),
                    "threshold": s.number(0.0, 1.0),
                    "prefix_padding_ms": s.integer(0, 10_000),
                    "silence_duration_ms": s.integer(0, 10_000),
                    "idle_timeout_ms": s.nullable(s.integer(5_000, 30_000)),
                    "create_response": s.boolean(),
                    "interrupt_response": s.boolean(),
                }
            ),
            "semantic_vad": s.obj(
                {
                    "type": s.anything(),
                    "eagerness": s.enum("low", "medium", "high", "auto"),
                    "create_response": s.boolean(),
                    "interrupt_response": s.boolean(),
                }
            ),
        }
    )
)
_NOISE_REDUCTION = s.nullable(
    s.obj({"type": s.enum("near_field", "far_field"), "strength": s.number(0.0, 1.0)})
)
_TRANSCRIPTION = s.nullable(
    s.obj(
        {
            "model": s.string(),
            "language": s.string(),
            "languages": s.list_of(s.string()),
            "prompt": s.string(),
            "delay": s.enum("minimal", "low", "medium", "high", "xhigh"),
            "keywords": s.list_of(s.string()),
        }
    )
)
_VOICE_ID = s.obj({"id": s.string()}, required=("id",))


def _voice(value: Any, path: str) -> Any:
    """A built-in voice name (custom names are open strings too) or ``{"id": "voice_…"}``."""
    if isinstance(value, str):
        return value
    if not isinstance(value, dict):
        raise errors.invalid_type(path, value, "a string or an object")
    return _VOICE_ID(value, path)


_AUDIO_INPUT = s.obj(
    {
        "format": _FORMAT,
        "noise_reduction": _NOISE_REDUCTION,
        "transcription": _TRANSCRIPTION,
        "turn_detection": _TURN_DETECTION,
    }
)
_AUDIO_OUTPUT = s.obj({"format": _FORMAT, "voice": _voice, "speed": s.number(0.25, 1.5)})
_AUDIO = s.obj({"input": _AUDIO_INPUT, "output": _AUDIO_OUTPUT})
_FUNCTION_TOOL = s.obj(
    {
        "type": s.anything(),
        "name": s.string(max_length=64),
        "description": s.string(),
        "parameters": s.anything(),
    },
    required=("name",),
)
_MCP_TOOL = s.obj(
    {
        "type": s.anything(),
        "server_label": s.string(),
        "server_url": s.string(),
        "connector_id": s.string(),
        "tunnel_id": s.string(),
        "server_description": s.string(),
        "allowed_tools": s.anything(),
        "allowed_callers": s.anything(),
        "require_approval": s.anything(),
        "headers": s.nullable(s.string_map()),
        "authorization": s.string(),
        "defer_loading": s.boolean(),
    },
    required=("server_label",),
)
TOOLS = s.list_of(s.tagged({"function": _FUNCTION_TOOL, "mcp": _MCP_TOOL}), max_items=128)
TOOL_CHOICE = s.string_or(
    ("auto", "none", "required"),
    s.tagged(
        {
            "function": s.obj({"type": s.anything(), "name": s.string()}, required=("name",)),
            "mcp": s.obj(
                {"type": s.anything(), "server_label": s.string(), "name": s.nullable(s.string())},
                required=("server_label",),
            ),
        }
    ),
    expected="a string or an object",
)
MAX_OUTPUT_TOKENS = s.string_or(("inf",), s.integer(1, 4096), expected="an integer or 'inf'")
_TRACING = s.nullable(
    s.string_or(
        ("auto",),
        s.obj(
            {
                "workflow_name": s.string(),
                "group_id": s.string(),
                "metadata": s.anything(),
            }
        ),
        expected="'auto' or an object",
    )
)
_TRUNCATION = s.string_or(
    ("auto", "disabled"),
    s.obj(
        {
            "type": s.enum("retention_ratio"),
            "retention_ratio": s.number(0.0, 1.0),
            "token_limits": s.obj({"post_instructions": s.integer(0)}),
        },
        required=("type", "retention_ratio"),
    ),
    expected="a string or an object",
)
PROMPT = s.nullable(
    s.obj(
        {"id": s.string(), "version": s.nullable(s.string()), "variables": s.anything()},
        required=("id",),
    )
)


def _modalities(value: Any, path: str) -> Any:
    checked = s.list_of(s.enum("audio", "text"))(value, path)
    if len(checked) != 1:
        raise errors.ProtocolError(
            f"Invalid '{path}': expected exactly one of ['audio'] or ['text'] "
            "(audio output always includes a transcript).",
            code="invalid_value",
            param=path,
        )
    return checked


OUTPUT_MODALITIES = _modalities

SESSION = s.obj(
    {
        "type": s.enum("realtime", "transcription"),
        "model": s.string(),
        "output_modalities": _modalities,
        "instructions": s.string(),
        "audio": _AUDIO,
        "tools": TOOLS,
        "tool_choice": TOOL_CHOICE,
        "max_output_tokens": MAX_OUTPUT_TOKENS,
        "tracing": _TRACING,
        "truncation": _TRUNCATION,
        "prompt": PROMPT,
        "include": s.nullable(s.list_of(s.enum("item.input_audio_transcription.logprobs"))),
        "parallel_tool_calls": s.boolean(),
        "reasoning": s.nullable(s.obj({"effort": s.string()})),
    },
    required=("type",),
)


def validate_session(value: Any, path: str = "session") -> dict[str, Any]:
    """Validate a GA session object (``session.update``, client secrets); raise ProtocolError."""
    checked: dict[str, Any] = SESSION(value, path)
    if checked.get("type") == "transcription":
        raise errors.ProtocolError(
            "The emulator runs 'realtime' sessions only; transcription sessions "
            "(type 'transcription') are not emulated.",
            code="invalid_value",
            param=f"{path}.type",
        )
    return checked


def default_session(
    *,
    session_id: str,
    model: str,
    expires_at: int,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The full session the server starts with (what ``session.created`` shows)."""
    session: dict[str, Any] = {
        "type": "realtime",
        "object": "realtime.session",
        "id": session_id,
        "model": model,
        "output_modalities": ["audio"],
        "instructions": DEFAULT_INSTRUCTIONS,
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "tracing": None,
        "truncation": "auto",
        "prompt": None,
        "expires_at": expires_at,
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "transcription": None,
                "noise_reduction": None,
                "turn_detection": dict(SERVER_VAD_DEFAULTS),
            },
            "output": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "voice": "marin",
                "speed": 1.0,
            },
        },
        "include": None,
    }
    if overrides:
        session = merge_session(session, overrides)
    return session


def _fill_format(fmt: dict[str, Any]) -> dict[str, Any]:
    if fmt.get("type") == "audio/pcm":
        return {"type": "audio/pcm", "rate": 24000}
    return {"type": fmt["type"]}


def _fill_turn_detection(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    base = SERVER_VAD_DEFAULTS if value.get("type") == "server_vad" else SEMANTIC_VAD_DEFAULTS
    return {**base, **value}


def merge_session(current: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Apply a validated partial update; returns a new dict (``current`` is not modified)."""
    merged = copy.deepcopy(current)
    for key, value in update.items():
        if key in ("id", "object", "expires_at", "type"):
            continue
        if key != "audio":
            merged[key] = copy.deepcopy(value)
            continue
        audio = merged.setdefault("audio", {})
        for channel in ("input", "output"):
            if channel not in value:
                continue
            target = audio.setdefault(channel, {})
            for field, item in value[channel].items():
                if field == "format":
                    target[field] = _fill_format(item)
                elif field == "turn_detection":
                    target[field] = _fill_turn_detection(item)
                else:
                    target[field] = copy.deepcopy(item)
    return merged


_RESPONSE_AUDIO = s.obj({"output": s.obj({"format": _FORMAT, "voice": _voice})})


def _conversation(value: Any, path: str) -> Any:
    if not isinstance(value, str):
        raise errors.invalid_type(path, value, "a string")
    if value not in ("auto", "none"):
        raise errors.invalid_value(path, value, ["auto", "none"])
    return value


def response_schema(item_validator: s.Validator) -> s.Validator:
    """``response.create``'s ``response`` (per-response overrides)."""
    return s.obj(
        {
            "output_modalities": _modalities,
            "instructions": s.string(),
            "audio": _RESPONSE_AUDIO,
            "tools": TOOLS,
            "tool_choice": TOOL_CHOICE,
            "max_output_tokens": MAX_OUTPUT_TOKENS,
            "prompt": PROMPT,
            "metadata": s.nullable(s.string_map(max_items=16, max_value=512)),
            "conversation": _conversation,
            "input": s.list_of(item_validator),
        }
    )
