"""The conversation: ordered items, their audio, and validation of client-created items.

Items are kept in their GA wire shape without audio bytes (which is what ``conversation.item.added``
and ``.done`` show); audio is stored beside them per content index so ``conversation.item.retrieve``
can return it and ``conversation.item.truncate`` can check lengths against it.
"""

from __future__ import annotations

import base64
import binascii
import copy
from dataclasses import dataclass, field
from typing import Any

import pybase64

from realtime_transport_emulator.model.audio import WireFormat, duration_ms
from realtime_transport_emulator.session import errors
from realtime_transport_emulator.session import schema as s

MAX_AUDIO_BYTES = 15 * 1024 * 1024  # the API's limit per append / per item
MAX_ITEMS_WITH_AUDIO = 50  # older items keep their length but drop their audio bytes

_TYPE = s.anything()
_COMMON: dict[str, s.Validator] = {
    "type": _TYPE,
    "id": s.string(max_length=64),
    "object": s.enum("realtime.item"),
    "status": s.enum("completed", "incomplete", "in_progress"),
}
_INPUT_TEXT = s.obj({"type": _TYPE, "text": s.string()}, required=("text",))
_INPUT_AUDIO = s.obj(
    {"type": _TYPE, "audio": s.string(), "transcript": s.nullable(s.string())},
)
_INPUT_IMAGE = s.obj(
    {"type": _TYPE, "image_url": s.string(), "detail": s.enum("auto", "low", "high")},
    required=("image_url",),
)
_OUTPUT_TEXT = s.obj({"type": _TYPE, "text": s.string()}, required=("text",))
_OUTPUT_AUDIO = s.obj(
    {"type": _TYPE, "audio": s.string(), "transcript": s.nullable(s.string())},
)
_CONTENT_BY_ROLE: dict[str, s.Validator] = {
    "user": s.list_of(
        s.tagged(
            {"input_text": _INPUT_TEXT, "input_audio": _INPUT_AUDIO, "input_image": _INPUT_IMAGE}
        )
    ),
    "system": s.list_of(s.tagged({"input_text": _INPUT_TEXT})),
    "assistant": s.list_of(s.tagged({"output_text": _OUTPUT_TEXT, "output_audio": _OUTPUT_AUDIO})),
}
_MESSAGE_FIELDS = s.obj(
    {**_COMMON, "role": s.enum("user", "assistant", "system"), "content": s.anything()},
    required=("role", "content"),
)


def _message(value: Any, path: str) -> Any:
    checked = _MESSAGE_FIELDS(value, path)
    checked["content"] = _CONTENT_BY_ROLE[checked["role"]](checked["content"], f"{path}.content")
    return checked


_FUNCTION_CALL = s.obj(
    {**_COMMON, "name": s.string(), "arguments": s.string(), "call_id": s.string()},
    required=("name", "arguments"),
)
_FUNCTION_CALL_OUTPUT = s.obj(
    {**_COMMON, "call_id": s.string(), "output": s.string()},
    required=("call_id", "output"),
)
_MCP_APPROVAL_RESPONSE = s.obj(
    {
        **_COMMON,
        "approval_request_id": s.string(),
        "approve": s.boolean(),
        "reason": s.nullable(s.string()),
    },
    required=("approval_request_id", "approve"),
)
ITEM = s.tagged(
    {
        "message": _message,
        "function_call": _FUNCTION_CALL,
        "function_call_output": _FUNCTION_CALL_OUTPUT,
        "mcp_approval_response": _MCP_APPROVAL_RESPONSE,
    }
)
RESPONSE_INPUT_ITEM = s.tagged(
    {
        "message": _message,
        "function_call": _FUNCTION_CALL,
        "function_call_output": _FUNCTION_CALL_OUTPUT,
        "mcp_approval_response": _MCP_APPROVAL_RESPONSE,
        "item_reference": s.obj({"type": _TYPE, "id": s.string()}, required=("id",)),
    }
)


