"""The httpx path against the emulator on loopback: sessions, the handshake and its failures."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from conftest import KEY, text_turn
from realtime_transport import RealtimeAgent, RealtimeSession, get_transport
from realtime_transport.errors import AuthenticationError, TransportConnectionError
from realtime_transport_cloudflare import CloudflareRealtimeTransportLayer, UpgradeFailedError
from realtime_transport_cloudflare.errors import http_url
from realtime_transport_cloudflare.httpx_upgrade import StreamTransport, UpgradedWebSocket
from realtime_transport_emulator import Emulator


async def test_session_by_name_holds_a_text_turn(emulator: Emulator) -> None:
    session = RealtimeSession(RealtimeAgent("a", instructions="Be brief."), transport="cloudflare")
    assert isinstance(session.transport, CloudflareRealtimeTransportLayer)
    await asyncio.wait_for(session.connect(api_key=KEY, url=emulator.ws_url), 10)
    try:
        assert await text_turn(session) == "Hi from the emulator."
    finally:
        await session.close()
    record = emulator.connections[0]
    assert record.client_events[0]["type"] == "session.update"


async def test_alias_and_plain_connection_is_taken_over(emulator: Emulator) -> None:
    transport = get_transport("fetch-upgrade")
    assert isinstance(transport, CloudflareRealtimeTransportLayer)
    statuses: list[str] = []
    transport.on("connection_change", statuses.append)
    await transport.connect(api_key=KEY, url=emulator.ws_url)
    try:
        socket = transport.connection_state["websocket"]
        assert isinstance(socket, UpgradedWebSocket)
        # plain TCP: the socket is the asyncio transport's protocol, not pumped by tasks
        assert not isinstance(socket._transport, StreamTransport)
        assert socket._transport.get_protocol() is socket  # type: ignore[union-attr]
    finally:
        await transport.close()
    assert statuses == ["connecting", "connected", "disconnected"]


async def test_caller_client_event_hooks_see_the_upgrade(emulator: Emulator) -> None:
    seen: list[httpx.Request] = []
    answers: list[int] = []

    async def on_request(request: httpx.Request) -> None:
        seen.append(request)

    async def on_response(response: httpx.Response) -> None:
        answers.append(response.status_code)

    async with httpx.AsyncClient(
        event_hooks={"request": [on_request], "response": [on_response]}
    ) as client:
        session = RealtimeSession(
            RealtimeAgent("a"), transport="cloudflare", transport_options={"client": client}
        )
        await session.connect(api_key=KEY, url=emulator.ws_url)
        try:
            assert await text_turn(session) == "Hi from the emulator."
        finally:
            await session.close()
        assert not client.is_closed  # the caller's client is the caller's to close
    (request,) = seen
    assert request.method == "GET"
    assert request.url.scheme == "http" and request.url.path == "/v1/realtime"
    assert request.url.params["model"]
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["sec-websocket-protocol"] == "realtime"
    assert request.headers["upgrade"] == "websocket"
    assert request.headers["connection"] == "Upgrade"
    assert request.headers["user-agent"].startswith("realtime-transport/")
    assert answers == [101]


def test_scheme_rewrite() -> None:
    assert http_url("wss://api.openai.com/v1/realtime?model=m") == (
        "https://api.openai.com/v1/realtime?model=m"
    )
    assert http_url("ws://127.0.0.1:9/v1/realtime") == "http://127.0.0.1:9/v1/realtime"


async def test_refused_key_is_a_typed_error_with_status_and_body(emulator: Emulator) -> None:
    secret = "sk-wrong-key-that-must-not-leak-42"
    transport = CloudflareRealtimeTransportLayer()
    with pytest.raises(UpgradeFailedError) as caught:
        await transport.connect(api_key=secret, url=emulator.ws_url)
    error = caught.value
    assert isinstance(error, AuthenticationError)
    assert error.status == 401
    assert error.body  # the server's explanation is kept
    assert "401" in str(error)
    for text in (str(error), repr(error), error.body):
        assert secret not in text
    assert transport.status == "disconnected"


async def test_refused_path_keeps_status_and_excerpt(emulator: Emulator) -> None:
    transport = CloudflareRealtimeTransportLayer()
    with pytest.raises(UpgradeFailedError) as caught:
        await transport.connect(api_key=KEY, url=f"ws://127.0.0.1:{emulator.port}/nowhere")
    assert caught.value.status == 404
    assert not isinstance(caught.value, AuthenticationError)


async def _canned_server(answer: bytes) -> tuple[asyncio.AbstractServer, int]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(answer)
        await writer.drain()
        await asyncio.sleep(0.5)
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


@pytest.mark.parametrize(
    ("headers", "problem"),
    [
        (b"Sec-WebSocket-Accept: bm90LXRoZS1yaWdodC1vbmU=\r\n", "Sec-WebSocket-Accept"),
        (b"", "Sec-WebSocket-Accept"),
    ],
)
async def test_bad_accept_fails_the_handshake(headers: bytes, problem: str) -> None:
    server, port = await _canned_server(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + headers
        + b"\r\n"
    )
    async with server:
        transport = CloudflareRealtimeTransportLayer(open_timeout=5)
        with pytest.raises(UpgradeFailedError, match=problem) as caught:
            await transport.connect(api_key=KEY, url=f"ws://127.0.0.1:{port}/v1/realtime")
        assert caught.value.status == 101


async def test_unoffered_subprotocol_fails_the_handshake(monkeypatch: Any) -> None:
    from realtime_transport_cloudflare import httpx_upgrade

    monkeypatch.setattr(httpx_upgrade.os, "urandom", lambda n: b"\x01" * n)
    accept = httpx_upgrade.expected_accept("AQEBAQEBAQEBAQEBAQEBAQ==")
    server, port = await _canned_server(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + accept.encode() + b"\r\nSec-WebSocket-Protocol: chat\r\n\r\n"
    )
    async with server:
        transport = CloudflareRealtimeTransportLayer(open_timeout=5)
        with pytest.raises(UpgradeFailedError, match="subprotocol 'chat'"):
            await transport.connect(api_key=KEY, url=f"ws://127.0.0.1:{port}/v1/realtime")


async def test_unreachable_server_is_a_connection_error() -> None:
    server, port = await _canned_server(b"")
    server.close()
    await server.wait_closed()
    transport = CloudflareRealtimeTransportLayer(open_timeout=5)
    with pytest.raises(TransportConnectionError, match="could not reach"):
        await transport.connect(api_key=KEY, url=f"ws://127.0.0.1:{port}/v1/realtime")


async def test_a_full_pool_of_the_callers_client_says_so(emulator: Emulator) -> None:
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=1)) as client:
        first = CloudflareRealtimeTransportLayer(client=client)
        second = CloudflareRealtimeTransportLayer(client=client, open_timeout=1.0)
        await first.connect(api_key=KEY, url=emulator.ws_url)
        try:
            with pytest.raises(TransportConnectionError, match="max_connections=None"):
                await second.connect(api_key=KEY, url=emulator.ws_url)
        finally:
            await first.close()
        await second.connect(api_key=KEY, url=emulator.ws_url)  # the slot came back
        await second.close()


@pytest.mark.timeout(120)
async def test_150_concurrent_sessions_through_one_transport_factory(emulator: Emulator) -> None:
    """httpx's default pool would hold the 101st upgrade: the shared client's pool is unbounded."""
    transports = [get_transport("cloudflare") for _ in range(150)]
    await asyncio.wait_for(
        asyncio.gather(*(t.connect(api_key=KEY, url=emulator.ws_url) for t in transports)), 60
    )
    try:
        assert all(t.status == "connected" for t in transports)
        done = [asyncio.get_running_loop().create_future() for _ in transports]
        for transport, future in zip(transports, done, strict=True):
            transport.on(
                "turn_done",
                lambda event, f=future: None if f.done() else f.set_result(event),
            )
            transport.send_message("hello there")
        await asyncio.wait_for(asyncio.gather(*done), 60)
    finally:
        await asyncio.gather(*(t.close() for t in transports))
    assert len(emulator.connections) == 150
