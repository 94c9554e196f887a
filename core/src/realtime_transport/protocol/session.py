"""Session configuration models (GA shape, snake_case), usable as input to the payload builder.

``SessionConfig`` is what users build; ``SessionResource`` is what the server sends back in
``session.created`` / ``session.updated``; ``SessionUpdatePayload`` is the ``session`` of a
client ``session.update`` (``type`` required, as the server requires it). Enum-like fields are
plain strings so values the server adds later still parse.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Tag, model_validator

from ..config import UNSET, normalize_audio_format, normalize_turn_detection
from ._base import RealtimeModel

__all__ = [
    "AudioConfig",
    "AudioFormat",
    "AudioInputConfig",
    "AudioOutputConfig",
    "FunctionToolDefinition",
    "GenericToolDefinition",
    "InputAudioTranscription",
    "McpApprovalFilter",
    "McpToolDefinition",
    "McpToolFilter",
    "NoiseReduction",
    "Prompt",
    "Reasoning",
    "SessionConfig",
    "SessionResource",
    "SessionUpdatePayload",
    "TokenLimits",
    "ToolChoice",
    "ToolChoiceFunction",
    "ToolChoiceMcp",
    "ToolDefinition",
    "Tracing",
    "Truncation",
    "TruncationRetentionRatio",
    "TurnDetection",
    "Voice",
    "VoiceId",
]


class AudioFormat(RealtimeModel):
    """``{type: "audio/pcm", rate: 24000}`` | ``{type: "audio/pcmu"}`` | ``{type: "audio/pcma"}``.

    Legacy strings (``"pcm16"``, ``"g711_ulaw"``, ``"g711_alaw"``) are accepted on input and
    converted; unknown types are kept as given.
    """

    type: str | None = None
    rate: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, data: Any) -> Any:
        if isinstance(data, str):
            return normalize_audio_format(data) or {}
        return data


class NoiseReduction(RealtimeModel):
    """``{type: "near_field" | "far_field", strength?}``; ``None`` in the config turns it off."""

    type: str | None = None
    strength: float | None = None


class InputAudioTranscription(RealtimeModel):
    """Input transcription (``model``: ``gpt-4o-mini-transcribe``, ``whisper-1``…)."""

    model: str | None = None
    language: str | None = None
    languages: list[str] | None = None
    prompt: str | None = None
    keywords: list[str] | None = None
    delay: str | None = None


class TurnDetection(RealtimeModel):
    """``server_vad`` (threshold, padding, silence, idle timeout) or ``semantic_vad`` (eagerness).

    camelCase keys (``silenceDurationMs``…) are accepted on input and stored snake_case.
    """

    type: str | None = None
    threshold: float | None = None
    prefix_padding_ms: int | None = None
    silence_duration_ms: int | None = None
    idle_timeout_ms: int | None = None
    eagerness: str | None = None
    create_response: bool | None = None
    interrupt_response: bool | None = None
    model_version: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _camel_case(cls, data: Any) -> Any:
        if isinstance(data, dict):
            converted = normalize_turn_detection(data)
            return {} if converted is UNSET else converted
        return data


class VoiceId(RealtimeModel):
    """A custom voice: ``{"id": "voice_…"}``."""

    id: str


Voice = str | VoiceId


class AudioInputConfig(RealtimeModel):
    format: AudioFormat | None = None
    noise_reduction: NoiseReduction | None = None
    transcription: InputAudioTranscription | None = None
    turn_detection: TurnDetection | None = None


class AudioOutputConfig(RealtimeModel):
    format: AudioFormat | None = None
    voice: Voice | None = None
    speed: float | None = None


class AudioConfig(RealtimeModel):
    input: AudioInputConfig | None = None
    output: AudioOutputConfig | None = None


class Tracing(RealtimeModel):
    """A named trace; the other choices are ``"auto"`` and ``None`` (off)."""

    workflow_name: str | None = None
    group_id: str | None = None
    metadata: Any = None


class Prompt(RealtimeModel):
    """A stored prompt: ``{id, version?, variables?}``; ``prompt_id`` / ``promptId`` work too."""

    id: str
    version: str | None = None
    variables: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _prompt_id(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"id": data}
        if isinstance(data, dict) and "id" not in data:
            for key in ("prompt_id", "promptId"):
                if key in data:
                    data = dict(data)
                    data["id"] = data.pop(key)
                    break
        return data


class Reasoning(RealtimeModel):
    """``{effort: minimal | low | medium | high | xhigh}`` (reasoning models only)."""

    effort: str | None = None


class FunctionToolDefinition(RealtimeModel):
    """A function the model may call: ``{type: "function", name, description, parameters}``."""

    type: Literal["function"] = "function"
    name: str | None = None
    description: str | None = None
    parameters: dict[str, Any] | None = None


class McpToolFilter(RealtimeModel):
    tool_names: list[str] | None = None
    read_only: bool | None = None


class McpApprovalFilter(RealtimeModel):
    always: McpToolFilter | None = None
    never: McpToolFilter | None = None


class McpToolDefinition(RealtimeModel):
    """A hosted (remote) MCP server: one of ``server_url``, ``connector_id``, ``tunnel_id``."""

    type: Literal["mcp"] = "mcp"
    server_label: str
    server_url: str | None = None
    server_description: str | None = None
    connector_id: str | None = None
    tunnel_id: str | None = None
    authorization: str | None = None
    headers: dict[str, str] | None = None
    allowed_tools: list[str] | McpToolFilter | None = None
    require_approval: Literal["always", "never"] | McpApprovalFilter | None = None


class GenericToolDefinition(RealtimeModel):
    """A tool of a type this library does not model (kept as given)."""

    type: str


def _tool_kind(value: Any) -> str:
    kind = value.get("type", "function") if isinstance(value, dict) else getattr(value, "type", "")
    return kind if kind in ("function", "mcp") else "other"


ToolDefinition = Annotated[
    Annotated[FunctionToolDefinition, Tag("function")]
    | Annotated[McpToolDefinition, Tag("mcp")]
    | Annotated[GenericToolDefinition, Tag("other")],
    Discriminator(_tool_kind),
]


class ToolChoiceFunction(RealtimeModel):
    type: Literal["function"]
    name: str


class ToolChoiceMcp(RealtimeModel):
    type: Literal["mcp"]
    server_label: str
    name: str | None = None


#: ``"auto" | "none" | "required"`` or a forced function / MCP tool.
ToolChoice = str | ToolChoiceFunction | ToolChoiceMcp


class TokenLimits(RealtimeModel):
    post_instructions: int | None = None


class TruncationRetentionRatio(RealtimeModel):
    type: Literal["retention_ratio"]
    retention_ratio: float
    token_limits: TokenLimits | None = None


#: ``"auto" | "disabled"`` or a retention ratio.
Truncation = str | TruncationRetentionRatio


class _SessionFields(RealtimeModel):
    """Fields shared by the config, the client update and the server echo."""

    model: str | None = None
    instructions: str | None = None
    output_modalities: list[str] | None = None
    audio: AudioConfig | None = None
    tools: list[ToolDefinition] | None = None
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    reasoning: Reasoning | None = None
    prompt: Prompt | None = None
    max_output_tokens: int | Literal["inf"] | None = None
    truncation: Truncation | None = None
    include: list[str] | None = None
    tracing: Literal["auto"] | Tracing | None = None


class SessionConfig(_SessionFields):
    """The session config users write (GA shape, snake_case).

    Pass it (or the same thing as a plain dict) to ``build_session_payload``/transports. Only
    the fields you set are sent; ``None`` is sent as ``null``. ``voice`` at the top level is a
    shortcut for ``audio.output.voice``; ``provider_data`` keys are merged into the payload as
    they are. Legacy or camelCase keys given here are kept as extra fields and converted (or
    rejected with a clear error) by the payload builder.
    """

    voice: Voice | None = None
    provider_data: dict[str, Any] | None = None


class SessionUpdatePayload(_SessionFields):
    """The ``session`` of a client ``session.update``: ``type`` is required on every update."""

    type: Literal["realtime", "transcription"]


class SessionResource(_SessionFields):
    """A session as the server reports it (``session.created`` / ``session.updated``)."""

    type: str | None = None
    id: str | None = None
    object: str | None = None
    expires_at: int | None = None
