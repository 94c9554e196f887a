"""Caller audio timing: fill the holes Twilio leaves so the server's VAD can end a turn.

Twilio may skip silent stretches of caller audio, so ``media.timestamp`` can jump; the server VAD
then never sees the silence that ends a turn. Two fixes, as the JS SDK does (reference §5.5):

* a timestamp ahead of the expected one gets that much mu-law silence first (at most 10 s);
* while the server says the caller is speaking and no media arrives for the inactivity timeout
  (750 ms by default), 1000 ms of silence is sent once, and the next frame's gap is not padded
  again.

Padding is only possible for ``audio/x-mulaw`` 8000 Hz mono streams (the silence byte is 0xFF).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["MAX_GAP_MS", "InputTiming"]

MAX_GAP_MS = 10_000
INACTIVITY_SILENCE_MS = 1000
BYTES_PER_MS = 8
_MAX_TS = 2**53 - 1


@dataclass(slots=True)
class InputTiming:
    """Per-stream bookkeeping; ``gap_ms`` tells how much silence goes before a frame."""

    enabled: bool = False
    next_ts: float | None = None
    gap_covered: bool = False
    speech_active: bool = False
    last_frame_at: float | None = None
    clock: Callable[[], float] = time.monotonic

    def reset(self, *, enabled: bool | None = None) -> None:
        if enabled is not None:
            self.enabled = enabled
        self.next_ts = None
        self.gap_covered = False
        self.speech_active = False
        self.last_frame_at = None

    def gap_ms(self, timestamp: object, nbytes: int) -> int:
        """Silence (ms) to send before a frame with ``timestamp`` carrying ``nbytes`` bytes."""
        if not self.enabled:
            return 0
        self.last_frame_at = self.clock()
        ts = _parse_timestamp(timestamp)
        if ts is None:
            self.next_ts = None
            return 0
        gap = 0
        expected = self.next_ts
        if expected is not None and ts > expected and not self.gap_covered:
            gap = min(int(ts - expected), MAX_GAP_MS)
        self.gap_covered = False
        self.next_ts = ts + nbytes / BYTES_PER_MS
        return gap

    def inactivity_due_in(self, timeout_ms: float | None) -> float | None:
        """Seconds until inactivity padding is due (0 if overdue), None when not applicable."""
        if not self.enabled or timeout_ms is None or not self.speech_active:
            return None
        if self.last_frame_at is None:
            return None
        elapsed = (self.clock() - self.last_frame_at) * 1000.0
        return max(0.0, timeout_ms - elapsed) / 1000.0

    def padded_for_inactivity(self) -> None:
        self.gap_covered = True


def _parse_timestamp(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 <= value <= _MAX_TS else None
    if not isinstance(value, str) or not value.isascii() or not value.isdigit():
        return None
    number = int(value)
    return number if number <= _MAX_TS else None
