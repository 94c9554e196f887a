"""Responses: function calls, cancel, one active response, truncation, pacing, overrides."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any

import pytest
from emutest import audio_of, connect, function_output, session_update, types, user_text
from realtime_transport_emulator import Emulator, FunctionCall, Reply, Rule, Script, synthesize

WEATHER = Script(
    rules=[
        Rule(
            contains="weather",
            reply=Reply(
                function_calls=[FunctionCall("get_weather", {"city": "Paris"}, call_id="call_w1")],
                then=Reply(text="It is sunny in Paris."),
            ),
        )
    ]
)


async def test_function_call_round_trip() -> None:
    async with Emulator(script=WEATHER) as emu, connect(emu) as client:
        first = await client.say("what's the weather?")
        await client.send(function_output("call_w1", json.dumps({"sky": "clear"})))
        await client.until("conversation.item.done")
        await client.send({"type": "response.create"})
        second = await client.until("response.done")
    order = types(first)
    start = order.index("response.output_item.added")
    assert order[start:] == [
        "response.output_item.added",
        "conversation.item.added",
        *["response.function_call_arguments.delta"]
        * order.count("response.function_call_arguments.delta"),
        "response.function_call_arguments.done",
        "response.output_item.done",
        "conversation.item.done",
        "response.done",
    ]
    added = first[start]["item"]
    assert added["type"] == "function_call" and added["name"] == "get_weather"
    assert added["call_id"] == "call_w1" and added["arguments"] == ""
    args = "".join(
        e["delta"] for e in first if e["type"] == "response.function_call_arguments.delta"
    )
    done = next(e for e in first if e["type"] == "response.function_call_arguments.done")
    assert args == done["arguments"] == '{"city":"Paris"}'
    assert done["name"] == "get_weather" and done["call_id"] == "call_w1"
    output = first[-1]["response"]["output"]
    assert output[0]["arguments"] == args and output[0]["status"] == "completed"
    transcript = next(e for e in second if e["type"] == "response.output_audio_transcript.done")
    assert transcript["transcript"] == "It is sunny in Paris."


async def test_text_then_parallel_calls_and_generated_call_ids() -> None:
    script = Script(
        default=Reply(
            text="Checking both.",
            function_calls=[
                FunctionCall("a", {"x": 1}),
                FunctionCall("b", '{"y": 2}'),
            ],
            then=Reply(text="Both done."),
        )
    )
    async with Emulator(script=script) as emu, connect(emu) as client:
        events = await client.say("go")
        calls = [o for o in events[-1]["response"]["output"] if o["type"] == "function_call"]
        for call in calls:
            await client.send(function_output(call["call_id"], "ok"))
        await client.send({"type": "response.create", "response": {"output_modalities": ["text"]}})
        after = await client.until("response.done")
    output = events[-1]["response"]["output"]
    assert [o["type"] for o in output] == ["message", "function_call", "function_call"]
    assert [o["name"] for o in calls] == ["a", "b"]
    assert all(o["call_id"].startswith("call_") for o in calls)
    assert calls[0]["call_id"] != calls[1]["call_id"]
    indexes = [e["output_index"] for e in events if e["type"] == "response.output_item.added"]
    assert indexes == [0, 1, 2]
    assert after[-1]["response"]["output"][0]["content"][0]["text"] == "Both done."


async def test_second_response_create_gets_the_real_error() -> None:
    script = Script(default=Reply(text="Still talking.", audio_ms=400))
    async with Emulator(script=script, pace="realtime", chunk_ms=50) as emu, connect(emu) as client:
        await client.ask("hi")
        created = (await client.until("response.created"))[-1]
        await client.send({"type": "response.create", "event_id": "evt_again"})
        events = await client.until("error")
        rest = await client.until("response.done")
    error = events[-1]["error"]
    response_id = created["response"]["id"]
    assert error["code"] == "conversation_already_has_active_response"
    assert error["message"] == (
        f"Conversation already has an active response in progress: {response_id}. "
        "Wait until the response is finished before creating a new one."
    )
    assert error["event_id"] == "evt_again"
    assert rest[-1]["response"]["status"] == "completed"


async def test_cancel_mid_stream_closes_everything_with_client_cancelled() -> None:
    script = Script(default=Reply(text="A long reply to be cut off.", audio_ms=2000))
    async with Emulator(script=script, pace="realtime", chunk_ms=50) as emu, connect(emu) as client:
        await client.ask("talk")
        await client.until("response.output_audio.delta")
        await client.send({"type": "response.cancel"})
        began = time.perf_counter()
        events = await client.until("response.done")
        elapsed = time.perf_counter() - began
        await client.send({"type": "response.cancel", "event_id": "late"})
        late = await client.recv()
        cancel_seen = await emu.wait_for_client_event("response.cancel")
    assert elapsed < 0.5
    order = types(events)
    assert order[-6:] == [
        "response.output_audio.done",
        "response.output_audio_transcript.done",
        "response.content_part.done",
        "response.output_item.done",
        "conversation.item.done",
        "response.done",
    ]
    response = events[-1]["response"]
    assert response["status"] == "cancelled"
    assert response["status_details"] == {"type": "cancelled", "reason": "client_cancelled"}
    assert response["output"][0]["status"] == "incomplete"
    assert len(audio_of(client.received)) < 2000 * 48
    assert late["error"]["code"] == "response_cancel_not_active"
    assert late["error"]["message"] == "Can only cancel an active response."
    assert cancel_seen["type"] == "response.cancel"


async def test_truncate_validation() -> None:
    script = Script(default=Reply(text="Exactly one second of speech.", audio_ms=1000))
    async with Emulator(script=script) as emu, connect(emu) as client:
        events = await client.say("hi", output="audio")
        item_id = events[-1]["response"]["output"][0]["id"]
        text = await client.say("text please")
        text_id = text[-1]["response"]["output"][0]["id"]
        user_id = text[0]["item"]["id"]

        async def truncate(target: str, end_ms: int, index: int = 0) -> dict[str, Any]:
            await client.send(
                {
                    "type": "conversation.item.truncate",
                    "event_id": "trunc",
                    "item_id": target,
                    "content_index": index,
                    "audio_end_ms": end_ms,
                }
            )
            return await client.recv()

        too_long = await truncate(item_id, 1500)
        on_text = await truncate(text_id, 10)
        on_user = await truncate(user_id, 10)
        unknown = await truncate("item_nope", 10)
        bad_index = await truncate(item_id, 10, index=3)
        ok = await truncate(item_id, 400)
        again = await truncate(item_id, 500)
        await client.send({"type": "conversation.item.retrieve", "item_id": item_id})
        retrieved = await client.recv()
    assert too_long["error"]["message"] == "Audio content of 1000ms is already shorter than 1500ms"
    assert too_long["error"]["event_id"] == "trunc"
    for error in (on_text, on_user, bad_index):
        assert error["error"]["code"] == "unsupported_content_type"
        assert error["error"]["message"] == "Only model output audio messages can be truncated"
    assert unknown["error"]["code"] == "item_not_found"
    assert ok == {
        "type": "conversation.item.truncated",
        "event_id": ok["event_id"],
        "item_id": item_id,
        "content_index": 0,
        "audio_end_ms": 400,
    }
    assert again["error"]["message"] == "Audio content of 400ms is already shorter than 500ms"
    content = retrieved["item"]["content"][0]
    assert content["transcript"] == ""
    assert len(base64.b64decode(content["audio"])) == 400 * 48


async def test_truncate_at_exactly_the_items_length() -> None:
    """The edges: all of the audio (1000 ms of 1000 ms) is a valid truncate that keeps every
    byte; one millisecond more is refused."""
    script = Script(default=Reply(text="Exactly one second of speech.", audio_ms=1000))
    async with Emulator(script=script) as emu, connect(emu) as client:
        events = await client.say("hi", output="audio")
        item_id = events[-1]["response"]["output"][0]["id"]

        async def truncate(end_ms: int) -> dict[str, Any]:
            await client.send(
                {
                    "type": "conversation.item.truncate",
                    "item_id": item_id,
                    "content_index": 0,
                    "audio_end_ms": end_ms,
                }
            )
            return await client.recv()

        over = await truncate(1001)
        exact = await truncate(1000)
        await client.send({"type": "conversation.item.retrieve", "item_id": item_id})
        retrieved = await client.recv()
    assert over["error"]["message"] == "Audio content of 1000ms is already shorter than 1001ms"
    assert exact["type"] == "conversation.item.truncated" and exact["audio_end_ms"] == 1000
    assert len(base64.b64decode(retrieved["item"]["content"][0]["audio"])) == 1000 * 48


async def test_realtime_pacing_tracks_the_clock() -> None:
    script = Script(default=Reply(text="Paced.", audio_ms=600))
    async with Emulator(script=script, pace="realtime", chunk_ms=20) as emu, connect(emu) as client:
        await client.ask("go")
        arrivals = []
        while True:
            event = await client.recv()
            if event["type"] == "response.output_audio.delta":
                arrivals.append(time.perf_counter())
            if event["type"] == "response.done":
                break
    assert len(arrivals) == 30  # 600 ms in 20 ms chunks
    span = arrivals[-1] - arrivals[0]
    assert 0.5 <= span <= 0.8  # 29 intervals of 20 ms, no drift


async def test_fast_pace_is_fast() -> None:
    script = Script(default=Reply(text="Long.", audio_ms=10_000))
    async with Emulator(script=script) as emu, connect(emu) as client:
        began = time.perf_counter()
        events = await client.say("go", output="audio")
    # 10 s of audio in well under 10 s (a loose bound: CI machines are shared and noisy)
    assert time.perf_counter() - began < 5.0
    assert len(audio_of(events)) == 10_000 * 48


async def test_out_of_band_response_runs_beside_the_default_one() -> None:
    script = Script(default=Reply(text="Main answer.", audio_ms=300))
    async with Emulator(script=script, pace="realtime", chunk_ms=50) as emu, connect(emu) as client:
        await client.ask("hello")
        await client.until("response.created")
        await client.send(
            {
                "type": "response.create",
                "response": {
                    "conversation": "none",
                    "output_modalities": ["text"],
                    "metadata": {"purpose": "classify"},
                    "input": [
                        {
                            "type": "message",
                            "role": "user",
                            "content": [{"type": "input_text", "text": "side question"}],
                        }
                    ],
                },
            }
        )
        events = await client.until("response.done")
        events += await client.until("response.done")
    dones = [e["response"] for e in events if e["type"] == "response.done"]
    oob = next(r for r in dones if r["metadata"] == {"purpose": "classify"})
    main = next(r for r in dones if r["metadata"] is None)
    assert oob["conversation_id"] is None and main["conversation_id"].startswith("conv_")
    assert oob["output"][0]["content"][0]["text"] == "Main answer."
    assert "You said" not in oob["output"][0]["content"][0]["text"]
    oob_items = {o["id"] for o in oob["output"]}
    added = [e["item"]["id"] for e in events if e["type"] == "conversation.item.added"]
    assert not oob_items & set(added)  # nothing written to the conversation
    assert main["status"] == oob["status"] == "completed"


async def test_response_input_replaces_context_and_references_items() -> None:
    script = Script(
        rules=[Rule(contains="secret", reply=Reply(text="found it"))], default=Reply(text="nothing")
    )
    async with Emulator(script=script) as emu, connect(emu) as client:
        await client.send(user_text("the secret word", id="item_s"))
        await client.until("conversation.item.done")
        await client.send(user_text("unrelated"))
        await client.until("conversation.item.done")
        await client.send(
            {
                "type": "response.create",
                "response": {
                    "output_modalities": ["text"],
                    "input": [{"type": "item_reference", "id": "item_s"}],
                },
            }
        )
        referenced = await client.until("response.done")
        await client.send(
            {
                "type": "response.create",
                "response": {"input": [{"type": "item_reference", "id": "item_gone"}]},
            }
        )
        error = await client.until("error")
    assert referenced[-1]["response"]["output"][0]["content"][0]["text"] == "found it"
    assert error[-1]["error"]["param"] == "response.input[0].id"


@pytest.mark.parametrize("output", ["text", "audio"])
async def test_max_output_tokens_makes_an_incomplete_response(output: str) -> None:
    script = Script(default=Reply(text="one two three four five six seven eight nine ten"))
    async with Emulator(script=script) as emu, connect(emu) as client:
        await client.send(user_text("count"))
        await client.send(
            {
                "type": "response.create",
                "response": {"output_modalities": [output], "max_output_tokens": 8},
            }
        )
        events = await client.until("response.done")
    response = events[-1]["response"]
    assert response["status"] == "incomplete"
    assert response["status_details"] == {"type": "incomplete", "reason": "max_output_tokens"}
    assert response["usage"]["output_tokens"] <= 8
    assert response["max_output_tokens"] == 8
    part = response["output"][0]["content"][0]
    said = part.get("text") if output == "text" else part.get("transcript")
    assert said and "ten" not in said


async def test_response_overrides_voice_format_and_instructions(emulator: Emulator) -> None:
    async with connect(emulator) as client:
        await client.send(user_text("hi"))
        await client.send(
            {
                "type": "response.create",
                "response": {
                    "instructions": "Short.",
                    "audio": {"output": {"format": {"type": "audio/pcma"}, "voice": "ash"}},
                },
            }
        )
        events = await client.until("response.done")
        await client.send({"type": "response.create", "response": {"voice": "ash"}})
        beta = await client.until("error")
        await client.send(session_update(output={"voice": "verse"}))
        voice_locked = await client.until("error")
    response = events[-1]["response"]
    assert response["audio"]["output"] == {"format": {"type": "audio/pcma"}, "voice": "ash"}
    text = response["output"][0]["content"][0]["transcript"]
    assert len(audio_of(events)) == pytest.approx(synthesize(text, "pcma").duration_ms * 8, abs=1)
    assert beta[-1]["error"]["message"] == "Unknown parameter: 'response.voice'."
    assert voice_locked[-1]["error"]["code"] == "cannot_update_voice"


async def test_response_latency_delays_the_first_output() -> None:
    async with Emulator(response_latency_ms=200) as emu, connect(emu) as client:
        await client.ask("hi")
        await client.until("response.created")
        began = time.perf_counter()
        await client.until("response.output_item.added")
        waited = time.perf_counter() - began
        await client.until("response.done")
    assert 0.15 <= waited <= 3.0  # at least the latency; the upper bound only catches a hang


async def test_waiting_helpers(emulator: Emulator) -> None:
    async def later() -> None:
        await asyncio.sleep(0.05)
        async with connect(emulator) as client:
            await client.send(user_text("one"))
            await client.send(user_text("two"))
            await client.until("conversation.item.done")
            await client.until("conversation.item.done")

    task = asyncio.create_task(later())
    record = await emulator.wait_for_connection(0, timeout=2)
    second = await emulator.wait_for_client_event("conversation.item.create", count=2)
    done = await emulator.wait_for_server_event(
        "conversation.item.done", predicate=lambda e: e["item"]["content"][0]["text"] == "two"
    )
    await task
    assert second["item"]["content"][0]["text"] == "two"
    assert done["item"]["content"][0]["text"] == "two"
    assert record.client_types() == ["conversation.item.create", "conversation.item.create"]
    with pytest.raises(TimeoutError, match=r"No client event 'response\.cancel'"):
        await emulator.wait_for_client_event("response.cancel", timeout=0.05)
    assert await record.wait_closed(timeout=2) == 1000
