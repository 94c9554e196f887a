"""Wire-level edge cases of the websocket transport against small real servers on loopback.

The emulator covers conversations (see the conformance kit); these servers do what a real
server rarely does on cue: refuse the key, fragment frames, send garbage, vanish.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from realtime_transport.errors import (
    AuthenticationError,
    ConnectTimeoutError,
    TransportConnectionError,
    UserError,
)
from realtime_transport.events import ErrorEvent
from realtime_transport_websocket.transport import OpenAIRealtimeWebSocket
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Response

Handler = Callable[[ServerConnection], Awaitable[None]]


@asynccontextmanager
async def _server(handler: Handler, **kwargs: Any) -> AsyncIterator[str]:
    async with serve(handler, "127.0.0.1", 0, **kwargs) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}/v1/realtime"


async def _session_created(ws: ServerConnection) -> None:
    await ws.send(json.dumps({"type": "session.created", "event_id": "e0", "session": {}}))


async def _until(predicate: Callable[[], bool], timeout: float = 2.0) -> None:
    async def wait() -> None:
        while not predicate():
            await asyncio.sleep(0.005)

    await asyncio.wait_for(wait(), timeout)


async def test_rejected_key_is_an_authentication_error_without_the_key() -> None:
    def refuse(connection: ServerConnection, request: Any) -> Response:
        body = json.dumps({"error": {"message": "Incorrect API key provided: sk-sec***"}}).encode()
        return Response(401, "Unauthorized", Headers({"Content-Type": "application/json"}), body)

    async def handler(ws: ServerConnection) -> None:
        await ws.wait_closed()

    async with _server(handler, process_request=refuse) as url:
        transport = OpenAIRealtimeWebSocket(url=url)
        with pytest.raises(AuthenticationError) as info:
            await transport.connect(api_key="sk-secret-value-123")
        assert "401" in str(info.value) and "sk-secret-value-123" not in str(info.value)
        assert transport.status == "disconnected"


async def test_unreachable_host_is_a_clear_connection_error() -> None:
    transport = OpenAIRealtimeWebSocket(url="ws://127.0.0.1:9/v1/realtime")
    with pytest.raises(TransportConnectionError, match=r"could not reach 127\.0\.0\.1:9"):
        await transport.connect(api_key="sk-x")
    assert transport.status == "disconnected"


async def test_open_timeout() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)  # never answers
    port = server.sockets[0].getsockname()[1]
    try:
        transport = OpenAIRealtimeWebSocket(url=f"ws://127.0.0.1:{port}/", open_timeout=0.3)
        with pytest.raises(ConnectTimeoutError):
            await transport.connect(api_key="sk-x")
        assert transport.status == "disconnected"
    finally:
        server.close()


async def test_missing_key_and_bad_options_are_user_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(UserError, match="no API key"):
        await OpenAIRealtimeWebSocket(url="ws://127.0.0.1:9/").connect()
    with pytest.raises(UserError, match="model or call_id"):
        await OpenAIRealtimeWebSocket().connect(api_key="k", model="m", call_id="c")
    with pytest.raises(UserError, match="wss://"):
        await OpenAIRealtimeWebSocket(url="ftp://x").connect(api_key="k")


async def test_fragmented_and_garbage_frames_keep_the_loop_alive() -> None:
    async def handler(ws: ServerConnection) -> None:
        await _session_created(ws)
        await ws.recv()  # the initial session.update
        event = json.dumps(
            {
                "type": "response.output_text.delta",
                "delta": "hé",
                "item_id": "i",
                "response_id": "r",
                "output_index": 0,
                "content_index": 0,
                "event_id": "e1",
            }
        )
        await ws.send([event[:10], event[10:25], event[25:]])  # fragmented message
        await ws.send("{not json")
        await ws.send(json.dumps(["a list"]))
        await ws.send(json.dumps({"no": "type"}))
        await ws.send(json.dumps({"type": "brand.new_event", "event_id": "e2"}))
        await ws.send(event)
        await ws.wait_closed()

    async with _server(handler) as url:
        transport = OpenAIRealtimeWebSocket(url=url)
        deltas: list[str] = []
        errors: list[ErrorEvent] = []
        raw_types: list[str] = []
        transport.on("output_text_delta", lambda e: deltas.append(e.delta))
        transport.on("error", errors.append)
        transport.on("*", lambda e: raw_types.append(e["type"]))
        await transport.connect(api_key="sk-x")
        await _until(lambda: len(deltas) == 2)
        assert deltas == ["hé", "hé"]
        assert [e.code for e in errors] == ["malformed_server_event"] * 3
        assert "brand.new_event" in raw_types
        await transport.close()


async def test_server_drop_mid_session_disconnects_with_reason() -> None:
    async def handler(ws: ServerConnection) -> None:
        await _session_created(ws)
        async for message in ws:  # until the test's message, sent once connect() returned
            if json.loads(message)["type"] == "conversation.item.create":
                break
        ws.transport.abort()  # type: ignore[attr-defined]

    async with _server(handler) as url:
        transport = OpenAIRealtimeWebSocket(url=url)
        reasons: list[str | None] = []
        errors: list[ErrorEvent] = []
        transport.on("disconnected", lambda e: reasons.append(e.reason))
        transport.on("error", errors.append)
        await transport.connect(api_key="sk-x")
        transport.send_message("hello", trigger_response=False)
        await _until(lambda: bool(reasons))
        assert transport.status == "disconnected"
        assert errors and errors[0].code == "connection_lost"
        # and it can connect again
        await transport.connect(api_key="sk-x")
        assert transport.status == "connected"
        await transport.close()


async def test_create_websocket_hook_and_skip_open() -> None:
    from websockets.asyncio.client import connect

    received: list[dict[str, Any]] = []

    async def handler(ws: ServerConnection) -> None:
        await _session_created(ws)
        async for message in ws:
            received.append(json.loads(message))

    async with _server(handler) as url:
        seen_headers: list[dict[str, str]] = []

        async def factory(target: str, headers: dict[str, str]) -> Any:
            seen_headers.append(headers)
            return await connect(target, additional_headers=headers)

        transport = OpenAIRealtimeWebSocket(
            url=url, create_websocket=factory, skip_open_event_listeners=True
        )
        created = asyncio.Event()
        transport.on("session.created", lambda e: created.set())
        await transport.connect(api_key="sk-hook")
        await asyncio.wait_for(created.wait(), 2)
        transport.send_audio(b"\x01\x02" * 10)
        await _until(lambda: any(e["type"] == "input_audio_buffer.append" for e in received))
        types = [e["type"] for e in received]
        # initial update first, then the tracing update sent in reaction to session.created
        assert types[:2] == ["session.update", "session.update"]
        assert received[1]["session"] == {"type": "realtime", "tracing": "auto"}
        assert seen_headers[0]["Authorization"] == "Bearer sk-hook"
        await transport.close()
        assert transport.status == "disconnected"


@pytest.mark.parametrize("size", [0, 30, 200, 40_000, 300_000])
async def test_frames_of_every_length_class_arrive_intact(size: int) -> None:
    """Short (<126), 16-bit and 64-bit payload lengths, as a strict server parses them."""
    received: list[dict[str, Any]] = []

    async def handler(ws: ServerConnection) -> None:
        await _session_created(ws)
        async for message in ws:
            received.append(json.loads(message))

    async with _server(handler, max_size=None) as url:
        transport = OpenAIRealtimeWebSocket(url=url)
        await transport.connect(api_key="sk-x")
        payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
        transport.send_audio(payload)
        transport.send_event({"type": "input_audio_buffer.commit"})
        await _until(lambda: any(e["type"] == "input_audio_buffer.commit" for e in received))
        appends = [e for e in received if e["type"] == "input_audio_buffer.append"]
        if size:
            assert base64.b64decode(appends[0]["audio"]) == payload
        else:
            assert appends == []  # nothing to send
        await transport.close()


def _server_frame(opcode: int, payload: bytes) -> bytes:
    size = len(payload)
    if size < 126:
        header = bytes([0x80 | opcode, size])
    elif size < 65536:
        header = bytes([0x80 | opcode, 126]) + size.to_bytes(2, "big")
    else:
        header = bytes([0x80 | opcode, 127]) + size.to_bytes(8, "big")
    return header + payload


@asynccontextmanager
async def _raw_server(
    script: Callable[[asyncio.StreamWriter], Awaitable[None]],
) -> AsyncIterator[str]:
    """A hand-driven WebSocket server: we choose exactly how bytes are cut on the wire."""
    import hashlib

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        key = next(
            line.split(b":", 1)[1].strip()
            for line in request.split(b"\r\n")
            if line.lower().startswith(b"sec-websocket-key:")
        )
        accept = base64.b64encode(
            hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest()
        )
        writer.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )
        await script(writer)
        if not writer.is_closing():
            await reader.read()  # until the client goes away
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1/realtime"
    finally:
        server.close()


def _text_delta(n: int) -> bytes:
    return json.dumps(
        {
            "type": "response.output_text.delta",
            "event_id": f"e{n}",
            "delta": f"d{n}" * 50,
            "item_id": "i",
            "response_id": "r",
            "output_index": 0,
            "content_index": 0,
        }
    ).encode()


async def test_frames_cut_at_every_byte_boundary_and_server_ping() -> None:
    async def script(writer: asyncio.StreamWriter) -> None:
        created = _server_frame(
            0x1, json.dumps({"type": "session.created", "session": {}}).encode()
        )
        stream = created + _server_frame(0x9, b"are you there")
        stream += b"".join(_server_frame(0x1, _text_delta(n)) for n in range(3))
        stream += _server_frame(0x1, _text_delta(3) + b" " * 70_000)  # 64-bit length
        index = 0
        while index < len(stream):  # 7-byte pieces split every small frame; then 4 KiB pieces
            piece = 7 if index < 2000 else 4096
            writer.write(stream[index : index + piece])
            index += piece
            await writer.drain()
            await asyncio.sleep(0)

    async with _raw_server(script) as url:
        transport = OpenAIRealtimeWebSocket(url=url, ping_interval=None, close_timeout=0.5)
        deltas: list[str] = []
        transport.on("output_text_delta", lambda e: deltas.append(e.delta))
        await transport.connect(api_key="sk-x")
        await _until(lambda: len(deltas) == 4, timeout=5)
        assert deltas == [f"d{n}" * 50 for n in range(4)]
        await transport.close()


async def test_server_close_frame_is_a_normal_disconnect() -> None:
    async def script(writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.2)  # after the client's initial session.update
        writer.write(_server_frame(0x1, _text_delta(0)) + _server_frame(0x8, b"\x03\xe8bye"))
        await writer.drain()
        await asyncio.sleep(0.1)  # the client echoes the close frame; then the server hangs up
        writer.close()

    async with _raw_server(script) as url:
        transport = OpenAIRealtimeWebSocket(url=url)
        reasons: list[str | None] = []
        errors: list[ErrorEvent] = []
        transport.on("disconnected", lambda e: reasons.append(e.reason))
        transport.on("error", errors.append)
        await transport.connect(api_key="sk-x")
        await _until(lambda: bool(reasons))
        assert "1000" in (reasons[0] or "") and "bye" in (reasons[0] or "")
        assert errors == []


async def test_connections_sharing_the_read_buffer_keep_their_own_bytes() -> None:
    """Every connection on a thread reads into one shared buffer (BufferedProtocol): frames cut
    across reads, arriving interleaved on several connections, must each come out intact."""

    def delta(tag: str, n: int) -> bytes:
        event = {"type": "response.output_text.delta", "delta": f"{tag}{n}" * 50}
        return json.dumps({**event, "item_id": "i", "response_id": "r"}).encode()

    def frames(tag: str) -> bytes:
        body = [delta(tag, n) for n in range(5)]
        body.append(delta(tag, 5) + b" " * 70_000)  # a 64-bit length, over many reads
        created = json.dumps({"type": "session.created", "session": {}}).encode()
        return b"".join(_server_frame(0x1, payload) for payload in [created, *body])

    def script_for(tag: str) -> Callable[[asyncio.StreamWriter], Awaitable[None]]:
        async def script(writer: asyncio.StreamWriter) -> None:
            stream = frames(tag)
            for index in range(0, len(stream), 1500):  # pieces that split frames and headers
                writer.write(stream[index : index + 1500])
                await writer.drain()
                await asyncio.sleep(0)  # let the other connections' pieces in between

        return script

    tags = ("a", "b", "c")
    received: dict[str, list[str]] = {tag: [] for tag in tags}
    transports = []
    async with (
        _raw_server(script_for("a")) as url_a,
        _raw_server(script_for("b")) as url_b,
        _raw_server(script_for("c")) as url_c,
    ):
        for tag, url in zip(tags, (url_a, url_b, url_c), strict=True):
            transport = OpenAIRealtimeWebSocket(url=url, ping_interval=None, close_timeout=0.5)
            transport.on("output_text_delta", lambda e, tag=tag: received[tag].append(e.delta))
            transports.append(transport)
        await asyncio.gather(*(t.connect(api_key="sk-x") for t in transports))
        await _until(lambda: all(len(v) == 6 for v in received.values()), timeout=5)
        for tag in tags:
            assert received[tag] == [f"{tag}{n}" * 50 for n in range(6)]
        await asyncio.gather(*(t.close() for t in transports))
