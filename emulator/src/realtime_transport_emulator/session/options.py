"""What a session is given from outside: its behaviour knobs and the sink for its events.

These live apart from :mod:`.session` so that the session's parts (turn-taking, responses) and
the surfaces that drive a session can import them without importing the session itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

Pace = Literal["fast", "realtime"]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class SinkClosed(Exception):
    """The connection behind ``send`` is gone; the session stops quietly."""


@dataclass(frozen=True)
class SessionOptions:
    """Behaviour knobs shared by every session of an emulator."""

    pace: Pace = "fast"
    chunk_ms: int = 100  # audio per output_audio.delta
    text_delta_ms: float = 25.0  # spacing of text deltas when pace="realtime"
    response_latency_ms: float = 0.0  # pause between response.created and the first output
    response_done_delay_ms: float = 0.0  # pause between the last output and response.done
    rate_limits: bool = True  # send rate_limits.updated after response.created
    error_mid_response: int | None = None  # fault: fail the K-th response after its first delta
