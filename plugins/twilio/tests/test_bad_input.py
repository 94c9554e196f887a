"""Bad input from the phone side: clear errors, the call goes on (or ends cleanly), no leaks."""

from __future__ import annotations

import asyncio

import pytest
from conftest import AUTH_TOKEN, PUBLIC_ORIGIN, Stack, call_script, running_stack
from realtime_transport_emulator.surfaces.twilio_carrier import (
    CarrierError,
    HangUp,
    Raw,
    Say,
    Silence,
    TwilioCarrier,
    WaitForAgent,
    WaitForQuiet,
)

pytestmark = pytest.mark.timeout(60)


async def call_cleaned_up(stack: Stack) -> None:
    """The app let go of the session, the transport is closed, its tasks are gone."""
    for _ in range(300):
        if not stack.app.state.active_sessions:
            break
        await asyncio.sleep(0.01)
    if stack.app.state.active_sessions:
        for task in asyncio.all_tasks():
            task.print_stack(limit=6)
    assert not stack.app.state.active_sessions
    for session in stack.sessions:
        assert session.transport.status == "disconnected"
    leftover = [t for t in asyncio.all_tasks() if t.get_name().startswith("twilio-")]
    assert leftover == []
    for connection in stack.emulator.connections:
        await asyncio.wait_for(connection.wait_closed(), 5)


def codes(stack: Stack) -> list[str]:
    return [e.code for e in stack.transport_events("error")]


async def test_malformed_unknown_and_early_media_are_reported_and_the_call_goes_on() -> None:
    async with running_stack(call_script("hello")) as stack:
        record = await TwilioCarrier(
            auth_token=AUTH_TOKEN, public_origin=PUBLIC_ORIGIN, media_before_start=3
        ).place_call(
            stack.voice_url,
            [
                Raw("{not json"),
                Raw("[1, 2, 3]"),
                Raw('{"event": "bogus", "streamSid": "x"}'),
                Raw('{"event": "bogus", "streamSid": "x"}'),
                Raw('{"event": "media", "media": {"payload": "@@not base64@@"}}'),
                Raw('{"event": "media"}'),
                Say("hello there"),
                Silence(700),
                WaitForAgent(100),
                WaitForQuiet(300),
            ],
            timeout=30,
        )
        found = codes(stack)
        assert found.count("twilio_media_before_start") == 1
        assert found.count("malformed_twilio_message") == 4
        assert found.count("twilio_unknown_event") == 1  # reported once per event name
        messages = [e.message for e in stack.transport_events("error")]
        assert any("not JSON" in m for m in messages)
        assert any("'bogus'" in m for m in messages)
        assert record.heard_ms > 100  # the call still works
        await call_cleaned_up(stack)


@pytest.mark.parametrize("ending", ["stop", "hang-up"])
async def test_call_ending_mid_reply_cleans_up(ending: str) -> None:
    async with running_stack(call_script("tell me a story")) as stack:
        script = [Say("tell me a story"), Silence(700), WaitForAgent(300)]
        if ending == "hang-up":
            script.append(HangUp())
        record = await TwilioCarrier(auth_token=AUTH_TOKEN, public_origin=PUBLIC_ORIGIN).place_call(
            stack.voice_url, script, timeout=30
        )
        assert record.ended_by == ("stop" if ending == "stop" else "caller hung up")
        await call_cleaned_up(stack)
        assert "twilio_socket_error" not in codes(stack)
        assert not [e for e in stack.transport_events("error") if e.source == "server"]


@pytest.mark.parametrize("where", ["webhook", "stream"])
@pytest.mark.parametrize("signature", ["missing", "wrong"])
async def test_bad_signature_is_refused_before_any_realtime_session(
    where: str, signature: str
) -> None:
    async with running_stack(call_script()) as stack:
        carrier = TwilioCarrier(
            auth_token=AUTH_TOKEN,
            public_origin=PUBLIC_ORIGIN,
            **{f"{where}_signature": signature},  # type: ignore[arg-type]
        )
        with pytest.raises(CarrierError, match="403"):
            await carrier.place_call(stack.voice_url, [Silence(100)], timeout=10)
        assert stack.emulator.connections == []  # no Realtime session was opened
        assert stack.sessions == []


async def test_signature_over_the_wrong_public_origin_is_refused() -> None:
    async with running_stack(call_script()) as stack:
        carrier = TwilioCarrier(auth_token=AUTH_TOKEN, public_origin="https://attacker.example")
        with pytest.raises(CarrierError, match="403"):
            await carrier.place_call(stack.voice_url, [Silence(100)], timeout=10)
        assert stack.emulator.connections == []


async def test_a_silent_stream_times_out_and_ends_the_call() -> None:
    from realtime_transport.testing.emulator import TEST_API_KEY, EmulatorDriver
    from realtime_transport_twilio import TwilioRealtimeTransportLayer
    from test_conformance import phones

    async with EmulatorDriver() as emulator, phones(1) as lines:
        transport = TwilioRealtimeTransportLayer(twilio_websocket=lines[0], twilio_idle_timeout=1.5)
        errors: list[str] = []
        transport.on("error", lambda e: errors.append(e.code))
        await transport.connect(url=emulator.ws_url, api_key=TEST_API_KEY)
        assert await transport.wait_stream_end(timeout=6)  # the phone sends nothing (a gap)
        assert transport.stream_ended and transport.status == "disconnected"
        assert errors == ["twilio_stream_timeout"]
        await transport.close()
        assert [t for t in asyncio.all_tasks() if t.get_name().startswith("twilio-")] == []
