"""OpenAIRealtimeSIP against the emulator's SIP surface (reference §5.3, §9.4)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from conftest import KEY, SipEmulator
from realtime_transport import RealtimeAgent, RealtimeSession
from realtime_transport.errors import (
    TransportConnectionError,
    UnsupportedOperationError,
    UserError,
)
from realtime_transport_emulator import Emulator, SipSimulator
from realtime_transport_sip import CallGoneError, OpenAIRealtimeSIP, SipCallControl
from realtime_transport_sip.transport import realtime_url


def record(emitter: Any, *names: str) -> list[tuple[str, Any]]:
    seen: list[tuple[str, Any]] = []
    for name in names:
        emitter.on(name, lambda payload, _n=name: seen.append((_n, payload)))
    return seen


async def wait_for(check: Any, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_connect_without_a_call_id_is_a_user_error_and_opens_nothing(
    sip_emu: SipEmulator,
) -> None:
    transport = OpenAIRealtimeSIP(url=sip_emu.emulator.ws_url)
    with pytest.raises(UserError, match="call_id"):
        await transport.connect(api_key=KEY)
    assert transport.status == "disconnected"
    assert sip_emu.emulator.connections == []


async def test_connect_attaches_by_call_id_and_send_audio_raises(sip_emu: SipEmulator) -> None:
    call = sip_emu.sip.accepted_call({"type": "realtime", "instructions": "Be brief."})
    transport = OpenAIRealtimeSIP(base_url=sip_emu.emulator.base_url)  # same API as the client
    await transport.connect(api_key=KEY, call_id=call.call_id, model="ignored-on-a-call")
    assert transport.status == "connected" and transport.call_id == call.call_id
    connection = await sip_emu.emulator.wait_for_connection(0)
    assert connection.call_id == call.call_id and connection.query == {"call_id": call.call_id}
    update = await sip_emu.emulator.wait_for_client_event("session.update")
    assert "model" not in update["session"]  # the model was fixed when the call was accepted
    with pytest.raises(UnsupportedOperationError, match="phone line"):
        transport.send_audio(b"\x00" * 960)
    await transport.close()


async def test_attaching_to_an_ended_or_unknown_call_is_call_gone(sip_emu: SipEmulator) -> None:
    call = sip_emu.sip.accepted_call()
    await SipCallControl(api_key=KEY, base_url=sip_emu.emulator.base_url).hangup(call.call_id)
    for call_id in (call.call_id, "rtc_never_accepted"):
        transport = OpenAIRealtimeSIP(url=sip_emu.emulator.ws_url)
        with pytest.raises(CallGoneError, match="accept it first") as gone:
            await transport.connect(api_key=KEY, call_id=call_id)
        assert isinstance(gone.value, TransportConnectionError)
        assert gone.value.call_id == call_id and KEY not in str(gone.value)
        assert transport.status == "disconnected"


def test_the_socket_url_follows_the_api_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    assert realtime_url("https://api.openai.com/v1") == "wss://api.openai.com/v1/realtime"
    assert realtime_url("http://127.0.0.1:9/v1/") == "ws://127.0.0.1:9/v1/realtime"
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    assert OpenAIRealtimeSIP()._url == "ws://127.0.0.1:9/v1/realtime"
    assert OpenAIRealtimeSIP(url="ws://x/v1/realtime")._url == "ws://x/v1/realtime"


async def test_dtmf_reaches_transport_and_session_as_typed_events(sip_emu: SipEmulator) -> None:
    call = sip_emu.sip.accepted_call()
    transport = OpenAIRealtimeSIP(url=sip_emu.emulator.ws_url)
    session = RealtimeSession(RealtimeAgent("Phone"), transport=transport, api_key=KEY)
    on_transport = record(transport, "dtmf")
    on_session = record(session, "dtmf")
    await session.connect(call_id=call.call_id)
    await wait_for(lambda: bool(call.sessions))
    for key in "4#":
        await call.press(key, 1750287078)
    await wait_for(lambda: len(on_session) == 2)
    assert [event.digit for _, event in on_transport] == ["4", "#"]
    assert [event.digit for _, event in on_session] == ["4", "#"]
    assert on_session[0][1].received_at == 1750287078.0
    await session.close()


async def test_a_hang_up_ends_the_session_with_a_reason_not_an_error(sip_emu: SipEmulator) -> None:
    call = sip_emu.sip.accepted_call()
    transport = OpenAIRealtimeSIP(url=sip_emu.emulator.ws_url)
    session = RealtimeSession(RealtimeAgent("Phone"), transport=transport, api_key=KEY)
    errors = record(transport, "error")
    ended = record(session, "disconnected")
    await session.connect(call_id=call.call_id)
    await sip_emu.emulator.wait_for_client_event("session.update")
    control = SipCallControl(api_key=KEY, base_url=sip_emu.emulator.base_url)
    await control.hangup(call.call_id)
    await wait_for(lambda: bool(ended))
    assert "the call ended" in ended[0][1].reason
    assert errors == []
    assert transport.status == "disconnected"
    await session.close()


async def test_interruption_is_server_side() -> None:
    sip = SipSimulator()
    async with Emulator(api_keys={KEY}, surfaces=[sip.install], response_latency_ms=300) as emu:
        call = sip.accepted_call()
        transport = OpenAIRealtimeSIP(url=emu.ws_url)
        seen = record(transport, "audio_interrupted", "turn_done")
        await transport.connect(api_key=KEY, call_id=call.call_id)
        # The server's VAD heard the caller: the transport leaves barge-in to the server.
        transport._handle_frame(
            json.dumps(
                {
                    "type": "input_audio_buffer.speech_started",
                    "event_id": "e",
                    "item_id": "item_1",
                    "audio_start_ms": 0,
                }
            )
        )
        transport.request_response()
        await emu.wait_for_server_event("response.created")
        transport.interrupt()
        await wait_for(lambda: any(name == "audio_interrupted" for name, _ in seen))
        sent = [
            e["type"] for e in emu.connections[0].client_events if e["type"] != "session.update"
        ]
        assert sent == [  # nothing on speech_started; a truncate is never sent
            "response.create",
            "response.cancel",
            "output_audio_buffer.clear",
        ]
        await wait_for(lambda: any(name == "turn_done" for name, _ in seen))
        done = next(payload for name, payload in seen if name == "turn_done")
        assert done.status == "cancelled"
        await transport.close()


async def test_a_caller_barging_in_is_cut_by_the_server_and_reported() -> None:
    from realtime_transport_emulator import Reply, Script, speech

    sip = SipSimulator()
    script = Script(default=Reply(text="A long answer that goes on and on.", audio_ms=3000))
    async with Emulator(
        script=script, pace="realtime", api_keys={KEY}, surfaces=[sip.install]
    ) as emu:
        call = sip.accepted_call()
        transport = OpenAIRealtimeSIP(url=emu.ws_url)
        session = RealtimeSession(RealtimeAgent("Phone"), transport=transport, api_key=KEY)
        interrupted = record(session, "audio_interrupted")
        await session.connect(call_id=call.call_id)
        await wait_for(lambda: bool(call.sessions))
        transport.request_response()
        await emu.wait_for_server_event("output_audio_buffer.started")
        fmt = call.input_format()
        assert fmt is not None
        await call.feed_caller_audio(speech("Stop, please.", fmt))
        done = await emu.wait_for_server_event("response.done")
        assert done["response"]["status"] == "cancelled"
        assert done["response"]["status_details"]["reason"] == "turn_detected"
        await emu.wait_for_server_event("output_audio_buffer.cleared")
        await wait_for(lambda: bool(interrupted))
        sent = {event["type"] for event in emu.connections[0].client_events}
        assert not sent & {"conversation.item.truncate", "response.cancel"}  # the server's job
        assert call.model_audio_ms < 3000  # the rest of the reply never reached the caller
        await session.close()
