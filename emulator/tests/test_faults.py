"""Every fault, from the URL and from Python, and the session duration limit."""

from __future__ import annotations

import asyncio
import base64
import json
import time

import numpy as np
import pytest
from emutest import connect, types, user_text
from realtime_transport_emulator import Emulator, Faults, Reply, Script
from websockets.exceptions import ConnectionClosed, ConnectionClosedError


async def read_until_closed(client_ws: object, limit: float = 5.0) -> list[str]:
    """Raw frames until the connection ends."""
    frames: list[str] = []
    try:
        while True:
            frames.append(await asyncio.wait_for(client_ws.recv(), limit))  # type: ignore[attr-defined]
    except ConnectionClosed:
        return frames


async def test_close_after_n_events_from_the_url(emulator: Emulator) -> None:
    async with connect(
        emulator, url=emulator.realtime_url(fault="close_after:5"), skip_created=False
    ) as client:
        await client.ask("hi")
        frames = await read_until_closed(client.ws)
    expected = [
        "session.created",
        "conversation.item.added",
        "conversation.item.done",
        "response.created",
        "rate_limits.updated",
    ]
    received = [json.loads(f)["type"] for f in frames]
    # websockets < 14 clients drop messages still queued when the close frame arrives (how many
    # depends on the loop), so the client sees a prefix; the server's record below is exact
    assert received and received == expected[: len(received)]
    assert emulator.connections[0].server_types() == expected
    assert client.ws.protocol.close_code == 1011
    record = emulator.connections[0]
    assert record.faults == Faults(close_after=5)
    assert len(record.server_events) == 5 and record.close_code == 1011


async def test_close_after_zero_and_custom_code(emulator: Emulator) -> None:
    url = emulator.realtime_url(fault="close_after:0,close_code:1001")
    async with connect(emulator, url=url, skip_created=False) as client:
        frames = await read_until_closed(client.ws)
    assert frames == [] and client.ws.protocol.close_code == 1001


async def test_faults_per_connection_for_reconnect_tests() -> None:
    async with Emulator(faults=[Faults(close_after=1), None]) as emu:
        async with connect(emu) as first:
            await read_until_closed(first.ws)
        async with connect(emu) as second:
            events = await second.say("still here")
    assert emu.connections[0].close_code == 1011
    assert events[-1]["response"]["status"] == "completed"
    assert emu.connections[1].faults == Faults()


async def test_delay_each_frame() -> None:
    async with Emulator(faults="delay_ms:40") as emu:
        began = time.perf_counter()
        async with connect(emu) as client:
            await client.send(user_text("hi"))
            await client.until("conversation.item.done")
            elapsed = time.perf_counter() - began
    assert elapsed >= 3 * 0.04  # session.created, item.added, item.done


async def test_malformed_and_unknown_frames_then_business_as_usual(emulator: Emulator) -> None:
    url = emulator.realtime_url(fault="malformed_after:1,unknown_after:1")
    async with connect(emulator, url=url, skip_created=False) as client:
        frames = [await client.ws.recv() for _ in range(3)]
        await client.send(user_text("hi"))
        after = json.loads(await client.ws.recv())
    assert json.loads(frames[0])["type"] == "session.created"
    with pytest.raises(json.JSONDecodeError):
        json.loads(frames[1])
    unknown = json.loads(frames[2])
    assert unknown["type"] == "emulator.fault.unknown_event" and "event_id" in unknown
    assert after["type"] == "conversation.item.added"
    record = emulator.connections[0]
    assert record.injected_frames == [frames[1], frames[2]]
    assert "emulator.fault.unknown_event" not in record.server_types()


