"""The assistant's audio for the history (``history_store_audio=True``), assembled per item.

The server never sends the model's audio inside item events, only as
``response.output_audio.delta`` chunks, so the session collects the transport's ``audio``
events per (item, content part) and the history puts them into that item's ``output_audio``
part as base64 (the same shape as an ``input_audio`` part's ``audio``), in the session's output
format. Memory is bounded: past ``max_bytes`` in total, the oldest items' audio is dropped
first (their part gets ``audio=None`` again) and counted in ``dropped_bytes``; a single part
larger than the whole bound is not kept at all (never a fragment).
"""

from __future__ import annotations

import base64
from collections import OrderedDict
from collections.abc import Callable

__all__ = ["AssistantAudio"]

#: Default bound: about 11 minutes of 24 kHz PCM16 (the default output format).
DEFAULT_MAX_BYTES = 32 * 1024 * 1024


class AssistantAudio:
    """Audio chunks per ``(item_id, content_index)``, oldest evicted first past the bound."""

    __slots__ = ("_given_up", "_on_drop", "_parts", "_total", "dropped_bytes", "max_bytes")

    def __init__(
        self,
        max_bytes: int = DEFAULT_MAX_BYTES,
        on_drop: Callable[[str, int], None] | None = None,
    ) -> None:
        self.max_bytes = max_bytes
        self._on_drop = on_drop  # (item_id, content_index): remove it where it was put
        self._parts: OrderedDict[tuple[str, int], bytearray] = OrderedDict()
        self._total = 0
        self.dropped_bytes = 0  # audio given up to stay within max_bytes
        self._given_up: OrderedDict[tuple[str, int], None] = OrderedDict()  # parts too large

    def add(self, item_id: str, content_index: int, data: bytes) -> None:
        if not item_id or not data:
            return
        key = (item_id, content_index)
        if key in self._given_up:
            self.dropped_bytes += len(data)
            return
        part = self._parts.get(key)
        if part is None:
            part = self._parts[key] = bytearray()
        if len(part) + len(data) > self.max_bytes:  # this part alone is too large: give it up
            self._total -= len(self._parts.pop(key))
            self.dropped_bytes += len(part) + len(data)
            self._given_up[key] = None
            while len(self._given_up) > 1024:
                self._given_up.popitem(last=False)
            self._dropped(key)
            return
        part += data
        self._total += len(data)
        while self._total > self.max_bytes and self._parts:
            oldest_key, oldest = self._parts.popitem(last=False)
            self._total -= len(oldest)
            self.dropped_bytes += len(oldest)
            self._dropped(oldest_key)

    def _dropped(self, key: tuple[str, int]) -> None:
        if self._on_drop is not None:
            self._on_drop(*key)

    def base64(self, item_id: str, content_index: int) -> str | None:
        """The part's audio so far as base64, or ``None`` if there is none (or it was dropped)."""
        part = self._parts.get((item_id, content_index))
        return base64.b64encode(part).decode("ascii") if part else None

    def has(self, item_id: str) -> bool:
        return any(key[0] == item_id for key in self._parts)

    def forget(self, item_id: str) -> None:
        for key in [k for k in self._parts if k[0] == item_id]:
            self._total -= len(self._parts.pop(key))

    def clear(self) -> None:
        self._parts.clear()
        self._given_up.clear()
        self._total = 0

    @property
    def total_bytes(self) -> int:
        return self._total
