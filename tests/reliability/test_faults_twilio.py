"""The fault suite for the ``twilio`` transport: a Twilio media stream bridged to the Realtime leg.

The phone side is real: the emulator's Twilio carrier simulator opens the media stream to a
``websockets`` server on 127.0.0.1 (as Twilio connects to the app), and the transport gets the
accepted socket. Faults on both legs:

- the caller hangs up mid-reply: the call ends, the Realtime leg closes, no ``error`` (a hang-up
  is how calls end); the ended call refuses ``connect()`` with what to do, a new call works;
- the Realtime leg drops mid-call (1011 close, TCP reset): an ``error`` that says to call
  ``connect()`` again, the phone stays up, and the same object reconnects and talks on;
- a Twilio socket that stops reading (our writes back up): the stalled write is reported and
  the call ends within the send timeout, nothing stays stuck;
- server error, malformed and unknown frames on the Realtime leg: reported, the call goes on.

Every test checks status ``disconnected``, the census and connecting again.

Not here, and why: connect timeout, refused, DNS failure, TLS and oversized frames on the
Realtime leg run the websocket transport's own code unchanged (test_faults.py); malformed and
unknown Twilio messages, a silent stream and bad signatures are in the twilio plugin's tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

pytest.importorskip("realtime_transport_twilio", reason="the twilio plugin is not installed")

from _census import Census
from realtime_transport import get_transport
from realtime_transport.errors import UserError
from realtime_transport.testing.scenarios import Recorder
from realtime_transport_emulator import Emulator, Faults, Reply, Script
from realtime_transport_emulator.surfaces.twilio_carrier import (
    Gap,
    HangUp,
    Step,
    TwilioCarrier,
    WaitForAgent,
)
from realtime_transport_emulator.surfaces.twilio_carrier.ear import CallRecord
from websockets.asyncio.client import connect as ws_connect
from websockets.asyncio.server import serve

KEY = "sk-reliability-twilio-SECRET"
STORY = Script(default=Reply(text="A story that goes on for a while.", audio_ms=2000))


@dataclass
class Line:
    """One phone call: the socket the app accepted and the simulated caller's task."""

    socket: Any
    record: CallRecord
    caller: asyncio.Task[None]


@contextlib.asynccontextmanager
async def phone_line(script: Sequence[Step]) -> AsyncIterator[Line]:
    """A media stream from the carrier simulator to a server on 127.0.0.1, running ``script``."""
    accepted: asyncio.Queue[Any] = asyncio.Queue()
    done = asyncio.Event()

    async def handler(connection: Any) -> None:
        await accepted.put(connection)
        await done.wait()

    async with serve(handler, "127.0.0.1", 0, compression=None, close_timeout=1) as server:
        url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/media-stream"
        record = CallRecord(call_sid="CAreliability")
        caller = asyncio.ensure_future(
            TwilioCarrier(auth_token="unused").stream(url, url, record, script)
        )
        try:
            yield Line(await asyncio.wait_for(accepted.get(), 5), record, caller)
        finally:
            caller.cancel()
            with contextlib.suppress(BaseException):
                await caller
            done.set()


def make(line_socket: Any, **options: Any) -> Any:
    return get_transport("twilio", twilio_websocket=line_socket, **options)


async def connect(transport: Any, emulator: Emulator) -> None:
    await asyncio.wait_for(transport.connect(api_key=KEY, url=emulator.ws_url), 10)


async def turn(transport: Any, recorder: Recorder, text: str = "hi") -> None:
    before = recorder.count("turn_done")
    transport.send_message(text)
    await recorder.wait_for("turn_done", count=before + 1, timeout=10)


async def a_new_call_works(emulator: Emulator) -> None:
    async with phone_line([Gap(30_000)]) as line:
        transport = make(line.socket)
        recorder = Recorder(transport)
        await connect(transport, emulator)
        await turn(transport, recorder)
        await transport.close()
        assert transport.status == "disconnected"


async def test_caller_hanging_up_mid_reply_ends_the_call_cleanly() -> None:
    async with Emulator(script=STORY) as emulator:
        census = Census.take()
        async with phone_line([WaitForAgent(100), HangUp()]) as line:
            transport = make(line.socket)
            recorder = Recorder(transport)
            await connect(transport, emulator)
            transport.send_message("tell me a story")
            await asyncio.wait_for(line.caller, 15)  # heard 100 ms of the reply, hung up
            assert line.record.ended_by == "caller hung up"
            assert await transport.wait_stream_end(timeout=5)
            assert transport.stream_ended and transport.status == "disconnected"
            assert not recorder.payloads("error"), "a hang-up is how a call ends, not an error"
            assert emulator.connections[0].closed, "the Realtime leg is closed with the call"
            with pytest.raises(UserError, match="new media stream") as ended:
                await transport.connect(api_key=KEY, url=emulator.ws_url)
            assert KEY not in str(ended.value)
            await transport.close()
        await census.check()
        await a_new_call_works(emulator)
        await census.check()


