"""The client events a session accepts, and their validation into the real API's errors.

Every client event is checked here before a handler sees it, so handlers can index fields
without re-checking them, and an unknown type, a missing field or a wrong type gets the same
``error`` event (message, ``param``) the live API sends.
"""

from __future__ import annotations

from typing import Any

from realtime_transport_emulator.session import errors
from realtime_transport_emulator.session import schema as s
from realtime_transport_emulator.session.config import response_schema
from realtime_transport_emulator.session.conversation import ITEM, RESPONSE_INPUT_ITEM

_EVENT_ID = s.string(max_length=512)
_BASE: dict[str, s.Validator] = {"type": s.anything(), "event_id": _EVENT_ID}
CLIENT_EVENTS: dict[str, s.Validator] = {
    "session.update": s.obj({**_BASE, "session": s.anything()}, required=("session",)),
    "input_audio_buffer.append": s.obj({**_BASE, "audio": s.string()}, required=("audio",)),
    "input_audio_buffer.commit": s.obj(_BASE),
    "input_audio_buffer.clear": s.obj(_BASE),
    "output_audio_buffer.clear": s.obj({**_BASE, "response_id": s.string()}),
    "conversation.item.create": s.obj(
        {**_BASE, "previous_item_id": s.nullable(s.string()), "item": ITEM}, required=("item",)
    ),
    "conversation.item.retrieve": s.obj({**_BASE, "item_id": s.string()}, required=("item_id",)),
    "conversation.item.truncate": s.obj(
        {
            **_BASE,
            "item_id": s.string(),
            "content_index": s.integer(0),
            "audio_end_ms": s.integer(0),
        },
        required=("item_id", "content_index", "audio_end_ms"),
    ),
    "conversation.item.delete": s.obj({**_BASE, "item_id": s.string()}, required=("item_id",)),
    "response.create": s.obj({**_BASE, "response": response_schema(RESPONSE_INPUT_ITEM)}),
    "response.cancel": s.obj({**_BASE, "response_id": s.string()}),
}


def event_id_of(event: Any) -> str | None:
    """The client's ``event_id`` (echoed in errors), if the event has a usable one."""
    event_id = event.get("event_id") if isinstance(event, dict) else None
    return event_id if isinstance(event_id, str) else None


def parse_client_event(event: Any) -> tuple[str, dict[str, Any]]:
    """``(type, checked event)``; raises :class:`~.errors.ProtocolError` as the API would."""
    if not isinstance(event, dict):
        raise errors.ProtocolError(
            "Client events must be JSON objects with a 'type'.", code="invalid_value"
        )
    kind = event.get("type")
    if kind is None:
        raise errors.missing("type")
    if not isinstance(kind, str):
        raise errors.invalid_type("type", kind, "a string")
    validator = CLIENT_EVENTS.get(kind)
    if validator is None:
        raise errors.invalid_value("type", kind, list(CLIENT_EVENTS))
    checked: dict[str, Any] = validator(event, "")
    return kind, checked
