"""The upgrade through an ``httpx.AsyncClient``, then WebSocket framing on the upgraded stream.

httpx sends the ``GET`` with ``Upgrade: websocket`` like any other request, so the caller's
proxy, auth, mounts, custom transport and event hooks all apply. After ``101`` httpx hands over
the connection (``response.extensions["network_stream"]``) and the websocket transport's
``FastWebSocket`` frames on it:

* a plain TCP connection (httpcore over anyio on asyncio or uvloop) is taken over at the asyncio
  transport level: the socket becomes the transport's protocol and frames arrive in
  ``data_received``, as fast as the websocket transport itself;
* anything else (TLS, which anyio runs in Python over a memory BIO; CONNECT tunnels; other
  backends) is pumped through the stream's ``read``/``write`` by one reader and one writer task.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from realtime_transport.errors import TransportConnectionError
from realtime_transport_websocket.socket import FastWebSocket, OnClose, OnMessage

from .errors import BODY_EXCERPT_BYTES, UpgradeFailedError, http_url, upgrade_refused

_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_READ_SIZE = 65536


def upgrade_headers(headers: dict[str, str], key: str) -> dict[str, str]:
    """The RFC 6455 opening-handshake headers on top of the transport's (auth, user agent)."""
    return {
        **headers,
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Key": key,
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Protocol": "realtime",
    }


def expected_accept(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + _GUID).encode()).digest()).decode()


async def upgrade(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], *, timeout: float, secret: str
) -> httpx.Response:
    """Send the upgrade request; return the ``101`` response (its stream still open)."""
    key = base64.b64encode(os.urandom(16)).decode()
    # The pool wait ends first, so a full pool is reported as such, not as a generic timeout.
    limits = httpx.Timeout(timeout, pool=timeout * 0.8)
    request = client.build_request(
        "GET", http_url(url), headers=upgrade_headers(headers, key), timeout=limits
    )
    try:
        response = await client.send(request, stream=True)
    except httpx.PoolTimeout:
        raise TransportConnectionError(
            "every connection of the httpx client's pool is in use (each live session keeps "
            "one); build the client with limits=httpx.Limits(max_connections=None) or close "
            "idle sessions"
        ) from None
    except httpx.ProxyError as exc:
        raise TransportConnectionError(
            f"the proxy refused or failed the upgrade ({exc}); check the proxy URL and its "
            "credentials"
        ) from None
    except httpx.TransportError as exc:
        raise TransportConnectionError(
            f"could not reach {request.url.host}:{request.url.port or ''} "
            f"({type(exc).__name__}: {exc or 'no detail'}); check the URL and the network"
        ) from None
    try:
        if response.status_code != 101:
            raise upgrade_refused(response.status_code, await _body_excerpt(response), secret)
        _check_handshake(response, key)
        if "network_stream" not in response.extensions:
            raise UpgradeFailedError(
                "the HTTP client's transport answered 101 but gave no network stream (a mock "
                "or ASGI transport cannot carry a WebSocket); use an httpcore-based transport",
                status=101,
            )
    except BaseException:
        await response.aclose()
        raise
    return response


def _check_handshake(response: httpx.Response, key: str) -> None:
    problem = None
    if response.headers.get("upgrade", "").lower() != "websocket":
        problem = "no 'Upgrade: websocket' header"
    elif "upgrade" not in response.headers.get("connection", "").lower():
        problem = "no 'Connection: Upgrade' header"
    elif response.headers.get("sec-websocket-accept") != expected_accept(key):
        problem = "a wrong Sec-WebSocket-Accept (the server or a proxy is not speaking RFC 6455)"
    elif response.headers.get("sec-websocket-protocol", "realtime") != "realtime":
        problem = (
            f"subprotocol {response.headers['sec-websocket-protocol']!r}, which was not "
            "offered (we offer 'realtime')"
        )
    if problem:
        raise UpgradeFailedError(
            f"the server answered 101 but the WebSocket handshake is invalid: {problem}",
            status=101,
        )


async def _body_excerpt(response: httpx.Response) -> bytes:
    async def read() -> bytes:
        body = b""
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) >= BODY_EXCERPT_BYTES:
                break
        return body

    try:
        return (await asyncio.wait_for(read(), 2.0))[:BODY_EXCERPT_BYTES]
    except Exception:  # a refusal whose body cannot be read is still a refusal
        return b""


class UpgradedWebSocket(FastWebSocket):
    """``FastWebSocket`` on a connection httpx upgraded; closing it returns httpx's connection."""

    def __init__(
        self,
        url: str,
        on_message: OnMessage,
        on_close: OnClose,
        *,
        release: Callable[[], Awaitable[None]],
        **options: Any,
    ) -> None:
        super().__init__(url, {}, on_message, on_close, handshake_done=True, **options)
        self._release = release
        self._released = False
        self._release_task: asyncio.Future[None] | None = None

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if not self._released:
            self._release_task = asyncio.ensure_future(self._release_once())

    async def close(self, code: int = 1000, reason: str = "") -> None:
        try:
            await super().close(code, reason)
        finally:
            await self._release_once()

    async def _release_once(self) -> None:
        if self._released:
            return
        self._released = True
        try:
            await self._release()
        except Exception:  # the connection is gone either way
            pass


