"""``wss://…/v1/realtime?call_id=rtc_…``: a server-side socket on a WebRTC call's own session.

As on the API, the sideband sees the same events as the ``oai-events`` channel (so a server can
handle tools while the browser holds the media) and its client events go into the same session.
The call is the :class:`~realtime_transport_emulator.surfaces.realtime_ws.CallMedia` of its id:
each attached socket gets a :class:`SidebandSession` that forwards to the call's session.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from realtime_transport_emulator.session.errors import ProtocolError
from realtime_transport_emulator.session.session import SinkClosed

if TYPE_CHECKING:
    from realtime_transport_emulator.surfaces.webrtc.call import WebRtcCall

Send = Callable[[dict[str, Any]], Awaitable[None]]


class SidebandSession:
    """What the WebSocket surface drives for an attached socket (the call's session is shared)."""

    def __init__(self, call: WebRtcCall, send: Send) -> None:
        self.call = call
        self.send_raw = send

    async def _send(self, event_type: str, **fields: Any) -> None:
        session = self.call.session
        await self.send_raw({"type": event_type, "event_id": session.ids.new("event"), **fields})

    async def start(self) -> None:
        await self._send("session.created", session=self.call.session.config)

    async def handle(self, event: Any) -> None:
        if self.call.dead:
            raise SinkClosed()
        await self.call.session.handle(event)

    async def send_error(self, error: ProtocolError, event_id: str | None = None) -> None:
        await self._send("error", error=error.to_error(event_id))

    async def expire(self, limit_seconds: float) -> None:
        from realtime_transport_emulator.session import errors

        await self.send_error(errors.session_expired(limit_seconds))

    async def close(self) -> None:
        """The socket went away; the call (and its session) go on."""


class Sidebands:
    """The sockets attached to one call: mirrors of every server event, hung up with the call."""

    def __init__(self) -> None:
        self._attached: dict[SidebandSession, Callable[[], None]] = {}

    def add(self, session: SidebandSession, hang_up: Callable[[], None]) -> None:
        self._attached[session] = hang_up

    def remove(self, session: SidebandSession) -> None:
        self._attached.pop(session, None)

    async def mirror(self, event: dict[str, Any]) -> None:
        for session in list(self._attached):
            try:
                await session.send_raw(event)
            except SinkClosed:
                self.remove(session)

    def hang_up_all(self) -> None:
        attached, self._attached = self._attached, {}
        for hang_up in attached.values():
            hang_up()
