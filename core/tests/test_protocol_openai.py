"""Cross-check the protocol models and the payload builder against the official ``openai`` models.

``openai.types.realtime`` is generated from OpenAI's API spec; agreeing with it on every sample
(and never requiring a field it treats as optional) is the best offline evidence that our wire
shapes are right. Test-only dependency: skipped when ``openai`` is not installed.
"""

from __future__ import annotations

import copy
import typing
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter, ValidationError

openai_realtime = pytest.importorskip("openai.types.realtime")

from realtime_transport import build_session_payload  # noqa: E402
from realtime_transport.protocol import (  # noqa: E402
    CLIENT_EVENT_TYPES,
    SERVER_EVENT_TYPES,
    parse_server_event,
    server_event_model,
    validate_client_event,
)
from realtime_transport.protocol.items import (  # noqa: E402
    FunctionCallItem,
    McpApprovalRequestItem,
    McpCallItem,
    McpListToolsItem,
    MessageItem,
)
from test_protocol import (  # noqa: E402
    ASSISTANT_ITEM,
    CLIENT_SAMPLES,
    FUNCTION_CALL_ITEM,
    MCP_APPROVAL_REQUEST_ITEM,
    MCP_CALL_ITEM,
    MCP_LIST_TOOLS_ITEM,
    SERVER_SAMPLES,
    USER_AUDIO_ITEM,
)

OPENAI_SERVER = TypeAdapter(openai_realtime.RealtimeServerEvent)
OPENAI_CLIENT = TypeAdapter(openai_realtime.RealtimeClientEvent)
OPENAI_ITEM = TypeAdapter(openai_realtime.ConversationItem)

# The official *request* model is used for sessions in server events; the server echo adds these.
SERVER_ECHO_EXTRAS = {"session.id", "session.object", "session.expires_at"}


def _literal_types(union: Any) -> set[str]:
    (inner, *_meta) = typing.get_args(union)
    return {
        typing.get_args(cls.model_fields["type"].annotation)[0] for cls in typing.get_args(inner)
    }


def _extras(value: Any, path: str = "") -> set[str]:
    """Paths of fields the official models did not recognise (kept only as extras)."""
    found: set[str] = set()
    if isinstance(value, BaseModel):
        for key in value.model_extra or {}:
            found.add(f"{path}{key}")
        for name in type(value).model_fields:
            found |= _extras(getattr(value, name), f"{path}{name}.")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found |= _extras(item, f"{path.rstrip('.')}[{index}].")
    elif isinstance(value, dict):
        for key, item in value.items():
            found |= _extras(item, f"{path}{key}.")
    return found


def _required(model: type[BaseModel]) -> list[str]:
    return [name for name, f in model.model_fields.items() if f.is_required() and name != "type"]


# --- the event catalogues are the same -------------------------------------------------------


def test_server_event_types_match_openai() -> None:
    assert _literal_types(openai_realtime.RealtimeServerEvent) == SERVER_EVENT_TYPES


def test_client_event_types_match_openai() -> None:
    assert _literal_types(openai_realtime.RealtimeClientEvent) == CLIENT_EVENT_TYPES


# --- every server sample: both parse it, both give it back unchanged -------------------------


@pytest.mark.parametrize("event_type", sorted(SERVER_SAMPLES))
def test_server_sample_agrees_with_openai(event_type: str) -> None:
    sample = SERVER_SAMPLES[event_type]
    ours = parse_server_event(copy.deepcopy(sample))
    theirs = OPENAI_SERVER.validate_python(copy.deepcopy(sample))
    assert theirs.type == ours.type == event_type
    assert theirs.model_dump(exclude_unset=True) == ours.model_dump(exclude_unset=True) == sample
    assert _extras(theirs) <= SERVER_ECHO_EXTRAS, "sample uses fields the official schema lacks"


