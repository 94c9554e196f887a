"""A simulated phone call through the example app, end to end, offline.

carrier simulator (real time) <-> example Starlette app on uvicorn (127.0.0.1) <-> Twilio
transport <-> emulator (the model). Asserts on what the caller heard, on what the app sent to
Twilio and on what the emulator received.
"""

from __future__ import annotations

import asyncio

import pytest
from realtime_transport_emulator.surfaces.twilio_carrier import (
    Dtmf,
    Gap,
    Say,
    Silence,
    TwilioCarrier,
    WaitForAgent,
    WaitForQuiet,
)

from conftest import AUTH_TOKEN, PUBLIC_ORIGIN, Stack, call_script, running_stack

pytestmark = pytest.mark.timeout(60)


def carrier(**kwargs: object) -> TwilioCarrier:
    return TwilioCarrier(auth_token=AUTH_TOKEN, public_origin=PUBLIC_ORIGIN, **kwargs)  # type: ignore[arg-type]


def client_events(stack: Stack) -> list[dict]:
    return [e for c in stack.emulator.connections for e in c.client_events]


def assert_mulaw_throughout(stack: Stack) -> None:
    """Every session.update with a config pins mu-law, and the server always echoed mu-law."""
    updates = [e["session"] for e in client_events(stack) if e["type"] == "session.update"]
    configs = [u for u in updates if set(u) - {"type", "tracing"}]
    assert configs, "no session.update with a config was sent"
    for update in configs:
        assert update["audio"]["input"]["format"] == {"type": "audio/pcmu"}, update
        assert update["audio"]["output"]["format"] == {"type": "audio/pcmu"}, update
    echoed = [
        e["session"]["audio"]
        for c in stack.emulator.connections
        for e in c.server_events
        if e["type"] in ("session.created", "session.updated")
    ]
    assert echoed[-1]["input"]["format"]["type"] == "audio/pcmu"
    assert all(a["output"]["format"]["type"] == "audio/pcmu" for a in echoed[1:])


async def no_active_sessions(stack: Stack) -> None:
    for _ in range(200):
        if not stack.app.state.active_sessions:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the app still holds a session after the call ended")


async def test_spoken_turn_with_a_tool_call() -> None:
    async with running_stack(call_script("what's the weather in Paris?")) as stack:
        record = await carrier().place_call(
            stack.voice_url,
            [Say("what is the weather"), Silence(700), WaitForAgent(200), WaitForQuiet(400)],
            timeout=30,
        )
    events = client_events(stack)
    types = [e["type"] for e in events]
    outputs = [e for e in events if e["type"] == "conversation.item.create"]
    assert any(o["item"].get("type") == "function_call_output" for o in outputs), types
    assert "sunny" in next(o["item"]["output"] for o in outputs if o["item"]["type"] == "function_call_output")
    assert record.heard_ms > 500  # "Let me check." and the answer were heard
    assert set(record.frame_sizes) == {160}
    assert record.bad_messages == []
    assert_mulaw_throughout(stack)
    await no_active_sessions(stack)
