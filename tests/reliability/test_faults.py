"""Every fault the emulator (or a hostile loopback server) can inject, against every URL transport.

For each: the right typed exception or ``error`` event with a message that says what happened and
what to do, status ``disconnected`` where the connection is gone, no leaked task, thread or file
descriptor, and the same transport object connects again afterwards.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from _census import Census
from conftest import Factory
from realtime_transport import RealtimeTransportLayer
from realtime_transport.errors import (
    ConnectTimeoutError,
    TransportConnectionError,
)
from realtime_transport.testing.scenarios import Recorder
from realtime_transport_emulator import Emulator, Faults

KEY = "sk-reliability-test"


async def _turn(transport: RealtimeTransportLayer, recorder: Recorder, text: str = "hi") -> None:
    before = recorder.count("turn_done")
    transport.send_message(text)
    await recorder.wait_for("turn_done", count=before + 1, timeout=10)


async def _reconnects(transport: RealtimeTransportLayer, emulator: Emulator) -> None:
    """The same object connects again and holds a turn (the fault hit connection 0 only)."""
    recorder = Recorder(transport)
    await asyncio.wait_for(transport.connect(url=emulator.ws_url, api_key=KEY), 10)
    assert transport.status == "connected"
    await _turn(transport, recorder, "again")
    await transport.close()
    assert transport.status == "disconnected"


def _errors(recorder: Recorder) -> list[Any]:
    return recorder.payloads("error")


@pytest.mark.parametrize(
    ("fault", "code_or_text"),
    [
        (Faults(close_after=6), "1011"),  # a drop in the middle of the response
        (Faults(reset_after=6), "reset"),  # an abrupt TCP reset (no close frame)
    ],
    ids=["drop-mid-response", "tcp-reset"],
)
async def test_connection_lost_mid_response(
    make_transport: Factory, fault: Faults, code_or_text: str
) -> None:
    async with Emulator(faults=[fault, None]) as emulator:
        census = Census.take()
        transport = make_transport()
        recorder = Recorder(transport)
        await asyncio.wait_for(transport.connect(url=emulator.ws_url, api_key=KEY), 10)
        transport.send_message("tell me a long story")
        await recorder.wait_for("disconnected", timeout=10)
        assert transport.status == "disconnected"
        lost = [e for e in _errors(recorder) if e.source == "transport"]
        assert lost, "a lost connection must be reported on `error`"
        message = lost[0].message
        assert code_or_text in message.lower(), message
        assert "connect() again" in message, "the message must say what to do"
        assert KEY not in message
        await transport.close()
        await census.check()
        await _reconnects(transport, emulator)
        await census.check()


async def test_server_error_mid_response_keeps_the_connection(make_transport: Factory) -> None:
    async with Emulator(faults=Faults(error_mid_response=1)) as emulator:
        census = Census.take()
        transport = make_transport()
        recorder = Recorder(transport)
        await asyncio.wait_for(transport.connect(url=emulator.ws_url, api_key=KEY), 10)
        await _turn(transport, recorder, "first")
        server_errors = [e for e in _errors(recorder) if e.source == "server"]
        assert server_errors and "server_error" in server_errors[0].message
        assert transport.status == "connected"
        await _turn(transport, recorder, "second")  # the next turn works
        await transport.close()
        await census.check()


async def test_malformed_frame_is_reported_and_the_loop_continues(make_transport: Factory) -> None:
    async with Emulator(faults=Faults(malformed_after=2)) as emulator:
        transport = make_transport()
        recorder = Recorder(transport)
        await asyncio.wait_for(transport.connect(url=emulator.ws_url, api_key=KEY), 10)
        await recorder.wait_for("error", timeout=10)
        parse = [e for e in _errors(recorder) if e.source == "parse"]
        assert parse and "not JSON" in parse[0].message and "ignored" in parse[0].message
        await _turn(transport, recorder)
        assert transport.status == "connected"
        await transport.close()


async def test_unknown_event_type_reaches_star_only(make_transport: Factory) -> None:
    async with Emulator(faults=Faults(unknown_after=2)) as emulator:
        transport = make_transport()
        recorder = Recorder(transport)
        raw: list[dict[str, Any]] = []
        transport.on("*", raw.append)
        await asyncio.wait_for(transport.connect(url=emulator.ws_url, api_key=KEY), 10)
        await _turn(transport, recorder)
        unknown = [event for event in raw if event["type"] == "emulator.fault.unknown_event"]
        assert len(unknown) == 1, "the unknown event must reach `*`, once"
        assert not _errors(recorder), "an unknown event type is not an error"
        await transport.close()


async def test_oversized_frame_is_a_clear_error(make_transport: Factory) -> None:
    async with Emulator(faults=[None, None]) as emulator:
        census = Census.take()
        transport = make_transport(max_size=4096)
        recorder = Recorder(transport)
        await asyncio.wait_for(transport.connect(url=emulator.ws_url, api_key=KEY), 10)
        transport.send_message("x" * 6000)  # the server echoes the item back: over max_size
        await recorder.wait_for("disconnected", timeout=10)
        messages = " ".join(e.message for e in _errors(recorder))
        assert "max_size" in messages or "too big" in messages.lower(), messages
        assert transport.status == "disconnected"
        await transport.close()
        await census.check()


async def test_peer_that_stops_reading_drops_audio_with_a_counter(
    make_transport: Factory,
) -> None:
    census = Census.take()  # outside: the stuck server side lives until the emulator stops
    async with Emulator(faults=[Faults(stop_reading_after=2)]) as emulator:
        transport = make_transport(max_write_buffer=256 * 1024, close_timeout=0.5)
        recorder = Recorder(transport)
        await asyncio.wait_for(transport.connect(url=emulator.ws_url, api_key=KEY), 10)
        chunk = bytes(9600)  # 200 ms of PCM16 24 kHz
        for i in range(2000):
            transport.send_audio(chunk)
            if i % 20 == 0:
                await asyncio.sleep(0)
            if _errors(recorder):
                break
        backpressure = [e for e in _errors(recorder) if e.code == "send_backpressure"]
        assert backpressure, "a peer that stops reading must be reported, not buffered forever"
        assert "dropping caller audio" in backpressure[0].message
        assert getattr(transport, "dropped_audio_chunks", 0) >= 0
        await asyncio.wait_for(transport.close(), 5)  # bounded by close_timeout
        assert transport.status == "disconnected"
    await census.check()


async def test_close_during_connect(make_transport: Factory) -> None:
    accepted: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)  # the upgrade is never answered: connect() is still pending

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    census = Census.take()
    transport = make_transport(open_timeout=5)
    connecting = asyncio.ensure_future(
        transport.connect(url=f"ws://127.0.0.1:{port}/v1/realtime", api_key=KEY)
    )
    for _ in range(200):
        await asyncio.sleep(0.005)
        if accepted:
            break
    assert transport.status == "connecting"
    await transport.close()
    with pytest.raises(TransportConnectionError) as caught:
        await asyncio.wait_for(connecting, 5)
    assert "closed" in str(caught.value)
    assert transport.status == "disconnected"
    for writer in accepted:
        writer.close()
    server.close()
    await server.wait_closed()
    await census.check()
    async with Emulator() as emulator:
        await _reconnects(transport, emulator)


async def test_connect_timeout_on_a_server_that_never_answers(make_transport: Factory) -> None:
    accepted: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)  # accept the TCP connection, never answer the upgrade

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    census = Census.take()
    transport = make_transport(open_timeout=0.3)
    with pytest.raises(ConnectTimeoutError, match="open_timeout"):
        await transport.connect(url=f"ws://127.0.0.1:{port}/v1/realtime", api_key=KEY)
    assert transport.status == "disconnected"
    for writer in accepted:
        writer.close()
    server.close()
    await server.wait_closed()
    await census.check()


async def test_refused_connection(make_transport: Factory) -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()  # the port is now closed: connections are refused
    census = Census.take()
    transport = make_transport(open_timeout=5)
    with pytest.raises(TransportConnectionError, match="could not reach") as caught:
        await transport.connect(url=f"ws://127.0.0.1:{port}/v1/realtime", api_key=KEY)
    assert "check the url" in str(caught.value).lower()  # says what to do
    assert KEY not in str(caught.value)
    assert transport.status == "disconnected"
    await census.check()


async def test_unresolvable_host(make_transport: Factory) -> None:
    transport = make_transport(open_timeout=5)
    with pytest.raises((TransportConnectionError, ConnectTimeoutError)) as caught:
        await transport.connect(url="ws://no-such-host.invalid/v1/realtime", api_key=KEY)
    assert "no-such-host.invalid" in str(caught.value)
    assert transport.status == "disconnected"
