"""The 11 GA client events (protocols §1.4), their union, and validation for conformance checks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Field, StrictInt, ValidationError

from ..errors import UserError
from ._event import EventModel
from .beta import find_beta_fields
from .items import ClientConversationItem, ResponseCreateParams
from .session import SessionUpdatePayload

__all__ = [
    "CLIENT_EVENT_TYPES",
    "ClientEvent",
    "ClientEventModel",
    "ConversationItemCreateEvent",
    "ConversationItemDeleteEvent",
    "ConversationItemRetrieveEvent",
    "ConversationItemTruncateEvent",
    "InputAudioBufferAppendEvent",
    "InputAudioBufferClearEvent",
    "InputAudioBufferCommitEvent",
    "OutputAudioBufferClearEvent",
    "ResponseCancelEvent",
    "ResponseCreateEvent",
    "SessionUpdateEvent",
    "validate_client_event",
]


class ClientEventModel(EventModel):
    """Base of every client event model."""

    type: str
    event_id: str | None = None


class SessionUpdateEvent(ClientEventModel):
    """Update the session; ``session.type`` is required. Answered by ``session.updated``."""

    type: Literal["session.update"] = "session.update"
    session: SessionUpdatePayload


class InputAudioBufferAppendEvent(ClientEventModel):
    """Append base64 audio (session input format) to the input buffer. Never acknowledged."""

    type: Literal["input_audio_buffer.append"] = "input_audio_buffer.append"
    audio: str


class InputAudioBufferCommitEvent(ClientEventModel):
    type: Literal["input_audio_buffer.commit"] = "input_audio_buffer.commit"


class InputAudioBufferClearEvent(ClientEventModel):
    type: Literal["input_audio_buffer.clear"] = "input_audio_buffer.clear"


class OutputAudioBufferClearEvent(ClientEventModel):
    """Drop unplayed model audio (WebRTC/SIP only)."""

    type: Literal["output_audio_buffer.clear"] = "output_audio_buffer.clear"


class ConversationItemCreateEvent(ClientEventModel):
    """Add an item; ``previous_item_id="root"`` prepends, absent appends."""

    type: Literal["conversation.item.create"] = "conversation.item.create"
    item: ClientConversationItem
    previous_item_id: str | None = None


class ConversationItemRetrieveEvent(ClientEventModel):
    type: Literal["conversation.item.retrieve"] = "conversation.item.retrieve"
    item_id: str


class ConversationItemTruncateEvent(ClientEventModel):
    """Cut an assistant audio item at what the user heard. ``audio_end_ms`` must be an integer
    (a float such as ``1200.0`` is rejected: the JSON would carry ``1200.0``)."""

    type: Literal["conversation.item.truncate"] = "conversation.item.truncate"
    item_id: str
    content_index: Annotated[StrictInt, Field(ge=0)]
    audio_end_ms: Annotated[StrictInt, Field(ge=0)]


class ConversationItemDeleteEvent(ClientEventModel):
    type: Literal["conversation.item.delete"] = "conversation.item.delete"
    item_id: str


class ResponseCreateEvent(ClientEventModel):
    """Ask for a response, optionally with per-response overrides."""

    type: Literal["response.create"] = "response.create"
    response: ResponseCreateParams | None = None


class ResponseCancelEvent(ClientEventModel):
    """Cancel the active response (or ``response_id``)."""

    type: Literal["response.cancel"] = "response.cancel"
    response_id: str | None = None


_CLIENT_EVENT_MODELS: dict[str, type[ClientEventModel]] = {
    model.model_fields["type"].default: model
    for model in (
        SessionUpdateEvent,
        InputAudioBufferAppendEvent,
        InputAudioBufferCommitEvent,
        InputAudioBufferClearEvent,
        OutputAudioBufferClearEvent,
        ConversationItemCreateEvent,
        ConversationItemRetrieveEvent,
        ConversationItemTruncateEvent,
        ConversationItemDeleteEvent,
        ResponseCreateEvent,
        ResponseCancelEvent,
    )
}

#: The 11 GA client event types.
CLIENT_EVENT_TYPES: frozenset[str] = frozenset(_CLIENT_EVENT_MODELS)

#: Any GA client event (discriminated on ``type``), for ``TypeAdapter(ClientEvent)``.
ClientEvent = Annotated[
    SessionUpdateEvent
    | InputAudioBufferAppendEvent
    | InputAudioBufferCommitEvent
    | InputAudioBufferClearEvent
    | OutputAudioBufferClearEvent
    | ConversationItemCreateEvent
    | ConversationItemRetrieveEvent
    | ConversationItemTruncateEvent
    | ConversationItemDeleteEvent
    | ResponseCreateEvent
    | ResponseCancelEvent,
    Field(discriminator="type"),
]


def validate_client_event(event: Any, *, allow_beta: bool = False) -> ClientEventModel:
    """Validate one outgoing (or, in the emulator, incoming) client event against the GA schema.

    Returns the typed model. Raises :class:`~realtime_transport.errors.UserError` (a
    ``ValueError``) saying what is wrong: not an object, no/unknown ``type`` (listing the GA
    types), a missing or mistyped field, or - unless ``allow_beta`` - a beta-era field the GA
    server rejects (``session.modalities``…, see :func:`find_beta_fields`). The pydantic error,
    when there is one, is chained as ``__cause__``.
    """
    if not isinstance(event, Mapping):
        raise UserError(f"a client event must be a JSON object, got {type(event).__name__}")
    kind = event.get("type")
    model = _CLIENT_EVENT_MODELS.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise UserError(
            f"unknown client event type {kind!r}; GA client events are: "
            f"{', '.join(sorted(CLIENT_EVENT_TYPES))}"
        )
    if not allow_beta:
        beta = find_beta_fields(event)
        if beta:
            raise UserError(
                f"{kind}: beta-era field(s) not accepted by the GA Realtime API: {', '.join(beta)}"
            )
    try:
        return model.model_validate(dict(event))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(event)'}: {err['msg']}"
            for err in exc.errors(include_url=False)
        )
        raise UserError(f"invalid {kind} event: {problems}") from exc
