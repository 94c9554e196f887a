"""Session config: snake_case Python config in, GA Realtime wire payload out.

Works on plain dicts and never imports pydantic (a thin client pays for neither pydantic nor the
models). Config objects that are pydantic models (``realtime_transport.protocol.SessionConfig``
and friends, or anyone else's) are accepted by duck typing: anything with
``model_dump(exclude_unset=True)`` is turned into a dict first, at any nesting level.

Unset vs ``None``: a key that is absent (or whose value is :data:`UNSET`) is *unset* and is
omitted from the wire (or filled with the SDK default); an explicit ``None`` is sent as ``null``
(for example ``turn_detection=None`` turns server VAD off, ``noise_reduction=None`` turns noise
reduction off, ``transcription=None`` turns input transcription off).
"""

from __future__ import annotations

import copy
import logging
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final, NamedTuple

from .errors import UserError

__all__ = [
    "DEFAULT_AUDIO_FORMAT",
    "DEFAULT_MODEL",
    "DEFAULT_SESSION_CONFIG",
    "DEFAULT_TRANSCRIPTION_MODEL",
    "UNSET",
    "TracingUpdate",
    "UnsetType",
    "build_session_payload",
    "build_tracing_update",
    "default_session_config",
    "interrupt_response_enabled",
    "normalize_audio_format",
    "normalize_tool",
    "normalize_tracing",
    "normalize_turn_detection",
    "session_input_format",
    "session_output_format",
    "to_ga_config",
]

logger = logging.getLogger("realtime_transport.config")


class UnsetType:
    """Type of :data:`UNSET`: "no value given", as opposed to ``None`` ("send null")."""

    _instance: UnsetType | None = None

    def __new__(cls) -> UnsetType:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False

    def __copy__(self) -> UnsetType:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> UnsetType:
        return self

    def __reduce__(self) -> str:
        return "UNSET"


#: Sentinel for "not given": keys holding it are treated exactly like absent keys.
UNSET: Final[UnsetType] = UnsetType()

DEFAULT_MODEL: Final = "gpt-realtime"
DEFAULT_TRANSCRIPTION_MODEL: Final = "gpt-4o-mini-transcribe"

#: PCM16, 24 kHz, mono, little-endian: the only PCM rate the Realtime API takes.
DEFAULT_AUDIO_FORMAT: Final[Mapping[str, Any]] = {"type": "audio/pcm", "rate": 24000}

_PCM_24K: Final = {"type": "audio/pcm", "rate": 24000}

_DEFAULTS: Final[dict[str, Any]] = {
    "output_modalities": ["audio"],
    "audio": {
        "input": {
            "format": dict(_PCM_24K),
            "noise_reduction": None,
            "transcription": {"model": DEFAULT_TRANSCRIPTION_MODEL},
            "turn_detection": {"type": "semantic_vad"},
        },
        "output": {"format": dict(_PCM_24K), "speed": 1.0},
    },
}

#: The JS SDK's defaults (reference §6.3) in the GA snake_case config shape. No voice (the
#: server picks one). Read-only by convention: payloads are built from a private copy, so
#: changing this dict changes nothing; use :func:`default_session_config` for a fresh copy.
DEFAULT_SESSION_CONFIG: Final[dict[str, Any]] = copy.deepcopy(_DEFAULTS)


def default_session_config() -> dict[str, Any]:
    """A fresh deep copy of the SDK defaults, safe to modify."""
    return copy.deepcopy(_DEFAULTS)


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------

_CAMEL_RE = re.compile(r"(?<=[a-z0-9])([A-Z])")


def _snake(key: str) -> str:
    return _CAMEL_RE.sub(r"_\1", key).lower()


def _is_set(value: Any) -> bool:
    return value is not UNSET


def _plain(value: Any) -> Any:
    """Pydantic-like models -> dicts (unset fields dropped); other values unchanged."""
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not isinstance(value, type):
        return dump(exclude_unset=True)
    return value


