"""What the caller has heard, from Twilio's ``mark`` echoes (reference §5.5 and §7.3).

Model audio goes to Twilio in 20 ms frames, each followed by a mark. Twilio echoes a mark once
the audio queued before it has played, so an echo of the mark after frame *n* of an item means
the caller heard ``20 * n`` ms of it. Names carry the playback generation (``g<gen>:m<seq>``):
``clear`` makes Twilio echo every pending mark at once, and those echoes belong to a cleared
generation, so they are ignored rather than read as playback.

The position used for truncation is the last acknowledged offset plus the time since that
acknowledgement (Twilio plays its queue continuously, so the caller kept listening), capped at
``allowance_ms`` (40 ms by default: two frames, enough to cover an echo delayed by network
jitter) and at what was sent. The JS SDK adds a flat 50 ms instead; measuring the elapsed time
keeps the error within a few milliseconds of what the caller heard.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["FRAME_BYTES", "FRAME_MS", "PlaybackItem", "TwilioPlayback"]

FRAME_MS = 20
FRAME_BYTES = 160  # 20 ms of mu-law at 8 kHz
ItemKey = tuple[str, str, int]  # (response_id, item_id, content_index)


@dataclass(slots=True)
class PlaybackItem:
    """One assistant audio part on its way to (or through) the caller's ear."""

    key: ItemKey
    sent_ms: int = 0
    played_ms: int = 0
    acked_at: float | None = None
    remainder: bytes = b""
    done_sent: bool = False

    @property
    def response_id(self) -> str:
        return self.key[0]

    @property
    def item_id(self) -> str:
        return self.key[1]

    @property
    def content_index(self) -> int:
        return self.key[2]


@dataclass(slots=True)
class TwilioPlayback:
    """Items in playback order, pending marks of the current generation, the allowance."""

    allowance_ms: float = 40.0
    clock: Callable[[], float] = time.monotonic
    generation: int = 0
    items: dict[ItemKey, PlaybackItem] = field(default_factory=dict)
    pending: dict[str, tuple[ItemKey, int | None]] = field(default_factory=dict)
    _seq: int = 0
    _prefix: str = "g0:"

    def item(self, key: ItemKey) -> PlaybackItem:
        found = self.items.get(key)
        if found is None:
            found = self.items[key] = PlaybackItem(key)
        return found

    def frames(self, key: ItemKey, audio: bytes, *, final: bool = False) -> list[bytes]:
        """Cut ``audio`` into whole 160-byte frames; keep the rest (pad it when ``final``)."""
        item = self.item(key)
        data = item.remainder + audio if item.remainder else audio
        whole = len(data) - len(data) % FRAME_BYTES
        frames = [data[i : i + FRAME_BYTES] for i in range(0, whole, FRAME_BYTES)]
        rest = data[whole:]
        if final and rest:
            frames.append(rest + b"\xff" * (FRAME_BYTES - len(rest)))  # mu-law silence
            rest = b""
        item.remainder = rest
        return frames

    def mark_after_frame(self, key: ItemKey) -> str:
        """Count one sent frame for ``key``; the name of the mark that acknowledges it."""
        item = self.item(key)
        item.sent_ms += FRAME_MS
        return self._name(key, item.sent_ms)

    def done_mark(self, key: ItemKey) -> str:
        self.item(key).done_sent = True
        return self._name(key, None)

    def _name(self, key: ItemKey, ms: int | None) -> str:
        self._seq += 1
        name = f"{self._prefix}m{self._seq}"
        self.pending[name] = (key, ms)
        return name

    def acknowledge(self, name: str) -> bool | None:
        """Apply an echoed mark: True applied, False stale (cleared generation), None unknown."""
        entry = self.pending.pop(name, None)
        if entry is None:
            return False if name.startswith("g") and not name.startswith(self._prefix) else None
        key, ms = entry
        item = self.items.get(key)
        if item is None:
            return True
        if ms is None:  # the done mark: everything of this item played
            del self.items[key]
        elif ms > item.played_ms:
            item.played_ms = ms
            item.acked_at = self.clock()
        return True

    def heard_ms(self, item: PlaybackItem) -> int:
        """Milliseconds of ``item`` the caller heard: acknowledged + elapsed (capped), <= sent."""
        heard = float(item.played_ms)
        if item.acked_at is not None:
            heard += min(self.allowance_ms, (self.clock() - item.acked_at) * 1000.0)
        return max(0, int(min(heard, item.sent_ms)))

    def truncations(self) -> list[tuple[PlaybackItem, int]]:
        """Where to cut every unfinished item: the first one (or any already heard) at what was
        heard, later ones at 0. Items fully heard are left out: there is nothing to cut."""
        cuts: list[tuple[PlaybackItem, int]] = []
        for index, item in enumerate(self.items.values()):
            end = self.heard_ms(item) if index == 0 or item.played_ms > 0 else 0
            if item.done_sent and end >= item.sent_ms:
                continue
            cuts.append((item, end))
        return cuts

    def response_ids(self) -> list[str]:
        return [item.response_id for item in self.items.values() if item.response_id]

    def new_generation(self) -> None:
        """Forget everything: pending marks become stale, items are gone."""
        self.generation += 1
        self._prefix = f"g{self.generation}:"
        self.items.clear()
        self.pending.clear()

    @property
    def active(self) -> bool:
        return bool(self.items)
