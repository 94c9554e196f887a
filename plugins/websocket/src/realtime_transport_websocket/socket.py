"""The socket under the transport.

``FastWebSocket`` runs websockets' sans-I/O client protocol directly on an asyncio protocol:
each inbound frame is handed to the transport inside ``data_received`` (no task, no queue hop per
message) and each outbound message is one synchronous ``transport.write``. That is what lets one
process hold hundreds of sessions. ``AdaptedWebSocket`` wraps any socket a ``create_websocket``
hook returns (a websockets connection, a socket opened through an HTTP client, a test double) so
the transport sees the same small interface either way.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import re
import ssl as ssl_module
import struct
import threading
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, cast

from realtime_transport.errors import (
    AuthenticationError,
    TransportConnectionError,
    TransportNotConnectedError,
)
from websockets.client import ClientProtocol
from websockets.exceptions import InvalidStatus
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import Protocol, State
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

try:  # websockets' C speedup when it is built, else its pure-Python version
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - depends on the platform's wheel
    from websockets.utils import apply_mask

logger = logging.getLogger("realtime_transport.websocket")


class _RedactCredentials(logging.Filter):
    """websockets logs handshake headers at DEBUG; never let a key through."""

    _pattern = re.compile(r"(Bearer\s+|openai-insecure-api-key\.)[^\s,;]+", re.IGNORECASE)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self._pattern.sub(r"\1***", message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


#: Logger handed to the sans-I/O protocol (its DEBUG output includes the handshake headers).
wire_logger = logging.getLogger("realtime_transport.websocket.wire")
wire_logger.addFilter(_RedactCredentials())


class _FrameContentHidden(logging.LoggerAdapter):  # type: ignore[type-arg]
    """The wire logger with frame payloads replaced by their kind and size (websockets logs
    every frame it handles at DEBUG, transcripts included), for ``log_model_data=False``."""

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if self.isEnabledFor(level):
            args = tuple(_hide_frame(arg) for arg in args)
            self.logger.log(level, msg, *args, **kwargs)


def _hide_frame(arg: Any) -> Any:
    if isinstance(arg, Frame):
        return f"{arg.opcode.name} [{len(arg.data)} bytes, content hidden]"
    return arg


def wire_log_for(hide_frames: bool) -> logging.Logger | logging.LoggerAdapter:  # type: ignore[type-arg]
    """The logger to hand websockets: frame content hidden when model data may not be logged."""
    return _FrameContentHidden(wire_logger, {}) if hide_frames else wire_logger


OnMessage = Callable[[str | bytes], None]
OnClose = Callable[[int | None, str, BaseException | None], None]


#: Opcodes parsed inline: text, binary, ping, pong (continuation and close go to websockets).
_FAST_OPCODES = frozenset({0x1, 0x2, 0x9, 0xA})

_SHORT_HEADER = struct.Struct("!BB")
_MEDIUM_HEADER = struct.Struct("!BBH")
_LONG_HEADER = struct.Struct("!BBQ")


class _MaskPool:
    """Client frame masks from one ``os.urandom`` read per 1024 frames (masks must be random,
    not secret-per-byte; batching the syscall is what the per-frame cost allows)."""

    __slots__ = ("_buffer", "_position")

    def __init__(self) -> None:
        self._buffer = b""
        self._position = 0

    def take(self) -> bytes:
        position = self._position
        if position >= len(self._buffer):
            self._buffer = os.urandom(4096)
            position = 0
        self._position = position + 4
        return self._buffer[position : position + 4]


_MASKS = _MaskPool()
_NOTHING_EARLY: tuple[()] = ()  # once started, nothing is held back


class RealtimeSocket(ABC):
    """What the transport needs from a socket: write a text frame, close, report closure."""

    __slots__ = ()

    @abstractmethod
    def send_text(self, data: bytes) -> None:
        """Send one UTF-8 JSON text frame. Raise TransportNotConnectedError when closed."""

    @abstractmethod
    def start(self) -> None:
        """Begin delivering inbound messages (those that arrived early are delivered first).

        The transport calls this once it has sent its initial ``session.update``, so nothing it
        sends in reaction to ``session.created`` can overtake that first update."""

    @abstractmethod
    def buffered_amount(self) -> int:
        """Bytes accepted by ``send_text`` but not yet written to the network."""

    async def drain(self) -> None:
        """Return once what ``send_text`` accepted was handed to the network (or failed, which
        is reported through the close callback). The default yields to the loop once, which
        lets a loss the loop already knows about be reported."""
        await asyncio.sleep(0)

    @abstractmethod
    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Closing handshake, bounded by the socket's close timeout; then release everything."""

    @abstractmethod
    def abort(self) -> None:
        """Drop the connection at once (no handshake)."""


