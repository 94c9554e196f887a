"""The ``websockets`` media socket: messages by callback (the message tap), buffered reads, and
hand-framed writes, each checked against websockets itself over real sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from realtime_transport_emulator import Emulator
from realtime_transport_emulator.model.script import Reply, Script
from realtime_transport_emulator.surfaces.twilio_carrier import Silence, TwilioCarrier
from realtime_transport_emulator.surfaces.twilio_carrier.ear import CallRecord
from realtime_transport_twilio import TwilioRealtimeTransportLayer
from realtime_transport_twilio.media_socket import WebsocketsMediaSocket
from realtime_transport_twilio.message_tap import BufferedReads, MessageTap
from realtime_transport_twilio.server_frames import text_frames
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve
from websockets.frames import Frame, Opcode

pytestmark = pytest.mark.timeout(30)


def test_text_frames_are_the_bytes_websockets_would_send() -> None:
    texts = [
        "",
        "x",
        "m" * 125,
        "m" * 126,
        '{"event":"media","media":{"payload":"' + "A" * 214 + '"}}',
        "é" * 40_000,  # 80,000 bytes: the 64-bit length form
        "m" * 65_535,
        "m" * 65_536,
    ]
    for text in texts:
        expected = Frame(Opcode.TEXT, text.encode()).serialize(mask=False, extensions=[])
        assert text_frames([text]) == expected, len(text)
    together = b"".join(
        Frame(Opcode.TEXT, t.encode()).serialize(mask=False, extensions=[]) for t in texts
    )
    assert text_frames(texts) == together


@contextlib.asynccontextmanager
async def one_connection(**options: Any) -> AsyncIterator[tuple[Any, Any]]:
    """(server-side connection, client connection) on 127.0.0.1; the handler holds it open."""
    accepted: asyncio.Queue[Any] = asyncio.Queue()
    release = asyncio.Event()

    async def handler(connection: Any) -> None:
        await accepted.put(connection)
        await release.wait()

    async with serve(handler, "127.0.0.1", 0, compression=None, **options) as server:
        port = server.sockets[0].getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}", compression=None) as client:
            server_side = await asyncio.wait_for(accepted.get(), 5)
            try:
                yield server_side, client
            finally:
                release.set()


async def until(condition: Any, timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met in time")


async def test_messages_arrive_by_callback_in_order_fragments_joined_pings_answered() -> None:
    async with one_connection() as (server_side, client):
        socket = WebsocketsMediaSocket(server_side)
        got: list[bytes] = []
        closed: list[bool] = []
        assert socket.start_receiving(got.append, lambda: closed.append(True))
        assert isinstance(server_side.transport.get_protocol(), BufferedReads)
        assert socket.start_receiving(got.append, lambda: None) is False  # once at a time
        await client.send('{"event":"connected"}')
        await client.send(["{", '"event":', '"frag"}'])  # one message in three frames
        await client.send(b'{"event":"binary"}')
        await client.send("é" * 70_000)  # larger than the read buffer: several reads
        latency = await asyncio.wait_for(await client.ping(), 5)  # pongs still come back
        assert latency >= 0
        await until(lambda: len(got) == 4)
        assert got[:3] == [b'{"event":"connected"}', b'{"event":"frag"}', b'{"event":"binary"}']
        assert got[3] == ("é" * 70_000).encode()
        assert closed == []
        await client.close()
        await until(lambda: closed == [True])


async def test_server_keepalive_works_while_the_tap_reads() -> None:
    async with one_connection(ping_interval=0.1, ping_timeout=0.3) as (server_side, client):
        socket = WebsocketsMediaSocket(server_side)
        got: list[bytes] = []
        assert socket.start_receiving(got.append, lambda: None)
        for index in range(10):
            await client.send(json.dumps({"n": index}))
            await asyncio.sleep(0.1)
        await until(lambda: len(got) == 10)
        assert server_side.latency >= 0 and server_side.state.name == "OPEN"
        socket.stop_receiving()


async def test_queued_messages_are_read_first_and_recv_works_after_stopping() -> None:
    async with one_connection() as (server_side, client):
        socket = WebsocketsMediaSocket(server_side)
        await client.send("first")
        await until(lambda: not MessageTap.can_install(server_side))
        got: list[bytes] = []
        assert socket.start_receiving(got.append, lambda: None) is False  # would overtake it
        assert await socket.receive_text() == "first"
        assert socket.start_receiving(got.append, lambda: None)
        await client.send("second")
        await until(lambda: got == [b"second"])
        await client.send(["par", "tial"])
        await until(lambda: got == [b"second", b"partial"])
        socket.stop_receiving()
        await client.send("after")  # websockets' own queue again
        assert await asyncio.wait_for(server_side.recv(), 5) == "after"
        assert got == [b"second", b"partial"]


async def test_a_fragmented_message_cut_by_stop_is_handed_back_to_websockets() -> None:
    async with one_connection() as (server_side, client):
        socket = WebsocketsMediaSocket(server_side)
        got: list[bytes] = []
        assert socket.start_receiving(got.append, lambda: None)
        first_frame_in = asyncio.Event()

        async def fragments() -> AsyncIterator[str]:
            yield "hel"
            first_frame_in.set()
            await asyncio.sleep(0.3)
            yield "lo"

        sending = asyncio.ensure_future(client.send(fragments()))
        await first_frame_in.wait()
        await asyncio.sleep(0.1)  # the first fragment reached the tap
        socket.stop_receiving()
        await sending
        assert await asyncio.wait_for(server_side.recv(), 5) == "hello"
        assert got == []


async def test_a_call_through_a_websockets_server_is_read_by_callback() -> None:
    """The bench's setup in small: carrier -> websockets server -> transport -> emulator."""
    used_tap: list[bool] = []
    ended = asyncio.Event()

    async with Emulator(script=Script(default=Reply(text="Hello there.")), pace="fast") as emu:

        async def handler(connection: Any) -> None:
            transport = TwilioRealtimeTransportLayer(
                twilio_websocket=connection, url=emu.ws_url, api_key="sk-test"
            )
            await transport.connect()
            await until(lambda: transport.stream_sid is not None)  # start: queued, then read
            await until(lambda: transport.forwarded_media >= 5)
            used_tap.append(transport.twilio_websocket._tap is not None)  # type: ignore[attr-defined]
            transport.send_message("hi")
            assert await transport.wait_stream_end(10)
            assert transport.stream_ended
            ended.set()

        async with serve(handler, "127.0.0.1", 0, compression=None) as server:
            url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/media-stream"
            record = CallRecord(call_sid="CA1")
            carrier = TwilioCarrier(auth_token="unused")
            await asyncio.wait_for(
                carrier.stream(url, url, record, [Silence(1500)], send_stop=True), 15
            )
            await asyncio.wait_for(ended.wait(), 10)
    assert used_tap == [True]
    assert record.frame_sizes and set(record.frame_sizes) == {160}  # the reply reached the ear
    assert record.marks_echoed > 0