def decode_audio(value: str, param: str) -> bytes:
    """Base64 audio from a client event; bad base64 or an oversized chunk is an error."""
    try:
        try:  # pybase64 (SIMD) takes canonical base64, which is what clients send ...
            data = pybase64.b64decode(value, validate=True)
        except ValueError:  # ... and the standard library has the last word on the rest
            data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise errors.ProtocolError(
            f"Invalid '{param}': expected base64-encoded audio bytes.",
            code="invalid_value",
            param=param,
        ) from None
    if len(data) > MAX_AUDIO_BYTES:
        raise errors.ProtocolError(
            f"Invalid '{param}': audio chunk of {len(data)} bytes exceeds the 15 MiB limit.",
            code="invalid_value",
            param=param,
        )
    return data


@dataclass
class Item:
    """One conversation item: its wire shape (no audio bytes) plus audio per content index."""

    wire: dict[str, Any]
    audio: dict[int, bytearray] = field(default_factory=dict)
    audio_format: dict[int, WireFormat] = field(default_factory=dict)
    heard: str | None = None  # what the scripted model "heard" in spoken input without transcript
    evicted_ms: dict[int, float] = field(default_factory=dict)  # audio dropped to bound memory

    @property
    def id(self) -> str:
        return str(self.wire["id"])

    @property
    def type(self) -> str:
        return str(self.wire.get("type"))

    @property
    def role(self) -> str | None:
        role = self.wire.get("role")
        return str(role) if role is not None else None

    def public(self) -> dict[str, Any]:
        """The item as ``conversation.item.added``/``.done`` carry it (no audio bytes)."""
        return copy.deepcopy(self.wire)

    def with_audio(self) -> dict[str, Any]:
        """The item as ``conversation.item.retrieved`` carries it (audio base64 included)."""
        wire = self.public()
        for index, data in self.audio.items():
            content = wire.get("content") or []
            if index < len(content):
                content[index]["audio"] = base64.b64encode(bytes(data)).decode("ascii")
        return wire

    def audio_ms(self, index: int) -> float:
        if index in self.evicted_ms:
            return self.evicted_ms[index]
        data = self.audio.get(index)
        fmt = self.audio_format.get(index)
        if data is None or fmt is None:
            return 0.0
        return duration_ms(len(data), fmt)

    def text(self) -> str:
        """The item's words (text, transcripts, arguments, outputs) for matching and usage."""
        kind = self.type
        if kind == "function_call":
            return str(self.wire.get("arguments") or "")
        if kind == "function_call_output":
            return str(self.wire.get("output") or "")
        parts = []
        for part in self.wire.get("content") or []:
            value = part.get("text") if part.get("text") is not None else part.get("transcript")
            if value is None and part.get("type") == "input_audio":
                value = self.heard
            if value:
                parts.append(str(value))
        return " ".join(parts)


class Conversation:
    """Ordered items of the default conversation (``conv_…``)."""

    def __init__(self, conversation_id: str) -> None:
        self.id = conversation_id
        self.items: list[Item] = []
        self._by_id: dict[str, Item] = {}

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._by_id

    def get(self, item_id: str, param: str = "item_id") -> Item:
        item = self._by_id.get(item_id)
        if item is None:
            raise errors.item_not_found(item_id, param)
        return item

    def last_id(self) -> str | None:
        return self.items[-1].id if self.items else None

    def insert(self, item: Item, previous_item_id: str | None = None) -> str | None:
        """Insert after ``previous_item_id`` (``"root"`` = first; None = append).

        Returns the id of the item before it (None at the start), as events report it.
        """
        if item.id in self._by_id:
            raise errors.ProtocolError(
                f"Item with id '{item.id}' already exists in the conversation.",
                code="item_id_already_exists",
                param="item.id",
            )
        if previous_item_id is None:
            position = len(self.items)
        elif previous_item_id == "root":
            position = 0
        else:
            previous = self.get(previous_item_id, "previous_item_id")
            position = self.items.index(previous) + 1
        self.items.insert(position, item)
        self._by_id[item.id] = item
        self._evict_audio()
        return self.items[position - 1].id if position > 0 else None

    def _evict_audio(self) -> None:
        """Keep the audio of the newest items only, so hour-long sessions stay bounded."""
        holders = [item for item in self.items if item.audio]
        for item in holders[: max(0, len(holders) - MAX_ITEMS_WITH_AUDIO)]:
            for index in list(item.audio):
                item.evicted_ms[index] = item.audio_ms(index)
            item.audio.clear()

    def delete(self, item_id: str) -> Item:
        item = self.get(item_id)
        self.items.remove(item)
        del self._by_id[item_id]
        return item