@pytest.mark.parametrize("event_type", sorted(SERVER_SAMPLES))
def test_server_required_fields_are_required_by_openai_too(event_type: str) -> None:
    """Never stricter than the official schema: each field we require, it requires too."""
    sample = SERVER_SAMPLES[event_type]
    for field in _required(server_event_model(event_type)):
        broken = {k: v for k, v in sample.items() if k != field}
        with pytest.raises(ValidationError):
            parse_server_event(broken)
        with pytest.raises(ValidationError):
            OPENAI_SERVER.validate_python(broken)


@pytest.mark.parametrize(
    ("item", "model"),
    [
        (USER_AUDIO_ITEM, MessageItem),
        (ASSISTANT_ITEM, MessageItem),
        (FUNCTION_CALL_ITEM, FunctionCallItem),
        (MCP_CALL_ITEM, McpCallItem),
        (MCP_LIST_TOOLS_ITEM, McpListToolsItem),
        (MCP_APPROVAL_REQUEST_ITEM, McpApprovalRequestItem),
    ],
)
def test_item_required_fields_are_required_by_openai_too(
    item: dict[str, Any], model: type[BaseModel]
) -> None:
    assert OPENAI_ITEM.validate_python(item).model_dump(exclude_unset=True) == item
    for field in _required(model):
        broken = {k: v for k, v in item.items() if k != field}
        with pytest.raises(ValidationError):
            model.model_validate(broken)
        with pytest.raises(ValidationError):
            OPENAI_ITEM.validate_python(broken)


def test_both_reject_beta_event_names_as_known_events() -> None:
    beta = {"type": "response.audio.delta", "event_id": "e", "response_id": "r", "item_id": "i"}
    with pytest.raises(ValidationError):
        OPENAI_SERVER.validate_python(
            {**beta, "output_index": 0, "content_index": 0, "delta": "AA"}
        )
    assert type(parse_server_event(beta)).__name__ == "UnknownServerEvent"


# --- every client sample ---------------------------------------------------------------------


@pytest.mark.parametrize("index", range(len(CLIENT_SAMPLES)))
def test_client_sample_agrees_with_openai(index: int) -> None:
    sample = CLIENT_SAMPLES[index]
    ours = validate_client_event(copy.deepcopy(sample))
    theirs = OPENAI_CLIENT.validate_python(copy.deepcopy(sample))
    assert theirs.type == ours.type
    assert theirs.model_dump(exclude_unset=True) == ours.to_wire() == sample
    assert _extras(theirs) == set()


@pytest.mark.parametrize("index", range(len(CLIENT_SAMPLES)))
def test_client_required_fields_are_required_by_openai_too(index: int) -> None:
    sample = CLIENT_SAMPLES[index]
    model = type(validate_client_event(sample))
    for field in _required(model):
        broken = {k: v for k, v in sample.items() if k != field}
        with pytest.raises(ValueError):
            validate_client_event(broken)
        with pytest.raises(ValidationError):
            OPENAI_CLIENT.validate_python(broken)


# --- session.update payloads built from configs ----------------------------------------------

