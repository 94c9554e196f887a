"""One small protocol over the media stream socket the app's web server accepted.

Twilio opens the Media Streams WebSocket to *your* server, so the transport never opens it: it
is handed the socket your framework accepted. Any object with these three coroutines works::

    class TwilioMediaSocket(Protocol):
        async def receive_text(self) -> str | None: ...  # next text frame; None once closed
        async def send_text(self, text: str) -> None: ...  # raise ConnectionError once closed
        async def close(self, code: int = 1000, reason: str = "") -> None: ...  # idempotent

Optionally ``async def send_texts(self, texts: list[str]) -> None`` sends several messages in one
write, and ``def send_texts_nowait(self, texts: list[str]) -> bool`` does so without awaiting
(False when it would have to wait); the ``websockets`` adapter has both, so a frame and its mark
cost one syscall and no task switch. Likewise ``def start_receiving(on_message, on_closed) ->
bool`` / ``def stop_receiving() -> None`` hand each message to a callback as it is parsed (no
reader task woken per message); the ``websockets`` adapter does this through
:mod:`.message_tap`, and ``receive_text()`` is the fallback when it returns False.

:func:`adapt_media_socket` wraps the two sockets Python servers hand out: Starlette/FastAPI's
``WebSocket`` (already ``accept()``-ed) and a ``websockets`` server connection. For another
framework, write the three methods above (a dozen lines) and pass that object instead.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from realtime_transport.errors import UserError

from .server_frames import text_frames

if TYPE_CHECKING:
    from .message_tap import MessageTap

__all__ = [
    "ReceivesByCallback",
    "StarletteMediaSocket",
    "TwilioMediaSocket",
    "WebsocketsMediaSocket",
    "adapt_media_socket",
]


@runtime_checkable
class TwilioMediaSocket(Protocol):
    """What the transport needs from the Twilio media stream socket (see the module docstring)."""

    async def receive_text(self) -> str | None: ...

    async def send_text(self, text: str) -> None: ...

    async def close(self, code: int = 1000, reason: str = "") -> None: ...


@runtime_checkable
class ReceivesByCallback(Protocol):
    """Optional: a socket that hands each message to a callback as it is parsed."""

    def start_receiving(
        self, on_message: Callable[[bytes], None], on_closed: Callable[[], None]
    ) -> bool: ...

    def stop_receiving(self) -> None: ...


class StarletteMediaSocket:
    """Starlette/FastAPI ``WebSocket`` (ASGI): disconnects become ``None`` / ``ConnectionError``."""

    __slots__ = ("_closed", "_ws")

    def __init__(self, websocket: Any) -> None:
        state = getattr(getattr(websocket, "application_state", None), "name", "")
        if state == "CONNECTING":
            raise UserError(
                "the Twilio WebSocket is not accepted yet: `await websocket.accept()` before "
                "creating the transport"
            )
        self._ws = websocket
        self._closed = False

    async def receive_text(self) -> str | None:
        if self._closed:
            return None
        try:
            message = await self._ws.receive()
        except RuntimeError:  # receive after a disconnect
            self._closed = True
            return None
        if message.get("type") == "websocket.disconnect":
            self._closed = True
            return None
        text = message.get("text")
        if text is None:
            data = message.get("bytes") or b""
            return bytes(data).decode("utf-8", "replace")
        return str(text)

    async def send_text(self, text: str) -> None:
        if self._closed:
            raise ConnectionError("the Twilio media stream is closed")
        try:
            await self._ws.send_text(text)
        except Exception as exc:  # WebSocketDisconnect, RuntimeError, OSError...
            self._closed = True
            raise ConnectionError(
                f"the Twilio media stream is closed ({type(exc).__name__})"
            ) from exc

    async def close(self, code: int = 1000, reason: str = "") -> None:
        if getattr(getattr(self._ws, "application_state", None), "name", "") == "DISCONNECTED":
            self._closed = True
            return
        self._closed = True
        with contextlib.suppress(Exception):
            await self._ws.close(code, reason)


class WebsocketsMediaSocket:
    """A ``websockets`` connection (``websockets.asyncio.server.ServerConnection`` or legacy)."""

    __slots__ = ("_conn", "_tap")

    def __init__(self, connection: Any) -> None:
        self._conn = connection
        self._tap: MessageTap | None = None

    def start_receiving(
        self, on_message: Callable[[bytes], None], on_closed: Callable[[], None]
    ) -> bool:
        """Deliver each message to ``on_message`` from the connection's own parser (see
        :mod:`.message_tap`); False when this connection cannot (read with receive_text)."""
        from .message_tap import BufferedReads, MessageTap

        if self._tap is not None or not MessageTap.can_install(self._conn):
            return False
        transport = getattr(self._conn, "transport", None)
        if transport is not None and not transport.is_closing():
            BufferedReads.install(transport)
        self._tap = MessageTap(self._conn, on_message, on_closed)
        self._tap.install()
        return True

    def stop_receiving(self) -> None:
        """Back to websockets' own queue: later messages wait for ``recv()``."""
        tap, self._tap = self._tap, None
        if tap is not None:
            tap.uninstall()

    async def receive_text(self) -> str | None:
        from websockets.exceptions import ConnectionClosed

        try:
            message = await self._conn.recv()
        except ConnectionClosed:
            return None
        if isinstance(message, (bytes, bytearray, memoryview)):
            return bytes(message).decode("utf-8", "replace")
        return str(message)

    async def send_text(self, text: str) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            await self._conn.send(text)
        except ConnectionClosed as exc:
            raise ConnectionError("the Twilio media stream is closed") from exc

    async def send_texts(self, texts: list[str]) -> None:
        """Several messages in one write (one syscall): a media frame and its mark, typically.

        Frames them with the connection's sans-I/O protocol inside its documented
        ``send_context()`` (open-state check, flow control), then writes the bytes at once.
        """
        from websockets.exceptions import ConnectionClosed

        conn = self._conn
        context = getattr(conn, "send_context", None)
        protocol = getattr(conn, "protocol", None)
        transport = getattr(conn, "transport", None)
        if context is None or protocol is None or transport is None:
            for text in texts:
                await self.send_text(text)
            return
        try:
            async with context():
                for text in texts:
                    protocol.send_text(text.encode())
                chunks = protocol.data_to_send()
                if all(chunks):
                    transport.write(b"".join(chunks))
                else:  # an end-of-stream marker: let the connection handle it
                    for chunk in chunks:
                        if chunk:
                            transport.write(chunk)
        except ConnectionClosed as exc:
            raise ConnectionError("the Twilio media stream is closed") from exc

    def send_texts_nowait(self, texts: list[str]) -> bool:
        """Write ``texts`` now if the connection is open and its buffer below the high-water
        mark (no await, so no task switch per frame); False when the caller must wait."""
        conn = self._conn
        protocol = getattr(conn, "protocol", None)
        transport = getattr(conn, "transport", None)
        if protocol is None or transport is None or protocol.state.name != "OPEN":
            return False
        limit = getattr(conn, "write_limit_high", 2**15)
        if transport.is_closing() or transport.get_write_buffer_size() > limit:
            return False
        if not protocol.extensions:  # no compression negotiated: frame them here, one write
            transport.write(text_frames(texts))
            return True
        for text in texts:
            protocol.send_text(text.encode())
        chunks = protocol.data_to_send()
        if all(chunks):
            transport.write(b"".join(chunks))
        else:
            for chunk in chunks:
                if chunk:
                    transport.write(chunk)
        return True

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close within the connection's ``close_timeout`` (+1 s); a peer that stopped reading
        blocks websockets' close before its own timeout starts, so the connection is aborted."""
        conn = self._conn
        timeout = (getattr(conn, "close_timeout", None) or 10.0) + 1.0
        try:
            await asyncio.wait_for(conn.close(code, reason), timeout)
        except asyncio.TimeoutError:
            transport = getattr(conn, "transport", None)
            if transport is not None:
                transport.abort()
        except Exception:
            pass


def adapt_media_socket(socket: Any) -> TwilioMediaSocket:
    """Wrap ``socket`` so the transport can use it; objects that already fit pass through."""
    if isinstance(socket, (StarletteMediaSocket, WebsocketsMediaSocket)):
        return socket
    if hasattr(socket, "application_state") and hasattr(socket, "receive"):
        return StarletteMediaSocket(socket)
    if callable(getattr(socket, "recv", None)) and callable(getattr(socket, "send", None)):
        return WebsocketsMediaSocket(socket)
    if isinstance(socket, TwilioMediaSocket):
        return socket
    raise UserError(
        f"twilio_websocket must be a Starlette/FastAPI WebSocket, a websockets connection, or an "
        f"object with async receive_text()/send_text()/close(); got {type(socket).__name__}"
    )
