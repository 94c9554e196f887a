"""The fault suite for the ``sip`` transport: the Realtime socket attached to an emulated SIP call.

A SIP call's audio rides the phone line, so the faults are on the socket and the call: a hang-up
(the socket is cut without a close frame) ends the session with a reason and no ``error``; a
reset or a 1011 close of the socket while the call is up is a lost connection, reported with
what to do, and the same transport re-attaches to the call that is still up; a call that ended
or never existed is a typed ``CallGoneError``. Events (server error mid-response, malformed and
unknown frames) behave as on any socket. Every test checks status, the census, and re-attaching.

Not here, and why: connect timeout, refused, DNS failure, TLS, oversized frames and a peer that
stops reading hit the websocket transport's own code, which the sip transport runs unchanged
(covered in test_faults.py); a SIP call has no caller audio to back up (no ``send_audio``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import pytest

pytest.importorskip("realtime_transport_sip", reason="the sip plugin is not installed")

from _census import Census
from realtime_transport import get_transport
from realtime_transport.testing.scenarios import Recorder
from realtime_transport_emulator import Emulator, Faults, SipSimulator
from realtime_transport_sip import CallGoneError

KEY = "sk-reliability-sip-SECRET"


@asynccontextmanager
async def sip_emulator(
    faults: Faults | Sequence[Faults | None] | None = None,
) -> AsyncIterator[tuple[Emulator, SipSimulator]]:
    sip = SipSimulator()
    async with Emulator(faults=faults, surfaces=[sip.install]) as emulator:
        yield emulator, sip


def make() -> Any:
    return get_transport("sip")


async def attach(transport: Any, emulator: Emulator, call_id: str) -> None:
    await asyncio.wait_for(transport.connect(api_key=KEY, url=emulator.ws_url, call_id=call_id), 10)


async def turn(transport: Any, recorder: Recorder, text: str = "hi") -> None:
    before = recorder.count("turn_done")
    transport.send_message(text)
    await recorder.wait_for("turn_done", count=before + 1, timeout=10)


async def reattaches(transport: Any, emulator: Emulator, call_id: str) -> None:
    """The same object attaches (again) to ``call_id`` and holds a turn."""
    recorder = Recorder(transport)
    await attach(transport, emulator, call_id)
    assert transport.status == "connected" and transport.call_id == call_id
    await turn(transport, recorder, "again")
    await transport.close()
    assert transport.status == "disconnected"


def hang_up(emulator: Emulator, call: Any) -> None:
    """The caller hangs up: the line goes dead, every attached socket is cut."""
    call.end("ended", "caller")
    emulator.end_call(call.call_id)


async def test_caller_hanging_up_mid_reply_ends_the_session_without_an_error() -> None:
    async with sip_emulator() as (emulator, sip):
        call = sip.accepted_call()
        census = Census.take()
        transport = make()
        recorder = Recorder(transport)
        await attach(transport, emulator, call.call_id)
        transport.send_message("tell me a long story")
        await emulator.wait_for_server_event("response.created")
        hang_up(emulator, call)
        await recorder.wait_for("disconnected", timeout=10)
        assert transport.status == "disconnected"
        assert not recorder.payloads("error"), "a hang-up is how a call ends, not an error"
        assert "the call ended" in disconnect_reason(recorder)
        await transport.close()
        await census.check()
        # the call is gone: attaching again is a typed error that says why and what to do
        with pytest.raises(CallGoneError, match="accept it first") as gone:
            await attach(transport, emulator, call.call_id)
        assert gone.value.call_id == call.call_id and KEY not in str(gone.value)
        assert transport.status == "disconnected"
        await census.check()
        await reattaches(transport, emulator, sip.accepted_call().call_id)  # the next call
        await census.check()


def disconnect_reason(recorder: Recorder) -> str:
    (payload,) = recorder.payloads("disconnected")[:1]
    return str(getattr(payload, "reason", payload))


@pytest.mark.parametrize(
    ("fault", "code_or_text"),
    [(Faults(close_after=6), "1011"), (Faults(reset_after=6), "reset")],
    ids=["socket-1011-mid-response", "socket-reset-mid-response"],
)
async def test_socket_lost_while_the_call_is_up_is_an_error_and_reattaches(
    fault: Faults, code_or_text: str
) -> None:
    async with sip_emulator([fault, None]) as (emulator, sip):
        call = sip.accepted_call()
        census = Census.take()
        transport = make()
        recorder = Recorder(transport)
        await attach(transport, emulator, call.call_id)
        transport.send_message("tell me a long story")
        await recorder.wait_for("disconnected", timeout=10)
        assert transport.status == "disconnected"
        lost = [e for e in recorder.payloads("error") if e.source == "transport"]
        assert lost, "a socket lost while the call is up must be reported on `error`"
        message = lost[0].message
        assert code_or_text in message.lower(), message
        assert "connect() again" in message and KEY not in message
        assert "the call ended" not in message + disconnect_reason(recorder), "not a hang-up"
        assert call.active, "the phone call itself is still up"
        await transport.close()
        await census.check()
        await reattaches(transport, emulator, call.call_id)  # the same call, the same object
        assert call.attach_count == 2
        await census.check()


async def test_unknown_call_is_call_gone() -> None:
    async with sip_emulator() as (emulator, sip):
        census = Census.take()
        transport = make()
        with pytest.raises(CallGoneError, match="never accepted") as gone:
            await attach(transport, emulator, "rtc_never_accepted")
        assert gone.value.status == 404 and KEY not in str(gone.value)
        assert transport.status == "disconnected"
        await census.check()
        await reattaches(transport, emulator, sip.accepted_call().call_id)


async def test_server_error_mid_response_keeps_the_call() -> None:
    async with sip_emulator(Faults(error_mid_response=1)) as (emulator, sip):
        call = sip.accepted_call()
        census = Census.take()
        transport = make()
        recorder = Recorder(transport)
        await attach(transport, emulator, call.call_id)
        await turn(transport, recorder, "first")
        server = [e for e in recorder.payloads("error") if e.source == "server"]
        assert server and "server_error" in server[0].message
        assert transport.status == "connected"
        await turn(transport, recorder, "second")
        await transport.close()
        await census.check()


async def test_malformed_and_unknown_frames_leave_the_call_running() -> None:
    async with sip_emulator(Faults(malformed_after=2, unknown_after=3)) as (emulator, sip):
        call = sip.accepted_call()
        transport = make()
        recorder = Recorder(transport)
        raw: list[dict[str, Any]] = []
        transport.on("*", raw.append)
        await attach(transport, emulator, call.call_id)
        await turn(transport, recorder)
        errors = recorder.payloads("error")
        assert len(errors) == 1 and errors[0].source == "parse", errors
        assert "not JSON" in errors[0].message and "ignored" in errors[0].message
        assert [e["type"] for e in raw].count("emulator.fault.unknown_event") == 1
        assert transport.status == "connected"
        await transport.close()