_READ_BUFFER_SIZE = 256 * 1024  # what asyncio's transports read at once
_thread_buffers = threading.local()


def _read_buffer() -> memoryview:
    """This thread's receive buffer, shared by all its connections.

    The default loop reads a plain ``Protocol``'s data with ``recv(256 KiB)``: a fresh 256 KiB
    allocation, shrunk to the bytes received, on every read. That costs about 12 µs per read
    here, more than parsing the frame. A ``BufferedProtocol`` is read with ``recv_into`` this
    buffer instead. Sharing is safe: the loop (asyncio, its TLS layer, uvloop) calls
    ``buffer_updated`` right after filling it, before any other callback, and each thread runs
    at most one loop.
    """
    view: memoryview | None = getattr(_thread_buffers, "view", None)
    if view is None:
        view = _thread_buffers.view = memoryview(bytearray(_READ_BUFFER_SIZE))
    return view


class FastWebSocket(asyncio.BufferedProtocol, RealtimeSocket):
    """Client WebSocket on ``asyncio.BufferedProtocol`` + ``websockets.client.ClientProtocol``."""

    # One per connection, hundreds per process: no per-instance __dict__.
    __slots__ = (
        "_close_reported",
        "_close_timeout",
        "_closed",
        "_early",
        "_fragment_opcode",
        "_fragments",
        "_head",
        "_headers",
        "_loop",
        "_max_size",
        "_mode",
        "_needed",
        "_on_close",
        "_on_message",
        "_pending",
        "_ping_handle",
        "_ping_interval",
        "_ping_timeout",
        "_pong_deadline",
        "_protocol",
        "_read_view",
        "_started",
        "_transport",
        "_uri",
        "opened",
    )

    def __init__(
        self,
        url: str,
        headers: Mapping[str, str],
        on_message: OnMessage,
        on_close: OnClose,
        *,
        subprotocols: Sequence[str] | None = None,
        max_size: int | None = None,
        close_timeout: float = 5.0,
        ping_interval: float | None = 20.0,
        ping_timeout: float | None = 20.0,
        wire_log: logging.Logger | logging.LoggerAdapter = wire_logger,  # type: ignore[type-arg]
        handshake_done: bool = False,
    ) -> None:
        self._uri = parse_uri(url)
        self._protocol = ClientProtocol(
            self._uri,
            subprotocols=[Subprotocol(p) for p in subprotocols] if subprotocols else None,
            state=State.OPEN if handshake_done else State.CONNECTING,
            max_size=max_size,
            logger=wire_log,
        )
        self._headers = dict(headers)
        self._on_message = on_message
        self._on_close = on_close
        self._close_timeout = close_timeout
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout
        self._transport: asyncio.Transport | None = None
        self._loop = asyncio.get_running_loop()
        self._read_view = _read_buffer()
        self.opened: asyncio.Future[None] = self._loop.create_future()
        self._closed: asyncio.Future[None] = self._loop.create_future()
        self._fragments: list[bytes] = []
        self._fragment_opcode: Opcode | None = None
        self._ping_handle: asyncio.TimerHandle | None = None
        self._pong_deadline: asyncio.TimerHandle | None = None
        self._close_reported = False
        self._started = False
        self._early: list[str | bytes] | tuple[()] = []
        self._max_size = max_size
        self._mode: Literal["handshake", "fast", "protocol"] = (
            "fast" if handshake_done else "handshake"
        )
        # Shared empty bytes until needed (hundreds of idle connections hold these).
        self._head: bytes | bytearray = b""  # response head being read
        self._pending: bytes | bytearray = b""  # start of a frame whose end has not arrived
        self._needed = 0  # bytes that frame needs before it is worth parsing again
        if handshake_done:
            self.opened.set_result(None)

    # -- opening -----------------------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        url: str,
        headers: Mapping[str, str],
        on_message: OnMessage,
        on_close: OnClose,
        *,
        ssl: ssl_module.SSLContext | bool | None = None,
        register: Callable[[FastWebSocket], None] | None = None,
        **options: Any,
    ) -> FastWebSocket:
        """Connect and complete the handshake. ``register`` sees the socket before the
        handshake finishes so a concurrent ``close()`` can abort it."""
        socket = cls(url, headers, on_message, on_close, **options)
        if register is not None:
            register(socket)
        uri = socket._uri
        ssl_context: ssl_module.SSLContext | bool | None = None
        if uri.secure:
            ssl_context = ssl if isinstance(ssl, ssl_module.SSLContext) else True
        try:
            await socket._loop.create_connection(
                lambda: socket,
                uri.host,
                uri.port,
                ssl=ssl_context,
                server_hostname=uri.host if uri.secure else None,
            )
        except ssl_module.SSLError as exc:
            raise TransportConnectionError(
                f"TLS handshake with {uri.host}:{uri.port} failed ({exc.reason or exc}). "
                "Check the URL scheme (wss:// needs TLS) and the system CA certificates."
            ) from None
        except OSError as exc:
            raise TransportConnectionError(
                f"could not reach {uri.host}:{uri.port} ({exc.strerror or exc}). "
                "Check the URL and that the server is running."
            ) from None
        await socket.opened
        return socket

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement the interface without subclassing asyncio.Transport:
        # never check the concrete class (issue 10).
        transport = cast("asyncio.Transport", transport)
        self._transport = transport
        request = self._protocol.connect()
        for name, value in self._headers.items():
            request.headers[name] = value
        self._protocol.send_request(request)
        self._flush()

    def attach(self, transport: asyncio.BaseTransport) -> None:
        """Run on a connection whose HTTP upgrade another client already did.

        For sockets built with ``handshake_done=True`` (the cloudflare transport upgrades through
        httpx, then hands the connection over): no request is sent, framing starts at once.
        """
        self._transport = cast("asyncio.Transport", transport)
        self._schedule_ping()

    def _handshake_done(self, response: Response) -> None:
        exc = self._protocol.handshake_exc
        if exc is None:
            # Checked and done with: websockets' parser keeps the response alive for the
            # connection's lifetime, and our request headers carry the credentials.
            response.headers.clear()
            response.body = b""
            self._headers = {}
            # ClientProtocol.parse is now inside Protocol.parse, waiting at a frame boundary with
            # nothing buffered (it was fed exactly the response head); its own generator frame
            # holds the response. Run the frame parser alone from here, as websockets itself
            # swaps ``parser`` (to ``discard``) on failure: ≈0.5 KiB less per connection.
            protocol = self._protocol
            if not protocol.reader.buffer:
                protocol.parser = Protocol.parse(protocol)
                next(protocol.parser)
            if not self.opened.done():
                self.opened.set_result(None)
            self._schedule_ping()
            return
        if not self.opened.done():
            self.opened.set_exception(_handshake_error(exc, response))

    # -- receiving ---------------------------------------------------------------------------

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._read_view

    def buffer_updated(self, nbytes: int) -> None:
        # a copy: the buffer is reused by the next read of any connection on this thread
        self.data_received(self._read_view[:nbytes].tobytes())

    def data_received(self, data: bytes) -> None:
        mode = self._mode
        if mode == "fast":
            self._receive_frames(data)
        elif mode == "handshake":
            self._receive_handshake(data)
        else:
            self._receive_via_protocol(data)

    def _receive_handshake(self, data: bytes) -> None:
        """Feed websockets exactly the response head, so its parser ends on a frame boundary."""
        self._head += data
        end = self._head.find(b"\r\n\r\n")
        if end < 0:
            if len(self._head) > 65536:  # not an HTTP response we can read: let websockets say so
                head, self._head = bytes(self._head), b""
                self._mode = "protocol"
                self._receive_via_protocol(head)
            return
        head, rest = bytes(self._head[: end + 4]), bytes(self._head[end + 4 :])
        self._head = b""
        self._receive_via_protocol(head)
        if self._protocol.state is State.OPEN:
            self._mode = "fast"
            if rest:
                self._receive_frames(rest)
        else:  # refused: the body and EOF go to websockets, which builds the error
            self._mode = "protocol"
            if rest:
                self._receive_via_protocol(rest)

    def _receive_frames(self, data: bytes) -> None:
        """Parse the common case, whole unmasked text/binary frames and ping/pong, inline.

        websockets' parser costs about a third of the per-delta CPU; this loop does the same
        work for the frames a Realtime server sends all the time. Anything else (close,
        fragments, RSV bits, a masked or oversized frame) hands the stream, from that frame on,
        to websockets' protocol, whose parser is at exactly that frame boundary.
        """
        if self._pending:
            self._pending += data
            if len(self._pending) < self._needed:
                return  # a large frame arriving in pieces: no re-parse (and no copy) per piece
            data, self._pending = bytes(self._pending), b""
        size = len(data)
        position = 0
        max_size = self._max_size
        started, on_message = self._started, self._on_message
        while size - position >= 2:
            first, second = data[position], data[position + 1]
            length = second & 0x7F
            header = 2
            if length == 126:
                header = 4
                if size - position < 4:
                    self._needed = 4
                    break
                length = (data[position + 2] << 8) | data[position + 3]
            elif length == 127:
                header = 10
                if size - position < 10:
                    self._needed = 10
                    break
                length = int.from_bytes(data[position + 2 : position + 10], "big")
            opcode = first & 0x0F
            if (
                first & 0xF0 != 0x80  # not FIN, or RSV bits
                or second & 0x80  # masked: servers must not mask
                or opcode not in _FAST_OPCODES
                or (opcode >= 8 and length > 125)  # an invalid control frame: websockets says so
                or (max_size is not None and length > max_size)
            ):
                self._mode = "protocol"
                self._receive_via_protocol(data[position:])
                return
            end = position + header + length
            if end > size:
                self._needed = header + length
                break
            if opcode <= 2:
                if started:  # _deliver inlined: this is once per received event
                    try:
                        on_message(data[position + header : end])
                    except Exception:  # the transport never raises here; the socket must not die
                        logger.exception("message handler failed")
                else:
                    self._deliver(data[position + header : end])
            elif opcode == 9:
                self._protocol.send_pong(data[position + header : end])
                self._flush()
            elif self._pong_deadline is not None:
                self._pong_deadline.cancel()
                self._pong_deadline = None
            position = end
        if position < size:
            if size - position < 2:
                self._needed = 2
            self._pending = bytearray(memoryview(data)[position:])

    def _receive_via_protocol(self, data: bytes) -> None:
        self._protocol.receive_data(data)
        self._flush()
        self._process_events()

    def _process_events(self) -> None:
        protocol = self._protocol
        for event in protocol.events_received():
            if not isinstance(event, Frame):
                if isinstance(event, Response):
                    self._handshake_done(event)
                continue
            opcode = event.opcode
            if opcode is Opcode.TEXT or opcode is Opcode.BINARY:
                if event.fin:
                    # bytes, as on the fast path: invalid UTF-8 becomes a parse error event
                    # downstream instead of an exception out of the protocol callback
                    self._deliver(bytes(event.data))
                else:
                    self._fragment_opcode = opcode
                    self._fragments = [bytes(event.data)]
            elif opcode is Opcode.CONT:
                self._fragments.append(bytes(event.data))
                if event.fin:
                    joined = b"".join(self._fragments)
                    self._fragments, self._fragment_opcode = [], None
                    self._deliver(joined)
            elif opcode is Opcode.PONG:
                if self._pong_deadline is not None:
                    self._pong_deadline.cancel()
                    self._pong_deadline = None
        if protocol.close_expected() and self._transport is not None:
            self._loop.call_later(self._close_timeout, self.abort)

    def start(self) -> None:
        self._started = True
        early, self._early = self._early, _NOTHING_EARLY
        for payload in early:
            self._deliver(payload)

    def _deliver(self, payload: str | bytes) -> None:
        if not self._started:
            # only during the handshake-to-start window, while _early is still a list
            cast("list[str | bytes]", self._early).append(payload)
            return
        try:
            self._on_message(payload)
        except Exception:  # the transport never raises here, but a socket must not die of it
            logger.exception("message handler failed")

    def eof_received(self) -> bool | None:
        if self._mode == "handshake" and self._head:
            head, self._head = bytes(self._head), b""
            self._protocol.receive_data(head)
        self._mode = "protocol"
        self._protocol.receive_eof()
        self._flush()
        self._process_events()  # a refused handshake without Content-Length ends at EOF
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        self._transport = None
        protocol = self._protocol
        if protocol.state is not State.CLOSED:
            protocol.receive_eof()
        if not self.opened.done():
            error = exc or ConnectionResetError("connection closed during the WebSocket handshake")
            self.opened.set_exception(
                TransportConnectionError(f"connection lost before the WebSocket opened: {error}")
            )
        if not self._closed.done():
            self._closed.set_result(None)
        if self._close_reported:
            return
        self._close_reported = True
        close = protocol.close_rcvd
        if close is None and protocol.close_sent is not None and protocol.close_sent.code != 1000:
            # We closed because of a protocol error (an oversized or invalid frame): report
            # our close code and websockets' reason instead of "no close code".
            close = protocol.close_sent
            exc = exc or getattr(protocol, "parser_exc", None)
        code = close.code if close is not None else (None if exc is None else 1006)
        reason = close.reason if close is not None else ""
        if close is None and exc is None and protocol.close_sent is None:
            code = 1006
            reason = "connection closed without a close frame"
        try:
            self._on_close(code, reason, exc)
        except Exception:
            logger.exception("close handler failed")

    # -- sending -----------------------------------------------------------------------------

    def send_text(self, data: bytes) -> None:
        transport = self._transport
        if transport is None or self._protocol.state is not State.OPEN:
            raise TransportNotConnectedError(
                "the WebSocket is not open; connect() first (or reconnect after a disconnect)"
            )
        # One unfragmented, masked text frame written directly (RFC 6455 §5.2): the same bytes
        # websockets' serialiser produces when no extension is negotiated (we offer none), at
        # about 20 % less CPU per chunk and without a getrandom() call per frame.
        size = len(data)
        if size < 126:
            header = _SHORT_HEADER.pack(0x81, 0x80 | size)
        elif size < 65536:
            header = _MEDIUM_HEADER.pack(0x81, 0xFE, size)
        else:
            header = _LONG_HEADER.pack(0x81, 0xFF, size)
        mask = _MASKS.take()
        transport.write(header + mask + apply_mask(data, mask))

    def buffered_amount(self) -> int:
        transport = self._transport
        return transport.get_write_buffer_size() if transport is not None else 0

    def _flush(self) -> None:
        transport = self._transport
        if transport is None:
            return
        for chunk in self._protocol.data_to_send():
            if chunk:
                transport.write(chunk)
            elif transport.can_write_eof():
                transport.write_eof()

    # -- keepalive ---------------------------------------------------------------------------

    def _schedule_ping(self) -> None:
        if self._ping_interval:
            self._ping_handle = self._loop.call_later(self._ping_interval, self._send_ping)

    def _send_ping(self) -> None:
        if self._transport is None or self._protocol.state is not State.OPEN:
            return
        self._protocol.send_ping(b"rt")
        self._flush()
        if self._ping_timeout and self._pong_deadline is None:
            self._pong_deadline = self._loop.call_later(self._ping_timeout, self._ping_timed_out)
        self._schedule_ping()

    def _ping_timed_out(self) -> None:
        logger.warning("no pong within %.0f s; dropping the connection", self._ping_timeout)
        self._pong_deadline = None
        self.abort()

    def _cancel_timers(self) -> None:
        for handle in (self._ping_handle, self._pong_deadline):
            if handle is not None:
                handle.cancel()
        self._ping_handle = self._pong_deadline = None

    # -- closing -----------------------------------------------------------------------------

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self._close_reported = True  # a requested close is not reported back as a drop
        self._cancel_timers()
        if self._transport is None:
            return
        if self._protocol.state is State.OPEN:
            self._protocol.send_close(code, reason)
            self._flush()
            try:
                await asyncio.wait_for(asyncio.shield(self._closed), self._close_timeout)
                return
            except asyncio.TimeoutError:
                pass
        self.abort()

    def abort(self) -> None:
        transport = self._transport
        if transport is not None:
            transport.abort()


