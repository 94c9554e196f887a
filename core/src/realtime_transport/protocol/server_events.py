"""GA server events (protocols §1.5): one model per type, the union, and a tolerant parser.

Required fields follow the official schema for what identifies an event (ids, indexes, the
payload itself); ``event_id`` and auxiliary data (usage, logprobs) are optional so third-party
servers that omit them still parse. Unknown event types become :class:`UnknownServerEvent`;
unknown fields are kept on every model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Field

from ._event import EventModel
from .items import (
    ContentPart,
    ConversationItem,
    ConversationRef,
    ErrorDetail,
    LogProb,
    RateLimit,
    RealtimeResponse,
    TranscriptionUsage,
)
from .session import SessionResource

__all__ = [
    "SERVER_EVENT_TYPES",
    "ConversationCreatedEvent",
    "ConversationItemAddedEvent",
    "ConversationItemCreatedEvent",
    "ConversationItemDeletedEvent",
    "ConversationItemDoneEvent",
    "ConversationItemInputAudioTranscriptionCompletedEvent",
    "ConversationItemInputAudioTranscriptionDeltaEvent",
    "ConversationItemInputAudioTranscriptionFailedEvent",
    "ConversationItemInputAudioTranscriptionSegmentEvent",
    "ConversationItemRetrievedEvent",
    "ConversationItemTruncatedEvent",
    "InputAudioBufferClearedEvent",
    "InputAudioBufferCommittedEvent",
    "InputAudioBufferDtmfEventReceivedEvent",
    "InputAudioBufferSpeechStartedEvent",
    "InputAudioBufferSpeechStoppedEvent",
    "InputAudioBufferTimeoutTriggeredEvent",
    "McpListToolsCompletedEvent",
    "McpListToolsFailedEvent",
    "McpListToolsInProgressEvent",
    "OutputAudioBufferClearedEvent",
    "OutputAudioBufferStartedEvent",
    "OutputAudioBufferStoppedEvent",
    "RateLimitsUpdatedEvent",
    "RealtimeErrorEvent",
    "ResponseContentPartAddedEvent",
    "ResponseContentPartDoneEvent",
    "ResponseCreatedEvent",
    "ResponseDoneEvent",
    "ResponseFunctionCallArgumentsDeltaEvent",
    "ResponseFunctionCallArgumentsDoneEvent",
    "ResponseMcpCallArgumentsDeltaEvent",
    "ResponseMcpCallArgumentsDoneEvent",
    "ResponseMcpCallCompletedEvent",
    "ResponseMcpCallFailedEvent",
    "ResponseMcpCallInProgressEvent",
    "ResponseOutputAudioDeltaEvent",
    "ResponseOutputAudioDoneEvent",
    "ResponseOutputAudioTranscriptDeltaEvent",
    "ResponseOutputAudioTranscriptDoneEvent",
    "ResponseOutputItemAddedEvent",
    "ResponseOutputItemDoneEvent",
    "ResponseOutputTextDeltaEvent",
    "ResponseOutputTextDoneEvent",
    "ServerEvent",
    "ServerEventModel",
    "SessionCreatedEvent",
    "SessionUpdatedEvent",
    "UnknownServerEvent",
    "parse_server_event",
    "server_event_model",
]


class ServerEventModel(EventModel):
    """Base of every server event model."""

    type: str
    event_id: str | None = None


# --- session ---------------------------------------------------------------------------------


class SessionCreatedEvent(ServerEventModel):
    """First event after connect: the session with the server's defaults."""

    type: Literal["session.created"] = "session.created"
    session: SessionResource


class SessionUpdatedEvent(ServerEventModel):
    """Answer to ``session.update``: the full effective config."""

    type: Literal["session.updated"] = "session.updated"
    session: SessionResource


class ConversationCreatedEvent(ServerEventModel):
    type: Literal["conversation.created"] = "conversation.created"
    conversation: ConversationRef


# --- conversation items ----------------------------------------------------------------------


