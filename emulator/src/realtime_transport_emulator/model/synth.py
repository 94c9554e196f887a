"""Deterministic speech-like audio: what the scripted model "says", and test input for the VAD.

Each word becomes one or more syllables: a harmonic tone (fundamental 100-220 Hz chosen from the
letters, a small pitch glide, six harmonics) under a rise-and-fall amplitude envelope, with short
gaps between words and longer ones after punctuation. It sounds like a hum rather than words, but
it has the energy contour of speech, so energy VADs (ours and clients') treat it as speech, and
the same text always gives the same bytes. Word start times come with it, so transcript deltas
can be sent in step with the audio.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from realtime_transport_emulator.model.audio import (
    PCM24K,
    FloatArray,
    WireFormat,
    encode,
    parse_format,
)

__all__ = ["Speech", "noise", "silence", "speech", "synthesize"]

_WORD = re.compile(r"\S+\s*")
_MS_PER_CHAR = 60.0
_MIN_WORD_MS = 160.0
_WORD_GAP_MS = 70.0
_PUNCT_GAP_MS = 180.0
_LEVEL = 0.3  # peak amplitude (about -10 dBFS peak, -17 dBFS RMS while voiced)


@dataclass(frozen=True)
class Speech:
    """Synthesized audio plus the start time of each word (for paced transcript deltas)."""

    audio: bytes
    fmt: WireFormat
    duration_ms: float
    words: tuple[tuple[str, float], ...]  # (word including its trailing space, start ms)


def _plan(text: str) -> list[tuple[str, float, float]]:
    """(word, voiced ms, pause ms after it) for each word."""
    plan = []
    for word in _WORD.findall(text):
        letters = sum(ch.isalnum() for ch in word)
        voiced = max(_MIN_WORD_MS, letters * _MS_PER_CHAR)
        pause = _WORD_GAP_MS + (_PUNCT_GAP_MS if word.rstrip()[-1:] in ".,;:!?" else 0.0)
        plan.append((word, voiced, pause))
    return plan


def _syllable(chars: str, samples: int, rate: int) -> FloatArray:
    if samples <= 0:
        return np.zeros(0, dtype=np.float32)
    code = sum((i + 1) * ord(c) for i, c in enumerate(chars)) if chars else 0
    f0 = 100.0 + (code * 37) % 120
    t = np.arange(samples, dtype=np.float64) / samples
    freq = f0 * (1.08 - 0.16 * t)  # gentle falling glide
    phase = 2 * np.pi * np.cumsum(freq) / rate
    tone = sum(np.sin(k * phase) / k for k in range(1, 7))
    envelope = np.sin(np.pi * t) ** 0.6
    return (tone * envelope).astype(np.float32)


def synthesize(
    text: str,
    fmt: object = PCM24K,
    *,
    duration_ms: float | None = None,
    level: float = _LEVEL,
) -> Speech:
    """Speech-like audio for ``text`` in ``fmt`` (any spelling ``parse_format`` accepts).

    ``duration_ms`` stretches or squeezes the natural timing (about 60 ms per letter) to a fixed
    length. Empty text gives empty audio. Results are cached: every session of a load test says
    the same scripted reply, and a minute of it takes about 0.1 s of CPU to synthesize.
    """
    return _synthesize(text, parse_format(fmt), duration_ms, level)


@lru_cache(maxsize=16)
def _synthesize(text: str, wire: WireFormat, duration_ms: float | None, level: float) -> Speech:
    rate = wire.rate
    plan = _plan(text)
    natural = sum(voiced + pause for _, voiced, pause in plan)
    scale = (duration_ms / natural) if (duration_ms and natural) else 1.0
    pieces: list[FloatArray] = []
    words: list[tuple[str, float]] = []
    position = 0  # samples
    for word, voiced, pause in plan:
        words.append((word, position * 1000.0 / rate))
        letters = "".join(ch for ch in word if ch.isalnum())
        n_syll = max(1, round(len(letters) / 3))
        voiced_samples = int(voiced * scale * rate / 1000)
        per = voiced_samples // n_syll
        for index in range(n_syll):
            chunk = letters[index * 3 : index * 3 + 3]
            pieces.append(_syllable(chunk, per, rate))
            position += per
        gap = int(pause * scale * rate / 1000)
        pieces.append(np.zeros(gap, dtype=np.float32))
        position += gap
    samples = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
    if duration_ms and plan:  # exact length: rounding per syllable loses a few samples
        target = round(duration_ms * rate / 1000)
        samples = np.pad(samples, (0, max(0, target - samples.size)))[:target]
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    if peak > 0:
        samples = (samples * (level / peak)).astype(np.float32)
    audio = encode(samples, wire)
    return Speech(audio, wire, samples.size * 1000.0 / rate, tuple(words))


def speech(text: str, fmt: object = PCM24K, *, duration_ms: float | None = None) -> bytes:
    """Just the bytes of :func:`synthesize` (handy for feeding the emulator's VAD in tests)."""
    return synthesize(text, fmt, duration_ms=duration_ms).audio


def silence(ms: float, fmt: object = PCM24K) -> bytes:
    """Digital silence of ``ms`` milliseconds in ``fmt``."""
    wire = parse_format(fmt)
    return bytes([wire.silence_byte]) * (int(ms * wire.rate / 1000) * wire.sample_width)


def noise(ms: float, fmt: object = PCM24K, *, level_dbfs: float = -50.0, seed: int = 0) -> bytes:
    """Deterministic white noise at an RMS level of ``level_dbfs`` (below the default VAD level)."""
    wire = parse_format(fmt)
    count = int(ms * wire.rate / 1000)
    rng = np.random.default_rng(seed)
    amplitude = 10 ** (level_dbfs / 20)
    samples = (rng.standard_normal(count) * amplitude).astype(np.float32)
    return encode(samples, wire)
