"""The official ``openai`` client against the emulator, and determinism of whole event streams."""

from __future__ import annotations

import base64
import copy
from typing import Any

from emutest import connect, function_output, session_update, user_text
from openai import AsyncOpenAI
from realtime_transport_emulator import (
    Emulator,
    FunctionCall,
    Reply,
    Rule,
    Script,
    silence,
    speech,
)

SCRIPT = Script(
    rules=[
        Rule(
            contains="weather",
            reply=Reply(
                text="Let me look.",
                function_calls=[FunctionCall("get_weather", {"city": "Oslo"})],
                then=Reply(text="Snow in Oslo."),
            ),
        )
    ],
    transcripts=["how is the weather in oslo"],
)


async def through_response_done(conn: Any, seen: list[str]) -> list[Any]:
    """The official client's events up to and including the next ``response.done``."""
    events = []
    async for event in conn:
        seen.append(event.type)
        events.append(event)
        if event.type == "response.done":
            break
    return events


def last_field(events: list[Any], event_type: str, name: str) -> Any:
    """``name`` of the last event of ``event_type`` (None if there is none)."""
    values = [getattr(event, name) for event in events if event.type == event_type]
    return values[-1] if values else None


async def test_official_openai_client_holds_a_conversation() -> None:
    async with Emulator(script=SCRIPT) as emu:
        client = AsyncOpenAI(api_key="sk-test", base_url=emu.base_url, max_retries=0)
        secret = await client.realtime.client_secrets.create(
            session={"type": "realtime", "instructions": "Hi from the SDK."}
        )
        assert secret.value.startswith("ek_")
        assert secret.session.instructions == "Hi from the SDK."  # type: ignore[union-attr]
        seen: list[str] = []
        async with client.realtime.connect(model="gpt-realtime") as conn:
            await conn.session.update(
                session={
                    "type": "realtime",
                    "audio": {"input": {"transcription": {"model": "whisper-1"}}},
                }
            )
            audio = silence(300) + speech("how is the weather in oslo") + silence(800)
            for offset in range(0, len(audio), 9600):
                await conn.input_audio_buffer.append(
                    audio=base64.b64encode(audio[offset : offset + 9600]).decode()
                )
            first = await through_response_done(conn, seen)
            call_id = last_field(first, "response.function_call_arguments.done", "call_id")
            assert call_id is not None
            await conn.conversation.item.create(
                item={"type": "function_call_output", "call_id": call_id, "output": "{}"}
            )
            await conn.response.create()
            second = await through_response_done(conn, seen)
            transcript = last_field(second, "response.output_audio_transcript.done", "transcript")
        await client.close()
    assert "conversation.item.input_audio_transcription.completed" in seen
    assert transcript == "Snow in Oslo."
    assert emu.connections[0].model == "gpt-realtime"


async def scenario(emulator: Emulator) -> list[dict[str, Any]]:
    async with connect(emulator) as client:
        await client.send(session_update(input={"transcription": {"model": "gpt-4o-transcribe"}}))
        await client.until("session.updated")
        await client.say("hello", output="text")
        await client.append(silence(400) + speech("how is the weather in oslo") + silence(700))
        first = await client.until("response.done")
        call_id = first[-1]["response"]["output"][1]["call_id"]
        await client.send(function_output(call_id))
        await client.send({"type": "response.create"})
        await client.until("response.done")
        await client.send(user_text("bye"))
        await client.until("conversation.item.done")
    return copy.deepcopy(emulator.connections[0].server_events)


async def test_same_script_and_input_give_the_same_events() -> None:
    def clock() -> float:
        return 1_750_000_000.0

    runs = []
    for seed in (7, 7, 8):
        async with Emulator(script=SCRIPT, seed=seed, clock=clock) as emu:
            runs.append(await scenario(emu))
    assert runs[0] == runs[1]
    assert len(runs[0]) > 50
    assert [e["type"] for e in runs[0]] == [e["type"] for e in runs[2]]
    assert runs[0][0]["event_id"] != runs[2][0]["event_id"]  # ids follow the seed