class ConversationItemAddedEvent(ServerEventModel):
    """An item entered the conversation (no audio bytes; model items start empty)."""

    type: Literal["conversation.item.added"] = "conversation.item.added"
    item: ConversationItem
    previous_item_id: str | None = None


class ConversationItemDoneEvent(ServerEventModel):
    """An item is final (no audio bytes)."""

    type: Literal["conversation.item.done"] = "conversation.item.done"
    item: ConversationItem
    previous_item_id: str | None = None


class ConversationItemCreatedEvent(ServerEventModel):
    """Beta-era name still in the GA union; accepted like ``conversation.item.added``."""

    type: Literal["conversation.item.created"] = "conversation.item.created"
    item: ConversationItem
    previous_item_id: str | None = None


class ConversationItemRetrievedEvent(ServerEventModel):
    """Answer to ``conversation.item.retrieve`` (with audio)."""

    type: Literal["conversation.item.retrieved"] = "conversation.item.retrieved"
    item: ConversationItem


class ConversationItemTruncatedEvent(ServerEventModel):
    type: Literal["conversation.item.truncated"] = "conversation.item.truncated"
    item_id: str
    content_index: int
    audio_end_ms: int


class ConversationItemDeletedEvent(ServerEventModel):
    type: Literal["conversation.item.deleted"] = "conversation.item.deleted"
    item_id: str


# --- input transcription ---------------------------------------------------------------------


class ConversationItemInputAudioTranscriptionDeltaEvent(ServerEventModel):
    type: Literal["conversation.item.input_audio_transcription.delta"] = (
        "conversation.item.input_audio_transcription.delta"
    )
    item_id: str
    content_index: int | None = None
    delta: str | None = None
    logprobs: list[LogProb] | None = None


class ConversationItemInputAudioTranscriptionCompletedEvent(ServerEventModel):
    type: Literal["conversation.item.input_audio_transcription.completed"] = (
        "conversation.item.input_audio_transcription.completed"
    )
    item_id: str
    content_index: int
    transcript: str
    usage: TranscriptionUsage | None = None
    logprobs: list[LogProb] | None = None


class ConversationItemInputAudioTranscriptionFailedEvent(ServerEventModel):
    type: Literal["conversation.item.input_audio_transcription.failed"] = (
        "conversation.item.input_audio_transcription.failed"
    )
    item_id: str
    content_index: int
    error: ErrorDetail


class ConversationItemInputAudioTranscriptionSegmentEvent(ServerEventModel):
    """A diarized transcript segment."""

    type: Literal["conversation.item.input_audio_transcription.segment"] = (
        "conversation.item.input_audio_transcription.segment"
    )
    item_id: str
    content_index: int
    id: str
    text: str
    speaker: str
    start: float
    end: float


# --- input audio buffer ----------------------------------------------------------------------


class InputAudioBufferSpeechStartedEvent(ServerEventModel):
    """VAD heard speech; ``audio_start_ms`` is the session audio offset (incl. prefix padding)."""

    type: Literal["input_audio_buffer.speech_started"] = "input_audio_buffer.speech_started"
    item_id: str
    audio_start_ms: int


class InputAudioBufferSpeechStoppedEvent(ServerEventModel):
    type: Literal["input_audio_buffer.speech_stopped"] = "input_audio_buffer.speech_stopped"
    item_id: str
    audio_end_ms: int


class InputAudioBufferCommittedEvent(ServerEventModel):
    type: Literal["input_audio_buffer.committed"] = "input_audio_buffer.committed"
    item_id: str
    previous_item_id: str | None = None


class InputAudioBufferClearedEvent(ServerEventModel):
    type: Literal["input_audio_buffer.cleared"] = "input_audio_buffer.cleared"


class InputAudioBufferTimeoutTriggeredEvent(ServerEventModel):
    """The idle timeout fired (server VAD ``idle_timeout_ms``)."""

    type: Literal["input_audio_buffer.timeout_triggered"] = "input_audio_buffer.timeout_triggered"
    item_id: str
    audio_start_ms: int
    audio_end_ms: int


