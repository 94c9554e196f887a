"""Audio helpers for the emulator: decode/encode the three wire formats, durations, echo resampling.

The codecs are the core's (``realtime_transport.audio``); this module adds the float view the
VAD and the synthesizer work in, plus a deliberately simple 8 kHz <-> 24 kHz resampler for echo
replies (a 3-tap average before decimation, linear interpolation up). It is an emulator: the
point is deterministic, speech-shaped audio, not studio quality.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from realtime_transport.audio import PCM24K, PCMA, PCMU, WireFormat, parse_format
from realtime_transport.audio.g711 import (
    alaw_decode_array,
    alaw_encode,
    ulaw_decode_array,
    ulaw_encode,
)

__all__ = [
    "PCM24K",
    "PCMA",
    "PCMU",
    "FloatArray",
    "WireFormat",
    "bytes_for",
    "convert",
    "decode",
    "decode_pcm16",
    "duration_ms",
    "encode",
    "format_from_wire",
    "parse_format",
    "resample",
    "silence",
]

FloatArray = npt.NDArray[np.float32]
Int16Array = npt.NDArray[np.int16]


def format_from_wire(value: Any) -> WireFormat:
    """The format of a validated GA session format dict (``None`` means the default PCM 24 kHz)."""
    return parse_format(value)


def decode_pcm16(data: bytes, fmt: WireFormat) -> Int16Array:
    """Wire bytes to int16 samples at the format's own rate (PCM: a view, no copy).

    PCM input must have an even length (callers keep an odd trailing byte for the next chunk).
    """
    if fmt.encoding == "pcm":
        return np.frombuffer(data, dtype="<i2")
    if fmt.encoding == "pcmu":
        return ulaw_decode_array(data)
    return alaw_decode_array(data)


def decode(data: bytes, fmt: WireFormat) -> FloatArray:
    """Wire bytes to float32 samples in [-1, 1] at the format's own rate."""
    scaled: FloatArray = decode_pcm16(data, fmt) * np.float32(1 / 32768)
    return scaled


def encode(samples: FloatArray, fmt: WireFormat) -> bytes:
    """Float samples at the format's rate to wire bytes (clipped, rounded to int16 first)."""
    ints = np.clip(np.round(samples * 32767.0), -32768, 32767).astype("<i2")
    if fmt.encoding == "pcm":
        return ints.tobytes()
    if fmt.encoding == "pcmu":
        return ulaw_encode(ints)
    return alaw_encode(ints)


def duration_ms(nbytes: int, fmt: WireFormat) -> float:
    """Milliseconds of audio in ``nbytes`` bytes of ``fmt`` (48 B/ms PCM, 8 B/ms G.711)."""
    return nbytes / fmt.bytes_per_ms


def bytes_for(ms: float, fmt: WireFormat) -> int:
    """Whole samples' worth of bytes for ``ms`` milliseconds, rounded down."""
    samples = int(ms * fmt.rate / 1000)
    return samples * fmt.sample_width


def silence(ms: float, fmt: WireFormat) -> bytes:
    """Digital silence: 0x00 (PCM), 0xFF (μ-law), 0xD5 (A-law)."""
    return bytes([fmt.silence_byte]) * bytes_for(ms, fmt)


def resample(samples: FloatArray, from_rate: int, to_rate: int) -> FloatArray:
    """Convert between 8 kHz and 24 kHz (the only rates on the wire); other ratios interpolate."""
    if from_rate == to_rate or samples.size == 0:
        return samples
    if from_rate == 3 * to_rate:
        usable = samples[: samples.size - samples.size % 3]
        averaged: FloatArray = usable.reshape(-1, 3).mean(axis=1).astype(np.float32)
        return averaged
    positions = np.arange(int(samples.size * to_rate / from_rate), dtype=np.float64)
    source = positions * (from_rate / to_rate)
    result: FloatArray = np.interp(source, np.arange(samples.size), samples).astype(np.float32)
    return result


def convert(data: bytes, source: WireFormat, target: WireFormat) -> bytes:
    """Re-encode wire audio from one format to another (used by echo replies)."""
    if source == target:
        return bytes(data)
    if source.encoding == "pcm" and len(data) % 2:
        data = data[:-1]
    return encode(resample(decode(data, source), source.rate, target.rate), target)
