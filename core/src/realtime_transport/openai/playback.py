"""Where the listener is in the assistant's audio, so an interruption truncates what was heard.

The position is the application's own report when it gives one (``report(ms)``), otherwise the
wall-clock time since the item's first chunk (playback assumed to start on receipt). Either way
it is clamped to the audio actually received and rounded down to whole milliseconds, because the
API rejects ``audio_end_ms`` beyond the item's audio.

Difference from the JS SDK: bookkeeping is not dropped at ``response.output_audio.done``. Audio
usually arrives faster than real time, so the listener is still hearing it after the server is
done; an interruption then still truncates the unheard tail. Once the position reaches the end of
the received audio there is nothing left to truncate and no truncate is sent.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class PlaybackTracker:
    """Per-item playback bookkeeping (reset when a new item starts or after an interruption)."""

    clock: Callable[[], float] = time.monotonic
    item_id: str | None = None
    content_index: int = 0
    response_id: str | None = None
    first_audio_at: float | None = None
    received_ms: float = 0.0
    reported_ms: float | None = None

    def on_audio(
        self, item_id: str, content_index: int, response_id: str, duration_ms: float
    ) -> None:
        if item_id != self.item_id or self.first_audio_at is None:
            self.item_id = item_id
            self.content_index = content_index
            self.response_id = response_id
            self.first_audio_at = self.clock()
            self.received_ms = 0.0
            self.reported_ms = None
        self.received_ms += duration_ms

    def report(self, played_ms: float) -> None:
        """The application says how much of the current item it has actually played."""
        self.reported_ms = max(0.0, float(played_ms))

    @property
    def active(self) -> bool:
        return self.item_id is not None and self.first_audio_at is not None

    def position_ms(self) -> int:
        """Milliseconds heard, clamped to audio received; an integer as the API requires."""
        if self.first_audio_at is None:
            return 0
        if self.reported_ms is not None:
            heard = self.reported_ms
        else:
            heard = (self.clock() - self.first_audio_at) * 1000.0
        return max(0, int(min(heard, self.received_ms)))

    def has_unheard_audio(self) -> bool:
        return self.active and self.position_ms() < int(self.received_ms)

    def reset(self) -> None:
        self.item_id = None
        self.content_index = 0
        self.response_id = None
        self.first_audio_at = None
        self.received_ms = 0.0
        self.reported_ms = None