class InputAudioBufferDtmfEventReceivedEvent(ServerEventModel):
    """A DTMF key (``0-9*#A-D``) on a SIP call; ``received_at`` in unix seconds."""

    type: Literal["input_audio_buffer.dtmf_event_received"] = (
        "input_audio_buffer.dtmf_event_received"
    )
    event: str
    received_at: int


# --- output audio buffer (WebRTC/SIP) --------------------------------------------------------


class OutputAudioBufferStartedEvent(ServerEventModel):
    type: Literal["output_audio_buffer.started"] = "output_audio_buffer.started"
    response_id: str


class OutputAudioBufferStoppedEvent(ServerEventModel):
    type: Literal["output_audio_buffer.stopped"] = "output_audio_buffer.stopped"
    response_id: str


class OutputAudioBufferClearedEvent(ServerEventModel):
    type: Literal["output_audio_buffer.cleared"] = "output_audio_buffer.cleared"
    response_id: str


# --- responses -------------------------------------------------------------------------------


class ResponseCreatedEvent(ServerEventModel):
    type: Literal["response.created"] = "response.created"
    response: RealtimeResponse


class ResponseDoneEvent(ServerEventModel):
    """The response ended (any status); carries all output items and ``usage``."""

    type: Literal["response.done"] = "response.done"
    response: RealtimeResponse


class ResponseOutputItemAddedEvent(ServerEventModel):
    type: Literal["response.output_item.added"] = "response.output_item.added"
    response_id: str
    output_index: int
    item: ConversationItem


class ResponseOutputItemDoneEvent(ServerEventModel):
    type: Literal["response.output_item.done"] = "response.output_item.done"
    response_id: str
    output_index: int
    item: ConversationItem


class _PartEvent(ServerEventModel):
    response_id: str
    item_id: str
    output_index: int
    content_index: int


class ResponseContentPartAddedEvent(_PartEvent):
    type: Literal["response.content_part.added"] = "response.content_part.added"
    part: ContentPart


class ResponseContentPartDoneEvent(_PartEvent):
    type: Literal["response.content_part.done"] = "response.content_part.done"
    part: ContentPart


class ResponseOutputTextDeltaEvent(_PartEvent):
    type: Literal["response.output_text.delta"] = "response.output_text.delta"
    delta: str


class ResponseOutputTextDoneEvent(_PartEvent):
    type: Literal["response.output_text.done"] = "response.output_text.done"
    text: str


class ResponseOutputAudioDeltaEvent(_PartEvent):
    """A chunk of model audio: base64 in the session's output format."""

    type: Literal["response.output_audio.delta"] = "response.output_audio.delta"
    delta: str


class ResponseOutputAudioDoneEvent(_PartEvent):
    type: Literal["response.output_audio.done"] = "response.output_audio.done"


class ResponseOutputAudioTranscriptDeltaEvent(_PartEvent):
    type: Literal["response.output_audio_transcript.delta"] = (
        "response.output_audio_transcript.delta"
    )
    delta: str


class ResponseOutputAudioTranscriptDoneEvent(_PartEvent):
    type: Literal["response.output_audio_transcript.done"] = "response.output_audio_transcript.done"
    transcript: str


class ResponseFunctionCallArgumentsDeltaEvent(ServerEventModel):
    type: Literal["response.function_call_arguments.delta"] = (
        "response.function_call_arguments.delta"
    )
    response_id: str
    item_id: str
    output_index: int
    call_id: str
    delta: str


class ResponseFunctionCallArgumentsDoneEvent(ServerEventModel):
    type: Literal["response.function_call_arguments.done"] = "response.function_call_arguments.done"
    response_id: str
    item_id: str
    output_index: int
    call_id: str
    name: str | None = None
    arguments: str


# --- MCP (loosely typed) ---------------------------------------------------------------------


class McpListToolsInProgressEvent(ServerEventModel):
    type: Literal["mcp_list_tools.in_progress"] = "mcp_list_tools.in_progress"
    item_id: str


