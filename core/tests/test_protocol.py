"""Protocol models: round trips, tolerant parsing, client-event validation, beta-shape detection.

The samples here are realistic GA events (protocols.md §1.5-§3); test_protocol_openai.py checks
each of them against the official ``openai.types.realtime`` models too.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError
from realtime_transport import build_session_payload
from realtime_transport.errors import UserError
from realtime_transport.protocol import (
    CLIENT_EVENT_TYPES,
    SERVER_EVENT_TYPES,
    ClientEvent,
    ConversationItemAddedEvent,
    FunctionCallItem,
    FunctionToolDefinition,
    GenericToolDefinition,
    McpToolDefinition,
    MessageItem,
    RealtimeErrorEvent,
    ResponseCancelEvent,
    ResponseDoneEvent,
    ResponseOutputAudioDeltaEvent,
    ServerEvent,
    SessionConfig,
    SessionUpdateEvent,
    TurnDetection,
    UnknownItem,
    UnknownServerEvent,
    find_beta_fields,
    parse_server_event,
    server_event_model,
    validate_client_event,
)

PCM = {"type": "audio/pcm", "rate": 24000}
IDS = {"response_id": "resp_1", "item_id": "item_2", "output_index": 0, "content_index": 0}

USER_AUDIO_ITEM = {
    "id": "item_1",
    "object": "realtime.item",
    "type": "message",
    "status": "completed",
    "role": "user",
    "content": [{"type": "input_audio", "transcript": None}],
}
ASSISTANT_ITEM = {
    "id": "item_2",
    "object": "realtime.item",
    "type": "message",
    "status": "completed",
    "role": "assistant",
    "content": [{"type": "output_audio", "transcript": "Hello there!"}],
}
FUNCTION_CALL_ITEM = {
    "id": "item_3",
    "object": "realtime.item",
    "type": "function_call",
    "status": "completed",
    "name": "get_weather",
    "call_id": "call_1",
    "arguments": '{"city":"Paris"}',
}
MCP_CALL_ITEM = {
    "id": "item_4",
    "type": "mcp_call",
    "server_label": "deepwiki",
    "name": "ask_question",
    "arguments": '{"q":"x"}',
    "output": "answer",
}
MCP_LIST_TOOLS_ITEM = {
    "id": "item_5",
    "type": "mcp_list_tools",
    "server_label": "deepwiki",
    "tools": [{"name": "ask_question", "input_schema": {"type": "object"}, "description": "Ask"}],
}
MCP_APPROVAL_REQUEST_ITEM = {
    "id": "item_6",
    "type": "mcp_approval_request",
    "server_label": "deepwiki",
    "name": "ask_question",
    "arguments": "{}",
}
USAGE = {
    "total_tokens": 230,
    "input_tokens": 150,
    "output_tokens": 80,
    "input_token_details": {
        "text_tokens": 100,
        "audio_tokens": 50,
        "image_tokens": 0,
        "cached_tokens": 64,
        "cached_tokens_details": {"text_tokens": 64, "audio_tokens": 0, "image_tokens": 0},
    },
    "output_token_details": {"text_tokens": 20, "audio_tokens": 60},
}
SERVER_SESSION = {
    "type": "realtime",
    "object": "realtime.session",
    "id": "sess_1",
    "model": "gpt-realtime",
    "output_modalities": ["audio"],
    "instructions": "Be helpful.",
    "tools": [],
    "tool_choice": "auto",
    "max_output_tokens": "inf",
    "tracing": None,
    "truncation": "auto",
    "prompt": None,
    "expires_at": 1756324625,
    "include": None,
    "audio": {
        "input": {
            "format": PCM,
            "transcription": None,
            "noise_reduction": None,
            "turn_detection": {
                "type": "server_vad",
                "threshold": 0.5,
                "prefix_padding_ms": 300,
                "silence_duration_ms": 200,
                "idle_timeout_ms": None,
                "create_response": True,
                "interrupt_response": True,
            },
        },
        "output": {"format": PCM, "voice": "marin", "speed": 1.0},
    },
}
UPDATED_SESSION = {
    **SERVER_SESSION,
    "tools": [
        {
            "type": "function",
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
        {
            "type": "mcp",
            "server_label": "deepwiki",
            "server_url": "https://mcp.deepwiki.com/mcp",
            "allowed_tools": ["ask_question"],
            "require_approval": "never",
        },
    ],
    "tool_choice": {"type": "function", "name": "get_weather"},
    "tracing": {"workflow_name": "support", "group_id": "g1", "metadata": {"k": "v"}},
    "truncation": {"type": "retention_ratio", "retention_ratio": 0.8},
    "audio": {
        "input": {
            "format": {"type": "audio/pcmu"},
            "transcription": {"model": "gpt-4o-mini-transcribe", "language": "en"},
            "noise_reduction": {"type": "near_field"},
            "turn_detection": {
                "type": "semantic_vad",
                "eagerness": "auto",
                "create_response": True,
            },
        },
        "output": {"format": {"type": "audio/pcmu"}, "voice": "cedar", "speed": 1.1},
    },
}

#: One realistic sample per GA server event type.
SERVER_SAMPLES: dict[str, dict[str, Any]] = {
    "session.created": {
        "type": "session.created",
        "event_id": "event_1",
        "session": SERVER_SESSION,
    },
    "session.updated": {
        "type": "session.updated",
        "event_id": "event_2",
        "session": UPDATED_SESSION,
    },
    "conversation.created": {
        "type": "conversation.created",
        "event_id": "event_3",
        "conversation": {"id": "conv_1", "object": "realtime.conversation"},
    },
    "conversation.item.added": {
        "type": "conversation.item.added",
        "event_id": "event_4",
        "previous_item_id": None,
        "item": USER_AUDIO_ITEM,
    },
    "conversation.item.done": {
        "type": "conversation.item.done",
        "event_id": "event_5",
        "previous_item_id": "item_1",
        "item": ASSISTANT_ITEM,
    },
    "conversation.item.created": {
        "type": "conversation.item.created",
        "event_id": "event_6",
        "previous_item_id": "item_2",
        "item": FUNCTION_CALL_ITEM,
    },
    "conversation.item.retrieved": {
        "type": "conversation.item.retrieved",
        "event_id": "event_7",
        "item": {
            "id": "item_1",
            "type": "message",
            "role": "user",
            "content": [{"type": "input_audio", "audio": "AAAA", "transcript": "hi"}],
        },
    },
    "conversation.item.truncated": {
        "type": "conversation.item.truncated",
        "event_id": "event_8",
        "item_id": "item_2",
        "content_index": 0,
        "audio_end_ms": 1500,
    },
    "conversation.item.deleted": {
        "type": "conversation.item.deleted",
        "event_id": "event_9",
        "item_id": "item_2",
    },
    "conversation.item.input_audio_transcription.delta": {
        "type": "conversation.item.input_audio_transcription.delta",
        "event_id": "event_10",
        "item_id": "item_1",
        "content_index": 0,
        "delta": "Hel",
    },
    "conversation.item.input_audio_transcription.completed": {
        "type": "conversation.item.input_audio_transcription.completed",
        "event_id": "event_11",
        "item_id": "item_1",
        "content_index": 0,
        "transcript": "Hello.",
        "usage": {"type": "tokens", "input_tokens": 12, "output_tokens": 3, "total_tokens": 15},
        "logprobs": [{"token": "Hello", "logprob": -0.1, "bytes": [72, 101]}],
    },
    "conversation.item.input_audio_transcription.failed": {
        "type": "conversation.item.input_audio_transcription.failed",
        "event_id": "event_12",
        "item_id": "item_1",
        "content_index": 0,
        "error": {"type": "transcription_error", "code": "audio_unintelligible", "message": "x"},
    },
    "conversation.item.input_audio_transcription.segment": {
        "type": "conversation.item.input_audio_transcription.segment",
        "event_id": "event_13",
        "item_id": "item_1",
        "content_index": 0,
        "id": "seg_1",
        "text": "Hello",
        "speaker": "A",
        "start": 0.0,
        "end": 0.8,
    },
    "input_audio_buffer.speech_started": {
        "type": "input_audio_buffer.speech_started",
        "event_id": "event_14",
        "item_id": "item_1",
        "audio_start_ms": 1000,
    },
    "input_audio_buffer.speech_stopped": {
        "type": "input_audio_buffer.speech_stopped",
        "event_id": "event_15",
        "item_id": "item_1",
        "audio_end_ms": 2000,
    },
    "input_audio_buffer.committed": {
        "type": "input_audio_buffer.committed",
        "event_id": "event_16",
        "item_id": "item_1",
        "previous_item_id": None,
    },
    "input_audio_buffer.cleared": {"type": "input_audio_buffer.cleared", "event_id": "event_17"},
    "input_audio_buffer.timeout_triggered": {
        "type": "input_audio_buffer.timeout_triggered",
        "event_id": "event_18",
        "item_id": "item_7",
        "audio_start_ms": 5000,
        "audio_end_ms": 11000,
    },
    "input_audio_buffer.dtmf_event_received": {
        "type": "input_audio_buffer.dtmf_event_received",
        "event": "5",
        "received_at": 1756324625,
    },
    "output_audio_buffer.started": {
        "type": "output_audio_buffer.started",
        "event_id": "event_19",
        "response_id": "resp_1",
    },
    "output_audio_buffer.stopped": {
        "type": "output_audio_buffer.stopped",
        "event_id": "event_20",
        "response_id": "resp_1",
    },
    "output_audio_buffer.cleared": {
        "type": "output_audio_buffer.cleared",
        "event_id": "event_21",
        "response_id": "resp_1",
    },
    "response.created": {
        "type": "response.created",
        "event_id": "event_22",
        "response": {
            "id": "resp_1",
            "object": "realtime.response",
            "status": "in_progress",
            "status_details": None,
            "output": [],
            "conversation_id": "conv_1",
            "output_modalities": ["audio"],
            "max_output_tokens": "inf",
            "audio": {"output": {"format": PCM, "voice": "marin"}},
            "usage": None,
            "metadata": None,
        },
    },
    "response.done": {
        "type": "response.done",
        "event_id": "event_23",
        "response": {
            "id": "resp_1",
            "object": "realtime.response",
            "status": "cancelled",
            "status_details": {"type": "cancelled", "reason": "turn_detected"},
            "output": [
                ASSISTANT_ITEM,
                FUNCTION_CALL_ITEM,
                MCP_CALL_ITEM,
                MCP_LIST_TOOLS_ITEM,
                MCP_APPROVAL_REQUEST_ITEM,
            ],
            "conversation_id": "conv_1",
            "output_modalities": ["audio"],
            "max_output_tokens": 4096,
            "metadata": {"topic": "weather"},
            "usage": USAGE,
        },
    },
    "response.output_item.added": {
        "type": "response.output_item.added",
        "event_id": "event_24",
        "response_id": "resp_1",
        "output_index": 0,
        "item": {
            "id": "item_2",
            "object": "realtime.item",
            "type": "message",
            "status": "in_progress",
            "role": "assistant",
            "content": [],
        },
    },
    "response.output_item.done": {
        "type": "response.output_item.done",
        "event_id": "event_25",
        "response_id": "resp_1",
        "output_index": 1,
        "item": MCP_CALL_ITEM,
    },
    "response.content_part.added": {
        "type": "response.content_part.added",
        "event_id": "event_26",
        **IDS,
        "part": {"type": "audio", "transcript": ""},
    },
    "response.content_part.done": {
        "type": "response.content_part.done",
        "event_id": "event_27",
        **IDS,
        "part": {"type": "text", "text": "Hello there!"},
    },
    "response.output_text.delta": {
        "type": "response.output_text.delta",
        "event_id": "event_28",
        **IDS,
        "delta": "Hel",
    },
    "response.output_text.done": {
        "type": "response.output_text.done",
        "event_id": "event_29",
        **IDS,
        "text": "Hello there!",
    },
    "response.output_audio.delta": {
        "type": "response.output_audio.delta",
        "event_id": "event_30",
        **IDS,
        "delta": "AAAAAAAA",
    },
    "response.output_audio.done": {
        "type": "response.output_audio.done",
        "event_id": "event_31",
        **IDS,
    },
    "response.output_audio_transcript.delta": {
        "type": "response.output_audio_transcript.delta",
        "event_id": "event_32",
        **IDS,
        "delta": "Hel",
    },
    "response.output_audio_transcript.done": {
        "type": "response.output_audio_transcript.done",
        "event_id": "event_33",
        **IDS,
        "transcript": "Hello there!",
    },
    "response.function_call_arguments.delta": {
        "type": "response.function_call_arguments.delta",
        "event_id": "event_34",
        "response_id": "resp_1",
        "item_id": "item_3",
        "output_index": 1,
        "call_id": "call_1",
        "delta": '{"ci',
    },
    "response.function_call_arguments.done": {
        "type": "response.function_call_arguments.done",
        "event_id": "event_35",
        "response_id": "resp_1",
        "item_id": "item_3",
        "output_index": 1,
        "call_id": "call_1",
        "name": "get_weather",
        "arguments": '{"city":"Paris"}',
    },
    "mcp_list_tools.in_progress": {
        "type": "mcp_list_tools.in_progress",
        "event_id": "event_36",
        "item_id": "item_5",
    },
    "mcp_list_tools.completed": {
        "type": "mcp_list_tools.completed",
        "event_id": "event_37",
        "item_id": "item_5",
    },
    "mcp_list_tools.failed": {
        "type": "mcp_list_tools.failed",
        "event_id": "event_38",
        "item_id": "item_5",
    },
    "response.mcp_call_arguments.delta": {
        "type": "response.mcp_call_arguments.delta",
        "event_id": "event_39",
        "response_id": "resp_1",
        "item_id": "item_4",
        "output_index": 2,
        "delta": '{"q"',
    },
    "response.mcp_call_arguments.done": {
        "type": "response.mcp_call_arguments.done",
        "event_id": "event_40",
        "response_id": "resp_1",
        "item_id": "item_4",
        "output_index": 2,
        "arguments": '{"q":"x"}',
    },
    "response.mcp_call.in_progress": {
        "type": "response.mcp_call.in_progress",
        "event_id": "event_41",
        "item_id": "item_4",
        "output_index": 2,
    },
    "response.mcp_call.completed": {
        "type": "response.mcp_call.completed",
        "event_id": "event_42",
        "item_id": "item_4",
        "output_index": 2,
    },
    "response.mcp_call.failed": {
        "type": "response.mcp_call.failed",
        "event_id": "event_43",
        "item_id": "item_4",
        "output_index": 2,
    },
    "rate_limits.updated": {
        "type": "rate_limits.updated",
        "event_id": "event_44",
        "rate_limits": [
            {"name": "requests", "limit": 1000, "remaining": 999, "reset_seconds": 60},
            {"name": "tokens", "limit": 50000, "remaining": 49000, "reset_seconds": 1.5},
        ],
    },
    "error": {
        "type": "error",
        "event_id": "event_45",
        "error": {
            "type": "invalid_request_error",
            "code": "missing_required_parameter",
            "message": "Missing required parameter: 'session.type'.",
            "param": "session.type",
            "event_id": "evt_client_1",
        },
    },
}

#: Realistic GA client events (several per type where the shapes differ).
CLIENT_SAMPLES: list[dict[str, Any]] = [
    {
        "type": "session.update",
        "event_id": "evt_c1",
        "session": build_session_payload(
            {
                "instructions": "Be brief.",
                "voice": "marin",
                "tools": [
                    {"name": "get_weather", "description": "d", "parameters": {"type": "object"}}
                ],
                "tool_choice": "auto",
                "prompt": {"id": "pmpt_1", "version": "2", "variables": {"city": "Paris"}},
                "max_output_tokens": 1024,
                "truncation": "auto",
                "include": ["item.input_audio_transcription.logprobs"],
            },
            model="gpt-realtime",
        ),
    },
    {
        "type": "session.update",
        "session": {"type": "realtime", "audio": {"input": {"turn_detection": None}}},
    },
    {"type": "session.update", "session": {"type": "realtime", "tracing": "auto"}},
    {"type": "input_audio_buffer.append", "audio": "AAAAAAAA"},
    {"type": "input_audio_buffer.commit", "event_id": "evt_c2"},
    {"type": "input_audio_buffer.clear"},
    {"type": "output_audio_buffer.clear", "event_id": "evt_c3"},
    {
        "type": "conversation.item.create",
        "previous_item_id": "root",
        "item": {
            "type": "message",
            "role": "user",
            "content": [
                {"type": "input_text", "text": "What is this?"},
                {
                    "type": "input_image",
                    "image_url": "data:image/png;base64,AAAA",
                    "detail": "auto",
                },
            ],
        },
    },
    {
        "type": "conversation.item.create",
        "item": {
            "type": "message",
            "role": "system",
            "content": [{"type": "input_text", "text": "Hi"}],
        },
    },
    {
        "type": "conversation.item.create",
        "item": {"type": "function_call_output", "call_id": "call_1", "output": '{"temp": 21}'},
    },
    {
        "type": "conversation.item.create",
        "item": {
            "type": "mcp_approval_response",
            "id": "item_9",
            "approval_request_id": "item_6",
            "approve": True,
        },
    },
    {"type": "conversation.item.retrieve", "item_id": "item_1"},
    {
        "type": "conversation.item.truncate",
        "item_id": "item_2",
        "content_index": 0,
        "audio_end_ms": 1200,
    },
    {"type": "conversation.item.delete", "item_id": "item_2"},
    {"type": "response.create", "event_id": "evt_c4"},
    {
        "type": "response.create",
        "response": {
            "conversation": "none",
            "output_modalities": ["text"],
            "instructions": "Summarise.",
            "metadata": {"purpose": "summary"},
            "tool_choice": "none",
            "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}}],
            "max_output_tokens": 200,
            "audio": {"output": {"format": {"type": "audio/pcmu"}, "voice": "ash"}},
            "input": [
                {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": "x"}],
                }
            ],
        },
    },
    {"type": "response.cancel"},
    {"type": "response.cancel", "response_id": "resp_1"},
]


def _with_unknowns(value: Any) -> Any:
    """Add an unknown key to every object, recursively (the models must keep them all)."""
    if isinstance(value, dict):
        out = {k: _with_unknowns(v) for k, v in value.items()}
        out["x_future_field"] = {"nested": [1, None]}
        return out
    if isinstance(value, list):
        return [_with_unknowns(v) for v in value]
    return value


# --- coverage of the samples -----------------------------------------------------------------


def test_samples_cover_every_event_type() -> None:
    assert set(SERVER_SAMPLES) == SERVER_EVENT_TYPES
    assert len(SERVER_EVENT_TYPES) == 46
    assert {e["type"] for e in CLIENT_SAMPLES} == CLIENT_EVENT_TYPES
    assert len(CLIENT_EVENT_TYPES) == 11


# --- round trips -----------------------------------------------------------------------------


@pytest.mark.parametrize("event_type", sorted(SERVER_SAMPLES))
def test_server_event_round_trip(event_type: str) -> None:
    sample = SERVER_SAMPLES[event_type]
    for data in (sample, _with_unknowns(sample)):
        original = copy.deepcopy(data)
        event = parse_server_event(data)
        assert type(event) is server_event_model(event_type)
        assert not isinstance(event, UnknownServerEvent)
        assert event.type == event_type
        assert event.model_dump(exclude_unset=True) == original
        assert event.model_dump(exclude_unset=True, by_alias=True) == original
        assert event.to_wire() == original
        assert data == original  # parsing never mutates the input


@pytest.mark.parametrize("index", range(len(CLIENT_SAMPLES)))
def test_client_event_round_trip(index: int) -> None:
    sample = CLIENT_SAMPLES[index]
    event = validate_client_event(sample)
    assert event.type == sample["type"]
    assert event.to_wire() == sample
    # unknown keys are kept too (allow_beta only to skip the beta scan; nothing beta here)
    noisy = _with_unknowns(sample)
    assert validate_client_event(noisy).model_dump(exclude_unset=True, by_alias=True) == noisy


def test_typeadapter_unions_agree_with_the_parsers() -> None:
    server = TypeAdapter(ServerEvent)
    for event_type, sample in SERVER_SAMPLES.items():
        assert type(server.validate_python(sample)) is server_event_model(event_type)
    client = TypeAdapter(ClientEvent)
    for sample in CLIENT_SAMPLES:
        assert type(client.validate_python(sample)) is type(validate_client_event(sample))


def test_session_config_round_trip_with_unknowns() -> None:
    data = {
        "instructions": "x",
        "voice": "ash",
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": 24000, "x_extra": True},
                "turn_detection": {"type": "server_vad", "threshold": 0.5, "x_new_knob": 1},
                "transcription": None,
            },
            "output": {"voice": {"id": "voice_1"}, "speed": 1.0},
        },
        "tools": [
            {"type": "function", "name": "f", "parameters": {"type": "object"}},
            {
                "type": "mcp",
                "server_label": "s",
                "server_url": "https://s",
                "require_approval": "never",
            },
            {"type": "web_search", "x": 1},
        ],
        "tracing": {"workflow_name": "w"},
        "provider_data": {"k": "v"},
        "x_unknown_top": [1, 2],
    }
    model = SessionConfig.model_validate(copy.deepcopy(data))
    assert model.model_dump(exclude_unset=True) == data
    assert model.model_dump(exclude_unset=True, by_alias=True) == data
    tools = model.tools or []
    assert [type(t) for t in tools] == [
        FunctionToolDefinition,
        McpToolDefinition,
        GenericToolDefinition,
    ]


def test_session_config_model_feeds_the_payload_builder() -> None:
    as_dict = {
        "instructions": "Hi",
        "voice": "ash",
        "audio": {"input": {"format": "g711_ulaw", "turn_detection": None}},
        "tools": [],
        "prompt": {"prompt_id": "pmpt_1"},
    }
    model = SessionConfig.model_validate(as_dict)
    assert build_session_payload(model) == build_session_payload(as_dict)
    assert build_session_payload(model)["audio"]["input"]["format"] == {"type": "audio/pcmu"}
    assert build_session_payload(model)["audio"]["input"]["turn_detection"] is None
    assert build_session_payload(SessionConfig()) == build_session_payload()


def test_session_config_extra_legacy_keys_reach_the_builder_checks() -> None:
    model = SessionConfig.model_validate({"modalities": ["text"], "audio": {}})
    with pytest.raises(UserError, match="mixes legacy keys"):
        build_session_payload(model)
    typo = SessionConfig.model_validate({"instuctions": "x"})
    with pytest.raises(UserError, match="unknown key"):
        build_session_payload(typo)


def test_turn_detection_model_takes_camel_case() -> None:
    td = TurnDetection.model_validate(
        {"type": "server_vad", "silenceDurationMs": 300, "createResponse": False}
    )
    assert td.silence_duration_ms == 300 and td.create_response is False
    assert td.to_wire() == {
        "type": "server_vad",
        "silence_duration_ms": 300,
        "create_response": False,
    }


def test_event_defaults_keep_type_on_the_wire() -> None:
    assert ResponseCancelEvent().to_wire() == {"type": "response.cancel"}
    assert ResponseCancelEvent(response_id="resp_1").model_dump(exclude_unset=True) == {
        "type": "response.cancel",
        "response_id": "resp_1",
    }
    update = SessionUpdateEvent.model_validate(
        {"type": "session.update", "session": {"type": "realtime"}}
    )
    assert update.to_wire() == {"type": "session.update", "session": {"type": "realtime"}}


# --- tolerant server parsing -----------------------------------------------------------------


def test_unknown_server_event_keeps_everything() -> None:
    data = {"type": "response.telepathy.delta", "event_id": "event_1", "thought": {"a": [1]}}
    event = parse_server_event(data)
    assert type(event) is UnknownServerEvent
    assert event.type == "response.telepathy.delta"
    assert event.model_extra == {"thought": {"a": [1]}}
    assert event.to_wire() == data


@pytest.mark.parametrize(
    "beta_type", ["response.audio.delta", "response.text.delta", "response.audio_transcript.done"]
)
def test_beta_server_event_types_are_not_ga_events(beta_type: str) -> None:
    event = parse_server_event({"type": beta_type, **IDS, "delta": "AAAA"})
    assert type(event) is UnknownServerEvent
    assert beta_type not in SERVER_EVENT_TYPES


@pytest.mark.parametrize(
    "data",
    [
        {"type": "response.output_audio.delta", **IDS},  # no delta
        {"type": "response.output_audio.delta", **IDS, "delta": 5},
        {
            "type": "conversation.item.truncated",
            "item_id": "i",
            "content_index": 0,
            "audio_end_ms": "x",
        },
        {"type": "response.done"},
        {"type": "conversation.item.added", "item": {"type": "message"}},  # role missing
        {"type": "error", "error": "boom"},
        {"event_id": "e"},  # no type at all
        {"type": 7},
    ],
)
def test_malformed_known_events_raise_validation_error(data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        parse_server_event(data)


def test_unknown_item_types_parse_as_unknown_items() -> None:
    event = parse_server_event(
        {
            "type": "conversation.item.added",
            "item": {"type": "reasoning", "id": "item_9", "summary": []},
        }
    )
    assert isinstance(event, ConversationItemAddedEvent)
    assert type(event.item) is UnknownItem
    assert event.to_wire()["item"] == {"type": "reasoning", "id": "item_9", "summary": []}


def test_typed_access() -> None:
    done = parse_server_event(SERVER_SAMPLES["response.done"])
    assert isinstance(done, ResponseDoneEvent)
    assert done.response.usage is not None and done.response.usage.input_token_details is not None
    assert done.response.usage.input_token_details.cached_tokens == 64
    output = done.response.output or []
    assert isinstance(output[0], MessageItem) and output[0].content[0].transcript == "Hello there!"
    assert isinstance(output[1], FunctionCallItem) and output[1].call_id == "call_1"
    delta = parse_server_event(SERVER_SAMPLES["response.output_audio.delta"])
    assert isinstance(delta, ResponseOutputAudioDeltaEvent) and delta.delta == "AAAAAAAA"
    error = parse_server_event(SERVER_SAMPLES["error"])
    assert isinstance(error, RealtimeErrorEvent) and error.error.param == "session.type"


def test_event_id_is_optional_on_server_events() -> None:
    sample = {
        k: v for k, v in SERVER_SAMPLES["response.output_text.delta"].items() if k != "event_id"
    }
    assert parse_server_event(sample).to_wire() == sample


# --- client event validation -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "match"),
    [
        ("not a dict", "must be a JSON object"),
        ({"type": "session.updaet"}, "unknown client event type 'session.updaet'"),
        ({"audio": "AAAA"}, "unknown client event type None"),
        ({"type": "session.update", "session": {"instructions": "x"}}, r"session\.type"),
        ({"type": "session.update", "session": {"type": "session"}}, r"session\.type"),
        ({"type": "input_audio_buffer.append"}, "audio"),
        (
            {
                "type": "conversation.item.truncate",
                "item_id": "i",
                "content_index": 0,
                "audio_end_ms": 1200.0,
            },
            "audio_end_ms",
        ),
        (
            {
                "type": "conversation.item.truncate",
                "item_id": "i",
                "content_index": 0,
                "audio_end_ms": -1,
            },
            "audio_end_ms",
        ),
        (
            {"type": "conversation.item.truncate", "item_id": "i", "audio_end_ms": 5},
            "content_index",
        ),
        ({"type": "conversation.item.create", "item": {"type": "reasoning"}}, "item"),
        (
            {"type": "conversation.item.create", "item": {"type": "item_reference", "id": "i"}},
            "item",
        ),
        ({"type": "conversation.item.delete"}, "item_id"),
    ],
)
def test_invalid_client_events(event: Any, match: str) -> None:
    with pytest.raises(UserError, match=match):
        validate_client_event(event)


def test_client_validation_error_chains_pydantic_error() -> None:
    with pytest.raises(UserError) as info:
        validate_client_event({"type": "conversation.item.retrieve"})
    assert isinstance(info.value.__cause__, ValidationError)
    assert "invalid conversation.item.retrieve event: item_id: Field required" in str(info.value)


def test_unknown_client_event_lists_ga_types() -> None:
    with pytest.raises(UserError) as info:
        validate_client_event({"type": "transcription_session.update"})
    for kind in CLIENT_EVENT_TYPES:
        assert kind in str(info.value)


def test_item_reference_only_inside_response_input() -> None:
    event = validate_client_event(
        {
            "type": "response.create",
            "response": {"input": [{"type": "item_reference", "id": "item_1"}]},
        }
    )
    assert event.to_wire()["response"]["input"] == [{"type": "item_reference", "id": "item_1"}]


# --- beta shapes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "paths"),
    [
        ({"type": "response.audio.delta", "delta": "AA"}, ["type"]),
        ({"type": "response.text.done"}, ["type"]),
        (
            {"type": "transcription_session.update", "session": {"input_audio_format": "pcm16"}},
            ["type", "session.input_audio_format"],
        ),
        (
            {
                "type": "session.update",
                "session": {
                    "type": "realtime",
                    "modalities": ["text", "audio"],
                    "voice": "alloy",
                    "input_audio_format": "pcm16",
                    "output_audio_format": "pcm16",
                    "turn_detection": None,
                    "input_audio_transcription": {"model": "whisper-1"},
                    "temperature": 0.8,
                    "max_response_output_tokens": "inf",
                },
            },
            [
                "session.modalities",
                "session.input_audio_format",
                "session.output_audio_format",
                "session.voice",
                "session.turn_detection",
                "session.input_audio_transcription",
                "session.max_response_output_tokens",
                "session.temperature",
            ],
        ),
        (
            {
                "type": "session.update",
                "session": {
                    "type": "realtime",
                    "audio": {"input": {"format": "pcm16"}, "output": {"format": "g711_ulaw"}},
                },
            },
            ["session.audio.input.format", "session.audio.output.format"],
        ),
        ({"type": "session.created", "session": {"modalities": ["audio"]}}, ["session.modalities"]),
        (
            {
                "type": "response.create",
                "response": {"modalities": ["text"], "voice": "ash", "temperature": 1},
            },
            ["response.modalities", "response.voice", "response.temperature"],
        ),
        (
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "text", "text": "x"}],
                },
            },
            ["item.content[0].type"],
        ),
        (
            {
                "type": "response.done",
                "response": {
                    "output": [
                        {
                            "type": "message",
                            "role": "assistant",
                            "content": [{"type": "output_text"}, {"type": "audio"}],
                        }
                    ]
                },
            },
            ["response.output[0].content[1].type"],
        ),
        # GA-clean events
        ({"type": "conversation.item.created", "item": FUNCTION_CALL_ITEM}, []),
        (
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": "x"}],
                },
            },
            [],
        ),
        ({"type": "response.content_part.added", "part": {"type": "audio"}}, []),
        ("not an event", []),
    ],
)
def test_find_beta_fields(event: Any, paths: list[str]) -> None:
    assert find_beta_fields(event) == paths


@pytest.mark.parametrize("event_type", sorted(SERVER_SAMPLES))
def test_ga_server_samples_have_no_beta_fields(event_type: str) -> None:
    assert find_beta_fields(SERVER_SAMPLES[event_type]) == []


def test_client_validation_rejects_beta_fields_unless_allowed() -> None:
    beta = {"type": "session.update", "session": {"type": "realtime", "modalities": ["text"]}}
    with pytest.raises(UserError, match=r"beta-era field\(s\).*session\.modalities"):
        validate_client_event(beta)
    assert validate_client_event(beta, allow_beta=True).to_wire() == beta


def test_generated_payloads_are_ga_clean() -> None:
    payload = build_session_payload(
        {"modalities": ["text"], "input_audio_format": "g711_ulaw", "voice": "ash"}
    )
    event = {"type": "session.update", "session": payload}
    assert find_beta_fields(event) == []
    validate_client_event(event)
