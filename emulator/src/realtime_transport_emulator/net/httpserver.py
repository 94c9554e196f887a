"""The emulator's HTTP/1.1 server on one port: REST routes plus WebSocket upgrades.

h11 parses requests and writes responses (including malformed-request detection, chunked
bodies, ``Expect: 100-continue`` and keep-alive); this module adds the asyncio I/O, limits, CORS
and the hand-off of an accepted upgrade to websockets' Sans-I/O ``ServerProtocol`` (which then
does the handshake and framing, see ``net.wsconn``). Every malformed or oversized request gets
the API's JSON error shape with a 4xx and the connection closes: never a stack trace or a hung
socket. Routing lives in ``net.routing`` (re-exported here for the surfaces).
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import struct
from http import HTTPStatus
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import h11
from websockets.extensions.permessage_deflate import enable_server_permessage_deflate
from websockets.http11 import Request, Response
from websockets.server import ServerProtocol
from websockets.typing import Subprotocol

from realtime_transport_emulator.net.routing import (
    HttpError,
    HttpHandler,
    HttpRequest,
    HttpResponse,
    Router,
    WebSocketPlan,
    WsAccept,
    WsHandler,
)
from realtime_transport_emulator.net.wsconn import WebSocket

__all__ = [
    "HttpError",
    "HttpHandler",
    "HttpRequest",
    "HttpResponse",
    "HttpServer",
    "Router",
    "WebSocketPlan",
    "WsAccept",
    "WsHandler",
    "set_linger_zero",
]

logger = logging.getLogger("realtime_transport_emulator.http")


class _RedactSecrets(logging.Filter):
    """websockets logs request headers at DEBUG; keep keys out of those lines."""

    _PATTERNS = (
        (re.compile(r"(authorization:\s*\S+\s+)\S+", re.IGNORECASE), r"\1***"),
        (re.compile(r"(openai-insecure-api-key\.)[^,\s'\"]+"), r"\1***"),
    )

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = message
        for pattern, replacement in self._PATTERNS:
            redacted = pattern.sub(replacement, redacted)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


ws_logger = logging.getLogger("realtime_transport_emulator.websockets")
ws_logger.addFilter(_RedactSecrets())

MAX_HEAD = 64 * 1024
MAX_BODY = 16 * 1024 * 1024
MAX_WS_MESSAGE = 32 * 1024 * 1024  # base64 of the API's 15 MiB append limit, with room
SERVER_NAME = "realtime-transport-emulator"
# Headers a browser may read from our answers: the call id of a WebRTC call is in Location.
EXPOSED_HEADERS = "Location"
CORS_METHODS = "GET, POST, DELETE, OPTIONS"
CORS_DEFAULT_HEADERS = (
    "authorization, content-type, openai-beta, openai-organization, openai-project"
)


def _text(value: bytes) -> str:
    return value.decode("latin-1")


def _to_request(event: h11.Request, peer: Any) -> HttpRequest:
    target = _text(event.target)
    url = urlsplit(target)
    headers = tuple((_text(name), _text(value)) for name, value in event.headers.raw_items())
    return HttpRequest(
        _text(event.method).upper(),
        target,
        url.path,
        parse_qs(url.query, keep_blank_values=True),
        headers,
        peer=peer,
    )


def _upgrade_head(event: h11.Request) -> bytes:
    """The upgrade request re-serialized for websockets, which parses the handshake itself."""
    lines = [b"%s %s HTTP/1.1" % (event.method, event.target)]
    lines.extend(name + b": " + value for name, value in event.headers.raw_items())
    return b"\r\n".join(lines) + b"\r\n\r\n"


def _cors_preflight(request: HttpRequest) -> HttpResponse:
    """Answer a browser's preflight: any origin, our methods, the headers it asked for."""
    asked = request.header("Access-Control-Request-Headers")
    return HttpResponse(
        204,
        content_type="",
        headers=(
            ("Access-Control-Allow-Methods", CORS_METHODS),
            ("Access-Control-Allow-Headers", asked or CORS_DEFAULT_HEADERS),
            ("Access-Control-Max-Age", "600"),
        ),
    )


def _is_preflight(request: HttpRequest) -> bool:
    return (
        request.method == "OPTIONS"
        and request.header("Origin") is not None
        and request.header("Access-Control-Request-Method") is not None
    )


