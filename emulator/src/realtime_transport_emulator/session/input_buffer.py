"""The uncommitted input audio buffer, placed on the session's audio timeline.

The timeline counts milliseconds of input audio appended since the session started; VAD events,
``audio_start_ms``/``audio_end_ms`` and idle timeouts are all positions on it. The buffer holds
the not yet committed tail of that audio and knows where it starts, so a span of the timeline can
be cut out of it. It does no I/O and knows nothing about turns (see :mod:`.turns`).
"""

from __future__ import annotations

from realtime_transport_emulator.model.audio import WireFormat, bytes_for, duration_ms

MAX_IDLE_BUFFER_MS = 60_000  # uncommitted audio kept while VAD hears no speech
MAX_BUFFER_MS = 15 * 60_000  # uncommitted audio kept in any case
TRIM_SLACK_MS = 5_000  # trim in steps, not on every chunk


class InputBuffer:
    """Uncommitted input audio in one wire format, with its start on the timeline."""

    def __init__(self, fmt: WireFormat) -> None:
        self.fmt = fmt
        self.data = bytearray()
        self.start_ms = 0.0  # timeline position of data[0]
        self.timeline_ms = 0.0  # end of all audio appended so far
        self._carry = b""  # odd trailing byte of PCM16 input

    @property
    def buffered_ms(self) -> float:
        return duration_ms(len(self.data), self.fmt)

    def append(self, chunk: bytes) -> bytes:
        """Add a chunk; returns the bytes added (PCM16 keeps an odd last byte for the next one)."""
        if self.fmt.encoding == "pcm":
            chunk = self._carry + chunk
            if len(chunk) % 2:
                self._carry, chunk = chunk[-1:], chunk[:-1]
            else:
                self._carry = b""
        if chunk:
            self.data += chunk
            self.timeline_ms += len(chunk) / self.fmt.bytes_per_ms
        return chunk

    def trim(self, *, idle: bool) -> None:
        """Bound the buffer (clients stream silence for hours on phone lines)."""
        limit = MAX_IDLE_BUFFER_MS if idle else MAX_BUFFER_MS
        excess = duration_ms(len(self.data), self.fmt) - limit
        if excess > 0:
            cut = min(len(self.data), bytes_for(excess + TRIM_SLACK_MS, self.fmt))
            del self.data[:cut]
            self.start_ms += duration_ms(cut, self.fmt)

    def take(self, start_ms: float, end_ms: float) -> bytes:
        """Cut [start, end) (timeline ms) out of the buffer; everything before end is dropped."""
        fmt = self.fmt
        start = max(0, bytes_for(start_ms - self.start_ms, fmt))
        end = min(len(self.data), max(start, bytes_for(end_ms - self.start_ms, fmt)))
        audio = bytes(self.data[start:end])
        del self.data[:end]
        self.start_ms += duration_ms(end, fmt)
        return audio

    def take_all(self) -> bytes:
        """Empty the buffer for a manual commit (a carried odd byte stays for the next chunk)."""
        audio = bytes(self.data)
        self.data.clear()
        self.start_ms = self.timeline_ms
        return audio

    def clear(self) -> None:
        """Drop everything uncommitted, including a carried odd byte."""
        self.data.clear()
        self._carry = b""
        self.start_ms = self.timeline_ms

    def set_format(self, fmt: WireFormat) -> None:
        """Switch the input format; audio in the old one is dropped."""
        self.fmt = fmt
        self.clear()
