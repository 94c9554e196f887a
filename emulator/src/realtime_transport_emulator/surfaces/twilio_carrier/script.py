"""What the simulated caller does, step by step (media keeps flowing every 20 ms throughout)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

__all__ = ["Dtmf", "Gap", "HangUp", "Raw", "Say", "Silence", "Step", "WaitForAgent", "WaitForQuiet"]


@dataclass(frozen=True)
class Say:
    """Speak ``text`` (speech-like audio from the emulator's synthesizer, mu-law 8 kHz)."""

    text: str
    duration_ms: float | None = None


@dataclass(frozen=True)
class Silence:
    """Send ``ms`` of mu-law silence (0xFF) frames."""

    ms: float


@dataclass(frozen=True)
class Gap:
    """Send nothing for ``ms`` while the stream clock runs on (Twilio skipping silence)."""

    ms: float


@dataclass(frozen=True)
class Dtmf:
    """Press a key: a ``dtmf`` message (silence keeps flowing)."""

    digit: str


@dataclass(frozen=True)
class WaitForAgent:
    """Send silence until the caller has heard ``heard_ms`` of the agent's current utterance."""

    heard_ms: float = 20.0
    timeout: float = 10.0


@dataclass(frozen=True)
class WaitForQuiet:
    """Send silence until the agent has been quiet for ``quiet_ms`` after speaking."""

    quiet_ms: float = 300.0
    timeout: float = 15.0


@dataclass(frozen=True)
class Raw:
    """Send this text frame as is (malformed JSON, unknown events...)."""

    text: str


@dataclass(frozen=True)
class HangUp:
    """The caller hangs up: the socket closes without ``stop``."""


Step = Union[Say, Silence, Gap, Dtmf, WaitForAgent, WaitForQuiet, Raw, HangUp]