async def open_upgraded(
    client: httpx.AsyncClient,
    url: str,
    headers: dict[str, str],
    on_message: OnMessage,
    on_close: OnClose,
    *,
    timeout: float,
    secret: str,
    **options: Any,
) -> UpgradedWebSocket:
    """Upgrade through ``client`` and return the socket framing on the upgraded connection."""
    response = await upgrade(client, url, headers, timeout=timeout, secret=secret)
    stream = response.extensions["network_stream"]
    socket = UpgradedWebSocket(url, on_message, on_close, release=response.aclose, **options)
    try:
        if not take_over_transport(stream, socket):
            StreamTransport(stream, socket)
    except BaseException:
        await response.aclose()
        raise
    return socket


def take_over_transport(stream: Any, socket: UpgradedWebSocket) -> bool:
    """Make ``socket`` the protocol of the asyncio transport under an httpcore/anyio stream.

    Only for the exact classes this was written against (httpcore 1.x upgrade stream over anyio's
    asyncio ``SocketStream``); anything else returns False and is pumped instead. Bytes httpcore
    or anyio already read past the response head are handed to the socket first.
    """
    try:
        from anyio._backends._asyncio import SocketStream, StreamProtocol
        from httpcore._async.http11 import AsyncHTTP11UpgradeStream
        from httpcore._backends.anyio import AnyIOStream
    except ImportError:  # pragma: no cover - other versions: the pump still works
        return False
    if type(stream) is not AsyncHTTP11UpgradeStream:
        return False
    inner = getattr(stream, "_stream", None)
    if type(inner) is not AnyIOStream:
        return False
    socket_stream = getattr(inner, "_stream", None)
    if type(socket_stream) is not SocketStream:
        return False
    transport = socket_stream._transport
    protocol = socket_stream._protocol
    if (
        type(protocol) is not StreamProtocol
        or transport.is_closing()
        or protocol.is_at_eof
        or protocol.exception is not None
    ):
        return False  # the peer already hung up: the pump reports it the ordinary way
    buffered = bytes(getattr(stream, "_leading_data", b"")) + b"".join(protocol.read_queue)
    stream._leading_data = b""
    protocol.read_queue.clear()
    protocol.read_event.clear()
    transport.set_protocol(socket)
    transport.set_write_buffer_limits()  # anyio set 0 (write-through); the socket buffers
    socket.attach(transport)
    if buffered:
        socket.data_received(buffered)
    transport.resume_reading()
    return True


class StreamTransport:
    """The part of ``asyncio.Transport`` the socket uses, over an httpcore network stream.

    One reader task feeds ``data_received``; ``write`` queues and one writer task sends the queue
    as one buffer per wake-up. Used for TLS and proxy tunnels, where the bytes are not on an
    asyncio transport we could take over.
    """

    def __init__(self, stream: Any, protocol: FastWebSocket) -> None:
        self._stream = stream
        self._protocol = protocol
        self._queue: deque[bytes] = deque()
        self._queued = 0
        self._wakeup = asyncio.Event()
        self._closing = False
        self._lost = False
        protocol.attach(self)  # type: ignore[arg-type]
        self._reader = asyncio.ensure_future(self._read())
        self._writer = asyncio.ensure_future(self._write())

    def write(self, data: bytes) -> None:
        if self._closing:
            return
        self._queue.append(data)
        self._queued += len(data)
        self._wakeup.set()

    def get_write_buffer_size(self) -> int:
        return self._queued

    def can_write_eof(self) -> bool:
        return False

    def write_eof(self) -> None:  # pragma: no cover - can_write_eof() is False
        pass

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        self.abort()

    def abort(self) -> None:
        self._lose(None)

    async def _read(self) -> None:
        error: Exception | None = None
        try:
            while True:
                data = await self._stream.read(_READ_SIZE)
                if not data:
                    self._protocol.eof_received()
                    break
                self._protocol.data_received(data)
        except asyncio.CancelledError:
            return
        except Exception as exc:
            error = exc
        self._lose(error)

    async def _write(self) -> None:
        try:
            while True:
                await self._wakeup.wait()
                self._wakeup.clear()
                while self._queue:
                    chunks = list(self._queue)
                    self._queue.clear()
                    await self._stream.write(b"".join(chunks))
                    self._queued -= sum(len(chunk) for chunk in chunks)
        except asyncio.CancelledError:
            return
        except Exception as exc:
            self._lose(exc)

    def _lose(self, exc: Exception | None) -> None:
        if self._lost:
            return
        self._lost = self._closing = True
        current = asyncio.current_task()
        for task in (self._reader, self._writer):
            if task is not current:
                task.cancel()
        self._protocol.connection_lost(exc)
