"""The inline frame parser (``FastWebSocket._receive_frames``) fed exact byte pieces.

The network cannot be told where to cut a stream, so these tests hand the socket's
``data_received`` the pieces themselves: every split point of a 16-bit-length frame and of a
64-bit-length frame, the payload sizes at each length-class edge (125, 126, 65,535, 65,536) and
``max_size`` (a frame of ``max_size`` bytes is delivered, one byte more is refused). The outbound
side is checked against a strict server (websockets) with frames of the same edge sizes.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from realtime_transport._json import dumps
from realtime_transport_websocket.socket import FastWebSocket
from realtime_transport_websocket.transport import OpenAIRealtimeWebSocket
from websockets.asyncio.server import ServerConnection, serve

EDGE_SIZES = [0, 1, 125, 126, 127, 65_535, 65_536, 65_537]


def _frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """An unmasked server frame with the shortest length encoding (RFC 6455 §5.2)."""
    size = len(payload)
    if size < 126:
        header = bytes([0x80 | opcode, size])
    elif size < 65_536:
        header = bytes([0x80 | opcode, 126]) + size.to_bytes(2, "big")
    else:
        header = bytes([0x80 | opcode, 127]) + size.to_bytes(8, "big")
    return header + payload


class _Sink:
    """Counts what the socket delivers without keeping it (tens of thousands of frames)."""

    def __init__(self, expected: list[bytes]) -> None:
        self.expected = expected
        self.index = 0
        self.closed: list[tuple[int | None, str, BaseException | None]] = []

    def message(self, payload: str | bytes) -> None:
        data = payload.encode() if isinstance(payload, str) else bytes(payload)
        want = self.expected[self.index % len(self.expected)]
        assert data == want, f"frame {self.index}: got {len(data)} bytes, wanted {len(want)}"
        self.index += 1

    def close(self, code: int | None, reason: str, exc: BaseException | None) -> None:
        self.closed.append((code, reason, exc))


def _socket(sink: _Sink, max_size: int | None = None) -> FastWebSocket:
    socket = FastWebSocket(
        "ws://127.0.0.1:9/v1/realtime",
        {},
        sink.message,
        sink.close,
        handshake_done=True,
        max_size=max_size,
        ping_interval=None,
    )
    socket.start()
    return socket


def _payload(size: int) -> bytes:
    return (b"0123456789abcdef" * (size // 16 + 1))[:size]


@pytest.mark.parametrize("size", [200, 65_536], ids=["16-bit", "64-bit"])
async def test_a_frame_split_at_every_byte_boundary(size: int) -> None:
    """Two pieces, cut after byte 1, 2, ... n-1 of the frame (between two small frames): the
    header is never read before it is all there, the payload never before it is complete."""
    small = _payload(30)
    payload = _payload(size)
    frame = _frame(payload)
    assert frame[1] & 0x7F == (126 if size < 65_536 else 127)
    sink = _Sink([small, payload, small])
    socket = _socket(sink)
    prefix, suffix = _frame(small), _frame(small)
    for cut in range(1, len(frame)):
        socket.data_received(prefix + frame[:cut])
        socket.data_received(frame[cut:] + suffix)
    assert sink.index == 3 * (len(frame) - 1) and sink.closed == []


async def test_every_header_byte_arriving_alone() -> None:
    """Byte by byte through 16-bit and 64-bit headers (a 3-byte 16-bit header is not a header)."""
    payloads = [_payload(126), _payload(65_536), _payload(5)]
    sink = _Sink(payloads)
    socket = _socket(sink)
    for payload in payloads:
        frame = _frame(payload)
        header = 4 if len(payload) < 65_536 else 10
        if len(payload) < 126:
            header = 2
        for index in range(header):
            socket.data_received(frame[index : index + 1])
        socket.data_received(frame[header:])
    assert sink.index == 3


@pytest.mark.parametrize("size", EDGE_SIZES)
async def test_payload_sizes_at_the_length_class_edges(size: int) -> None:
    payload = _payload(size)
    sink = _Sink([payload])
    socket = _socket(sink)
    socket.data_received(_frame(payload) * 2)
    assert sink.index == 2


@pytest.mark.parametrize("size", [125, 126, 65_535, 65_536])
async def test_max_size_delivers_a_frame_that_fits_and_refuses_one_byte_more(size: int) -> None:
    fits = _payload(size)
    sink = _Sink([fits])
    socket = _socket(sink, max_size=size)
    socket.data_received(_frame(fits))
    assert sink.index == 1
    socket.data_received(_frame(_payload(size + 1)))
    assert sink.index == 1, "a frame over max_size was delivered"
    close = socket._protocol.close_sent
    assert close is not None and close.code == 1009  # "message too big", as websockets says


@pytest.mark.parametrize("size", [125, 126, 65_535, 65_536])
async def test_outbound_frames_at_the_length_class_edges(size: int) -> None:
    """Text frames of exactly these payload sizes, as a strict server (websockets) parses them."""
    received: list[str] = []

    async def handler(ws: ServerConnection) -> None:
        await ws.send(json.dumps({"type": "session.created", "session": {}}))
        async for message in ws:
            received.append(str(message))

    async with serve(handler, "127.0.0.1", 0, max_size=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        transport = OpenAIRealtimeWebSocket(url=f"ws://127.0.0.1:{port}/v1/realtime")
        await transport.connect(api_key="sk-x")
        event: dict[str, Any] = {"type": "x.pad", "pad": ""}
        event["pad"] = "p" * (size - len(dumps(event)))
        assert len(dumps(event)) == size
        transport.send_event(event)

        async def arrived() -> None:
            while not any('"x.pad"' in message for message in received):
                await asyncio.sleep(0.005)

        await asyncio.wait_for(arrived(), 5)
        (sent,) = [m for m in received if '"x.pad"' in m]
        assert len(sent.encode()) == size and json.loads(sent) == event
        await transport.close()