PAYLOAD_CONFIGS: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({}, {}),
    ({}, {"defaults": False}),
    ({"modalities": ["text"], "input_audio_format": "g711_alaw", "voice": "ash"}, {}),
    ({"turn_detection": None, "input_audio_transcription": None, "speed": 1.5}, {}),
    (
        {
            "audio": {
                "input": {
                    "turnDetection": {
                        "type": "server_vad",
                        "threshold": 0.3,
                        "prefixPaddingMs": 200,
                        "silenceDurationMs": 400,
                        "idleTimeoutMs": 6000,
                        "createResponse": False,
                        "interruptResponse": False,
                    },
                    "noise_reduction": {"type": "far_field"},
                }
            }
        },
        {},
    ),
    (
        {
            "tools": [
                {
                    "name": "get_weather",
                    "description": "d",
                    "parameters": {"type": "object"},
                    "strict": True,
                },
                {
                    "type": "mcp",
                    "server_label": "deepwiki",
                    "server_url": "https://mcp.deepwiki.com/mcp",
                    "require_approval": {"never": {"tool_names": ["ask_question"]}},
                    "allowed_tools": {"read_only": True},
                    "headers": {"X-Key": "v"},
                },
            ],
            "tool_choice": {"type": "mcp", "server_label": "deepwiki", "name": "ask_question"},
            "reasoning": {"effort": "low"},
            "parallel_tool_calls": True,
        },
        {"model": "gpt-realtime-2"},
    ),
    (
        {"tools": [], "prompt": {"promptId": "pmpt_1", "version": "1"}},
        {"pinned_audio_format": "g711_ulaw"},
    ),
    (
        {
            "truncation": {
                "type": "retention_ratio",
                "retention_ratio": 0.5,
                "token_limits": {"post_instructions": 8000},
            }
        },
        {},
    ),
]


def _assert_official_session_update(payload: dict[str, Any]) -> None:
    event = {"type": "session.update", "session": payload}
    theirs = openai_realtime.SessionUpdateEvent.model_validate(copy.deepcopy(event))
    assert theirs.model_dump(exclude_unset=True) == event
    assert _extras(theirs) == set(), "payload carries keys the official schema does not know"
    validate_client_event(event)


@pytest.mark.parametrize(("config", "options"), PAYLOAD_CONFIGS)
def test_payloads_are_valid_official_session_updates(
    config: dict[str, Any], options: dict[str, Any]
) -> None:
    _assert_official_session_update(build_session_payload(config, **options))


_formats = st.sampled_from(
    ["pcm16", "g711_ulaw", "g711_alaw", {"type": "audio/pcm", "rate": 24000}, None]
)
_turn_detection = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {"type": st.just("server_vad")},
        optional={
            "threshold": st.floats(0, 1),
            "prefix_padding_ms": st.integers(0, 1000),
            "silenceDurationMs": st.integers(0, 2000),
            "create_response": st.booleans(),
            "interruptResponse": st.booleans(),
        },
    ),
    st.fixed_dictionaries(
        {"type": st.just("semantic_vad")},
        optional={
            "eagerness": st.sampled_from(["low", "medium", "high", "auto"]),
            "create_response": st.booleans(),
        },
    ),
)
_ga_configs = st.fixed_dictionaries(
    {},
    optional={
        "instructions": st.text(max_size=20),
        "output_modalities": st.sampled_from([["audio"], ["text"]]),
        "voice": st.sampled_from(["marin", "cedar", "ash"]),
        "audio": st.fixed_dictionaries(
            {},
            optional={
                "input": st.fixed_dictionaries(
                    {},
                    optional={
                        "format": _formats,
                        "noise_reduction": st.one_of(st.none(), st.just({"type": "near_field"})),
                        "transcription": st.one_of(st.none(), st.just({"model": "whisper-1"})),
                        "turn_detection": _turn_detection,
                    },
                ),
                "output": st.fixed_dictionaries(
                    {}, optional={"format": _formats, "speed": st.floats(0.25, 1.5)}
                ),
            },
        ),
        "tools": st.lists(
            st.builds(
                lambda n: {"name": f"tool_{n}", "parameters": {"type": "object"}}, st.integers(0, 9)
            ),
            max_size=3,
        ),
        "tool_choice": st.sampled_from(["auto", "none", "required"]),
        "max_output_tokens": st.one_of(st.integers(1, 4096), st.just("inf")),
        "tracing": st.sampled_from(["auto", None]),
    },
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config=_ga_configs, defaults=st.booleans())
def test_any_ga_config_gives_an_official_session_update(
    config: dict[str, Any], defaults: bool
) -> None:
    payload = build_session_payload(config, defaults=defaults)
    assert payload["type"] == "realtime" and "tracing" not in payload
    _assert_official_session_update(payload)