class McpListToolsCompletedEvent(ServerEventModel):
    type: Literal["mcp_list_tools.completed"] = "mcp_list_tools.completed"
    item_id: str


class McpListToolsFailedEvent(ServerEventModel):
    type: Literal["mcp_list_tools.failed"] = "mcp_list_tools.failed"
    item_id: str


class ResponseMcpCallArgumentsDeltaEvent(ServerEventModel):
    type: Literal["response.mcp_call_arguments.delta"] = "response.mcp_call_arguments.delta"
    item_id: str
    response_id: str | None = None
    output_index: int | None = None
    delta: str


class ResponseMcpCallArgumentsDoneEvent(ServerEventModel):
    type: Literal["response.mcp_call_arguments.done"] = "response.mcp_call_arguments.done"
    item_id: str
    response_id: str | None = None
    output_index: int | None = None
    arguments: str


class ResponseMcpCallInProgressEvent(ServerEventModel):
    type: Literal["response.mcp_call.in_progress"] = "response.mcp_call.in_progress"
    item_id: str
    output_index: int | None = None


class ResponseMcpCallCompletedEvent(ServerEventModel):
    type: Literal["response.mcp_call.completed"] = "response.mcp_call.completed"
    item_id: str
    output_index: int | None = None


class ResponseMcpCallFailedEvent(ServerEventModel):
    type: Literal["response.mcp_call.failed"] = "response.mcp_call.failed"
    item_id: str
    output_index: int | None = None


# --- misc ------------------------------------------------------------------------------------


class RateLimitsUpdatedEvent(ServerEventModel):
    type: Literal["rate_limits.updated"] = "rate_limits.updated"
    rate_limits: list[RateLimit]


class RealtimeErrorEvent(ServerEventModel):
    """``error``: most are recoverable (the socket stays open). ``error.event_id`` may name the
    failing client event, but servers have sent ``null`` there too."""

    type: Literal["error"] = "error"
    error: ErrorDetail


class UnknownServerEvent(ServerEventModel):
    """A server event of a type this library does not model: ``type`` plus every field as is."""


_SERVER_EVENT_MODELS: dict[str, type[ServerEventModel]] = {
    model.model_fields["type"].default: model
    for model in (
        SessionCreatedEvent,
        SessionUpdatedEvent,
        ConversationCreatedEvent,
        ConversationItemAddedEvent,
        ConversationItemDoneEvent,
        ConversationItemCreatedEvent,
        ConversationItemRetrievedEvent,
        ConversationItemTruncatedEvent,
        ConversationItemDeletedEvent,
        ConversationItemInputAudioTranscriptionDeltaEvent,
        ConversationItemInputAudioTranscriptionCompletedEvent,
        ConversationItemInputAudioTranscriptionFailedEvent,
        ConversationItemInputAudioTranscriptionSegmentEvent,
        InputAudioBufferSpeechStartedEvent,
        InputAudioBufferSpeechStoppedEvent,
        InputAudioBufferCommittedEvent,
        InputAudioBufferClearedEvent,
        InputAudioBufferTimeoutTriggeredEvent,
        InputAudioBufferDtmfEventReceivedEvent,
        OutputAudioBufferStartedEvent,
        OutputAudioBufferStoppedEvent,
        OutputAudioBufferClearedEvent,
        ResponseCreatedEvent,
        ResponseDoneEvent,
        ResponseOutputItemAddedEvent,
        ResponseOutputItemDoneEvent,
        ResponseContentPartAddedEvent,
        ResponseContentPartDoneEvent,
        ResponseOutputTextDeltaEvent,
        ResponseOutputTextDoneEvent,
        ResponseOutputAudioDeltaEvent,
        ResponseOutputAudioDoneEvent,
        ResponseOutputAudioTranscriptDeltaEvent,
        ResponseOutputAudioTranscriptDoneEvent,
        ResponseFunctionCallArgumentsDeltaEvent,
        ResponseFunctionCallArgumentsDoneEvent,
        McpListToolsInProgressEvent,
        McpListToolsCompletedEvent,
        McpListToolsFailedEvent,
        ResponseMcpCallArgumentsDeltaEvent,
        ResponseMcpCallArgumentsDoneEvent,
        ResponseMcpCallInProgressEvent,
        ResponseMcpCallCompletedEvent,
        ResponseMcpCallFailedEvent,
        RateLimitsUpdatedEvent,
        RealtimeErrorEvent,
    )
}