def _handshake_error(exc: Exception, response: Response) -> TransportConnectionError:
    if not isinstance(exc, InvalidStatus):
        return TransportConnectionError(f"WebSocket handshake failed: {exc}")
    status = response.status_code
    detail = _error_detail(response.body)
    if status in (401, 403):
        return AuthenticationError(
            f"the server rejected the credentials (HTTP {status}){detail}. Check the API key "
            "(OPENAI_API_KEY) or mint a fresh client secret."
        )
    return TransportConnectionError(
        f"the server refused the WebSocket upgrade (HTTP {status}){detail}. Check the URL "
        "and the model name."
    )


def _error_detail(body: bytes | bytearray | None) -> str:
    if not body:
        return ""
    from realtime_transport._json import loads

    try:
        message = loads(body)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = bytes(body[:200]).decode("utf-8", "replace")
    # the caller adds its own full stop: "…configured with. Check…", never "with.. Check"
    message = str(message).strip().rstrip(".")
    return f": {message}" if message else ""


class AdaptedWebSocket(RealtimeSocket):
    """Wrap a socket from a ``create_websocket`` hook (websockets-style ``send``/``recv``).

    Sends are queued (bounded) and written by one writer task; one reader task feeds frames to
    the transport. The socket object must offer ``send(str)``, ``recv()`` or async iteration, and
    ``close()``; each may be sync or async.
    """

    def __init__(
        self,
        socket: Any,
        on_message: OnMessage,
        on_close: OnClose,
        *,
        max_queue: int = 1024,
        close_timeout: float = 5.0,
    ) -> None:
        self._socket = socket
        self._on_message = on_message
        self._on_close = on_close
        self._close_timeout = close_timeout
        self._queue: deque[bytes] = deque()
        self._max_queue = max_queue
        self._wakeup = asyncio.Event()
        self._closing = False
        self._reported = False
        self._sending = False
        self._writer = asyncio.ensure_future(self._write())
        self._reader: asyncio.Future[None] | None = None

    def start(self) -> None:
        if self._reader is None:
            self._reader = asyncio.ensure_future(self._read())

    def send_text(self, data: bytes) -> None:
        if self._closing or (self._reader is not None and self._reader.done()):
            raise TransportNotConnectedError("the WebSocket is closed; connect() again")
        if len(self._queue) >= self._max_queue:
            raise TransportConnectionError(
                f"{len(self._queue)} messages are waiting to be sent; the connection is too "
                "slow. Send less audio or check the network."
            )
        self._queue.append(data)
        self._wakeup.set()

    def buffered_amount(self) -> int:
        return sum(len(chunk) for chunk in self._queue)

    async def _write(self) -> None:
        send = self._socket.send
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                chunk = self._queue.popleft()
                self._sending = True
                try:
                    result = send(chunk.decode())
                    if inspect.isawaitable(result):
                        await result
                except Exception as exc:
                    self._report(None, "send failed", exc)
                    return
                finally:
                    self._sending = False

    async def drain(self) -> None:
        await asyncio.sleep(0)
        while (self._queue or self._sending) and not self._writer.done():
            await asyncio.sleep(0.002)  # bounded by the caller's timeout

    async def _read(self) -> None:
        exc: BaseException | None = None
        try:
            if hasattr(self._socket, "__aiter__"):
                async for message in self._socket:
                    self._on_message(message)
            else:
                while True:
                    message = self._socket.recv()
                    if inspect.isawaitable(message):
                        message = await message
                    self._on_message(message)
        except asyncio.CancelledError:
            raise
        except Exception as exc_:
            exc = exc_
        code = getattr(self._socket, "close_code", None)
        reason = getattr(self._socket, "close_reason", "") or ""
        if code is None and exc is not None:
            code = 1006
        self._report(code, reason, None if _is_normal_close(exc) else exc)

    def _report(self, code: int | None, reason: str, exc: BaseException | None) -> None:
        if self._reported or self._closing:
            return
        self._reported = True
        self._on_close(code, reason, exc)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self._closing = True
        # Let queued frames go out first, within the close timeout.
        deadline = asyncio.get_running_loop().time() + self._close_timeout
        while self._queue and not self._writer.done():
            if asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.005)
        self._writer.cancel()
        failure: Exception | None = None
        try:
            result = (
                self._socket.close(code, reason)
                if _accepts_args(self._socket.close)
                else (self._socket.close())
            )
            if inspect.isawaitable(result):
                await asyncio.wait_for(result, self._close_timeout)
        except Exception as exc:
            failure = exc  # raised once our tasks are gone; the transport reports it
        tasks = [t for t in (self._reader, self._writer) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if failure is not None:
            raise failure

    def abort(self) -> None:
        self._closing = True
        self._writer.cancel()
        if self._reader is not None:
            self._reader.cancel()
        transport = getattr(self._socket, "transport", None)
        if transport is not None:
            transport.abort()


def _is_normal_close(exc: BaseException | None) -> bool:
    if exc is None:
        return True
    code = getattr(getattr(exc, "rcvd", None), "code", None)
    return code in (1000, 1001)


def _accepts_args(fn: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return len(params) >= 2 or any(p.kind is p.VAR_POSITIONAL for p in params.values())
