"""Client operations on conversation items: create, retrieve, delete and truncate.

:func:`build_item` turns a validated client item (``conversation.item.create`` or a
``response.create`` input) into an :class:`~.conversation.Item`: it fills in ids and status,
decodes input audio and asks the script what the user "said" in it. Truncation cuts an assistant
item's audio where the client says playback stopped, and forgets its transcript, as the real
server does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from realtime_transport_emulator.model.audio import bytes_for, duration_ms
from realtime_transport_emulator.session import errors
from realtime_transport_emulator.session.conversation import Item, decode_audio

if TYPE_CHECKING:
    from realtime_transport_emulator.session.session import RealtimeSession


def build_item(session: RealtimeSession, raw: dict[str, Any], param: str = "item") -> Item:
    """An item from a validated client item; ``param`` prefixes error paths."""
    item_id = raw.get("id") or session.ids.new("item")
    wire: dict[str, Any] = {"id": item_id, "object": "realtime.item", "type": raw["type"]}
    wire["status"] = "completed"
    item = Item(wire=wire)
    if raw["type"] == "message":
        wire["role"] = raw["role"]
        content = []
        for index, part in enumerate(raw["content"]):
            part = dict(part)
            if part["type"] == "output_audio":
                raise errors.ProtocolError(
                    "Assistant audio cannot be created by the client; "
                    "use an 'output_text' content part.",
                    code="invalid_value",
                    param=f"{param}.content[{index}].type",
                )
            if part["type"] == "input_audio":
                audio = decode_audio(part.pop("audio", ""), f"{param}.content[{index}].audio")
                item.audio[index] = bytearray(audio)
                item.audio_format[index] = session.input_format
                part.setdefault("transcript", None)
                if part["transcript"] is None:
                    item.heard = session.runner.next_transcript(
                        duration_ms(len(audio), session.input_format)
                    )
            content.append(part)
        wire["content"] = content
    else:
        for key, value in raw.items():
            if key not in ("id", "object", "type", "status"):
                wire[key] = value
        if raw["type"] == "function_call" and "call_id" not in wire:
            wire["call_id"] = session.ids.new("call")
    return item


async def announce(session: RealtimeSession, previous: str | None, item: Item) -> None:
    """``conversation.item.added`` then ``.done`` for an item that arrived complete."""
    await session.send("conversation.item.added", previous_item_id=previous, item=item.public())
    await session.send("conversation.item.done", previous_item_id=previous, item=item.public())


async def create(session: RealtimeSession, event: dict[str, Any]) -> None:
    item = build_item(session, event["item"])
    previous = session.conversation.insert(item, event.get("previous_item_id"))
    await announce(session, previous, item)


async def retrieve(session: RealtimeSession, event: dict[str, Any]) -> None:
    item = session.conversation.get(event["item_id"])
    await session.send("conversation.item.retrieved", item=item.with_audio())


async def delete(session: RealtimeSession, event: dict[str, Any]) -> None:
    item = session.conversation.delete(event["item_id"])
    await session.send("conversation.item.deleted", item_id=item.id)


async def truncate(session: RealtimeSession, event: dict[str, Any]) -> None:
    item = session.conversation.get(event["item_id"])
    index: int = event["content_index"]
    end_ms: int = event["audio_end_ms"]
    truncate_audio(item, index, end_ms)
    await session.send(
        "conversation.item.truncated",
        item_id=item.id,
        content_index=index,
        audio_end_ms=end_ms,
    )


def truncate_audio(item: Item, index: int, end_ms: int) -> None:
    """Cut assistant audio at ``end_ms``; only model output audio can be truncated."""
    content = item.wire.get("content") or []
    if (
        item.type != "message"
        or item.role != "assistant"
        or index >= len(content)
        or content[index].get("type") != "output_audio"
        or index not in item.audio
    ):
        raise errors.truncate_unsupported()
    available = int(item.audio_ms(index))
    if end_ms > available:
        raise errors.truncate_too_long(available, end_ms)
    fmt = item.audio_format[index]
    del item.audio[index][bytes_for(end_ms, fmt) :]
    content[index]["transcript"] = ""  # the model forgets what the user did not hear
