"""The official ``openai`` client against the emulator, and determinism of whole event streams."""

from __future__ import annotations

import base64
import copy
from typing import Any

from emutest import connect, user_text
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
            call_id = None
            async for event in conn:
                seen.append(event.type)
                if event.type == "response.function_call_arguments.done":
                    call_id = event.call_id
                if event.type == "response.done":
                    break
            assert call_id is not None
            await conn.conversation.item.create(
                item={"type": "function_call_output", "call_id": call_id, "output": "{}"}
            )
            await conn.response.create()
            transcript = ""
            async for event in conn:
                seen.append(event.type)
                if event.type == "response.output_audio_transcript.done":
                    transcript = event.transcript
                if event.type == "response.done":
                    break
        await client.close()
    assert "conversation.item.input_audio_transcription.completed" in seen
    assert transcript == "Snow in Oslo."
    assert emu.connections[0].model == "gpt-realtime"


async def scenario(emulator: Emulator) -> list[dict[str, Any]]:
    async with connect(emulator) as client:
        await client.send(
            {
                "type": "session.update",
                "session": {
                    "type": "realtime",
                    "audio": {"input": {"transcription": {"model": "gpt-4o-transcribe"}}},
                },
            }
        )
        await client.until("session.updated")
        await client.say("hello", output="text")
        await client.append(silence(400) + speech("how is the weather in oslo") + silence(700))
        first = await client.until("response.done")
        call_id = first[-1]["response"]["output"][1]["call_id"]
        await client.send(
            {
                "type": "conversation.item.create",
                "item": {"type": "function_call_output", "call_id": call_id, "output": "{}"},
            }
        )
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