class _HttpConnection(asyncio.Protocol):
    """One TCP connection until it is either served as HTTP or handed to websockets."""

    def __init__(self, server: HttpServer) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
        self.request: h11.Request | None = None
        self.body = bytearray()
        self.origin: str | None = None
        self.busy = False  # a handler or an upgrade decision is running
        self.continued = False  # "100 Continue" already sent for the request being read
        self.task: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement the interface without subclassing asyncio.Transport:
        # never check the concrete class (issue 10).
        self.transport = cast("asyncio.Transport", transport)
        self.server.http_connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.http_connections.discard(self)
        if self.task is not None and not self.task.done():
            self.task.cancel()

    def data_received(self, data: bytes) -> None:
        try:
            self.h11.receive_data(data)
        except RuntimeError:  # data after a close we decided on: nothing left to serve
            return
        if not self.busy:
            self._process()

    def eof_received(self) -> bool | None:
        try:
            self.h11.receive_data(b"")
        except RuntimeError:
            return None
        if not self.busy:
            self._process()
        return True  # we close after answering (or at once, in _process)

    # ------------------------------------------------------------------ reading

    def _process(self) -> None:
        while not self.busy and self.transport is not None and not self.transport.is_closing():
            try:
                event = self.h11.next_event()
            except h11.RemoteProtocolError as exc:
                self._fail(exc.error_status_hint, _protocol_message(exc))
                return
            if event is h11.NEED_DATA:
                self._maybe_continue()
                return
            if isinstance(event, h11.Request):
                if not self._begin(event):
                    return
            elif isinstance(event, h11.Data):
                self.body += event.data
                if len(self.body) > MAX_BODY:
                    self._fail(413, f"Request body over {MAX_BODY} bytes.", code="body_too_large")
                    return
            elif isinstance(event, h11.EndOfMessage):
                self._complete()
            elif isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
                # PAUSED without an upgrade of ours cannot happen (we answer every request
                # before starting the next cycle); a closed peer has nothing left to serve.
                self.transport.close()
                return

    def _begin(self, event: h11.Request) -> bool:
        self.request, self.body, self.continued = event, bytearray(), False
        headers = dict(event.headers)  # h11 lower-cases names and validates Content-Length
        origin = headers.get(b"origin")
        self.origin = _text(origin) if origin is not None else None
        if event.http_version not in (b"1.0", b"1.1"):
            self._fail(505, "Only HTTP/1.0 and HTTP/1.1 are served here.", code="bad_version")
            return False
        if int(headers.get(b"content-length", b"0")) > MAX_BODY:
            self._fail(413, f"Request body over {MAX_BODY} bytes.", code="body_too_large")
            return False
        return True

    def _maybe_continue(self) -> None:
        if self.h11.they_are_waiting_for_100_continue and not self.continued:
            self.continued = True
            self._write(
                self.h11.send(
                    h11.InformationalResponse(status_code=100, headers=[], reason=b"Continue")
                )
            )

    def _complete(self) -> None:
        event = self.request
        assert event is not None and self.transport is not None
        request = _to_request(event, self.transport.get_extra_info("peername"))
        loop = asyncio.get_running_loop()
        self.busy = True
        upgrade = (request.header("Upgrade") or "").lower() == "websocket"
        if upgrade and request.method == "GET":
            trailing, _ = self.h11.trailing_data
            self.task = loop.create_task(self._upgrade(request, _upgrade_head(event) + trailing))
            return
        body_request = HttpRequest(
            request.method,
            request.target,
            request.path,
            request.query,
            request.headers,
            bytes(self.body),
            peer=request.peer,
        )
        self.body = bytearray()
        self.task = loop.create_task(self._serve(body_request))

    # ------------------------------------------------------------------ writing

    def _write(self, data: bytes | None) -> None:
        if data and self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def _reply(self, response: HttpResponse, *, close: bool = False) -> None:
        """Write one response with h11; close when h11 (or the caller) says so."""
        if self.transport is None or self.transport.is_closing():
            return
        headers: list[tuple[str, str]] = [("Server", SERVER_NAME)]
        if response.status != 204:
            headers.append(("Content-Type", response.content_type))
            headers.append(("Content-Length", str(len(response.body))))
        if self.origin is not None:
            headers.append(("Access-Control-Allow-Origin", "*"))
            headers.append(("Access-Control-Expose-Headers", EXPOSED_HEADERS))
        if close:
            headers.append(("Connection", "close"))
        headers.extend(response.headers)
        try:
            reason = HTTPStatus(response.status).phrase
        except ValueError:
            reason = ""
        try:
            data = self.h11.send(
                h11.Response(status_code=response.status, headers=headers, reason=reason)
            )
            if response.status != 204:
                data = (data or b"") + (self.h11.send(h11.Data(data=response.body)) or b"")
            data = (data or b"") + (self.h11.send(h11.EndOfMessage()) or b"")
        except h11.LocalProtocolError:
            logger.exception("Could not write the HTTP response")
            self.transport.abort()
            return
        self._write(data)
        if close or self.h11.our_state is h11.MUST_CLOSE:
            self.transport.close()
            return
        if self.h11.our_state is h11.DONE and self.h11.their_state is h11.DONE:
            self.h11.start_next_cycle()
            self.busy = False
            self._process()
        else:  # the client is still sending (we answered early): do not try to reuse
            self.transport.close()

    def _fail(self, status: int, message: str, *, code: str | None = None) -> None:
        """Answer a request we could not read and close: a 4xx with the API's error shape."""
        if self.transport is None or self.transport.is_closing():
            return
        if self.h11.our_state in (h11.IDLE, h11.SEND_RESPONSE):
            self._reply(HttpResponse.error(status, message, code=code), close=True)
        self.transport.close()

    # ------------------------------------------------------------------ dispatch

    async def _serve(self, request: HttpRequest) -> None:
        if _is_preflight(request):
            self._reply(_cors_preflight(request))
            return
        try:
            response = await self.server.router.dispatch(request)
        except Exception:
            logger.exception("HTTP handler failed for %s %s", request.method, request.path)
            response = HttpResponse.error(
                500, "The emulator failed to handle this request.", type="server_error"
            )
        self._reply(response)

    async def _upgrade(self, request: HttpRequest, head: bytes) -> None:
        accept = self.server.router.websocket_for(request.path)
        if accept is None:
            self._reply(
                HttpResponse.error(
                    404, f"No WebSocket endpoint at {request.path}.", code="not_found"
                ),
                close=True,
            )
            return
        try:
            outcome = await accept(request)
        except HttpError as exc:
            outcome = exc.response
        except Exception:
            logger.exception("WebSocket accept failed for %s", request.path)
            outcome = HttpResponse.error(
                500, "The emulator failed to accept this connection.", type="server_error"
            )
        if self.transport is None or self.transport.is_closing():
            return
        if isinstance(outcome, HttpResponse):
            self._reply(outcome, close=True)
            return
        self.server.hand_off(self, outcome, head)


