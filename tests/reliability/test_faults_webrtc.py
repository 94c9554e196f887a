"""The fault suite for the ``webrtc`` transport, over real aiortc peer connections on loopback.

The emulator's faults apply to a WebRTC call as to a socket (``close_after``/``reset_after``
end the call: the server closes its peer connection, so the data channel goes). Connect faults
hit the calls endpoint (HTTP 500, no answer, refused, unresolvable). For each: the right typed
exception or ``error`` event with what happened and what to do, status ``disconnected``, no leaked
task, thread (aiortc's per-receiver decoder thread ends) or file descriptor (ICE sockets), and the
same transport object connects again.

Not here, and why: a peer that stops reading (media is paced real-time UDP and the input track
drops beyond its bound, see the plugin's tests; the data channel carries a few events), oversized
frames (SCTP messages have no frame size to exceed; the data channel reassembles).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

pytest.importorskip("aiortc", reason="the webrtc transport needs aiortc")
pytest.importorskip("realtime_transport_webrtc", reason="the webrtc plugin is not installed")
from _census import Census
from realtime_transport import get_transport
from realtime_transport.errors import ConnectTimeoutError, TransportConnectionError
from realtime_transport.testing.scenarios import Recorder
from realtime_transport_emulator import Emulator, Faults
from realtime_transport_emulator.net.routing import HttpRequest, HttpResponse

pytestmark = pytest.mark.usefixtures("loopback_ice")

KEY = "sk-reliability-webrtc-SECRET"
TEXT_ONLY = {"output_modalities": ["text"]}  # no paced reply audio: the faults are on events
CONNECT = 15.0


@pytest.fixture(autouse=True)
async def one_executor_thread() -> AsyncIterator[None]:
    """The loop's default executor (Opus encoding) is shared, not per session: give it one
    worker, started before any census, so the thread count only moves for a real leak."""
    loop = asyncio.get_running_loop()
    executor = ThreadPoolExecutor(max_workers=1)
    loop.set_default_executor(executor)
    await loop.run_in_executor(None, lambda: None)
    yield


def make(**options: Any) -> Any:
    return get_transport("webrtc", audio_sink=lambda pcm: None, **options)


def calls_url(emulator: Emulator) -> str:
    return f"{emulator.base_url}/realtime/calls"


async def connect(transport: Any, url: str) -> None:
    await asyncio.wait_for(
        transport.connect(api_key=KEY, url=url, initial_session_config=TEXT_ONLY), CONNECT
    )


async def turn(transport: Any, recorder: Recorder, text: str = "hi") -> None:
    before = recorder.count("turn_done")
    transport.send_message(text)
    await recorder.wait_for("turn_done", count=before + 1, timeout=10)


async def reconnects(transport: Any, emulator: Emulator) -> None:
    """The same object connects again (the fault hit connection 0 only) and holds a turn."""
    recorder = Recorder(transport)
    await connect(transport, calls_url(emulator))
    assert transport.status == "connected"
    await turn(transport, recorder, "again")
    await transport.close()
    assert transport.status == "disconnected"


async def settled(census: Census) -> None:
    """aiortc's decoder thread and the server's side of the call end shortly after close."""
    await census.check(timeout=8)


def transport_errors(recorder: Recorder) -> list[Any]:
    return [e for e in recorder.payloads("error") if e.source == "transport"]


def assert_no_key(*texts: str) -> None:
    for text in texts:
        assert KEY not in text


# -- faults after connect ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [Faults(close_after=6), Faults(reset_after=6)],
    ids=["drop-mid-response", "call-reset"],
)
async def test_call_lost_mid_response(fault: Faults) -> None:
    async with Emulator(faults=[fault, None]) as emulator:
        census = Census.take()
        transport = make()
        recorder = Recorder(transport)
        await connect(transport, calls_url(emulator))
        transport.send_message("tell me a long story")
        await recorder.wait_for("disconnected", timeout=10)
        assert transport.status == "disconnected"
        lost = transport_errors(recorder)
        assert lost and lost[0].code == "connection_lost", recorder.payloads("error")
        message = lost[0].message
        assert "connection lost" in message and "closed" in message, message
        assert "connect() again" in message, "the message must say what to do"
        assert_no_key(message)
        assert transport.peer_connection is None and transport.call_id is None
        await transport.close()
        await settled(census)
        await reconnects(transport, emulator)
        await settled(census)


async def test_server_error_mid_response_keeps_the_call() -> None:
    async with Emulator(faults=Faults(error_mid_response=1)) as emulator:
        census = Census.take()
        transport = make()
        recorder = Recorder(transport)
        await connect(transport, calls_url(emulator))
        await turn(transport, recorder, "first")
        server = [e for e in recorder.payloads("error") if e.source == "server"]
        assert server and "server_error" in server[0].message, recorder.payloads("error")
        assert transport.status == "connected"
        await turn(transport, recorder, "second")  # the call goes on
        await transport.close()
        await settled(census)


async def test_malformed_message_is_reported_and_the_loop_continues() -> None:
    async with Emulator(faults=Faults(malformed_after=2)) as emulator:
        transport = make()
        recorder = Recorder(transport)
        await connect(transport, calls_url(emulator))
        await recorder.wait_for("error", timeout=10)
        parse = [e for e in recorder.payloads("error") if e.source == "parse"]
        assert parse and "not JSON" in parse[0].message and "ignored" in parse[0].message
        await turn(transport, recorder)
        assert transport.status == "connected"
        await transport.close()


async def test_unknown_event_type_reaches_star_only() -> None:
    async with Emulator(faults=Faults(unknown_after=2)) as emulator:
        transport = make()
        recorder = Recorder(transport)
        raw: list[dict[str, Any]] = []
        transport.on("*", raw.append)
        await connect(transport, calls_url(emulator))
        await turn(transport, recorder)
        unknown = [e for e in raw if e["type"] == "emulator.fault.unknown_event"]
        assert len(unknown) == 1, "the unknown event must reach `*`, once"
        assert not recorder.payloads("error"), "an unknown event type is not an error"
        await transport.close()


# -- faults at connect ------------------------------------------------------------------------


def answering_500(emulator: Emulator) -> None:
    async def handler(request: HttpRequest) -> HttpResponse:
        return HttpResponse.error(
            500, "The server had an error while processing your request.", type="server_error"
        )

    emulator.router.add("POST", "/test/calls-500", handler)


async def test_calls_endpoint_answering_500() -> None:
    async with Emulator(surfaces=[answering_500]) as emulator:
        census = Census.take()
        transport = make()
        recorder = Recorder(transport)
        with pytest.raises(TransportConnectionError) as caught:
            await connect(transport, f"{emulator.http_url}/test/calls-500")
        error: Any = caught.value
        assert error.step == "call_request" and error.status == 500
        assert "HTTP 500" in str(error) and "error while processing" in str(error)
        assert transport.status == "disconnected"
        errors = recorder.payloads("error")
        assert errors and errors[-1].code == "connect_failed"
        assert_no_key(str(error), repr(error), *(e.message for e in errors))
        await settled(census)
        await reconnects(transport, emulator)
        await settled(census)


async def hold_server() -> tuple[asyncio.Server, int, list[asyncio.StreamWriter]]:
    """Accepts TCP connections and never answers the HTTP request."""
    accepted: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], accepted


async def stop(server: asyncio.Server, accepted: list[asyncio.StreamWriter]) -> None:
    for writer in accepted:
        writer.close()
    server.close()
    await server.wait_closed()


async def test_connect_timeout_on_a_calls_endpoint_that_never_answers() -> None:
    server, port, accepted = await hold_server()
    census = Census.take()
    transport = make(connect_timeout=0.5)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(ConnectTimeoutError) as caught:
        await asyncio.wait_for(
            transport.connect(api_key=KEY, url=f"http://127.0.0.1:{port}/v1/realtime/calls"), 5
        )
    assert loop.time() - started < 3, "connect_timeout bounds the whole connect"
    message = str(caught.value)
    assert "did not answer" in message and "connect_timeout" in message, message
    assert_no_key(message)
    assert transport.status == "disconnected"
    await stop(server, accepted)
    await settled(census)
    async with Emulator() as emulator:
        await reconnects(transport, emulator)


async def test_close_during_connect_ends_connect_at_once() -> None:
    server, port, accepted = await hold_server()
    census = Census.take()
    transport = make(connect_timeout=10)
    connecting = asyncio.ensure_future(
        transport.connect(api_key=KEY, url=f"http://127.0.0.1:{port}/v1/realtime/calls")
    )
    for _ in range(400):
        await asyncio.sleep(0.005)
        if accepted:
            break
    assert accepted and transport.status == "connecting"
    await transport.close()
    with pytest.raises(TransportConnectionError) as caught:
        await asyncio.wait_for(connecting, 2)  # not at connect_timeout
    assert "closed" in str(caught.value) and "connect() again" in str(caught.value)
    assert transport.status == "disconnected"
    await stop(server, accepted)
    await settled(census)
    async with Emulator() as emulator:
        await reconnects(transport, emulator)


async def test_close_while_waiting_for_the_session_ack() -> None:
    async with Emulator(faults="delay_ms:400") as emulator:  # session.updated comes late
        census = Census.take()
        transport = make(session_updated_timeout=5)
        connecting = asyncio.ensure_future(connect(transport, calls_url(emulator)))
        for _ in range(1000):
            await asyncio.sleep(0.005)
            channel = transport.connection_state["data_channel"]
            if channel is not None and channel.readyState == "open":
                break
        assert transport.status == "connecting", "the channel is open, the ack not yet in"
        await transport.close()
        with pytest.raises(TransportConnectionError) as caught:  # not a bare CancelledError
            await asyncio.wait_for(connecting, 2)
        assert "closed" in str(caught.value) and "connect() again" in str(caught.value)
        assert transport.status == "disconnected"
        await settled(census)


async def test_refused_connection() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()  # the port is closed now: connections are refused
    census = Census.take()
    transport = make()
    with pytest.raises(TransportConnectionError, match="could not reach") as caught:
        await connect(transport, f"http://127.0.0.1:{port}/v1/realtime/calls")
    assert "check the url" in str(caught.value).lower(), "the message must say what to do"
    assert_no_key(str(caught.value))
    assert transport.status == "disconnected"
    await settled(census)


async def test_unresolvable_host() -> None:
    transport = make()
    with pytest.raises((TransportConnectionError, ConnectTimeoutError)) as caught:
        await connect(transport, "http://no-such-host.invalid/v1/realtime/calls")
    assert "no-such-host.invalid" in str(caught.value)
    assert transport.status == "disconnected"
