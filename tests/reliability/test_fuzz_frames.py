"""Fuzzing the websocket transport's inline frame parser against websockets itself.

The fast path parses common server frames by hand and hands anything unusual to websockets at
the exact frame boundary. Property: any byte stream, cut into any pieces, yields the same
messages as websockets' own parser fed the same bytes in one piece (or stops where websockets
reports a protocol error), and nothing but the documented behaviour escapes.
"""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from realtime_transport_websocket.socket import FastWebSocket
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.server import ServerProtocol
from websockets.uri import parse_uri

URL = "ws://127.0.0.1:9/v1/realtime"
MAX_SIZE = 70_000


class LoopbackTransport:
    """The asyncio transport interface, recording what the client writes (no socket needed)."""

    def __init__(self) -> None:
        self.out = bytearray()
        self.closed = False

    def write(self, data: bytes) -> None:
        self.out += data

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.out += chunk

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default

    def get_write_buffer_size(self) -> int:
        return 0

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def _frame_bytes(opcode: int, payload: bytes, fin: bool, rsv: int, length_form: str) -> bytes:
    first = (0x80 if fin else 0) | (rsv << 4) | opcode
    n = len(payload)
    if length_form == "7" and n <= 125:
        header = bytes([first, n])
    elif length_form in ("7", "16") and n <= 0xFFFF:
        header = bytes([first, 126]) + n.to_bytes(2, "big")
    else:
        header = bytes([first, 127]) + n.to_bytes(8, "big")
    return header + payload


texts = st.text(max_size=300).map(str.encode)
payloads = st.one_of(
    texts,
    st.binary(max_size=300),
    st.sampled_from([125, 126, 127, 65535, 65536]).map(lambda n: b"a" * n),
)
frames = st.builds(
    _frame_bytes,
    opcode=st.sampled_from([1, 1, 1, 2, 0, 9, 10, 8, 3]),
    payload=payloads,
    fin=st.booleans() | st.just(True),
    rsv=st.sampled_from([0, 0, 0, 0, 1, 4]),
    length_form=st.sampled_from(["7", "7", "16", "64"]),
)
streams = st.lists(
    st.one_of(frames, frames, frames, st.binary(min_size=1, max_size=12)), max_size=8
)


def _reference(stream: bytes) -> list[bytes]:
    """Messages websockets' own client protocol delivers for ``stream``, in order."""
    protocol = ClientProtocol(parse_uri(URL), max_size=MAX_SIZE)
    protocol.send_request(protocol.connect())
    server = ServerProtocol()
    server.receive_data(b"".join(protocol.data_to_send()))
    server.send_response(server.accept(server.events_received()[0]))  # type: ignore[arg-type]
    protocol.receive_data(b"".join(server.data_to_send()))
    protocol.events_received()  # the handshake response
    assert protocol.state is State.OPEN
    protocol.receive_data(stream)
    messages: list[bytes] = []
    fragments: list[bytes] = []
    for event in protocol.events_received():
        if not isinstance(event, Frame):
            continue
        if event.opcode in (Opcode.TEXT, Opcode.BINARY):
            if event.fin:
                messages.append(bytes(event.data))
            else:
                fragments = [bytes(event.data)]
        elif event.opcode is Opcode.CONT:
            fragments.append(bytes(event.data))
            if event.fin:
                messages.append(b"".join(fragments))
                fragments = []
    return messages


async def _ours(stream: bytes, cuts: list[int]) -> list[bytes]:
    received: list[bytes] = []
    socket = FastWebSocket(
        URL,
        {},
        lambda payload: received.append(payload.encode() if isinstance(payload, str) else payload),
        lambda code, reason, exc: None,
        max_size=MAX_SIZE,
        ping_interval=None,
    )
    transport = LoopbackTransport()
    socket.connection_made(transport)  # type: ignore[arg-type]
    server = ServerProtocol()
    server.receive_data(bytes(transport.out))
    request = server.events_received()[0]
    server.send_response(server.accept(request))  # type: ignore[arg-type]
    socket.data_received(b"".join(server.data_to_send()))
    socket.start()
    position = 0
    for cut in [*sorted(cuts), len(stream)]:
        if cut > position:
            socket.data_received(stream[position:cut])
            position = cut
    socket.connection_lost(None)
    return received


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=streams, data=st.data())
def test_any_stream_cut_anywhere_gives_websockets_messages(parts: list[bytes], data: Any) -> None:
    stream = b"".join(parts)
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=12))
    expected = _reference(stream)
    ours = asyncio.run(_ours(stream, cuts))
    assert ours == expected


@settings(max_examples=60, deadline=None)
@given(size=st.sampled_from([0, 1, 125, 126, 127, 65535, 65536, MAX_SIZE, MAX_SIZE + 1]))
def test_every_byte_boundary_of_a_large_frame(size: int) -> None:
    stream = _frame_bytes(1, b"x" * size, True, 0, "7")
    for cut in (1, 2, 3, 4, 9, 10, 11, len(stream) - 1):
        assert asyncio.run(_ours(stream, [cut])) == _reference(stream)


def test_found_by_fuzzing() -> None:
    """Streams hypothesis found that raised out of ``data_received`` before the fixes."""
    for stream in (
        _frame_bytes(9, bytes(126), True, 0, "16"),  # a ping over 125 bytes (invalid control)
        b"\x01\x01\x80\x80\x00",  # fragmented text that is not UTF-8
        b"\x81\x02\xc3\x28",  # a whole text frame that is not UTF-8
    ):
        assert asyncio.run(_ours(stream, [])) == _reference(stream)
