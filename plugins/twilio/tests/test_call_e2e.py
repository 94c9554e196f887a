"""A simulated phone call through the example app, end to end, offline.

carrier simulator (real time) <-> example Starlette app on uvicorn (127.0.0.1) <-> Twilio
transport <-> emulator (the model). Asserts on what the caller heard, on what the app sent to
Twilio and on what the emulator received.
"""

from __future__ import annotations

import asyncio

import pytest
from conftest import AUTH_TOKEN, PUBLIC_ORIGIN, Stack, call_script, running_stack
from realtime_transport_emulator.surfaces.twilio_carrier import (
    Dtmf,
    Gap,
    Say,
    Silence,
    TwilioCarrier,
    WaitForAgent,
    WaitForQuiet,
)

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
    assert "sunny" in next(
        o["item"]["output"] for o in outputs if o["item"]["type"] == "function_call_output"
    )
    assert record.heard_ms > 500  # "Let me check." and the answer were heard
    assert set(record.frame_sizes) == {160}
    assert record.bad_messages == []
    assert_mulaw_throughout(stack)
    await no_active_sessions(stack)


def audio_of_responses(stack: Stack, exclude: set[str]) -> bytes:
    """The model audio of every response except ``exclude``, as sent (160-byte padded per item)."""
    import base64

    per_item: dict[str, bytearray] = {}
    for connection in stack.emulator.connections:
        for event in connection.server_events:
            if (
                event["type"] == "response.output_audio.delta"
                and event["response_id"] not in exclude
            ):
                per_item.setdefault(event["item_id"], bytearray()).extend(
                    base64.b64decode(event["delta"])
                )
    out = bytearray()
    for audio in per_item.values():
        out += audio + b"\xff" * ((-len(audio)) % 160)
    return bytes(out)


async def test_barge_in_mid_reply_truncates_at_what_the_caller_heard() -> None:
    async with running_stack(call_script("tell me a story", "stop please")) as stack:
        record = await carrier().place_call(
            stack.voice_url,
            [
                Say("tell me a story"),
                Silence(700),
                WaitForAgent(1200),  # the story plays (it arrived all at once: Twilio queues it)
                Say("stop please"),  # barge in
                Silence(700),
                WaitForAgent(200),
                WaitForQuiet(300),
            ],
            timeout=40,
        )
        events = client_events(stack)
        truncates = [e for e in events if e["type"] == "conversation.item.truncate"]
        assert len(record.clears) == 1 and len(truncates) == 1, (record.clears, truncates)
        clear = record.clears[0]
        story = record.utterances[clear.utterance or 0]
        assert story.cleared and clear.dropped_bytes > 8000  # most of the story never played
        error_ms = truncates[0]["audio_end_ms"] - clear.heard_ms
        assert abs(error_ms) <= 20, (truncates[0], clear)
        interrupted = stack.transport_events("audio_interrupted")
        assert len(interrupted) == 1 and interrupted[0].audio_end_ms == truncates[0]["audio_end_ms"]
        # Nothing of the old reply after the clear: what arrived and what was heard afterwards
        # is exactly the new reply's audio.
        server = [e for c in stack.emulator.connections for e in c.server_events]
        story_response = next(
            e["response_id"]
            for e in server
            if e["type"] == "response.output_audio.delta"
            and e["item_id"] == truncates[0]["item_id"]
        )
        later = audio_of_responses(stack, {story_response})
        assert later, "the caller's second turn got no spoken answer"
        assert record.bytes_received_after(clear.at) == len(later)
        after = b"".join(bytes(u.audio) for u in record.utterances[(clear.utterance or 0) + 1 :])
        assert after == later
        assert set(record.frame_sizes) == {160}
        assert not [e for e in stack.transport_events("error") if e.source == "server"]
        await no_active_sessions(stack)


async def test_format_stays_mulaw_after_a_handoff() -> None:
    async with running_stack(call_script("put me through to billing")) as stack:
        record = await carrier().place_call(
            stack.voice_url,
            [Say("billing please"), Silence(700), WaitForAgent(300), WaitForQuiet(300)],
            timeout=30,
        )
        updates = [e["session"] for e in client_events(stack) if e["type"] == "session.update"]
        assert any("billing questions" in (u.get("instructions") or "") for u in updates)
        assert_mulaw_throughout(stack)
        assert record.heard_ms >= 300 and set(record.frame_sizes) == {160}
        await no_active_sessions(stack)


async def test_dtmf_and_timestamp_gaps() -> None:
    async with running_stack(call_script()) as stack:
        record = await carrier().place_call(
            stack.voice_url,
            [Silence(100), Dtmf("7"), Gap(200), Silence(100), Dtmf("#")],
            timeout=20,
        )
        assert [e.digit for e in stack.transport_events("dtmf")] == ["7", "#"]
        starred = [p for p in stack.transport_events("*") if p.get("type") == "twilio_message"]
        assert {m["message"]["event"] for m in starred} >= {
            "connected",
            "start",
            "media",
            "dtmf",
            "stop",
        }
        # the 200 ms the carrier skipped reached the model as mu-law silence (1600 bytes of 0xFF)
        import base64

        appended = b"".join(
            base64.b64decode(e["audio"])
            for e in client_events(stack)
            if e["type"] == "input_audio_buffer.append"
        )
        assert record.sent_frames == 10
        assert len(appended) == 10 * 160 + 1600
        await no_active_sessions(stack)
