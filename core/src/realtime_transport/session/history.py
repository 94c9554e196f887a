"""The session's local copy of the conversation, kept from the transport's item events.

Items are copied on the way in (audio bytes dropped unless asked for; when asked for, the
assistant's audio is assembled from the transport's ``audio`` events, see ``history_audio``),
inserted after their ``previous_item_id``, updated in place by id (keeping transcripts and tool
outputs that a later, thinner echo of the item lacks), and every change is announced with
``history_added`` / ``history_updated``.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from typing import Any

from ..events import (
    AudioDoneEvent,
    AudioEvent,
    ItemDeletedEvent,
    RealtimeItem,
    RealtimeMcpApprovalRequestItem,
    RealtimeMessageItem,
    RealtimeToolCallItem,
)
from ..log_privacy import describe_error
from ..session_events import HistoryAddedEvent, HistoryUpdatedEvent
from .history_audio import DEFAULT_MAX_BYTES, AssistantAudio
from .runtime import SessionRuntime

__all__ = ["TRANSCRIPTION_COMPLETED", "SessionHistory"]

#: The server event that fills in the transcript of the caller's audio item.
TRANSCRIPTION_COMPLETED = "conversation.item.input_audio_transcription.completed"


class SessionHistory:
    """The local history list (shared with ``context.history``) and its item listeners."""

    __slots__ = ("_emit", "_items", "_runtime", "_store_audio", "assistant_audio")

    def __init__(
        self,
        runtime: SessionRuntime,
        *,
        store_audio: bool,
        max_audio_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self._runtime = runtime
        self._emit = runtime.emit
        self._store_audio = store_audio
        self.assistant_audio = (
            AssistantAudio(max_audio_bytes, self._drop_assistant_audio) if store_audio else None
        )
        self._items: list[RealtimeItem] = []
        runtime.context.history = self._items

    @property
    def items(self) -> list[RealtimeItem]:
        """The live list (not a copy): callers that hand it out copy it."""
        return self._items

    def reset(self) -> None:
        """Start a new, empty list for a new connection and announce it.

        The old list is left as it was for whoever still holds it.
        """
        self._items = []
        self._runtime.context.history = self._items
        if self.assistant_audio is not None:
            self.assistant_audio.clear()
        self._emit("history_updated", HistoryUpdatedEvent([]))

    def on_audio(self, event: AudioEvent) -> None:
        """Collect a chunk of the assistant's audio (only listened to with store_audio)."""
        if self.assistant_audio is not None:
            self.assistant_audio.add(event.item_id, event.content_index, event.data)

    def on_audio_done(self, event: AudioDoneEvent) -> None:
        """The assistant's audio part is complete: put it into the history item."""
        audio = self.assistant_audio
        index = _index_of(self._items, event.item_id)
        if audio is None or index is None:
            return
        item = self._items[index]
        if not isinstance(item, RealtimeMessageItem) or not audio.has(item.item_id):
            return
        self._items[index] = self._with_assistant_audio(item)
        self._emit("history_updated", HistoryUpdatedEvent(list(self._items)))

    def _drop_assistant_audio(self, item_id: str, content_index: int) -> None:
        """The bound gave up this part's audio: take it out of the history item as well."""
        index = _index_of(self._items, item_id)
        if index is None:
            return
        item = self._items[index]
        if not isinstance(item, RealtimeMessageItem) or content_index >= len(item.content):
            return
        if item.content[content_index].get("audio") is None:
            return
        content = [dict(part) for part in item.content]
        content[content_index]["audio"] = None
        self._items[index] = dataclasses.replace(item, content=content)
        self._emit("history_updated", HistoryUpdatedEvent(list(self._items)))

    def _with_assistant_audio(self, item: RealtimeMessageItem) -> RealtimeMessageItem:
        audio = self.assistant_audio
        assert audio is not None
        content = [dict(part) for part in item.content]
        for index, part in enumerate(content):
            if part.get("type") == "output_audio" and not part.get("audio"):
                part["audio"] = audio.base64(item.item_id, index)
        return dataclasses.replace(item, content=content)

    def on_item_update(self, item: RealtimeItem) -> None:
        try:
            self._upsert(item)
        except Exception as exc:
            detail = describe_error(exc, self._runtime.log_policy.model_data)
            self._runtime.emit_error(f"could not update the history: {detail}", "history", exc)

    def _upsert(self, incoming: RealtimeItem) -> None:
        item = self._own_copy(incoming)
        history = self._items
        index = _index_of(history, item.item_id)
        if index is not None:
            old = history[index]
            if isinstance(item, RealtimeMessageItem) and isinstance(old, RealtimeMessageItem):
                _keep_transcripts(old, item)
            if (
                isinstance(item, RealtimeToolCallItem)
                and isinstance(old, RealtimeToolCallItem)
                and item.output is None
                and old.output is not None
            ):
                item.output = old.output  # a late in_progress echo must not erase the answer
                item.status = old.status
            history[index] = item
            self._emit("history_updated", HistoryUpdatedEvent(list(history)))
            return
        if item.previous_item_id == "root":  # the server put it first
            history.insert(0, item)
        else:
            previous = _index_of(history, item.previous_item_id) if item.previous_item_id else None
            if previous is not None:
                history.insert(previous + 1, item)
            else:
                history.append(item)
        self._emit("history_added", HistoryAddedEvent(item))
        self._emit("history_updated", HistoryUpdatedEvent(list(history)))

    def _own_copy(self, item: RealtimeItem) -> RealtimeItem:
        """A copy the session may change, without audio bytes unless ``store_audio``."""
        if isinstance(item, RealtimeMessageItem):
            content = [dict(part) for part in item.content]
            if not self._store_audio:
                for part in content:
                    if part.get("audio") is not None:
                        part["audio"] = None
            status = item.status
            if item.role != "system" and not status:
                status = "completed"
            copied = dataclasses.replace(item, content=content, status=status)
            if (
                self.assistant_audio is not None
                and item.role == "assistant"
                and self.assistant_audio.has(item.item_id)
            ):
                return self._with_assistant_audio(copied)
            return copied
        if isinstance(item, RealtimeMcpApprovalRequestItem):
            return dataclasses.replace(item, arguments=copy.deepcopy(item.arguments))
        return dataclasses.replace(item)

    def on_item_deleted(self, event: ItemDeletedEvent) -> None:
        index = _index_of(self._items, event.item_id)
        if index is None:
            return
        del self._items[index]
        if self.assistant_audio is not None:
            self.assistant_audio.forget(event.item_id)
        self._emit("history_updated", HistoryUpdatedEvent(list(self._items)))

    def on_transcription_completed(self, event: Any) -> None:
        try:
            item_id = _field(event, "item_id")
            transcript = _field(event, "transcript") or ""
            index = _index_of(self._items, item_id) if item_id else None
            if index is None:
                return
            old = self._items[index]
            if not isinstance(old, RealtimeMessageItem):
                return
            content = [
                {**part, "transcript": transcript} if part.get("type") == "input_audio" else part
                for part in old.content
            ]
            self._items[index] = dataclasses.replace(old, content=content, status="completed")
            self._emit("history_updated", HistoryUpdatedEvent(list(self._items)))
        except Exception as exc:
            detail = describe_error(exc, self._runtime.log_policy.model_data)
            self._runtime.emit_error(
                f"could not add the input transcript: {detail}", "history", exc
            )


def _index_of(history: list[RealtimeItem], item_id: str | None) -> int | None:
    if not item_id:
        return None
    for index in range(len(history) - 1, -1, -1):  # recent items are the ones updated
        if history[index].item_id == item_id:
            return index
    return None


def _keep_transcripts(old: RealtimeMessageItem, new: RealtimeMessageItem) -> None:
    """Assistant audio parts that arrive without a transcript keep the one they had."""
    if new.role != "assistant":
        return
    for index, part in enumerate(new.content):
        if part.get("type") != "output_audio" or part.get("transcript"):
            continue
        if index < len(old.content) and old.content[index].get("transcript"):
            part["transcript"] = old.content[index]["transcript"]


def _field(event: Any, name: str) -> Any:
    if isinstance(event, Mapping):
        return event.get(name)
    return getattr(event, name, None)
