"""A small HTTP/1.1 server on one port: REST routes plus WebSocket upgrades handed to websockets.

websockets' server parses only ``GET`` requests, and the emulator also needs ``POST`` (client
secrets now; WebRTC calls and SIP call control later) on the same port, as the real API serves
them on one host. So this module reads each request head itself: REST requests go to a route
table; a WebSocket upgrade goes through an ``accept`` callback (auth, query parsing) and, if
accepted, the socket is handed to a ``websockets.asyncio.server.ServerConnection`` together with
the bytes read so far. websockets then does the handshake and framing; the route's handler gets
the connection.

Surfaces register with :class:`Router`: ``router.add("POST", "/v1/realtime/calls/{call_id}/accept",
handler)`` and ``router.websocket("/v1/realtime", accept)``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import socket
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

from websockets.extensions.permessage_deflate import enable_server_permessage_deflate
from websockets.http11 import Request, Response
from websockets.server import ServerProtocol
from websockets.typing import Subprotocol

from realtime_transport_emulator.net.wsconn import WebSocket

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


@dataclass(frozen=True)
class HttpRequest:
    method: str
    target: str
    path: str
    query: dict[str, list[str]]
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""
    params: dict[str, str] = field(default_factory=dict)
    peer: Any = None

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None

    def query_value(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    def json(self) -> Any:
        """The body as JSON; a clear 400 if it is not."""
        if not self.body:
            return {}
        try:
            return json.loads(self.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise HttpError(
                HttpResponse.error(
                    400,
                    f"We could not parse the JSON body of your request: {exc}. "
                    "Send a JSON object with Content-Type: application/json.",
                    code="invalid_json",
                )
            ) from None


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def json(
        cls, status: int, data: Any, headers: tuple[tuple[str, str], ...] = ()
    ) -> HttpResponse:
        return cls(status, json.dumps(data).encode(), "application/json", headers)

    @classmethod
    def error(
        cls,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        type: str = "invalid_request_error",
    ) -> HttpResponse:
        """The REST error shape: ``{"error": {"message", "type", "param", "code"}}``."""
        body = {"error": {"message": message, "type": type, "param": param, "code": code}}
        return cls.json(status, body)

    def encode(self, *, keep_alive: bool) -> bytes:
        try:
            reason = HTTPStatus(self.status).phrase
        except ValueError:
            reason = "Unknown"
        lines = [
            f"HTTP/1.1 {self.status} {reason}",
            f"Server: {SERVER_NAME}",
            f"Content-Type: {self.content_type}",
            f"Content-Length: {len(self.body)}",
            f"Connection: {'keep-alive' if keep_alive else 'close'}",
            *(f"{name}: {value}" for name, value in self.headers),
        ]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


class HttpError(Exception):
    """Raised by handlers to answer with a given response."""

    def __init__(self, response: HttpResponse) -> None:
        super().__init__(response.status)
        self.response = response


HttpHandler = Callable[[HttpRequest], Awaitable[HttpResponse]]
WsHandler = Callable[[WebSocket], Awaitable[None]]


@dataclass(frozen=True)
class WebSocketPlan:
    """An accepted upgrade: the subprotocol to answer with and the connection handler."""

    handler: WsHandler
    subprotocol: str | None = None


WsAccept = Callable[[HttpRequest], Awaitable["WebSocketPlan | HttpResponse"]]


class Router:
    """Routes by method and path pattern (``{name}`` segments become ``request.params``)."""

    def __init__(self) -> None:
        self._http: list[tuple[str, re.Pattern[str], HttpHandler]] = []
        self._ws: dict[str, WsAccept] = {}

    def add(self, method: str, pattern: str, handler: HttpHandler) -> None:
        parts = re.split(r"(\{\w+\})", pattern)
        regex = "".join(
            f"(?P<{part[1:-1]}>[^/]+)" if part.startswith("{") else re.escape(part)
            for part in parts
        )
        self._http.append((method.upper(), re.compile(f"^{regex}$"), handler))

    def websocket(self, path: str, accept: WsAccept) -> None:
        self._ws[path] = accept

    def websocket_for(self, path: str) -> WsAccept | None:
        return self._ws.get(path)

    async def dispatch(self, request: HttpRequest) -> HttpResponse:
        allowed: list[str] = []
        for method, regex, handler in self._http:
            match = regex.match(request.path)
            if match is None:
                continue
            if method != request.method:
                allowed.append(method)
                continue
            routed = HttpRequest(
                request.method,
                request.target,
                request.path,
                request.query,
                request.headers,
                request.body,
                match.groupdict(),
                request.peer,
            )
            try:
                return await handler(routed)
            except HttpError as exc:
                return exc.response
        if allowed:
            return HttpResponse.error(
                405,
                f"Method {request.method} is not allowed on {request.path}; "
                f"use {', '.join(sorted(set(allowed)))}.",
                code="method_not_allowed",
            )
        if request.path in self._ws:
            return HttpResponse.error(
                426,
                f"{request.path} is a WebSocket endpoint; connect with a WebSocket client.",
                code="upgrade_required",
            )
        return HttpResponse.error(
            404, f"Unknown path {request.path} on the Realtime emulator.", code="not_found"
        )


class _HttpConnection(asyncio.Protocol):
    """One TCP connection until it is either served as HTTP or handed to websockets."""

    def __init__(self, server: HttpServer) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.busy = False
        self.continued = False  # "100 Continue" already sent for the request being read
        self.task: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement the interface without subclassing asyncio.Transport:
        # never check the concrete class (issue 10).
        transport = cast("asyncio.Transport", transport)
        self.transport = transport
        self.server.http_connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.http_connections.discard(self)
        if self.task is not None and not self.task.done():
            self.task.cancel()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.busy:
            self._process()

    def _reply(self, response: HttpResponse, *, keep_alive: bool = False) -> None:
        assert self.transport is not None
        self.transport.write(response.encode(keep_alive=keep_alive))
        if not keep_alive:
            self.transport.close()

    def _process(self) -> None:
        assert self.transport is not None
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buffer) > MAX_HEAD:
                self._reply(HttpResponse.error(431, "Request headers too large."))
            return
        head = bytes(self.buffer[:end]).decode("latin-1")
        lines = head.split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            self._reply(HttpResponse.error(400, "Malformed HTTP request line."))
            return
        method, target, version = parts
        headers: list[tuple[str, str]] = []
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep or not name.strip():
                self._reply(HttpResponse.error(400, "Malformed HTTP header line."))
                return
            headers.append((name.strip(), value.strip()))
        url = urlsplit(target)
        request = HttpRequest(
            method.upper(),
            target,
            url.path,
            parse_qs(url.query, keep_blank_values=True),
            tuple(headers),
            peer=self.transport.get_extra_info("peername"),
        )
        upgrade = (request.header("Upgrade") or "").lower() == "websocket"
        if upgrade and request.method == "GET":
            self.busy = True
            self.task = asyncio.get_running_loop().create_task(self._upgrade(request))
            return
        if (request.header("Transfer-Encoding") or "").lower() not in ("", "identity"):
            self._reply(HttpResponse.error(411, "Send request bodies with Content-Length."))
            return
        try:
            length = int(request.header("Content-Length") or 0)
        except ValueError:
            self._reply(HttpResponse.error(400, "Invalid Content-Length."))
            return
        if length > MAX_BODY:
            self._reply(HttpResponse.error(413, f"Request body over {MAX_BODY} bytes."))
            return
        if len(self.buffer) < end + 4 + length:
            if (request.header("Expect") or "").lower() == "100-continue" and not self.continued:
                self.continued = True
                self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            return  # wait for the rest of the body
        self.continued = False
        body = bytes(self.buffer[end + 4 : end + 4 + length])
        del self.buffer[: end + 4 + length]
        connection = (request.header("Connection") or "").lower()
        keep_alive = version == "HTTP/1.1" and connection != "close"
        request = HttpRequest(
            request.method,
            target,
            request.path,
            request.query,
            request.headers,
            body,
            peer=request.peer,
        )
        self.busy = True
        self.task = asyncio.get_running_loop().create_task(self._serve(request, keep_alive))

    async def _serve(self, request: HttpRequest, keep_alive: bool) -> None:
        try:
            response = await self.server.router.dispatch(request)
        except Exception:
            logger.exception("HTTP handler failed for %s %s", request.method, request.path)
            response = HttpResponse.error(
                500, "The emulator failed to handle this request.", type="server_error"
            )
        if self.transport is None or self.transport.is_closing():
            return
        self._reply(response, keep_alive=keep_alive)
        self.busy = False
        if keep_alive and self.buffer:
            self._process()

    async def _upgrade(self, request: HttpRequest) -> None:
        accept = self.server.router.websocket_for(request.path)
        if accept is None:
            self._reply(
                HttpResponse.error(
                    404, f"No WebSocket endpoint at {request.path}.", code="not_found"
                )
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
            self._reply(outcome)
            return
        self.server.hand_off(self, outcome)


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

    def hand_off(self, connection: _HttpConnection, plan: WebSocketPlan) -> None:
        """Give the socket (and the bytes read so far) to a WebSocket for this upgrade."""
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
        ws.data_received(bytes(connection.buffer))

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
