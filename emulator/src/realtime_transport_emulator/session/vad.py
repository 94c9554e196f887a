"""Energy-based voice activity detection standing in for the server's VAD models.

The audio is cut into 10 ms frames; a frame's RMS level maps linearly to a "speech probability"
(-60 dBFS -> 0.0, -10 dBFS -> 1.0), compared with ``threshold`` (default 0.5, i.e. -35 dBFS).
Speech starts on the first frame at or above the threshold; ``audio_start_ms`` is that frame's
start minus ``prefix_padding_ms`` (not before the start of the uncommitted buffer). Speech stops
once ``silence_duration_ms`` of frames stay below it; ``audio_end_ms`` is the end of that silence,
which is what the real server reports ("includes the silence duration").

``semantic_vad`` has no model here: it is the same detector with threshold 0.5, 300 ms prefix
padding and a silence duration chosen by ``eagerness`` (high 300 ms, medium/auto 600 ms, low
1000 ms). All times are on the session's audio timeline: milliseconds of input audio appended
since the session started.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from realtime_transport_emulator.model.audio import Int16Array

FRAME_MS = 10
_NO_SAMPLES: Int16Array = np.zeros(0, dtype=np.int16)
SEMANTIC_SILENCE_MS = {"high": 300, "medium": 600, "auto": 600, "low": 1000}


def speech_probability(rms: float) -> float:
    """Map a frame's RMS (full scale 1.0) to a 0..1 score: -60 dBFS -> 0, -10 dBFS -> 1."""
    if rms <= 0:
        return 0.0
    dbfs = 20 * math.log10(rms)
    return min(1.0, max(0.0, (dbfs + 60.0) / 50.0))


@dataclass(frozen=True)
class VadSettings:
    """The parts of ``turn_detection`` the detector needs."""

    kind: str
    threshold: float = 0.5
    prefix_padding_ms: int = 300
    silence_duration_ms: int = 500

    @classmethod
    def from_turn_detection(cls, config: dict[str, Any]) -> VadSettings:
        kind = str(config.get("type"))
        if kind == "semantic_vad":
            eagerness = str(config.get("eagerness") or "auto")
            return cls(kind, 0.5, 300, SEMANTIC_SILENCE_MS.get(eagerness, 600))
        return cls(
            kind,
            float(config.get("threshold", 0.5)),
            int(config.get("prefix_padding_ms", 300)),
            int(config.get("silence_duration_ms", 500)),
        )


@dataclass(frozen=True)
class SpeechStarted:
    audio_start_ms: int


@dataclass(frozen=True)
class SpeechStopped:
    audio_end_ms: int


VadEvent = SpeechStarted | SpeechStopped


class EnergyVad:
    """Streaming detector: feed decoded samples as they arrive, get start/stop events back."""

    def __init__(self, settings: VadSettings, rate: int, origin_ms: float = 0.0) -> None:
        self.settings = settings
        self.rate = rate
        self.origin_ms = origin_ms
        self.frame = rate * FRAME_MS // 1000
        self.speaking = False
        self._consumed = 0  # samples consumed into whole frames
        self._pending = _NO_SAMPLES
        self._silence_ms = 0.0
        self._floor_ms = origin_ms  # speech cannot be padded back past the last stop
        # probability >= threshold  <=>  RMS >= the threshold's RMS (the map is monotonic)
        # <=>  the frame's sum of squared int16 samples >= rms^2 * frame * 32768^2 (exact ints)
        threshold_rms = 10 ** ((settings.threshold * 50.0 - 60.0) / 20)
        self._threshold_energy = threshold_rms**2 * self.frame * 32768.0**2
        if settings.threshold <= 0:  # threshold 0: any sound at all (energy >= 1) is speech
            self._threshold_energy = 1.0

    @property
    def position_ms(self) -> float:
        """Timeline position of the end of the audio fed so far (whole frames only)."""
        return self.origin_ms + self._consumed * 1000.0 / self.rate

    def reset(self) -> None:
        """Forget an utterance in progress (after a manual commit or clear)."""
        self.speaking = False
        self._silence_ms = 0.0

    def feed(self, samples: Int16Array, buffer_start_ms: float) -> list[VadEvent]:
        """Process new int16 samples; ``buffer_start_ms`` bounds the prefix padding.

        This runs for every appended chunk of every session (50 times a second per call on a
        phone line), so the quiet case is a handful of numpy calls and no Python loop.
        """
        data = np.concatenate([self._pending, samples]) if self._pending.size else samples
        whole = data.size - data.size % self.frame
        self._pending = data[whole:].copy() if whole < data.size else _NO_SAMPLES
        if whole == 0:
            return []
        frames = data[:whole].reshape(-1, self.frame).astype(np.int64)
        energy = (frames * frames).sum(axis=1)
        voiced = energy >= self._threshold_energy
        if not self.speaking and not voiced.any():  # silence between turns: nothing can happen
            self._consumed += whole
            return []
        events: list[VadEvent] = []
        for is_voiced in voiced.tolist():
            start_ms = self.position_ms
            self._consumed += self.frame
            if not self.speaking:
                if is_voiced:
                    self.speaking = True
                    self._silence_ms = 0.0
                    floor = max(buffer_start_ms, self._floor_ms)
                    begin = max(floor, start_ms - self.settings.prefix_padding_ms)
                    events.append(SpeechStarted(round(begin)))
            elif is_voiced:
                self._silence_ms = 0.0
            else:
                self._silence_ms += FRAME_MS
                if self._silence_ms >= self.settings.silence_duration_ms:
                    self.speaking = False
                    self._silence_ms = 0.0
                    self._floor_ms = self.position_ms
                    events.append(SpeechStopped(round(self.position_ms)))
        return events