def _as_mapping(value: Any, where: str) -> Mapping[str, Any]:
    value = _plain(value)
    if not isinstance(value, Mapping):
        raise UserError(f"{where} must be a mapping (dict) or a config model, got {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    return type(value).__name__


def _deep_plain(value: Any) -> Any:
    """Copy a JSON-ish value, turning nested models into dicts and dropping UNSET entries."""
    value = _plain(value)
    if isinstance(value, Mapping):
        return {str(k): _deep_plain(v) for k, v in value.items() if _is_set(v)}
    if isinstance(value, (list, tuple)):
        return [_deep_plain(v) for v in value if _is_set(v)]
    return value


def _keys_in(
    data: Mapping[str, Any], valid: Sequence[str], where: str, *, passthrough: bool = False
) -> dict[str, Any]:
    """Map camelCase keys to snake_case, drop UNSET values, reject unknown keys (typos).

    Both spellings of one key in the same mapping is an error: which one was meant is unclear.
    With ``passthrough`` unknown keys are kept as given instead of rejected.
    """
    out: dict[str, Any] = {}
    spelled: dict[str, str] = {}
    unknown: list[str] = []
    for raw_key, value in data.items():
        if not isinstance(raw_key, str):
            raise UserError(f"{where}: keys must be strings, got {raw_key!r}")
        key = raw_key if raw_key in valid else _snake(raw_key)
        if key not in valid:
            if passthrough:
                key = raw_key
            else:
                unknown.append(raw_key)
                continue
        if key in spelled:
            raise UserError(
                f"{where}: both {spelled[key]!r} and {raw_key!r} are given; they are the same "
                f"setting ({key!r}), keep one"
            )
        spelled[key] = raw_key
        if _is_set(value):
            out[key] = value
    if unknown:
        hints = [_REMOVED_HINTS[_snake(k)] for k in unknown if _snake(k) in _REMOVED_HINTS]
        raise UserError(
            f"{where}: unknown key(s) {', '.join(repr(k) for k in unknown)}. "
            f"Valid keys: {', '.join(sorted(_shown_keys(valid, where)))}."
            + (" " + " ".join(hints) if hints else "")
            + (
                " Put provider-specific keys in 'provider_data' to send them as they are."
                if where == "session config"
                else ""
            )
        )
    return out


def _shown_keys(valid: Sequence[str], where: str) -> list[str]:
    if where != "session config":
        return list(valid)
    return [k for k in valid if k not in _SERVER_ECHO_KEYS]


_REMOVED_HINTS: Final = {
    "temperature": "'temperature' was removed from the GA Realtime API.",
    "input_audio_transcription_model": "Use audio.input.transcription={'model': ...}.",
}

# ---------------------------------------------------------------------------------------------
# Audio formats
# ---------------------------------------------------------------------------------------------

_FORMAT_STRINGS: Final[dict[str, dict[str, Any]]] = {
    "pcm16": _PCM_24K,
    "g711_ulaw": {"type": "audio/pcmu"},
    "g711_alaw": {"type": "audio/pcma"},
    # GA type names given as bare strings: accepted for convenience (the JS SDK turns them into
    # PCM, which would be a silent format change).
    "audio/pcm": _PCM_24K,
    "audio/pcmu": {"type": "audio/pcmu"},
    "audio/pcma": {"type": "audio/pcma"},
}


def normalize_audio_format(value: Any) -> dict[str, Any] | None:
    """Turn any accepted spelling of an audio format into the GA object, or ``None`` if empty.

    * legacy strings: ``"pcm16"`` -> ``{"type": "audio/pcm", "rate": 24000}``,
      ``"g711_ulaw"`` -> ``{"type": "audio/pcmu"}``, ``"g711_alaw"`` -> ``{"type": "audio/pcma"}``;
      the GA type names (``"audio/pcmu"``…) as bare strings work too;
    * ``{"type": "audio/pcm"}`` with a missing or non-finite ``rate`` -> PCM 24 kHz;
    * any other object is copied unchanged (unknown types are preserved for other providers);
    * ``None``, ``UNSET``, ``""`` or ``{}`` -> ``None`` (the caller applies its default).

    Differs from the JS SDK: an unknown *string* still becomes PCM 24 kHz (as in JS) but is also
    logged as a warning, because sending PCM to a peer that expects something else is the classic
    cause of noise on phone calls. Objects are copied rather than returned as the same object.
    """
    value = _plain(value)
    if value is None or value is UNSET or value == "":
        return None
    if isinstance(value, str):
        known = _FORMAT_STRINGS.get(value.strip().lower())
        if known is None:
            logger.warning(
                "unknown audio format %r: using PCM16 24 kHz (known: %s)",
                value,
                ", ".join(_FORMAT_STRINGS),
            )
            known = _PCM_24K
        return dict(known)
    if isinstance(value, Mapping):
        fmt = {str(k): v for k, v in value.items() if _is_set(v)}
        if not fmt:
            return None
        if fmt.get("type") == "audio/pcm":
            rate = fmt.get("rate")
            finite = (
                isinstance(rate, (int, float))
                and not isinstance(rate, bool)
                and math.isfinite(rate)
            )
            if not finite:
                fmt["rate"] = 24000
        return fmt
    raise UserError(
        f"audio format must be a string like 'pcm16'/'g711_ulaw' or an object like "
        f"{{'type': 'audio/pcmu'}}, got {_kind(value)}"
    )


# ---------------------------------------------------------------------------------------------
# Turn detection
# ---------------------------------------------------------------------------------------------

_TURN_DETECTION_FIELDS: Final[tuple[str, ...]] = (
    "type",
    "create_response",
    "eagerness",
    "interrupt_response",
    "prefix_padding_ms",
    "silence_duration_ms",
    "idle_timeout_ms",
    "model_version",
    "threshold",
)


def normalize_turn_detection(value: Any) -> dict[str, Any] | UnsetType | None:
    """Convert a turn-detection config (camelCase or snake_case keys) to the wire shape.

    Returns ``None`` for an explicit ``None`` (VAD off: the client commits and asks for responses
    itself) and :data:`UNSET` when there is nothing to send (``UNSET``, ``{}``, or only unset
    values), meaning "use the default" (semantic VAD). Per field camelCase wins when both
    spellings are present (JS behaviour); values that are ``UNSET`` are dropped; falsy values
    (``False``, ``0``) are kept; unknown keys are passed through.
    """
    value = _plain(value)
    if isinstance(value, UnsetType):
        return UNSET
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise UserError(
            f"turn_detection must be a mapping like {{'type': 'semantic_vad'}} or None, "
            f"got {_kind(value)}"
        )
    out: dict[str, Any] = {}
    camel_values: dict[str, Any] = {}
    for raw_key, item in value.items():
        key = str(raw_key)
        snake = _snake(key)
        if snake != key and snake in _TURN_DETECTION_FIELDS:
            camel_values[snake] = item
        else:
            out[key] = item
    for key, item in camel_values.items():
        if item is not UNSET and item is not None:
            out[key] = item
        else:
            out.setdefault(key, item)
    result = {k: v for k, v in out.items() if v is not UNSET}
    return result if result else UNSET


# ---------------------------------------------------------------------------------------------
# Tools
# ---------------------------------------------------------------------------------------------

_MCP_TOOL_KEYS: Final[tuple[str, ...]] = (
    "type",
    "server_label",
    "server_url",
    "server_description",
    "connector_id",
    "tunnel_id",
    "authorization",
    "headers",
    "allowed_tools",
    "require_approval",
)
_FUNCTION_TOOL_KEYS: Final[tuple[str, ...]] = ("type", "name", "description", "parameters")


def _normalize_require_approval(value: Any) -> Any:
    value = _plain(value)
    if value is None or isinstance(value, str):
        if isinstance(value, str) and value not in ("always", "never"):
            raise UserError(
                f"MCP require_approval must be 'always', 'never' or "
                f"{{'always': {{...}}, 'never': {{...}}}}, got {value!r}"
            )
        return value
    data = _keys_in(
        _as_mapping(value, "MCP require_approval"),
        ("always", "never"),
        "MCP require_approval",
    )
    out: dict[str, Any] = {}
    for key, flt in data.items():
        flt = _plain(flt)
        if flt is None:
            out[key] = None
            continue
        out[key] = _keys_in(
            _as_mapping(flt, f"MCP require_approval.{key}"),
            ("tool_names", "read_only"),
            f"MCP require_approval.{key}",
            passthrough=True,
        )
    return out


def normalize_tool(tool: Any) -> dict[str, Any]:
    """Whitelist one tool definition for the wire (reference §6.5).

    ``type: "mcp"`` keeps ``server_label, server_url, server_description, connector_id,
    tunnel_id, authorization, headers, allowed_tools, require_approval``; every other tool
    (function and handoff tools) keeps ``type, name, description, parameters`` only, so local
    extras (handlers, guardrails, ``strict``…) never reach the server. ``tunnel_id`` is kept
    although the JS SDK drops it: it is one of the three ways to address an MCP server.
    """
    data = _as_mapping(tool, "tool")
    kind = data.get("type", "function")
    if kind == "mcp":
        mcp = _keys_in(data, _MCP_TOOL_KEYS, "MCP tool", passthrough=True)
        if not mcp.get("server_label"):
            raise UserError("MCP tool needs a 'server_label'")
        out = {k: _deep_plain(mcp[k]) for k in _MCP_TOOL_KEYS if k in mcp}
        if "require_approval" in out:
            out["require_approval"] = _normalize_require_approval(out["require_approval"])
        return out
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise UserError(f"{kind} tool needs a non-empty string 'name', got {name!r}")
    out = {k: _deep_plain(data[k]) for k in _FUNCTION_TOOL_KEYS if k in data and _is_set(data[k])}
    out.setdefault("type", "function")
    return {k: out[k] for k in _FUNCTION_TOOL_KEYS if k in out}


def _normalize_tools(value: Any) -> list[dict[str, Any]] | None:
    if value is None:
        return None
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise UserError(f"tools must be a list of tool definitions, got {_kind(value)}")
    return [normalize_tool(t) for t in value]


# ---------------------------------------------------------------------------------------------
# Config normalisation
# ---------------------------------------------------------------------------------------------

_GA_KEYS: Final = ("output_modalities", "audio")
_LEGACY_KEYS: Final = {
    "modalities": "output_modalities",
    "input_audio_format": "audio.input.format",
    "output_audio_format": "audio.output.format",
    "input_audio_transcription": "audio.input.transcription",
    "turn_detection": "audio.input.turn_detection",
    "input_audio_noise_reduction": "audio.input.noise_reduction",
    "speed": "audio.output.speed",
    "max_response_output_tokens": "max_output_tokens",
}
_COMMON_KEYS: Final = (
    "model",
    "instructions",
    "voice",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "reasoning",
    "prompt",
    "max_output_tokens",
    "truncation",
    "include",
    "tracing",
    "provider_data",
)
# Keys a server session echo carries; ignored so `session.updated["session"]` can be fed back.
_SERVER_ECHO_KEYS: Final = ("type", "id", "object", "expires_at")
_CONFIG_KEYS: Final = (*_COMMON_KEYS, *_GA_KEYS, *_LEGACY_KEYS, *_SERVER_ECHO_KEYS)
_AUDIO_INPUT_KEYS: Final[tuple[str, ...]] = (
    "format",
    "noise_reduction",
    "transcription",
    "turn_detection",
)
_AUDIO_OUTPUT_KEYS: Final[tuple[str, ...]] = ("format", "voice", "speed")
_PROMPT_KEYS: Final = ("id", "prompt_id", "version", "variables")
_TRACING_KEYS: Final = ("workflow_name", "group_id", "metadata")


def _normalize_prompt(value: Any) -> Any:
    value = _plain(value)
    if value is None:
        return None
    if isinstance(value, str):
        return {"id": value}
    data = _keys_in(_as_mapping(value, "prompt"), _PROMPT_KEYS, "prompt")
    if "id" in data and "prompt_id" in data:
        raise UserError("prompt: both 'id' and 'prompt_id' are given; keep one")
    if "prompt_id" in data:
        data["id"] = data.pop("prompt_id")
    if not data.get("id"):
        raise UserError("prompt needs an 'id' (or 'prompt_id')")
    return {k: _deep_plain(data[k]) for k in ("id", "version", "variables") if k in data}


def normalize_tracing(value: Any) -> Any:
    """``"auto"``, ``None`` (off) or ``{workflow_name?, group_id?, metadata?}`` (camelCase ok)."""
    value = _plain(value)
    if value is UNSET or value is None or value == "auto":
        return value
    if isinstance(value, str):
        raise UserError(f"tracing must be 'auto', None or a mapping, got {value!r}")
    return _deep_plain(
        _keys_in(_as_mapping(value, "tracing"), _TRACING_KEYS, "tracing", passthrough=True)
    )


def _normalize_modalities(value: Any, key: str) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if not isinstance(value, Sequence) or any(not isinstance(m, str) for m in value):
        raise UserError(f"{key} must be a list like ['audio'] or ['text'], got {value!r}")
    return list(value)


def _channel(audio: Mapping[str, Any], name: str, keys: Sequence[str]) -> dict[str, Any]:
    raw = _plain(audio.get(name))
    if raw is None or raw is UNSET:
        return {}  # null channels are treated as absent (JS)
    return _keys_in(_as_mapping(raw, f"audio.{name}"), keys, f"audio.{name}")


def _normalize_input(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "format" in data:
        fmt = normalize_audio_format(data["format"])
        if fmt is not None:
            out["format"] = fmt
    # Shorthands: a bare string names the transcription model / the noise-reduction type.
    if "noise_reduction" in data:
        value = _deep_plain(data["noise_reduction"])
        out["noise_reduction"] = {"type": value} if isinstance(value, str) else value
    if "transcription" in data:
        value = _deep_plain(data["transcription"])
        out["transcription"] = {"model": value} if isinstance(value, str) else value
    if "turn_detection" in data:
        td = normalize_turn_detection(data["turn_detection"])
        if td is not UNSET:
            out["turn_detection"] = td
    return out


def _normalize_output(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "format" in data:
        fmt = normalize_audio_format(data["format"])
        if fmt is not None:
            out["format"] = fmt
    if "voice" in data:
        out["voice"] = _deep_plain(data["voice"])
    if "speed" in data:
        out["speed"] = data["speed"]
    return out


def to_ga_config(config: Any) -> dict[str, Any]:
    """Normalise a session config to the GA snake_case shape (still a config, not a payload).

    Accepts a dict or a config model; GA-shaped (``output_modalities``, ``audio.input.*``,
    ``audio.output.*``, top-level ``voice`` as compat) or legacy-shaped (``modalities``,
    ``input_audio_format``, ``output_audio_format``, ``input_audio_transcription``,
    ``turn_detection``, ``input_audio_noise_reduction``, ``speed``, ``voice``,
    ``max_response_output_tokens``); camelCase keys (``outputModalities``, ``turnDetection``,
    ``noiseReduction``…) are accepted for code ported from JS.

    Returns only what was set: ``{model?, instructions?, output_modalities?, audio?: {input?,
    output?}, tools?, tool_choice?, parallel_tool_calls?, reasoning?, prompt?,
    max_output_tokens?, truncation?, include?, tracing?, provider_data?}``, with formats and turn
    detection normalised and tools whitelisted. The result is a fixed point: feeding it back
    gives the same dict.

    Raises :class:`UserError` for unknown top-level keys (typo protection; provider-specific keys
    go in ``provider_data``, which is kept raw), and for a config that mixes legacy and GA keys
    (the JS SDK silently ignores the GA keys then).
    """
    if config is None or config is UNSET:
        return {}
    data = _keys_in(_as_mapping(config, "session config"), _CONFIG_KEYS, "session config")

    session_type = data.pop("type", "realtime")
    if session_type not in ("realtime", None):
        raise UserError(
            f"session config type {session_type!r} is not supported here: only 'realtime' "
            f"sessions are built by this function"
        )
    for key in ("id", "object", "expires_at"):
        data.pop(key, None)

    legacy = [k for k in _LEGACY_KEYS if k in data]
    ga = [k for k in _GA_KEYS if k in data]
    if legacy and ga:
        renames = ", ".join(f"{k} -> {_LEGACY_KEYS[k]}" for k in legacy)
        raise UserError(
            f"session config mixes legacy keys ({', '.join(legacy)}) with GA keys "
            f"({', '.join(ga)}); use one shape. GA names for the legacy keys: {renames}"
        )

    out: dict[str, Any] = {}
    for key in ("model", "instructions"):
        if key in data:
            out[key] = data[key]
    input_cfg: dict[str, Any] = {}
    output_cfg: dict[str, Any] = {}
    if legacy:
        if "modalities" in data:
            out["output_modalities"] = _normalize_modalities(data["modalities"], "modalities")
        for src, dst in (
            ("input_audio_format", "format"),
            ("input_audio_noise_reduction", "noise_reduction"),
            ("input_audio_transcription", "transcription"),
            ("turn_detection", "turn_detection"),
        ):
            if src in data:
                input_cfg[dst] = data[src]
        for src, dst in (("output_audio_format", "format"), ("speed", "speed")):
            if src in data:
                output_cfg[dst] = data[src]
        if "voice" in data:
            output_cfg["voice"] = data["voice"]
        if "max_response_output_tokens" in data:
            if "max_output_tokens" in data:
                raise UserError(
                    "session config: both 'max_response_output_tokens' (legacy) and "
                    "'max_output_tokens' are given; keep 'max_output_tokens'"
                )
            data["max_output_tokens"] = data["max_response_output_tokens"]
    else:
        if "output_modalities" in data:
            out["output_modalities"] = _normalize_modalities(
                data["output_modalities"], "output_modalities"
            )
        audio = _plain(data.get("audio"))
        if audio is not None and audio is not UNSET:
            audio = _keys_in(_as_mapping(audio, "audio"), ("input", "output"), "audio")
            input_cfg = _channel(audio, "input", _AUDIO_INPUT_KEYS)
            output_cfg = _channel(audio, "output", _AUDIO_OUTPUT_KEYS)
        if "voice" in data and "voice" not in output_cfg:
            output_cfg["voice"] = data["voice"]

    audio_out: dict[str, Any] = {}
    if input_cfg:
        normalized_input = _normalize_input(input_cfg)
        if normalized_input:
            audio_out["input"] = normalized_input
    if output_cfg:
        normalized_output = _normalize_output(output_cfg)
        if normalized_output:
            audio_out["output"] = normalized_output
    if audio_out:
        out["audio"] = audio_out

    if "tools" in data:
        out["tools"] = _normalize_tools(_plain(data["tools"]))
    for key in ("tool_choice", "parallel_tool_calls", "reasoning"):
        if key in data:
            out[key] = _deep_plain(data[key])
    if "prompt" in data:
        out["prompt"] = _normalize_prompt(data["prompt"])
    for key in ("max_output_tokens", "truncation", "include"):
        if key in data:
            out[key] = _deep_plain(data[key])
    if "tracing" in data:
        out["tracing"] = normalize_tracing(data["tracing"])
    if "provider_data" in data:
        provider = _plain(data["provider_data"])
        if provider is not None:
            out["provider_data"] = dict(_as_mapping(provider, "provider_data"))
    return out


# ---------------------------------------------------------------------------------------------
# session.update payload
# ---------------------------------------------------------------------------------------------


def build_session_payload(
    config: Any = None,
    *,
    model: str | None = None,
    defaults: bool = True,
    pinned_audio_format: Any = None,
) -> dict[str, Any]:
    """Build the ``session`` object of a ``session.update`` in the GA wire shape.

    ``config`` is anything :func:`to_ga_config` accepts. Keys, in order: ``type: "realtime"``,
    ``model`` (the config's, else the ``model`` argument, else omitted), ``instructions``,
    ``output_modalities``, ``audio.input.{format, noise_reduction, transcription,
    turn_detection}``, ``audio.output.{format, voice, speed}``, ``tools`` (whitelisted),
    ``tool_choice``, ``parallel_tool_calls``, ``reasoning``, ``prompt`` (``{id, version,
    variables}``), ``max_output_tokens``, ``truncation``, ``include``, then every key of
    ``provider_data`` merged in raw (overriding computed keys, as in JS).

    With ``defaults=True`` unset keys get the SDK defaults (:data:`DEFAULT_SESSION_CONFIG`);
    with ``defaults=False`` only what the config sets is sent (a partial update). Unset keys are
    omitted either way; an explicit ``None`` is sent as ``null``. ``pinned_audio_format`` (e.g.
    ``{"type": "audio/pcmu"}`` for Twilio) forces both the input and output format, so a handoff
    or a later update can never fall back to PCM; a conflicting configured format is logged.

    ``tracing`` is never part of this payload: it goes in its own update after
    ``session.created`` (:func:`build_tracing_update`), so repeated updates on handoff do not
    try to change it (the server refuses to modify tracing once set).

    Differences from the JS SDK, on purpose:

    * an explicitly empty ``tools=[]`` **is** sent, so a handoff to an agent without tools clears
      the previous agent's tools on the server (JS omits empty lists and the old tools stay);
    * ``provider_data`` may not override ``type`` (nor carry ``tracing``): a payload that is not
      ``type: "realtime"`` is rejected by the server with an unhelpful error;
    * the model is not filled from :data:`DEFAULT_MODEL`: the model is fixed at connect time and
      only sent when known.
    """
    ga = to_ga_config(config)
    payload: dict[str, Any] = {"type": "realtime"}

    chosen_model = ga.get("model")
    if chosen_model is None:
        chosen_model = model
    if chosen_model is not None:
        payload["model"] = chosen_model
    if "instructions" in ga:
        payload["instructions"] = ga["instructions"]
    if "output_modalities" in ga:
        payload["output_modalities"] = ga["output_modalities"]
    elif defaults:
        payload["output_modalities"] = list(_DEFAULTS["output_modalities"])

    audio = ga.get("audio", {})
    pinned = normalize_audio_format(pinned_audio_format)
    default_audio: dict[str, Any] = copy.deepcopy(_DEFAULTS["audio"]) if defaults else {}
    audio_payload: dict[str, Any] = {}
    for channel, keys in (("input", _AUDIO_INPUT_KEYS), ("output", _AUDIO_OUTPUT_KEYS)):
        given: dict[str, Any] = audio.get(channel, {})
        fallback: dict[str, Any] = default_audio.get(channel, {})
        merged: dict[str, Any] = {}
        for key in keys:
            if key in given:
                merged[key] = given[key]
            elif key in fallback:
                merged[key] = fallback[key]
        if pinned is not None:
            configured = given.get("format")
            if configured is not None and configured != pinned:
                logger.warning(
                    "audio.%s.format %r ignored: the transport pins %r",
                    channel,
                    configured,
                    pinned,
                )
            merged["format"] = dict(pinned)
            merged = {k: merged[k] for k in keys if k in merged}
        if merged:
            audio_payload[channel] = merged
    if audio_payload:
        payload["audio"] = audio_payload

    for key in (
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "reasoning",
        "prompt",
        "max_output_tokens",
        "truncation",
        "include",
    ):
        if key in ga:
            payload[key] = ga[key]

    provider = ga.get("provider_data")
    if provider:
        if "type" in provider and provider["type"] != "realtime":
            raise UserError(
                f"provider_data may not override the session type (got {provider['type']!r}); "
                f"session.update always carries type 'realtime'"
            )
        if "tracing" in provider:
            raise UserError(
                "provider_data may not carry 'tracing': tracing is sent once, separately, after "
                "session.created (set it as the config's 'tracing' instead)"
            )
        for key, value in provider.items():
            if _is_set(value):
                payload[str(key)] = _deep_plain(value)
    return payload


# ---------------------------------------------------------------------------------------------
# Tracing (reference §6.6)
# ---------------------------------------------------------------------------------------------


class TracingUpdate(NamedTuple):
    """What to do about tracing after ``session.created``: an event to send, and/or a warning."""

    event: dict[str, Any] | None
    warning: str | None


def _tracing_event(value: Any) -> dict[str, Any]:
    return {"type": "session.update", "session": {"type": "realtime", "tracing": value}}


def build_tracing_update(desired: Any, server_current: Any = None) -> TracingUpdate:
    """Decide the tracing ``session.update`` to send once the server reported its current value.

    ``desired`` is the configured tracing (``"auto"``, ``None`` = off, or a
    ``{workflow_name?, group_id?, metadata?}`` mapping; :data:`UNSET` means the default
    ``"auto"``). ``server_current`` is ``session.created["session"]["tracing"]`` (missing is
    treated as ``None``). Rules, in order (JS ``_updateTracingConfig``):

    1. desired ``"auto"`` -> send ``tracing: "auto"``;
    2. server already has an object config and desired is not a string -> send nothing; warn
       unless desired equals what the server has (JS warns even then, and would re-send it);
    3. desired ``None`` -> send ``tracing: null`` (off for the rest of the session);
    4. server value ``None`` or a string -> send the desired object.

    (JS has a fifth rule comparing fields when desired is a string other than ``"auto"``; such a
    value is rejected here with :class:`UserError`, so that rule cannot apply.)

    The caller sends ``event`` if it is not ``None`` and logs ``warning`` if it is not ``None``.
    """
    desired = normalize_tracing("auto" if desired is UNSET else desired)
    current = _plain(server_current)
    if not isinstance(current, (Mapping, str)):
        current = None  # missing (or anything unexpected) counts as "no tracing yet"
    if desired == "auto":
        return TracingUpdate(_tracing_event("auto"), None)
    if isinstance(current, Mapping):
        if isinstance(desired, Mapping) and _same_tracing(desired, current):
            return TracingUpdate(None, None)
        return TracingUpdate(
            None,
            "tracing is already configured on the server and cannot be changed for this "
            f"session; keeping {dict(current)!r} (wanted {desired!r}). This usually means "
            "tracing was set when the session or client secret was created.",
        )
    if desired is None:
        return TracingUpdate(_tracing_event(None), None)
    # The server has no tracing (null) or a string mode: the desired object can be set.
    return TracingUpdate(_tracing_event(desired), None)


def _same_tracing(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return all(a.get(k) == b.get(k) for k in _TRACING_KEYS)


# ---------------------------------------------------------------------------------------------
# Reading a server session back
# ---------------------------------------------------------------------------------------------


def _session_of(session: Any) -> Mapping[str, Any]:
    data = _plain(session)
    if not isinstance(data, Mapping):
        return {}
    inner = data.get("session")
    if isinstance(data.get("type"), str) and data["type"].startswith("session.") and inner:
        inner = _plain(inner)
        return inner if isinstance(inner, Mapping) else {}
    return data


def _channel_of(session: Any, channel: str) -> Mapping[str, Any]:
    audio = _plain(_session_of(session).get("audio"))
    if not isinstance(audio, Mapping):
        return {}
    value = _plain(audio.get(channel))
    return value if isinstance(value, Mapping) else {}


def session_input_format(session: Any) -> dict[str, Any] | None:
    """The input audio format of a server session (``session.created/updated`` or its
    ``session``), normalised; legacy ``input_audio_format`` is read too. ``None`` if absent."""
    fmt = _channel_of(session, "input").get("format")
    if fmt is None:
        fmt = _session_of(session).get("input_audio_format")
    return normalize_audio_format(fmt)


def session_output_format(session: Any) -> dict[str, Any] | None:
    """The output audio format of a server session, like :func:`session_input_format`."""
    fmt = _channel_of(session, "output").get("format")
    if fmt is None:
        fmt = _session_of(session).get("output_audio_format")
    return normalize_audio_format(fmt)


def interrupt_response_enabled(session: Any) -> bool:
    """Whether the server cancels the active response when the user starts speaking.

    ``False`` when turn detection is off (``null``) or ``interrupt_response`` is false; ``True``
    when it is on and the flag is true or absent (server default), and when the session says
    nothing about turn detection (the default config uses semantic VAD).
    """
    data = _session_of(session)
    input_cfg = _channel_of(data, "input")
    if "turn_detection" in input_cfg:
        td = input_cfg["turn_detection"]
    elif "turn_detection" in data:
        td = data["turn_detection"]
    else:
        return True
    normalized = normalize_turn_detection(td)
    if normalized is None:
        return False
    if normalized is UNSET:
        return True
    assert isinstance(normalized, dict)
    return normalized.get("interrupt_response") is not False