async def test_error_mid_response_fails_that_response_only() -> None:
    async with Emulator(faults=Faults(error_mid_response=1)) as emu, connect(emu) as client:
        failed = await client.say("one", output="audio")
        fine = await client.say("two", output="audio")
    order = types(failed)
    first_delta = order.index("response.output_audio.delta")
    assert order[first_delta + 1] == "error"
    error = failed[first_delta + 1]["error"]
    assert error["type"] == "server_error" and error["code"] == "server_error"
    response = failed[-1]["response"]
    assert response["status"] == "failed"
    assert response["status_details"]["type"] == "failed"
    assert response["status_details"]["error"]["code"] == "server_error"
    assert response["output"][0]["status"] == "incomplete"
    assert order.count("response.output_audio.delta") == 1
    assert fine[-1]["response"]["status"] == "completed"


async def test_stop_reading_backs_up_the_client(emulator: Emulator) -> None:
    url = emulator.realtime_url(fault="stop_reading_after:2")
    blocked = False
    async with connect(emulator, url=url) as client:
        await client.send(user_text("one"))
        await client.send(user_text("two"))
        await client.until("conversation.item.done")
        await client.until("conversation.item.done")
        noise = np.random.default_rng(0).integers(0, 256, 1_000_000, dtype=np.uint8)
        chunk = base64.b64encode(noise.tobytes()).decode()  # incompressible (permessage-deflate)
        event = json.dumps({"type": "input_audio_buffer.append", "audio": chunk})
        for _ in range(64):
            try:
                await asyncio.wait_for(client.ws.send(event), 0.5)
            except asyncio.TimeoutError:
                blocked = True
                break
        assert blocked, "the server kept reading"
        record = emulator.connections[0]
        assert len(record.client_events) == 2
        await emulator.stop()  # a stuck connection must not hold up shutdown
    assert record.closed


async def test_reset_after_n_events_is_an_abrupt_tcp_reset(emulator: Emulator) -> None:
    url = emulator.realtime_url(fault="reset_after:3")
    async with connect(emulator, url=url, skip_created=False) as client:
        await client.send(user_text("hi"))
        with pytest.raises(ConnectionClosedError):
            for _ in range(10):
                await asyncio.wait_for(client.ws.recv(), 5)
        assert client.ws.protocol.close_code == 1006  # no close frame: the TCP connection was reset
    record = emulator.connections[0]
    assert len(record.server_events) == 3
    assert await record.wait_closed() == 1006


async def test_session_limit_ends_with_session_expired() -> None:
    script = Script(default=Reply(text="Talking when the clock runs out.", audio_ms=5000))
    async with Emulator(max_session_seconds=0.4, pace="realtime", script=script) as emu:
        began = time.perf_counter()
        async with connect(emu, skip_created=False) as client:
            created = await client.recv()
            await client.ask("hi")
            frames = await read_until_closed(client.ws)
        elapsed = time.perf_counter() - began
    events = [json.loads(f) for f in frames]
    assert events[-1]["type"] == "error"
    assert events[-1]["error"]["code"] == "session_expired"
    assert events[-1]["error"]["message"] == "Your session hit the maximum duration of 0.4 seconds."
    assert "response.done" not in types(events)
    assert client.ws.protocol.close_code == 1000
    assert 0.35 <= elapsed < 2.0
    assert created["session"]["expires_at"] - int(time.time()) <= 1


async def test_session_limit_from_the_query(emulator: Emulator) -> None:
    url = emulator.realtime_url(max_session_seconds="0.1")
    async with connect(emulator, url=url) as client:
        frames = await read_until_closed(client.ws)
    assert json.loads(frames[-1])["error"]["code"] == "session_expired"


def test_fault_parsing_and_merging() -> None:
    assert Faults.parse("close_after:5, delay_ms:2.5") == Faults(close_after=5, delay_ms=2.5)
    assert Faults.parse(["error_mid_response", "stop_reading_after"]) == Faults(
        error_mid_response=1, stop_reading_after=0
    )
    assert Faults(close_after=1).merged(Faults(delay_ms=3)) == Faults(close_after=1, delay_ms=3)
    for bad in ("close_after", "close_after:x", "nope:1", "delay_ms:-1"):
        with pytest.raises(ValueError):
            Faults.parse(bad)
    with pytest.raises(ValueError, match="Unknown fault"):
        Emulator(faults="explode:1")