def _protocol_message(exc: h11.RemoteProtocolError) -> str:
    if exc.error_status_hint == 431:
        return f"Request headers too large (limit {MAX_HEAD} bytes)."
    return f"Malformed HTTP request: {exc}. Send a valid HTTP/1.1 request."


class HttpServer:
    """Listens on one port; serves the router's HTTP routes and WebSocket endpoints."""

    def __init__(
        self,
        router: Router,
        *,
        ping_interval: float | None = None,
        close_timeout: float = 1.0,
    ) -> None:
        self.router = router
        self.ping_interval = ping_interval
        self.close_timeout = close_timeout
        self.http_connections: set[_HttpConnection] = set()
        self.websockets: set[WebSocket] = set()
        self._server: asyncio.Server | None = None
        self._stopping = False
        self.host = ""
        self.port = 0

    async def start(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        try:
            server = await loop.create_server(
                lambda: _HttpConnection(self), host, port, reuse_address=True
            )
        except OSError as exc:
            raise OSError(
                exc.errno,
                f"Cannot listen on {host}:{port}: {exc.strerror}. "
                "Pick another port (port 0 chooses a free one).",
            ) from None
        self._server = server
        self._stopping = False
        sockname = server.sockets[0].getsockname()
        self.host, self.port = str(sockname[0]), int(sockname[1])

    def hand_off(self, connection: _HttpConnection, plan: WebSocketPlan, head: bytes) -> None:
        """Give the socket (the upgrade request and any bytes after it) to a WebSocket."""
        transport = connection.transport
        assert transport is not None
        self.http_connections.discard(connection)

        def choose(protocol: ServerProtocol, offered: Any) -> Subprotocol | None:
            if plan.subprotocol is not None and plan.subprotocol in offered:
                return Subprotocol(plan.subprotocol)
            return None

        def accept(protocol: ServerProtocol, request: Request) -> Response:
            if self._stopping:
                response = protocol.reject(503, "The emulator is shutting down.\n")
            else:
                response = protocol.accept(request)
            response.headers["Server"] = SERVER_NAME
            return response

        protocol = ServerProtocol(
            extensions=enable_server_permessage_deflate(None),
            select_subprotocol=choose,
            max_size=MAX_WS_MESSAGE,
            logger=ws_logger,
        )
        ws = WebSocket(
            protocol,
            accept=accept,
            handler=plan.handler,
            on_done=self.websockets.discard,
            close_timeout=self.close_timeout,
            ping_interval=self.ping_interval,
        )
        self.websockets.add(ws)
        transport.set_protocol(ws)
        ws.connection_made(transport)
        ws.data_received(head)

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping = True
        server.close()
        for connection in list(self.http_connections):
            if connection.transport is not None:
                connection.transport.close()
        sockets = list(self.websockets)
        if sockets:
            await asyncio.gather(
                *(ws.close(1001, "server shutting down") for ws in sockets),
                return_exceptions=True,
            )
            tasks = [ws.task for ws in sockets if ws.task is not None and not ws.task.done()]
            if tasks:
                _, pending = await asyncio.wait(tasks, timeout=self.close_timeout + 1)
                for task in pending:
                    task.cancel()
        await server.wait_closed()


def set_linger_zero(transport: asyncio.BaseTransport) -> None:
    """Make the next close send a TCP RST instead of a FIN (an abrupt reset)."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
