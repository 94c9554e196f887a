"""Building blocks for transport scenarios: an event recorder, waits, test audio."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Any

from ..events import DERIVED_EVENTS, EventEmitter

#: Typed server events the kit waits on (recorded in addition to every derived event and `*`).
RECORDED_SERVER_EVENTS = (
    "session.created",
    "session.updated",
    "input_audio_buffer.speech_started",
    "input_audio_buffer.speech_stopped",
    "conversation.item.truncated",
    "response.created",
    "response.done",
)


class Recorder:
    """Records every event an emitter emits, in order, and lets a test wait for one."""

    def __init__(self, emitter: EventEmitter, names: tuple[str, ...] | None = None) -> None:
        self.events: list[tuple[str, Any]] = []
        self._emitter = emitter
        self._changed = asyncio.Event()
        for name in names or (*DERIVED_EVENTS, "*", *RECORDED_SERVER_EVENTS):
            emitter.on(name, self._recorder(name))

    def _recorder(self, name: str) -> Callable[[Any], None]:
        return lambda payload: self._record(name, payload)

    def _record(self, name: str, payload: Any) -> None:
        self.events.append((name, payload))
        self._changed.set()

    def payloads(self, name: str) -> list[Any]:
        return [payload for event, payload in self.events if event == name]

    def count(self, name: str) -> int:
        return len(self.payloads(name))

    def names(self, name: str) -> list[Any]:
        """Payloads of ``name`` (for events whose payload is a plain value)."""
        return self.payloads(name)

    def index(self, name: str, payload: Any = None) -> int:
        for position, (event, value) in enumerate(self.events):
            if event == name and (payload is None or value == payload):
                return position
        raise AssertionError(f"no {name!r} event recorded")

    def received_ms(self, item_id: str, bytes_per_ms: float | None = None) -> float:
        """Milliseconds of audio received for ``item_id``, in the session's output format as the
        server echoed it (PCM 24 kHz when unknown; G.711 for transports that pin it, e.g. Twilio).
        """
        total = sum(len(a.data) for a in self.payloads("audio") if a.item_id == item_id)
        if bytes_per_ms is None:
            from ..audio import bytes_per_ms as format_bytes_per_ms

            session = getattr(self._emitter, "server_session", None) or {}
            audio = session.get("audio") if isinstance(session, dict) else None
            output = audio.get("output") if isinstance(audio, dict) else None
            fmt = output.get("format") if isinstance(output, dict) else None
            bytes_per_ms = format_bytes_per_ms(fmt)
        return total / bytes_per_ms

    async def wait_for(
        self, name: str, *, count: int = 1, timeout: float = 5.0, hint: str = ""
    ) -> Any:
        """Return the ``count``-th payload of ``name``, waiting up to ``timeout`` seconds.

        ``hint`` (what the transport must do, and how) ends the failure message.
        """

        async def wait() -> Any:
            while True:
                found = self.payloads(name)
                if len(found) >= count:
                    return found[count - 1]
                self._changed.clear()
                await self._changed.wait()

        try:
            return await asyncio.wait_for(wait(), timeout)
        except asyncio.TimeoutError:
            seen = sorted({event for event, _ in self.events})
            raise AssertionError(
                f"timed out after {timeout:g} s waiting for {count} x {name!r}; "
                f"saw {self.count(name)}. Events seen: {', '.join(seen)}"
                + (f". {hint}" if hint else "")
            ) from None


async def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll ``predicate`` every 5 ms; raise TimeoutError after ``timeout`` seconds."""

    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.005)

    try:
        await asyncio.wait_for(poll(), timeout)
    except asyncio.TimeoutError:
        raise TimeoutError(f"condition not met within {timeout:g} s") from None


def speech_like_pcm16(seconds: float, rate: int = 24000, amplitude: float = 0.4) -> bytes:
    """Deterministic voiced-sounding PCM16 (harmonics with a syllable envelope), no numpy."""
    import array

    samples = array.array("h")
    total = int(seconds * rate)
    for n in range(total):
        t = n / rate
        envelope = 0.55 + 0.45 * math.sin(2 * math.pi * 4.0 * t)
        value = sum(math.sin(2 * math.pi * 140.0 * k * t) / k for k in (1, 2, 3, 4))
        samples.append(int(max(-1.0, min(1.0, amplitude * envelope * value / 2.1)) * 32767))
    return samples.tobytes()
