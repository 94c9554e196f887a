"""What each connection did, for assertions: every client event received, every server event sent.

Records hold parsed JSON in order. Keys are never recorded (only how the client authenticated).
Memory is bounded: past ``max_events`` per direction, further events are counted, not stored;
with ``record_audio=False`` the base64 audio of ``input_audio_buffer.append`` and
``response.output_audio.delta`` is replaced by ``"<N bytes>"`` (the CLI runs like that).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from realtime_transport_emulator.faults import Faults

_AUDIO_FIELDS = {"input_audio_buffer.append": "audio", "response.output_audio.delta": "delta"}


@dataclass
class ConnectionRecord:
    """One WebSocket connection to ``/v1/realtime``."""

    index: int
    path: str
    query: dict[str, str]
    model: str | None
    call_id: str | None
    auth: str  # "api_key" | "ephemeral"
    auth_via: str  # "header" | "subprotocol"
    subprotocol: str | None
    faults: Faults
    session_id: str | None = None
    session: dict[str, Any] = field(default_factory=dict)  # latest session.created/.updated
    client_events: list[dict[str, Any]] = field(default_factory=list)
    server_events: list[dict[str, Any]] = field(default_factory=list)
    injected_frames: list[str] = field(default_factory=list)  # fault frames (not protocol events)
    invalid_client_frames: list[str] = field(default_factory=list)
    close_code: int | None = None
    close_reason: str | None = None
    dropped_client_events: int = 0
    dropped_server_events: int = 0
    max_events: int = 100_000
    record_audio: bool = True
    on_change: Callable[[], None] = field(default=lambda: None, repr=False)
    _closed: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    @property
    def received(self) -> list[dict[str, Any]]:
        """Alias of ``client_events``."""
        return self.client_events

    @property
    def sent(self) -> list[dict[str, Any]]:
        """Alias of ``server_events``."""
        return self.server_events

    def client_types(self) -> list[str]:
        return [str(e.get("type")) for e in self.client_events]

    def server_types(self) -> list[str]:
        return [str(e.get("type")) for e in self.server_events]

    def _slim(self, event: dict[str, Any]) -> dict[str, Any]:
        name = _AUDIO_FIELDS.get(str(event.get("type")))
        if self.record_audio or name is None or not isinstance(event.get(name), str):
            return event
        size = len(event[name]) * 3 // 4
        return {**event, name: f"<{size} bytes>"}

    def add_client(self, event: dict[str, Any]) -> None:
        if len(self.client_events) >= self.max_events:
            self.dropped_client_events += 1
        else:
            self.client_events.append(self._slim(event))
        self.on_change()

    def add_server(self, event: dict[str, Any]) -> None:
        if event.get("type") in ("session.created", "session.updated"):
            self.session = event["session"]
        if len(self.server_events) >= self.max_events:
            self.dropped_server_events += 1
        else:
            self.server_events.append(self._slim(event))
        self.on_change()

    def add_invalid(self, frame: str) -> None:
        if len(self.invalid_client_frames) < self.max_events:
            self.invalid_client_frames.append(frame[:1000])
        self.on_change()

    def mark_closed(self, code: int | None, reason: str | None) -> None:
        """``code`` None (no close frame, e.g. a reset) is recorded as 1006, as RFC 6455 says."""
        self.close_code = 1006 if code is None else code
        self.close_reason = reason
        self._closed.set()
        self.on_change()

    async def wait_closed(self, timeout: float = 5.0) -> int | None:
        """Wait until the connection is closed; returns the close code."""
        await asyncio.wait_for(self._closed.wait(), timeout)
        return self.close_code
