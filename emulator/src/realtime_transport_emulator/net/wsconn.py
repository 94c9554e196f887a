"""The server side of one WebSocket: websockets' Sans-I/O protocol on an asyncio transport.

websockets' Sans-I/O layer (``ServerProtocol``: handshake, framing, extensions, ping and close
replies) is its stable integration API; this module adds the I/O: feeding bytes in, writing bytes
out, assembling messages into a bounded queue (reading pauses while it is full), write flow
control, the close handshake with a timeout, optional keepalive pings, and the controls the
fault injector needs (stop reading for good, abort with a TCP reset).
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable
from typing import cast

from websockets.exceptions import ConnectionClosed, ConnectionClosedError
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import State
from websockets.server import ServerProtocol

logger = logging.getLogger("realtime_transport_emulator.websockets")

MAX_QUEUE = 16  # messages buffered before reading pauses
WRITE_HIGH = 64 * 1024


class WebSocket(asyncio.Protocol):
    """One accepted upgrade. ``accept`` decides the handshake response; ``handler`` runs after."""

    def __init__(
        self,
        protocol: ServerProtocol,
        *,
        accept: Callable[[ServerProtocol, Request], Response],
        handler: Callable[[WebSocket], Awaitable[None]],
        on_done: Callable[[WebSocket], None],
        close_timeout: float = 1.0,
        ping_interval: float | None = None,
    ) -> None:
        self.protocol = protocol
        self._accept = accept
        self._handler = handler
        self._on_done = on_done
        self.close_timeout = close_timeout
        self.ping_interval = ping_interval
        self.transport: asyncio.Transport = None  # type: ignore[assignment]  # set on connect
        self.task: asyncio.Task[None] | None = None
        self._messages: collections.deque[str | bytes] = collections.deque()
        self._fragments: list[bytes] = []
        self._fragment_text = False
        self._message_waiter: asyncio.Future[None] | None = None
        self._write_waiter: asyncio.Future[None] | None = None
        self._writing_paused = False
        self._paused_by_queue = False
        self.reading_stopped = False
        self._loop = asyncio.get_running_loop()
        self._lost = self._loop.create_future()
        self._close_timer: asyncio.TimerHandle | None = None
        self._keepalive: asyncio.Task[None] | None = None
        self._pong: asyncio.Future[None] | None = None

    # ------------------------------------------------------------------ asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement the interface without subclassing asyncio.Transport:
        # never check the concrete class (issue 10).
        transport = cast("asyncio.Transport", transport)
        self.transport = transport
        transport.set_write_buffer_limits(high=WRITE_HIGH)

    def data_received(self, data: bytes) -> None:
        self.protocol.receive_data(data)
        self._process()

    def eof_received(self) -> bool | None:
        self.protocol.receive_eof()
        self._flush()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.protocol.receive_eof()
        self.protocol.data_to_send()  # nothing can be written any more
        if not self._lost.done():
            self._lost.set_result(None)
        if self._close_timer is not None:
            self._close_timer.cancel()
        for waiter in (self._message_waiter, self._write_waiter, self._pong):
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
        if self.task is None:  # the handshake never completed
            self._on_done(self)

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        if self._write_waiter is not None and not self._write_waiter.done():
            self._write_waiter.set_result(None)

    # ------------------------------------------------------------------ protocol events

    def _process(self) -> None:
        for event in self.protocol.events_received():
            if isinstance(event, Request):
                self._handshake(event)
            elif isinstance(event, Frame):
                self._frame(event)
        self._flush()
        if self.protocol.close_expected() and self._close_timer is None and not self._lost.done():
            loop = asyncio.get_running_loop()
            self._close_timer = loop.call_later(self.close_timeout, self.transport.abort)

    def _handshake(self, request: Request) -> None:
        response = self._accept(self.protocol, request)
        self.protocol.send_response(response)
        self._flush()
        if self.protocol.state is State.OPEN:
            loop = asyncio.get_running_loop()
            self.task = loop.create_task(self._run(), name="emulator-websocket")
            if self.ping_interval:
                self._keepalive = loop.create_task(self._keep_alive(self.ping_interval))

    def _frame(self, frame: Frame) -> None:
        if frame.opcode is Opcode.PONG:
            if self._pong is not None and not self._pong.done():
                self._pong.set_result(None)
            return
        if frame.opcode in (Opcode.TEXT, Opcode.BINARY):
            self._fragments = [bytes(frame.data)]
            self._fragment_text = frame.opcode is Opcode.TEXT
        elif frame.opcode is Opcode.CONT:
            self._fragments.append(bytes(frame.data))
        else:
            return  # ping/close: the Sans-I/O protocol already queued the replies
        if not frame.fin:
            return
        data = b"".join(self._fragments)
        self._fragments = []
        if self._fragment_text:
            try:
                message: str | bytes = data.decode("utf-8")
            except UnicodeDecodeError:
                self.protocol.fail(1007, "invalid UTF-8 in a text message")
                return
        else:
            message = data
        self._messages.append(message)
        if len(self._messages) >= MAX_QUEUE and not self._paused_by_queue:
            self._paused_by_queue = True
            self.transport.pause_reading()
        if self._message_waiter is not None and not self._message_waiter.done():
            self._message_waiter.set_result(None)

    def _flush(self) -> None:
        for data in self.protocol.data_to_send():
            if data:
                self.transport.write(data)
            else:  # end of stream: a server closes the TCP connection
                self.transport.close()

    # ------------------------------------------------------------------ application API

    @property
    def subprotocol(self) -> str | None:
        return self.protocol.subprotocol

    @property
    def close_code(self) -> int | None:
        return self.protocol.close_code

    @property
    def close_reason(self) -> str | None:
        return self.protocol.close_reason

    @property
    def closed(self) -> bool:
        return self._lost.done()

    def _closed_error(self) -> ConnectionClosed:
        if self.protocol.state is State.CLOSED:
            return self.protocol.close_exc
        return ConnectionClosedError(None, None)

    async def recv(self) -> str | bytes:
        """The next message; raises ``ConnectionClosed`` once the connection is closing."""
        while not self._messages:
            if self.protocol.state is not State.OPEN or self._lost.done():
                await asyncio.shield(self._lost)
                raise self._closed_error()
            self._message_waiter = self._loop.create_future()
            await self._message_waiter
        message = self._messages.popleft()
        if self._paused_by_queue and len(self._messages) <= MAX_QUEUE // 4:
            self._paused_by_queue = False
            if not self.reading_stopped and not self.transport.is_closing():
                self.transport.resume_reading()
        return message

    async def send(self, text: str | bytes) -> None:
        """Send a text message (``bytes``: UTF-8 already), waiting while the buffer is full."""
        if self.protocol.state is not State.OPEN:
            await asyncio.shield(self._lost)
            raise self._closed_error()
        self.protocol.send_text(text.encode("utf-8") if isinstance(text, str) else text)
        self._flush()
        while self._writing_paused and not self._lost.done():
            self._write_waiter = self._loop.create_future()
            await self._write_waiter
        if self._lost.done():
            raise self._closed_error()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Start (or finish) the closing handshake and wait for the TCP connection to end."""
        if self.protocol.state is State.OPEN:
            self.protocol.send_close(code, reason)
            self._process()
        try:
            await asyncio.wait_for(asyncio.shield(self._lost), self.close_timeout + 0.5)
        except asyncio.TimeoutError:
            self.transport.abort()
            await asyncio.shield(self._lost)

    async def wait_closed(self) -> None:
        await asyncio.shield(self._lost)

    def stop_reading(self) -> None:
        """Never read from the socket again (fault injection: a stuck server)."""
        self.reading_stopped = True
        self.transport.pause_reading()

    def abort(self) -> None:
        self.transport.abort()

    # ------------------------------------------------------------------ tasks

    async def _run(self) -> None:
        try:
            await self._handler(self)
        except ConnectionClosed:
            pass
        except Exception:
            logger.exception("WebSocket handler failed")
            await self.close(1011, "internal error")
        else:
            await self.close()
        finally:
            if self._keepalive is not None:
                self._keepalive.cancel()
            self._on_done(self)

    async def _keep_alive(self, interval: float) -> None:
        loop = asyncio.get_running_loop()
        while self.protocol.state is State.OPEN:
            await asyncio.sleep(interval)
            if self.protocol.state is not State.OPEN or self.reading_stopped:
                return
            self._pong = loop.create_future()
            self.protocol.send_ping(b"emulator")
            self._flush()
            try:
                await asyncio.wait_for(asyncio.shield(self._pong), interval)
            except asyncio.TimeoutError:
                await self.close(1011, "keepalive ping timeout")
                return
