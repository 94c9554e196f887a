"""Audio in and out of the peer connection.

Outgoing: :class:`PcmInputTrack` turns ``send_audio`` chunks (PCM16 24 kHz) into 20 ms 48 kHz
frames, resampled with the core's streaming resampler and paced on the loop clock; aiortc's
sender encodes them to Opus in the default executor, off the event loop. :class:`MuteGate`
wraps a caller-owned track so ``mute()`` works on it too. Incoming: :class:`RemoteAudioReader`
reads the model's decoded Opus frames (packed s16 stereo 48 kHz), downmixes and resamples them to
``output_sample_rate`` and hands them to the sink.
"""

from __future__ import annotations

import asyncio
import fractions
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, Union

import numpy as np
import numpy.typing as npt
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame
from realtime_transport.audio.resample import StreamingResampler

logger = logging.getLogger("realtime_transport.webrtc")

RATE = 48000
FRAME_SAMPLES = 960  # 20 ms at 48 kHz, what aiortc's Opus encoder wants
FRAME_BYTES = FRAME_SAMPLES * 2
TIME_BASE = fractions.Fraction(1, RATE)
MAX_INPUT_SECONDS = 10.0  # caller audio buffered ahead of real time before the oldest is dropped


class AsyncWriter(Protocol):
    async def write(self, data: bytes) -> Any: ...


#: Where model audio goes: ``callback(pcm16_bytes)`` (sync or async) or an object with an async
#: ``write(pcm16_bytes)``.
AudioSink = Union[Callable[[bytes], Any], AsyncWriter]


def pcm_frame(
    pts: int, data: bytes | None = None, samples: int = FRAME_SAMPLES, rate: int = RATE
) -> AudioFrame:
    """One mono s16 frame holding ``data`` (silence when None)."""
    frame = AudioFrame(format="s16", layout="mono", samples=samples)
    frame.planes[0].update(data if data is not None else bytes(samples * 2))
    frame.sample_rate = rate
    frame.pts = pts
    frame.time_base = fractions.Fraction(1, rate)
    return frame


class PcmInputTrack(MediaStreamTrack):  # type: ignore[misc]
    """The transport's own microphone track, fed by ``send_audio`` (PCM16 mono 24 kHz)."""

    kind = "audio"

    def __init__(self, input_rate: int = 24000) -> None:
        super().__init__()
        self.muted = False
        self.dropped_bytes = 0
        self._resampler = StreamingResampler(input_rate, RATE)
        self._buffer = bytearray()
        self._limit = int(MAX_INPUT_SECONDS * RATE * 2)
        self._start: float | None = None
        self._pts = 0

    def push(self, pcm: bytes) -> None:
        """Queue caller audio; beyond ``MAX_INPUT_SECONDS`` ahead the oldest is dropped."""
        self._buffer += self._resampler.process(pcm)
        excess = len(self._buffer) - self._limit
        if excess > 0:
            excess += excess % 2
            del self._buffer[:excess]
            self.dropped_bytes += excess

    @property
    def buffered_ms(self) -> float:
        return len(self._buffer) / (RATE * 2 / 1000)

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
            elif wait < -0.5:  # the loop stalled: resync instead of bursting to catch up
                self._start = loop.time() - self._pts / RATE
        data = bytes(self._buffer[:FRAME_BYTES])
        del self._buffer[:FRAME_BYTES]
        audible = data and not self.muted
        frame = pcm_frame(self._pts, data.ljust(FRAME_BYTES, b"\0") if audible else None)
        self._pts += FRAME_SAMPLES
        return frame


class MuteGate(MediaStreamTrack):  # type: ignore[misc]
    """A caller-owned track passed through, silenced while muted (the caller keeps owning it)."""

    kind = "audio"

    def __init__(self, source: Any) -> None:
        super().__init__()
        self.source = source
        self.muted = False

    async def recv(self) -> Any:
        frame = await self.source.recv()
        if not self.muted:
            return frame
        silent = AudioFrame(format="s16", layout="mono", samples=frame.samples)
        silent.planes[0].update(bytes(frame.samples * 2))
        silent.sample_rate, silent.pts, silent.time_base = (
            frame.sample_rate,
            frame.pts,
            frame.time_base,
        )
        return silent


def downmix(frame: Any) -> npt.NDArray[np.int16]:
    """A decoded frame as int16 mono samples at the frame's rate."""
    samples = frame.to_ndarray()
    channels = len(frame.layout.channels)
    if channels == 1:
        return np.asarray(samples.reshape(-1), dtype=np.int16)
    if frame.format.is_planar:
        mixed = samples.astype(np.int32).sum(axis=0) // channels
    else:
        mixed = samples.reshape(-1, channels).astype(np.int32).sum(axis=1) // channels
    result: npt.NDArray[np.int16] = mixed.astype(np.int16)
    return result


class RemoteAudioReader:
    """Reads the model's track and delivers PCM16 mono at ``rate`` to ``deliver``."""

    def __init__(self, rate: int, deliver: Callable[[bytes], Awaitable[None] | None]) -> None:
        self.rate = rate
        self._deliver = deliver
        self._resamplers: dict[int, StreamingResampler] = {}
        self.frames = 0

    def convert(self, frame: Any) -> bytes:
        mono = downmix(frame)
        rate = int(frame.sample_rate)
        if rate != self.rate:
            resampler = self._resamplers.get(rate)
            if resampler is None:
                resampler = self._resamplers[rate] = StreamingResampler(rate, self.rate)
            mono = resampler.process_array(mono)
        return mono.astype("<i2", copy=False).tobytes()

    def reset(self) -> None:
        """Drop resampler state (after the server cleared its buffer)."""
        for resampler in self._resamplers.values():
            resampler.reset()

    async def run(self, track: Any) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            self.frames += 1
            result = self._deliver(self.convert(frame))
            if result is not None:
                await result


def sink_writer(sink: AudioSink) -> Callable[[bytes], Awaitable[None] | None]:
    """A uniform ``deliver(pcm)`` for a callback or an object with an async ``write``."""
    write = getattr(sink, "write", None)
    if write is not None and inspect.iscoroutinefunction(write):

        async def written(data: bytes) -> None:
            await write(data)

        return written
    if not callable(sink):
        raise TypeError("audio_sink must be a callable or an object with an async write()")

    def called(data: bytes) -> Awaitable[None] | None:
        result = sink(data)
        return result if inspect.isawaitable(result) else None

    return called
