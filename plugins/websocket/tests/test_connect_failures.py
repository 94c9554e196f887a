"""connect() and close() when things go wrong mid-way, against real loopback servers.

Each test pins one behaviour issue 18 found missing: a failed setup raises instead of
returning, an aborted attempt leaves nothing behind, and errors keep their cause (without the
key) instead of flattening it into a message.
"""

from __future__ import annotations

import asyncio
import json
import traceback
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from realtime_transport.errors import (
    AuthenticationError,
    ConnectTimeoutError,
    TransportConnectionError,
)
from realtime_transport.events import ErrorEvent
from realtime_transport_websocket.transport import OpenAIRealtimeWebSocket
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve

SECRET = "sk-issue18-SECRET-abcdef0123"


@asynccontextmanager
async def _server() -> AsyncIterator[str]:
    async def handler(ws: ServerConnection) -> None:
        await ws.send(json.dumps({"type": "session.created", "event_id": "e0", "session": {}}))
        async for _ in ws:
            pass

    async with serve(handler, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}/v1/realtime"


def _formatted(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))


async def test_connect_raises_when_the_initial_update_cannot_be_written() -> None:
    """The socket is gone before the initial session.update is written: connect() raises (it
    used to return, and an ``error`` said "connection lost" afterwards)."""
    async with _server() as url:

        async def closed_socket(target: str, headers: dict[str, str]) -> ClientConnection:
            ws = await connect(target, additional_headers=headers)
            await ws.close()
            return ws

        transport = OpenAIRealtimeWebSocket(url=url, create_websocket=closed_socket)
        errors: list[ErrorEvent] = []
        transport.on("error", errors.append)
        with pytest.raises(TransportConnectionError, match="lost while the session was being set"):
            await transport.connect(api_key="sk-x")
        assert transport.status == "disconnected"
        await transport.close()  # the socket's tasks are gone: no report can come later
        assert not [e for e in errors if e.code == "connection_lost"]


async def test_close_while_the_key_factory_is_pending_keeps_the_previous_model() -> None:
    """The aborted attempt's model= does not stick: a later connect() uses the old model."""
    release = asyncio.Event()
    called = asyncio.Event()

    async def key() -> str:
        called.set()
        await release.wait()
        return "sk-x"

    async with _server() as url:
        transport = OpenAIRealtimeWebSocket(url=url, model="gpt-realtime", api_key=key)
        attempt = asyncio.ensure_future(transport.connect(model="gpt-realtime-mini"))
        await asyncio.wait_for(called.wait(), 2)
        await transport.close()
        release.set()
        with pytest.raises(TransportConnectionError):
            await asyncio.wait_for(attempt, 2)
        assert transport.current_model == "gpt-realtime"
        urls: list[str] = []  # the same instance connects again, without model=

        async def record(target: str, headers: dict[str, str]) -> ClientConnection:
            urls.append(target)
            return await connect(target, additional_headers=headers)

        transport._create_websocket = record
        await transport.connect(api_key="sk-x")
        assert urls and "model=gpt-realtime" in urls[0] and "mini" not in urls[0]
        await transport.close()


class _HookError(Exception):
    pass


async def test_hook_failure_is_chained_as_the_cause_with_the_key_redacted() -> None:
    async def failing(target: str, headers: dict[str, str]) -> Any:
        raise _HookError(f"proxy refused {headers['Authorization']}")

    transport = OpenAIRealtimeWebSocket(url="ws://127.0.0.1:9/", create_websocket=failing)
    with pytest.raises(TransportConnectionError) as info:
        await transport.connect(api_key=SECRET)
    cause = info.value.__cause__
    assert isinstance(cause, _HookError), f"no chained cause: {cause!r}"
    assert "proxy refused" in str(cause)
    assert SECRET not in str(cause) and SECRET not in _formatted(info.value)
    assert info.value.__context__ is None or info.value.__suppress_context__


async def test_hook_failure_without_a_secret_is_chained_as_is() -> None:
    original = _HookError("no route to proxy")

    async def failing(target: str, headers: dict[str, str]) -> Any:
        raise original

    transport = OpenAIRealtimeWebSocket(url="ws://127.0.0.1:9/", create_websocket=failing)
    with pytest.raises(TransportConnectionError) as info:
        await transport.connect(api_key=SECRET)
    assert info.value.__cause__ is original


async def test_open_timeout_chains_the_timeout() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)  # never answers
    port = server.sockets[0].getsockname()[1]
    try:
        transport = OpenAIRealtimeWebSocket(url=f"ws://127.0.0.1:{port}/", open_timeout=0.2)
        with pytest.raises(ConnectTimeoutError) as info:
            await transport.connect(api_key=SECRET)
        assert isinstance(info.value.__cause__, TimeoutError)
    finally:
        server.close()


class _CloseFails:
    """A real websockets connection whose close() raises (as some proxies' sockets do)."""

    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws
        self.send = ws.send
        self.recv = ws.recv

    async def close(self) -> None:
        await self._ws.close()
        raise OSError(f"close failed for {SECRET}")


async def test_a_socket_close_that_raises_is_reported_as_an_error_event() -> None:
    async with _server() as url:

        async def hook(target: str, headers: dict[str, str]) -> _CloseFails:
            return _CloseFails(await connect(target, additional_headers=headers))

        transport = OpenAIRealtimeWebSocket(url=url, create_websocket=hook)
        errors: list[ErrorEvent] = []
        transport.on("error", errors.append)
        await transport.connect(api_key=SECRET)
        await transport.close()  # does not raise
        (error,) = [e for e in errors if e.code == "close_failed"]
        assert error.source == "transport" and "OSError" in error.message
        assert SECRET not in error.message and SECRET not in str(error.error)
        assert transport.status == "disconnected"


async def test_401_message_reads_cleanly() -> None:
    """The server's message ends with a full stop; ours must not double it."""
    from websockets.datastructures import Headers
    from websockets.http11 import Response

    def refuse(connection: ServerConnection, request: Any) -> Response:
        message = "Incorrect API key provided. You can find your API key at the dashboard."
        body = json.dumps({"error": {"message": message}}).encode()
        return Response(401, "Unauthorized", Headers({"Content-Type": "application/json"}), body)

    async def handler(ws: ServerConnection) -> None:
        await ws.wait_closed()

    async with serve(handler, "127.0.0.1", 0, process_request=refuse) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        transport = OpenAIRealtimeWebSocket(url=f"ws://127.0.0.1:{port}/v1/realtime")
        with pytest.raises(AuthenticationError) as info:
            await transport.connect(api_key=SECRET)
    text = str(info.value)
    assert "at the dashboard. Check the API key" in text and ".." not in text


def test_an_option_of_the_wrong_type_is_a_user_error() -> None:
    from realtime_transport import get_transport
    from realtime_transport.errors import UserError

    with pytest.raises(UserError, match=r"open_timeout must be a number, got '5' \(str\)"):
        get_transport("websocket", open_timeout="5")
    with pytest.raises(UserError, match="ping_interval must be a number or None"):
        OpenAIRealtimeWebSocket(ping_interval="20")  # type: ignore[arg-type]
