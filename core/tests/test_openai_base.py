"""Inbound mapping and outbound builders shared by the OpenAI transports (reference §3.2, §9.1).

`WireTransport` is the real `OpenAIRealtimeBase` with its one abstract write method recording
frames, so every assertion is about the bytes a transport would put on the wire.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from realtime_transport.errors import TransportNotConnectedError, UserError
from realtime_transport.events import (
    FunctionCallEvent,
    RealtimeMessageItem,
    RealtimeToolCallItem,
)
from realtime_transport.openai import OpenAIRealtimeBase


class WireTransport(OpenAIRealtimeBase):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.frames: list[bytes] = []
        self.connected = True
        self._set_status("connecting")
        self._set_status("connected")

    def _send_bytes(self, data: bytes) -> None:
        if not self.connected:
            raise TransportNotConnectedError("not connected")
        self.frames.append(data)

    @property
    def sent(self) -> list[dict[str, Any]]:
        return [json.loads(frame) for frame in self.frames]

    def feed(self, event: dict[str, Any]) -> None:
        self._handle_frame(json.dumps(event))

    async def connect(self, **kwargs: Any) -> None:
        self._set_status("connected")

    async def close(self) -> None:
        self._set_status("disconnected")

    def interrupt(self, *, cancel_ongoing_response: bool = True) -> None:
        pass


def record(transport: WireTransport, *names: str) -> list[tuple[str, Any]]:
    seen: list[tuple[str, Any]] = []
    for name in names:
        transport.on(name, lambda payload, _n=name: seen.append((_n, payload)))
    return seen


def test_star_gets_a_private_copy_with_unknown_keys_and_typed_gets_a_model() -> None:
    transport = WireTransport()
    seen = record(transport, "*", "session.updated")
    transport.on("*", lambda raw: raw["session"].update({"mutated": True}))
    transport.feed(
        {
            "type": "session.updated",
            "event_id": "e1",
            "extra": 1,
            "session": {
                "type": "realtime",
                "audio": {"output": {"format": {"type": "audio/pcmu"}}},
            },
        }
    )
    (star_name, raw), (typed_name, typed) = seen
    assert star_name == "*" and raw["extra"] == 1
    assert typed_name == "session.updated" and typed.type == "session.updated"
    assert "mutated" not in transport.server_session
    assert transport._output_bytes_per_ms == 8  # μ-law output remembered for durations


def test_unknown_event_reaches_star_only() -> None:
    transport = WireTransport()
    seen = record(transport, "*", "error", "brand.new")
    transport.feed({"type": "brand.new", "event_id": "e", "x": {"y": 1}})
    assert [name for name, _ in seen] == ["*", "brand.new"]
    assert seen[0][1] == {"type": "brand.new", "event_id": "e", "x": {"y": 1}}


@pytest.mark.parametrize("frame", ["{oops", "[1,2]", '{"type": 5}', b"\xff\xfe"])
def test_malformed_frames_become_parse_errors(frame: str | bytes) -> None:
    transport = WireTransport()
    seen = record(transport, "*", "error")
    transport._handle_frame(frame)
    assert [name for name, _ in seen] == ["error"]
    assert seen[0][1].source == "parse" and "ignored" in seen[0][1].message


def test_invalid_known_event_reports_schema_error_to_typed_listeners() -> None:
    transport = WireTransport()
    seen = record(transport, "error", "response.output_text.delta", "output_text_delta")
    transport.feed({"type": "response.output_text.delta", "event_id": "e", "delta": 7})
    names = [name for name, _ in seen]
    assert "error" in names and "response.output_text.delta" not in names


def test_response_done_emits_usage_then_turn_done() -> None:
    transport = WireTransport()
    seen = record(transport, "usage_update", "turn_done")
    usage = {
        "input_tokens": 10,
        "output_tokens": 5,
        "total_tokens": 99,
        "input_token_details": {"audio_tokens": 4},
    }
    transport.feed(
        {
            "type": "response.done",
            "event_id": "e",
            "response": {"id": "resp_1", "status": "completed", "output": [], "usage": usage},
        }
    )
    assert [name for name, _ in seen] == ["usage_update", "turn_done"]
    assert seen[0][1].total_tokens == 15 and seen[0][1].input_tokens_details == {"audio_tokens": 4}
    assert seen[1][1].response_id == "resp_1" and seen[1][1].usage.total_tokens == 15


def test_transcription_completed_and_truncated_trigger_retrieve() -> None:
    transport = WireTransport()
    transport._set_status("connected")
    transport.feed(
        {
            "type": "conversation.item.input_audio_transcription.completed",
            "event_id": "e",
            "item_id": "item_a",
            "content_index": 0,
            "transcript": "hi",
            "usage": {"type": "duration", "seconds": 1},
        }
    )
    transport.feed(
        {
            "type": "conversation.item.truncated",
            "event_id": "e2",
            "item_id": "item_b",
            "content_index": 0,
            "audio_end_ms": 5,
        }
    )
    assert transport.sent == [
        {"type": "conversation.item.retrieve", "item_id": "item_a"},
        {"type": "conversation.item.retrieve", "item_id": "item_b"},
    ]


@pytest.mark.parametrize(
    ("event_type", "status", "expected"),
    [
        ("conversation.item.added", None, "in_progress"),
        ("conversation.item.done", None, "completed"),
        ("conversation.item.retrieved", None, "completed"),
        ("conversation.item.added", "incomplete", "incomplete"),
    ],
)
def test_message_item_status_normalisation(
    event_type: str, status: str | None, expected: str
) -> None:
    transport = WireTransport()
    seen = record(transport, "item_update")
    item: dict[str, Any] = {
        "id": "item_1",
        "type": "message",
        "role": "assistant",
        "content": [{"type": "audio", "transcript": "hi"}],
    }
    if status:
        item["status"] = status
    transport.feed({"type": event_type, "event_id": "e", "item": item, "previous_item_id": "p0"})
    update = seen[0][1]
    assert isinstance(update, RealtimeMessageItem)
    assert update.status == expected
    assert update.content[0]["type"] == "output_audio"  # legacy part renamed
    assert update.previous_item_id == (None if event_type.endswith("retrieved") else "p0")


def test_completed_function_call_emits_item_update_then_function_call() -> None:
    transport = WireTransport()
    seen = record(transport, "item_update", "function_call")
    transport.feed(
        {
            "type": "response.output_item.done",
            "event_id": "e",
            "response_id": "resp_9",
            "output_index": 0,
            "item": {
                "id": "item_f",
                "type": "function_call",
                "status": "completed",
                "name": "get_weather",
                "call_id": "call_1",
                "arguments": '{"c":"x"}',
            },
        }
    )
    assert [name for name, _ in seen] == ["item_update", "function_call"]
    assert seen[0][1].status == "in_progress" and seen[0][1].output is None
    call = seen[1][1]
    assert (call.item_id, call.call_id, call.name, call.response_id) == (
        "item_f",
        "call_1",
        "get_weather",
        "resp_9",
    )


def test_mcp_items() -> None:
    transport = WireTransport()
    seen = record(
        transport,
        "item_update",
        "mcp_approval_request",
        "mcp_tools_listed",
        "mcp_tool_call_completed",
    )
    transport.feed(
        {
            "type": "conversation.item.done",
            "event_id": "e",
            "item": {
                "id": "a1",
                "type": "mcp_approval_request",
                "server_label": "docs",
                "name": "search",
                "arguments": '{"q": "x"}',
            },
        }
    )
    transport.feed(
        {
            "type": "conversation.item.done",
            "event_id": "e",
            "item": {
                "id": "l1",
                "type": "mcp_list_tools",
                "server_label": "docs",
                "tools": [{"name": "t"}],
            },
        }
    )
    transport.feed(
        {
            "type": "conversation.item.done",
            "event_id": "e",
            "item": {
                "id": "c1",
                "type": "mcp_call",
                "name": "search",
                "arguments": "{}",
                "server_label": "d",
            },
        }
    )
    names = [name for name, _ in seen]
    assert names == [
        "item_update",
        "mcp_approval_request",
        "mcp_tools_listed",
        "item_update",
        "mcp_tool_call_completed",
    ]
    assert seen[1][1].server_label == "docs" and seen[1][1].arguments == {"q": "x"}
    assert seen[2][1].tools == [{"name": "t"}]


def test_server_error_event_carries_the_whole_server_event() -> None:
    transport = WireTransport()
    seen = record(transport, "error")
    event = {
        "type": "error",
        "event_id": "e",
        "error": {"type": "invalid_request_error", "code": "bad", "message": "nope"},
    }
    transport.feed(event)
    error = seen[0][1]
    assert error.source == "server" and error.code == "bad" and error.error == event
    assert "nope" in error.message


def test_transcript_and_text_deltas() -> None:
    transport = WireTransport()
    seen = record(transport, "audio_transcript_delta", "output_text_delta")
    ids = {"item_id": "i", "response_id": "r", "output_index": 0, "content_index": 0}
    transport.feed(
        {"type": "response.output_audio_transcript.delta", "event_id": "e", "delta": "he", **ids}
    )
    transport.feed({"type": "response.output_text.delta", "event_id": "e", "delta": "yo", **ids})
    assert seen[0][1].delta == "he" and seen[0][1].item_id == "i" and seen[0][1].response_id == "r"
    assert seen[1][1].type == "output_text_delta" and seen[1][1].delta == "yo"


def test_audio_delta_becomes_bytes() -> None:
    transport = WireTransport()
    seen = record(transport, "audio")
    transport.feed(
        {
            "type": "response.output_audio.delta",
            "event_id": "e",
            "item_id": "i",
            "response_id": "r",
            "output_index": 0,
            "content_index": 0,
            "delta": base64.b64encode(b"\x01\x02\x03\x04").decode(),
        }
    )
    assert seen[0][1].data == b"\x01\x02\x03\x04" and seen[0][1].response_id == "r"


def test_send_audio_with_commit() -> None:
    transport = WireTransport()
    transport.send_audio(b"\x00\x01", commit=True)
    assert transport.sent == [
        {"type": "input_audio_buffer.append", "audio": base64.b64encode(b"\x00\x01").decode()},
        {"type": "input_audio_buffer.commit"},
    ]


def test_send_message_parts_extra_data_and_trigger() -> None:
    transport = WireTransport()
    transport.send_message(
        [
            {"type": "input_text", "text": "look"},
            {
                "type": "input_image",
                "image": "data:image/png;base64,AAA",
                "provider_data": {"detail": "high"},
            },
        ],
        {"previous_item_id": "root"},
        trigger_response=False,
    )
    (event,) = transport.sent
    assert event["previous_item_id"] == "root"
    assert event["item"]["content"][1] == {
        "type": "input_image",
        "image_url": "data:image/png;base64,AAA",
        "detail": "high",
    }
    with pytest.raises(UserError, match="unsupported message part"):
        transport.send_message([{"type": "video"}])


def test_function_call_output_sends_item_then_create_and_updates_history() -> None:
    transport = WireTransport()
    seen = record(transport, "item_update")
    call = FunctionCallEvent(item_id="item_f", call_id="call_1", name="f", arguments="{}")
    transport.send_function_call_output(call, "42")
    assert transport.sent == [
        {
            "type": "conversation.item.create",
            "item": {"type": "function_call_output", "output": "42", "call_id": "call_1"},
        },
        {"type": "response.create", "event_id": "rt_response_create_1"},
    ]
    update = seen[0][1]
    assert isinstance(update, RealtimeToolCallItem) and update.output == "42"
    assert update.status == "completed"


def test_reset_history_deletes_then_creates_and_refuses_assistant_audio() -> None:
    transport = WireTransport()
    old = [
        RealtimeMessageItem("a", "user", [{"type": "input_text", "text": "x"}], "completed"),
        RealtimeMessageItem("b", "user", [{"type": "input_text", "text": "y"}], "completed"),
    ]
    new = [old[0], RealtimeMessageItem("c", "system", [{"type": "input_text", "text": "z"}])]
    transport.reset_history(old, new)
    assert transport.sent == [
        {"type": "conversation.item.delete", "item_id": "b"},
        {
            "type": "conversation.item.create",
            "previous_item_id": "a",
            "item": {
                "type": "message",
                "role": "system",
                "id": "c",
                "content": [{"type": "input_text", "text": "z"}],
            },
        },
    ]
    audio = RealtimeMessageItem("d", "assistant", [{"type": "output_audio", "transcript": "t"}])
    transport.frames.clear()
    with pytest.raises(UserError, match="output_audio"):
        transport.reset_history(old, [*old, audio])
    assert transport.frames == []


def _user(item_id: str, text: str) -> RealtimeMessageItem:
    return RealtimeMessageItem(item_id, "user", [{"type": "input_text", "text": text}], "completed")


def test_reset_history_keeps_the_order_it_is_given() -> None:
    """An edited first message stays first, an inserted first item lands first, and a moved
    item is recreated where it now is (previous_item_id; "root" for the first)."""
    transport = WireTransport()
    old = [_user("a", "one"), _user("b", "two"), _user("c", "three")]
    transport.reset_history(old, [_user("a", "ONE"), old[1], old[2]])
    assert [(e["type"], e.get("item_id"), e.get("previous_item_id")) for e in transport.sent] == [
        ("conversation.item.delete", "a", None),
        ("conversation.item.create", None, "root"),
    ]
    transport.frames.clear()
    transport.reset_history(old, [_user("z", "zero"), *old])
    (create,) = transport.sent
    assert create["previous_item_id"] == "root" and create["item"]["id"] == "z"
    transport.frames.clear()
    transport.reset_history(old, [old[2], old[0], old[1]])  # "c" moved to the front
    assert [(e["type"], e.get("item_id"), e.get("previous_item_id")) for e in transport.sent] == [
        ("conversation.item.delete", "a", None),
        ("conversation.item.delete", "b", None),
        ("conversation.item.create", None, "c"),
        ("conversation.item.create", None, "a"),
    ]


def test_mcp_response_shape() -> None:
    transport = WireTransport()
    transport.send_mcp_response("req_1", False, "not today")
    assert transport.sent == [
        {
            "type": "conversation.item.create",
            "previous_item_id": "req_1",
            "item": {
                "type": "mcp_approval_response",
                "approval_request_id": "req_1",
                "approve": False,
                "reason": "not today",
            },
        }
    ]


def test_tracing_update_after_session_created() -> None:
    transport = WireTransport()
    transport.feed(
        {
            "type": "session.created",
            "event_id": "e",
            "session": {"type": "realtime", "tracing": None},
        }
    )
    assert transport.sent == [
        {
            "type": "session.update",
            "session": {"type": "realtime", "tracing": "auto"},
            "event_id": "rt_session_update_1",
        }
    ]


def test_update_session_config_builds_ga_payload() -> None:
    transport = WireTransport(model="gpt-realtime")
    transport.update_session_config({"voice": "marin", "tools": []})
    (event,) = transport.sent
    session = event["session"]
    assert session["type"] == "realtime" and session["model"] == "gpt-realtime"
    assert session["audio"]["output"]["voice"] == "marin"
    assert session["tools"] == []
    assert "tracing" not in session


def test_listener_exception_does_not_stop_mapping() -> None:
    transport = WireTransport()
    seen = record(transport, "turn_done", "error")

    def boom(_: Any) -> None:
        raise RuntimeError("listener bug")

    transport.on("usage_update", boom)
    transport.feed(
        {"type": "response.done", "event_id": "e", "response": {"id": "r", "status": "completed"}}
    )
    assert [name for name, _ in seen] == ["error", "turn_done"]


def test_send_event_requires_a_type_and_raises_when_not_connected() -> None:
    transport = WireTransport()
    with pytest.raises(UserError):
        transport.send_event({"no": "type"})
    transport.connected = False
    with pytest.raises(TransportNotConnectedError):
        transport.send_event({"type": "input_audio_buffer.clear"})


def test_dtmf_keypress_becomes_a_typed_dtmf_event_after_the_raw_and_typed_events() -> None:
    transport = WireTransport()
    seen = record(transport, "*", "input_audio_buffer.dtmf_event_received", "dtmf", "error")
    transport.feed(
        {"type": "input_audio_buffer.dtmf_event_received", "event": "#", "received_at": 1750287078}
    )
    assert [name for name, _ in seen] == ["*", "input_audio_buffer.dtmf_event_received", "dtmf"]
    dtmf = seen[2][1]
    assert (dtmf.digit, dtmf.received_at, dtmf.type) == ("#", 1750287078.0, "dtmf")
    assert dtmf.provider_data["event"] == "#"


def test_dtmf_without_a_key_is_a_parse_error_and_the_loop_goes_on() -> None:
    transport = WireTransport()
    seen = record(transport, "dtmf", "error")
    transport.feed({"type": "input_audio_buffer.dtmf_event_received", "received_at": 1})
    transport.feed({"type": "input_audio_buffer.dtmf_event_received", "event": "5"})
    assert [name for name, _ in seen] == ["error", "dtmf"]
    assert seen[0][1].source == "parse" and "DTMF" in seen[0][1].message
    assert seen[1][1].digit == "5" and seen[1][1].received_at is None


def test_partial_update_sends_only_what_it_names() -> None:
    """update_session_config is a partial update: no default formats or turn detection."""
    transport = WireTransport(model="gpt-realtime")
    transport.update_session_config({"instructions": "Be brief."})
    (event,) = transport.sent
    assert event["session"] == {
        "type": "realtime",
        "model": "gpt-realtime",
        "instructions": "Be brief.",
    }


def test_pinned_format_survives_partial_updates_and_raw_session_updates() -> None:
    mulaw = {"type": "audio/pcmu"}
    transport = WireTransport(pinned_audio_format=mulaw)
    transport.update_session_config({"instructions": "x"})
    pcm = {"type": "audio/pcm", "rate": 24000}
    transport.update_session_config({"audio": {"output": {"format": pcm, "voice": "marin"}}})
    transport.send_event(
        {
            "type": "session.update",
            "session": {"type": "realtime", "audio": {"input": {"format": pcm}}},
        }
    )
    for event in transport.sent:
        audio = event["session"]["audio"]
        assert audio["input"]["format"] == mulaw and audio["output"]["format"] == mulaw
    assert transport.sent[1]["session"]["audio"]["output"]["voice"] == "marin"


async def test_events_stream_drops_audio_and_its_raw_copy_first() -> None:
    """A slow events() consumer loses audio chunks (and their ``*`` copies), never structure."""
    transport = WireTransport()
    stream = transport.events(maxsize=16)
    delta = {
        "type": "response.output_audio.delta",
        "response_id": "r1",
        "item_id": "i1",
        "content_index": 0,
        "delta": base64.b64encode(b"\x00\x01" * 240).decode(),
    }
    transport.feed({"type": "response.created", "response": {"id": "r1"}})
    for index in range(5000):
        transport.feed({**delta, "event_id": f"e{index}"})
    transport.feed({"type": "response.output_audio.done", "response_id": "r1", "item_id": "i1"})
    transport.feed({"type": "response.done", "response": {"id": "r1", "status": "completed"}})
    await transport.close()
    events = [event async for event in stream]  # raises EventStreamOverflowError if lost
    assert stream.dropped >= 9000
    names = [event.name for event in events]
    for name in ("turn_started", "audio_done", "usage_update", "turn_done", "disconnected"):
        assert name in names
    raw = [event.payload["type"] for event in events if event.name == "*"]
    assert {"response.created", "response.output_audio.done", "response.done"} <= set(raw)


def test_session_update_answers_are_matched_to_their_event_ids() -> None:
    """session.updated answers the oldest pending update; an error names the one it refuses."""
    transport = WireTransport()
    results = record(transport, "session_update_done")
    transport.update_session_config({"instructions": "a"}, event_id="first")
    transport.update_session_config({"instructions": "b"}, event_id="second")
    transport.send_event({"type": "session.update", "session": {"type": "realtime"}})
    assert [e["event_id"] for e in transport.sent] == ["first", "second", "rt_session_update_1"]
    transport.feed({"type": "session.updated", "session": {"type": "realtime"}})
    refusal = {"type": "invalid_request_error", "code": "cannot_update_voice", "message": "no"}
    transport.feed({"type": "error", "error": {**refusal, "event_id": "second"}})
    transport.feed({"type": "session.updated", "session": {"type": "realtime"}})
    done = [payload for _, payload in results]
    assert [(r.event_id, r.ok) for r in done] == [
        ("first", True),
        ("second", False),
        ("rt_session_update_1", True),
    ]
    assert done[1].error.code == "cannot_update_voice"
