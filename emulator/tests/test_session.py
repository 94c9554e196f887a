"""Session lifecycle, session.update validation, conversation items and text turns."""

from __future__ import annotations

import asyncio
import time

import pytest
from emutest import connect, create_item, function_output, session_update, types, user_text
from realtime_transport_emulator import Emulator

TEXT_TURN = [
    "response.created",
    "rate_limits.updated",
    "response.output_item.added",
    "conversation.item.added",
    "response.content_part.added",
    *["response.output_text.delta"] * 9,
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "conversation.item.done",
    "response.done",
]


async def test_start_stop_is_fast_and_works_without_context_manager() -> None:
    began = time.perf_counter()
    emu = Emulator()
    await emu.start()
    assert emu.ws_url.startswith("ws://127.0.0.1:") and emu.ws_url.endswith("/v1/realtime")
    assert emu.base_url == emu.http_url + "/v1"
    async with connect(emu) as client:
        await client.send(user_text("hi"))
        await client.until("conversation.item.done")
    await emu.stop()
    await emu.stop()  # idempotent
    assert time.perf_counter() - began < 1.0
    assert emu.connections[0].closed


async def test_session_created_has_full_ga_defaults(emulator: Emulator) -> None:
    async with connect(emulator, skip_created=False) as client:
        created = await client.recv()
    session = created["session"]
    assert created["type"] == "session.created"
    assert session["type"] == "realtime" and session["object"] == "realtime.session"
    assert session["id"].startswith("sess_") and session["model"] == "gpt-realtime"
    assert session["output_modalities"] == ["audio"]
    assert session["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 24000}
    assert session["audio"]["input"]["turn_detection"]["type"] == "server_vad"
    assert session["audio"]["output"]["voice"] == "marin"
    record = emulator.connections[0]
    assert record.session == session and record.model == "gpt-realtime"
    assert record.auth == "api_key" and record.auth_via == "header"


async def test_text_turn_full_event_order(emulator: Emulator) -> None:
    async with connect(emulator) as client:
        await client.send(user_text("hello there", id="item_user_1"))
        added, done = await client.recv(), await client.recv()
        assert added["type"] == "conversation.item.added"
        assert added["item"]["id"] == "item_user_1" and added["previous_item_id"] is None
        assert done["type"] == "conversation.item.done"
        await client.send({"type": "response.create", "response": {"output_modalities": ["text"]}})
        events = await client.until("response.done")
    assert types(events) == TEXT_TURN
    text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert text == "This is the realtime emulator. You said: hello there"
    done_event = events[-1]["response"]
    assert done_event["status"] == "completed"
    assert done_event["status_details"] == {"type": "completed"}
    assert done_event["output"][0]["content"] == [{"type": "output_text", "text": text}]
    usage = done_event["usage"]
    assert usage["output_tokens"] == usage["output_token_details"]["text_tokens"] > 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert events[2]["item"]["status"] == "in_progress" and events[2]["item"]["content"] == []
    assert events[-3]["item"]["status"] == "completed"
    assert events[3]["previous_item_id"] == "item_user_1"


async def test_session_update_merges_and_echoes_the_full_session(emulator: Emulator) -> None:
    async with connect(emulator) as client:
        await client.send(
            {
                "type": "session.update",
                "event_id": "evt_1",
                "session": {
                    "type": "realtime",
                    "instructions": "Be brief.",
                    "audio": {
                        "input": {"turn_detection": {"type": "semantic_vad", "eagerness": "high"}},
                        "output": {"format": {"type": "audio/pcmu"}, "voice": "cedar"},
                    },
                    "tools": [{"type": "function", "name": "lookup", "parameters": {}}],
                },
            }
        )
        updated = await client.recv()
    assert updated["type"] == "session.updated" and "evt_1" not in str(updated)
    session = updated["session"]
    assert session["instructions"] == "Be brief."
    assert session["audio"]["input"]["turn_detection"] == {
        "type": "semantic_vad",
        "eagerness": "high",
        "create_response": True,
        "interrupt_response": True,
    }
    assert session["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 24000}
    assert session["audio"]["output"] == {
        "format": {"type": "audio/pcmu"},
        "voice": "cedar",
        "speed": 1.0,
    }
    assert session["tools"][0]["name"] == "lookup"


@pytest.mark.parametrize(
    ("session", "code", "message", "param"),
    [
        (
            {"instructions": "x"},
            "missing_required_parameter",
            "Missing required parameter: 'session.type'.",
            "session.type",
        ),
        (
            {"type": "realtime", "modalities": ["text"]},
            "unknown_parameter",
            "Unknown parameter: 'session.modalities'.",
            "session.modalities",
        ),
        (
            {"type": "realtime", "audio": {"input": {"format": "pcm16"}}},
            "invalid_type",
            "Invalid type for 'session.audio.input.format': expected an object, "
            "but got a string instead.",
            "session.audio.input.format",
        ),
        (
            {"type": "session"},
            "invalid_value",
            "Invalid value: 'session'. Supported values are: 'realtime' and 'transcription'.",
            "session.type",
        ),
        (
            {
                "type": "realtime",
                "audio": {"input": {"turn_detection": {"type": "semantic_vad", "threshold": 0.3}}},
            },
            "unknown_parameter",
            "Unknown parameter: 'session.audio.input.turn_detection.threshold'.",
            "session.audio.input.turn_detection.threshold",
        ),
        (
            {"type": "realtime", "max_output_tokens": 5000},
            "integer_above_max_value",
            "Invalid 'session.max_output_tokens': integer above maximum value. "
            "Expected a value <= 4096, but got 5000 instead.",
            "session.max_output_tokens",
        ),
        (
            {"type": "realtime", "model": "gpt-other"},
            "invalid_value",
            None,
            "session.model",
        ),
    ],
)
async def test_session_update_errors_have_the_real_shape(
    emulator: Emulator, session: dict[str, object], code: str, message: str | None, param: str
) -> None:
    async with connect(emulator) as client:
        await client.send({"type": "session.update", "event_id": "evt_bad", "session": session})
        event = await client.recv()
        assert event["type"] == "error"
        error = event["error"]
        assert error["type"] == "invalid_request_error"
        assert error["code"] == code and error["param"] == param
        assert error["event_id"] == "evt_bad"
        if message is not None:
            assert error["message"] == message
        # the socket stays open and the session is unchanged
        await client.send(session_update())
        updated = await client.recv()
    assert updated["type"] == "session.updated"
    assert updated["session"]["output_modalities"] == ["audio"]


async def test_unknown_and_malformed_client_events(emulator: Emulator) -> None:
    async with connect(emulator) as client:
        await client.send({"type": "response.audio.delta", "event_id": "e1"})
        unknown = await client.recv()
        await client.ws.send("{not json")
        bad_json = await client.recv()
        await client.ws.send(b"\x00\x01")
        binary = await client.recv()
        await client.send({"type": "conversation.item.create", "item": {"type": "message"}})
        missing = await client.recv()
    assert unknown["error"]["code"] == "invalid_value" and unknown["error"]["param"] == "type"
    assert unknown["error"]["message"].startswith("Invalid value: 'response.audio.delta'.")
    assert unknown["error"]["event_id"] == "e1"
    assert bad_json["error"]["code"] == "invalid_json"
    assert "Binary frames" in binary["error"]["message"]
    assert missing["error"]["message"] == "Missing required parameter: 'item.role'."
    assert emulator.connections[0].invalid_client_frames[0] == "{not json"


async def test_item_create_retrieve_delete_and_ordering(emulator: Emulator) -> None:
    async with connect(emulator) as client:
        await client.send(user_text("first", id="item_a"))
        await client.until("conversation.item.done")
        await client.send(
            user_text("zeroth", id="item_root"),
        )
        await client.until("conversation.item.done")
        # prepend with previous_item_id "root"
        await client.send({**user_text("very first", id="item_b"), "previous_item_id": "root"})
        added = await client.recv()
        await client.recv()
        assert added["previous_item_id"] is None
        await client.send({**user_text("after a", id="item_c"), "previous_item_id": "item_a"})
        added = await client.recv()
        await client.recv()
        assert added["previous_item_id"] == "item_a"
        await client.send({**user_text("x"), "previous_item_id": "item_missing"})
        missing_previous = await client.recv()
        await client.send(user_text("dup", id="item_a"))
        duplicate = await client.recv()
        await client.send({"type": "conversation.item.retrieve", "item_id": "item_c"})
        retrieved = await client.recv()
        await client.send({"type": "conversation.item.delete", "item_id": "item_c"})
        deleted = await client.recv()
        await client.send({"type": "conversation.item.delete", "item_id": "item_c"})
        gone = await client.recv()
        await client.send(function_output("call_1"))
        output_item = await client.recv()
    assert missing_previous["error"]["param"] == "previous_item_id"
    assert duplicate["error"]["code"] == "item_id_already_exists"
    assert retrieved["type"] == "conversation.item.retrieved"
    assert retrieved["item"]["content"][0]["text"] == "after a"
    assert deleted == {**deleted, "type": "conversation.item.deleted", "item_id": "item_c"}
    assert gone["error"]["code"] == "item_not_found"
    assert output_item["item"]["type"] == "function_call_output"
    assert output_item["item"]["status"] == "completed"


async def test_assistant_items_cannot_carry_client_audio(emulator: Emulator) -> None:
    async with connect(emulator) as client:
        audio = [{"type": "output_audio", "audio": "AAAA"}]
        await client.send(create_item(type="message", role="assistant", content=audio))
        error = await client.recv()
        beta_text = [{"type": "text", "text": "beta"}]
        await client.send(create_item(type="message", role="assistant", content=beta_text))
        beta = await client.recv()
    assert error["error"]["param"] == "item.content[0].type"
    assert beta["error"]["message"] == (
        "Invalid value: 'text'. Supported values are: 'output_text' and 'output_audio'."
    )


async def test_cached_tokens_grow_across_turns() -> None:
    async with (
        Emulator(session_defaults={"instructions": "x" * 2000}) as emu,
        connect(emu) as client,
    ):
        first = (await client.say("one"))[-1]["response"]["usage"]
        second = (await client.say("two"))[-1]["response"]["usage"]
    assert first["input_token_details"]["cached_tokens"] == 0
    cached = second["input_token_details"]["cached_tokens"]
    assert 0 < cached <= second["input_tokens"] and cached % 64 == 0


async def test_many_sessions_in_parallel(emulator: Emulator) -> None:
    async def one(index: int) -> str:
        async with connect(emulator) as client:
            events = await client.say(f"client {index}")
            return str(events[-1]["response"]["output"][0]["content"][0]["text"])

    replies = await asyncio.gather(*(one(i) for i in range(20)))
    assert replies == [f"This is the realtime emulator. You said: client {i}" for i in range(20)]
    assert len(emulator.connections) == 20