#: Every GA server event type modelled here (46, the official union).
SERVER_EVENT_TYPES: frozenset[str] = frozenset(_SERVER_EVENT_MODELS)

#: Any known GA server event (discriminated on ``type``), for ``TypeAdapter(ServerEvent)``.
ServerEvent = Annotated[
    SessionCreatedEvent
    | SessionUpdatedEvent
    | ConversationCreatedEvent
    | ConversationItemAddedEvent
    | ConversationItemDoneEvent
    | ConversationItemCreatedEvent
    | ConversationItemRetrievedEvent
    | ConversationItemTruncatedEvent
    | ConversationItemDeletedEvent
    | ConversationItemInputAudioTranscriptionDeltaEvent
    | ConversationItemInputAudioTranscriptionCompletedEvent
    | ConversationItemInputAudioTranscriptionFailedEvent
    | ConversationItemInputAudioTranscriptionSegmentEvent
    | InputAudioBufferSpeechStartedEvent
    | InputAudioBufferSpeechStoppedEvent
    | InputAudioBufferCommittedEvent
    | InputAudioBufferClearedEvent
    | InputAudioBufferTimeoutTriggeredEvent
    | InputAudioBufferDtmfEventReceivedEvent
    | OutputAudioBufferStartedEvent
    | OutputAudioBufferStoppedEvent
    | OutputAudioBufferClearedEvent
    | ResponseCreatedEvent
    | ResponseDoneEvent
    | ResponseOutputItemAddedEvent
    | ResponseOutputItemDoneEvent
    | ResponseContentPartAddedEvent
    | ResponseContentPartDoneEvent
    | ResponseOutputTextDeltaEvent
    | ResponseOutputTextDoneEvent
    | ResponseOutputAudioDeltaEvent
    | ResponseOutputAudioDoneEvent
    | ResponseOutputAudioTranscriptDeltaEvent
    | ResponseOutputAudioTranscriptDoneEvent
    | ResponseFunctionCallArgumentsDeltaEvent
    | ResponseFunctionCallArgumentsDoneEvent
    | McpListToolsInProgressEvent
    | McpListToolsCompletedEvent
    | McpListToolsFailedEvent
    | ResponseMcpCallArgumentsDeltaEvent
    | ResponseMcpCallArgumentsDoneEvent
    | ResponseMcpCallInProgressEvent
    | ResponseMcpCallCompletedEvent
    | ResponseMcpCallFailedEvent
    | RateLimitsUpdatedEvent
    | RealtimeErrorEvent,
    Field(discriminator="type"),
]


def server_event_model(event_type: str) -> type[ServerEventModel]:
    """The model class for a server event type (:class:`UnknownServerEvent` if not modelled)."""
    return _SERVER_EVENT_MODELS.get(event_type, UnknownServerEvent)


def parse_server_event(event: Mapping[str, Any]) -> ServerEventModel:
    """Parse one server event (a decoded JSON object) into its typed model.

    Unknown types (including beta names such as ``response.audio.delta``) give an
    :class:`UnknownServerEvent` carrying ``type`` and every field. A known type with missing or
    mistyped fields, and an object without a string ``type``, raise
    ``pydantic.ValidationError``: the caller reports it and keeps the raw message (it already
    went to ``*``). Unknown fields are kept on every model.
    """
    kind = event.get("type") if isinstance(event, Mapping) else None
    model = _SERVER_EVENT_MODELS.get(kind, UnknownServerEvent) if isinstance(kind, str) else None
    return (model or UnknownServerEvent).model_validate(event)