@pytest.mark.parametrize(
    ("fault", "code_or_text"),
    [(Faults(close_after=6), "1011"), (Faults(reset_after=6), "reset")],
    ids=["realtime-1011-mid-reply", "realtime-reset-mid-reply"],
)
async def test_realtime_leg_lost_mid_call_reconnects_on_the_same_call(
    fault: Faults, code_or_text: str
) -> None:
    async with Emulator(script=STORY, faults=[fault, None]) as emulator:
        census = Census.take()
        async with phone_line([Gap(30_000)]) as line:
            transport = make(line.socket)
            recorder = Recorder(transport)
            await connect(transport, emulator)
            transport.send_message("tell me a story")
            await recorder.wait_for("disconnected", timeout=10)
            assert transport.status == "disconnected"
            lost = [e for e in recorder.payloads("error") if e.source == "transport"]
            assert lost, recorder.payloads("error")
            message = lost[0].message
            assert code_or_text in message.lower() and "connect() again" in message, message
            assert KEY not in message
            assert not transport.stream_ended and not line.caller.done(), "the phone is up"
            await connect(transport, emulator)  # the same object, the same call
            heard = line.record.heard_ms
            await turn(transport, recorder, "go on")
            assert len(emulator.connections) == 2
            for _ in range(200):  # the reply after the reconnect reaches the caller
                if line.record.heard_ms > heard:
                    break
                await asyncio.sleep(0.02)
            assert line.record.heard_ms > heard
            await transport.close()
            assert transport.status == "disconnected"
        await census.check()


async def test_server_error_malformed_and_unknown_frames_leave_the_call_running() -> None:
    faults = Faults(error_mid_response=1, malformed_after=2, unknown_after=3)
    async with Emulator(script=STORY, faults=faults) as emulator:
        census = Census.take()
        async with phone_line([Gap(30_000)]) as line:
            transport = make(line.socket)
            recorder = Recorder(transport)
            raw: list[dict[str, Any]] = []
            transport.on("*", raw.append)
            await connect(transport, emulator)
            await turn(transport, recorder, "first")
            sources = sorted(e.source for e in recorder.payloads("error"))
            assert sources == ["parse", "server"], recorder.payloads("error")
            assert [e["type"] for e in raw].count("emulator.fault.unknown_event") == 1
            await turn(transport, recorder, "second")
            assert transport.status == "connected" and not transport.stream_ended
            await transport.close()
        await census.check()


async def test_twilio_socket_that_stops_reading_ends_the_call_within_the_send_timeout() -> None:
    """Twilio's side stops reading: our writes back up; the stalled write ends the call."""
    script = Script(default=Reply(text="A very long answer.", audio_ms=15_000))
    async with Emulator(script=script) as emulator:
        census = Census.take()
        accepted: asyncio.Queue[Any] = asyncio.Queue()
        done = asyncio.Event()

        async def handler(connection: Any) -> None:
            sock = connection.transport.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
            await accepted.put(connection)
            await done.wait()

        async with serve(handler, "127.0.0.1", 0, compression=None, close_timeout=0.5) as server:
            port = server.sockets[0].getsockname()[1]
            raw_socket = socket.socket()
            raw_socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            raw_socket.setblocking(False)
            await asyncio.get_running_loop().sock_connect(raw_socket, ("127.0.0.1", port))
            stuck = await ws_connect(f"ws://127.0.0.1:{port}/media-stream", sock=raw_socket)
            await stuck.send(json.dumps({"event": "connected", "protocol": "Call"}))
            start = {
                "streamSid": "MZstuck",
                "callSid": "CAstuck",
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            }
            await stuck.send(json.dumps({"event": "start", "streamSid": "MZstuck", "start": start}))
            stuck.transport.pause_reading()  # Twilio stops reading what we send
            try:
                line_socket = await asyncio.wait_for(accepted.get(), 5)
                transport = make(line_socket, twilio_send_timeout=1.0)
                recorder = Recorder(transport)
                await connect(transport, emulator)
                loop = asyncio.get_running_loop()
                started = loop.time()
                transport.send_message("tell me everything")
                assert await transport.wait_stream_end(timeout=10), "the stuck call must end"
                assert loop.time() - started < 8
                failed = [e for e in recorder.payloads("error") if e.code == "twilio_send_failed"]
                assert failed, recorder.payloads("error")
                assert "timed out" in failed[0].message and "treated as ended" in failed[0].message
                assert transport.status == "disconnected" and transport.stream_ended
                await transport.close()
            finally:
                stuck.transport.abort()
                done.set()
        await census.check(timeout=4)
        await a_new_call_works(emulator)
