"""Audio on the call's RTP tracks: the caller's frames to session PCM, reply PCM to paced frames.

Received Opus decodes (in aiortc's decoder thread) to packed s16 stereo 48 kHz frames; the
session's VAD wants its input format (PCM16 24 kHz by default), so frames are downmixed and
halved (a pair average: the emulator's VAD needs energy, not fidelity). Reply audio goes the
other way into :class:`ReplyTrack`, which aiortc's sender pulls one 20 ms frame at a time; the
track paces itself on the loop clock so the model's voice plays in real time whatever the
session's ``pace``, and reports when its buffer drains (``output_audio_buffer.stopped``).
"""

from __future__ import annotations

import asyncio
import fractions
from collections.abc import Callable
from typing import Any

import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame

from realtime_transport_emulator.model.audio import PCM24K, WireFormat, convert

RATE = 48000
FRAME_SAMPLES = 960  # 20 ms at 48 kHz
FRAME_BYTES = FRAME_SAMPLES * 2
TIME_BASE = fractions.Fraction(1, RATE)
MAX_BUFFER_BYTES = RATE * 2 * 300  # five minutes of reply audio


def frame_to_pcm24(frame: Any) -> bytes:
    """A decoded frame (any layout, 48 kHz) as PCM16 mono 24 kHz."""
    samples = frame.to_ndarray()
    channels = len(frame.layout.channels)
    if frame.format.is_planar:
        mono = samples.astype(np.float32).mean(axis=0)
    else:
        mono = samples.reshape(-1, channels).astype(np.float32).mean(axis=1)
    if frame.sample_rate == 48000:
        usable = mono.size - (mono.size % 2)
        mono = mono[:usable].reshape(-1, 2).mean(axis=1)
    return bytes(np.clip(np.rint(mono), -32768, 32767).astype("<i2").tobytes())


def to_session_input(pcm24: bytes, fmt: WireFormat) -> bytes:
    return pcm24 if fmt == PCM24K else convert(pcm24, PCM24K, fmt)


def to_track_pcm(chunk: bytes, fmt: WireFormat) -> bytes:
    """Session output audio as PCM16 mono 48 kHz (linear interpolation from 24 or 8 kHz)."""
    pcm24 = chunk if fmt == PCM24K else convert(chunk, fmt, PCM24K)
    samples = np.frombuffer(pcm24, dtype="<i2").astype(np.float32)
    if samples.size == 0:
        return b""
    doubled = np.empty(samples.size * 2, dtype=np.float32)
    doubled[0::2] = samples
    doubled[1:-1:2] = (samples[:-1] + samples[1:]) / 2
    doubled[-1] = samples[-1]
    return bytes(doubled.astype("<i2").tobytes())


class ReplyTrack(MediaStreamTrack):  # type: ignore[misc]
    """The model's voice: buffered PCM played in real time, silence when there is none."""

    kind = "audio"

    def __init__(self, on_drained: Callable[[], None]) -> None:
        super().__init__()
        self._buffer = bytearray()
        self._on_drained = on_drained
        self._start: float | None = None
        self._pts = 0

    @property
    def buffered_ms(self) -> float:
        return len(self._buffer) / (RATE * 2 / 1000)

    def push(self, pcm48: bytes) -> None:
        room = MAX_BUFFER_BYTES - len(self._buffer)
        self._buffer += pcm48[: max(0, room)]

    def clear(self) -> None:
        self._buffer.clear()

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        else:
            wait = self._start + self._pts / RATE - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
        had_audio = bool(self._buffer)
        data = bytes(self._buffer[:FRAME_BYTES])
        del self._buffer[:FRAME_BYTES]
        if len(data) < FRAME_BYTES:
            data += bytes(FRAME_BYTES - len(data))
        frame = AudioFrame(format="s16", layout="mono", samples=FRAME_SAMPLES)
        frame.planes[0].update(data)
        frame.sample_rate = RATE
        frame.pts = self._pts
        frame.time_base = TIME_BASE
        self._pts += FRAME_SAMPLES
        if had_audio and not self._buffer:
            self._on_drained()
        return frame


async def pump_input(track: Any, feed: Callable[[bytes], Any], stopped: asyncio.Event) -> None:
    """Read the caller's track until it ends, handing 24 kHz PCM to ``feed``."""
    while not stopped.is_set():
        try:
            frame = await track.recv()
        except MediaStreamError:
            return
        await feed(frame_to_pcm24(frame))
