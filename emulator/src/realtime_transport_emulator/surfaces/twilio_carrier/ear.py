"""The caller's ear: plays what the app sends in real time and records what was heard.

Twilio's rules, as the simulator applies them: received ``media`` is queued and played in order
at 8 bytes per millisecond (8 kHz mu-law); a ``mark`` is echoed once all audio queued before it
has played (at once if nothing is queued); ``clear`` drops the queue and echoes every pending
mark immediately. Playback runs on the monotonic clock with no drift: the next chunk starts
exactly when the previous one ends, unless the queue ran dry (then when audio arrives).

Heard audio is grouped into :class:`Utterance` objects: a new one starts after a ``clear`` or
after the agent was silent for ``utterance_gap_ms``. A test compares ``Utterance.heard_ms`` of
the interrupted utterance with the ``audio_end_ms`` the transport sent.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["CallRecord", "ClearRecord", "Ear", "Utterance"]

BYTES_PER_SECOND = 8000
MAX_RECORDED_AUDIO = 8000 * 600  # keep at most 10 minutes of heard audio per call


@dataclass
class Utterance:
    """A stretch of agent audio the caller heard without a pause."""

    started_at: float
    heard_bytes: int = 0
    ended_at: float | None = None
    cleared: bool = False
    audio: bytearray = field(default_factory=bytearray, repr=False)

    @property
    def heard_ms(self) -> float:
        return self.heard_bytes / 8.0


@dataclass
class ClearRecord:
    """A ``clear`` from the app: when, how much of the utterance was heard, what was dropped."""

    at: float
    heard_ms: float
    dropped_bytes: int
    utterance: int | None


@dataclass
class CallRecord:
    """Everything the simulated call saw, for assertions."""

    call_sid: str
    stream_sid: str = ""
    twiml: str = ""
    stream_url: str = ""
    parameters: dict[str, str] = field(default_factory=dict)
    utterances: list[Utterance] = field(default_factory=list)
    clears: list[ClearRecord] = field(default_factory=list)
    marks_echoed: int = 0
    frame_sizes: Counter[int] = field(default_factory=Counter)
    media_received: list[tuple[float, int]] = field(default_factory=list, repr=False)
    bad_messages: list[str] = field(default_factory=list)
    sent_frames: int = 0
    ended_by: str = ""
    close_code: int | None = None

    @property
    def heard_ms(self) -> float:
        return sum(u.heard_ms for u in self.utterances)

    def bytes_received_after(self, moment: float) -> int:
        return sum(n for at, n in self.media_received if at > moment)


class Ear:
    """Plays queued media against the clock, echoes marks in order, honours ``clear``."""

    def __init__(
        self,
        record: CallRecord,
        send_mark: Callable[[str], None],
        *,
        utterance_gap_ms: float = 200.0,
    ) -> None:
        self.record = record
        self._send_mark = send_mark
        self._gap = utterance_gap_ms / 1000.0
        self._queue: deque[tuple[bytes, str]] = deque()  # (audio, "") or (b"", mark name)
        self._playing: tuple[bytes, float] | None = None
        self._play_clock: float | None = None  # when the last played chunk ended
        self._utterance: Utterance | None = None
        self._generation = 0
        self._waiter: asyncio.Future[None] | None = None
        self.last_audio_end: float | None = None
        self.changed = asyncio.Event()

    # -- inbound from the app ----------------------------------------------------------------

    def on_media(self, audio: bytes) -> None:
        now = time.monotonic()
        self.record.frame_sizes[len(audio)] += 1
        if len(self.record.media_received) < 500_000:
            self.record.media_received.append((now, len(audio)))
        self._queue.append((audio, ""))
        self._wake()

    def on_mark(self, name: str) -> None:
        self._queue.append((b"", name))
        self._wake()

    def on_clear(self) -> None:
        now = time.monotonic()
        heard_ms = 0.0
        index: int | None = None
        playing = self._playing
        utterance = self._utterance
        part = 0
        if playing is not None and utterance is not None:
            audio, started = playing
            part = min(len(audio), max(0, int((now - started) * BYTES_PER_SECOND)))
            self._hear(utterance, audio[:part])
            utterance.ended_at = now
            self.last_audio_end = now
        if utterance is not None:
            utterance.cleared = True
            heard_ms = utterance.heard_ms
            index = len(self.record.utterances) - 1
        dropped = sum(len(a) for a, _ in self._queue) - part
        marks = [name for audio, name in self._queue if not audio]
        self._queue.clear()
        self._playing = None
        self._play_clock = None
        self._utterance = None
        self._generation += 1
        self.record.clears.append(ClearRecord(now, heard_ms, max(0, dropped), index))
        for name in marks:
            self._echo(name)
        self._wake()

    # -- the player --------------------------------------------------------------------------

    async def run(self) -> None:
        queue = self._queue
        while True:
            if not queue:
                await self._sleep(None)
                continue
            audio, name = queue[0]
            if not audio:
                queue.popleft()
                self._echo(name)
                continue
            now = time.monotonic()
            clock = self._play_clock
            start = clock if clock is not None and clock >= now - 0.002 else now
            utterance = self._utterance
            if utterance is None or (
                self.last_audio_end is not None and start - self.last_audio_end > self._gap
            ):
                if utterance is not None:
                    utterance.ended_at = self.last_audio_end
                utterance = self._utterance = Utterance(started_at=start)
                self.record.utterances.append(utterance)
            self._playing = (audio, start)
            end = start + len(audio) / BYTES_PER_SECOND
            generation = self._generation
            await self._sleep(end)
            if generation != self._generation:
                continue  # cleared while playing: on_clear accounted for it
            queue.popleft()
            self._playing = None
            self._hear(utterance, audio)
            self._play_clock = end
            self.last_audio_end = end
            self.changed.set()

    def _hear(self, utterance: Utterance, audio: bytes) -> None:
        utterance.heard_bytes += len(audio)
        if len(utterance.audio) < MAX_RECORDED_AUDIO:
            utterance.audio += audio

    def _echo(self, name: str) -> None:
        self.record.marks_echoed += 1
        self._send_mark(name)

    async def _sleep(self, deadline: float | None) -> None:
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        handle = None
        if deadline is not None:
            delay = max(0.0, deadline - time.monotonic())
            handle = loop.call_later(delay, _resolve, waiter)
        try:
            await waiter
        finally:
            if handle is not None:
                handle.cancel()
            self._waiter = None

    def _wake(self) -> None:
        """Wake the player when it waits for data or its chunk was cleared (not mid-chunk)."""
        waiter = self._waiter
        if waiter is not None and not waiter.done() and self._playing is None:
            waiter.set_result(None)

    def close_utterance(self) -> None:
        if self._utterance is not None and self._utterance.ended_at is None:
            self._utterance.ended_at = self.last_audio_end

    def heard_in_current(self) -> float:
        """Milliseconds of the current utterance heard so far (0 when quiet)."""
        utterance = self._utterance
        if utterance is None:
            return 0.0
        heard = utterance.heard_bytes
        if self._playing is not None:
            audio, started = self._playing
            heard += min(len(audio), max(0, int((time.monotonic() - started) * BYTES_PER_SECOND)))
        return heard / 8.0

    def quiet_for(self) -> float | None:
        """Seconds since the agent's audio stopped; None while playing or before any audio."""
        if self._queue or self._playing is not None or self.last_audio_end is None:
            return None
        return max(0.0, time.monotonic() - self.last_audio_end)


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
