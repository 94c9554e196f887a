"""Session config conversion, table-driven from the reference (js-sdk-transport-spec §6)."""

from __future__ import annotations

import copy
import json
import logging
import math
import subprocess
import sys
from typing import Any

import pytest
from realtime_transport import config as cfg
from realtime_transport.config import (
    DEFAULT_MODEL,
    DEFAULT_SESSION_CONFIG,
    UNSET,
    build_session_payload,
    build_tracing_update,
    interrupt_response_enabled,
    normalize_audio_format,
    normalize_turn_detection,
    session_input_format,
    session_output_format,
    to_ga_config,
)
from realtime_transport.errors import UserError

PCM = {"type": "audio/pcm", "rate": 24000}
PCMU = {"type": "audio/pcmu"}
PCMA = {"type": "audio/pcma"}

DEFAULT_PAYLOAD: dict[str, Any] = {
    "type": "realtime",
    "output_modalities": ["audio"],
    "audio": {
        "input": {
            "format": PCM,
            "noise_reduction": None,
            "transcription": {"model": "gpt-4o-mini-transcribe"},
            "turn_detection": {"type": "semantic_vad"},
        },
        "output": {"format": PCM, "speed": 1.0},
    },
}


# --- import budget ---------------------------------------------------------------------------


def test_config_never_imports_pydantic() -> None:
    code = (
        "import sys\n"
        "import realtime_transport\n"
        "from realtime_transport import build_session_payload, to_ga_config\n"
        "build_session_payload({'instructions': 'hi', 'tools': [{'name': 'f'}]})\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'pydantic'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
    )
    assert out.stdout.strip() == "[]"


# --- defaults --------------------------------------------------------------------------------


def test_defaults_match_reference() -> None:
    assert DEFAULT_MODEL == "gpt-realtime"
    assert build_session_payload() == DEFAULT_PAYLOAD
    assert build_session_payload({}) == DEFAULT_PAYLOAD
    assert "voice" not in DEFAULT_PAYLOAD["audio"]["output"]
    assert {k: v for k, v in DEFAULT_PAYLOAD.items() if k != "type"} == DEFAULT_SESSION_CONFIG


def test_default_config_cannot_be_corrupted() -> None:
    fresh = cfg.default_session_config()
    fresh["audio"]["input"]["format"] = PCMU
    saved = copy.deepcopy(DEFAULT_SESSION_CONFIG)
    DEFAULT_SESSION_CONFIG["audio"]["input"]["turn_detection"] = None
    try:
        assert build_session_payload() == DEFAULT_PAYLOAD
    finally:
        DEFAULT_SESSION_CONFIG.clear()
        DEFAULT_SESSION_CONFIG.update(saved)
    payload = build_session_payload()
    payload["audio"]["input"]["format"]["rate"] = 8000
    assert build_session_payload() == DEFAULT_PAYLOAD


def test_payload_is_json_serialisable() -> None:
    assert json.loads(json.dumps(build_session_payload())) == DEFAULT_PAYLOAD


# --- audio formats ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("pcm16", PCM),
        ("g711_ulaw", PCMU),
        ("g711_alaw", PCMA),
        ("audio/pcm", PCM),
        ("audio/pcmu", PCMU),
        ("audio/pcma", PCMA),
        (PCM, PCM),
        (PCMU, PCMU),
        (PCMA, PCMA),
        ({"type": "audio/pcm", "rate": math.nan}, PCM),
        ({"type": "audio/pcm", "rate": math.inf}, PCM),
        ({"type": "audio/pcm", "rate": -math.inf}, PCM),
        ({"type": "audio/pcm"}, PCM),
        ({"type": "audio/pcm", "rate": 24000.0}, {"type": "audio/pcm", "rate": 24000.0}),
        ({"type": "audio/opus", "rate": 48000}, {"type": "audio/opus", "rate": 48000}),
        ({"type": "audio/pcmu", "x-extra": 1}, {"type": "audio/pcmu", "x-extra": 1}),
        (None, None),
        (UNSET, None),
        ("", None),
        ({}, None),
    ],
)
def test_normalize_audio_format(given: Any, expected: Any) -> None:
    assert normalize_audio_format(given) == expected


def test_normalize_audio_format_copies() -> None:
    given = {"type": "audio/pcmu"}
    out = normalize_audio_format(given)
    assert out == given and out is not given


def test_unknown_format_string_is_pcm_with_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="realtime_transport.config"):
        assert normalize_audio_format("mp3") == PCM
    assert "unknown audio format 'mp3'" in caplog.text


@pytest.mark.parametrize("bad", [16000, 1.5, ["pcm16"], b"pcm16"])
def test_format_of_wrong_type_is_user_error(bad: Any) -> None:
    with pytest.raises(UserError, match="audio format must be"):
        normalize_audio_format(bad)


# --- turn detection --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"type": "semantic_vad"}, {"type": "semantic_vad"}),
        (
            {
                "type": "server_vad",
                "createResponse": True,
                "interruptResponse": False,
                "prefixPaddingMs": 300,
                "silenceDurationMs": 500,
                "idleTimeoutMs": 6000,
                "modelVersion": "v2",
                "threshold": 0.6,
            },
            {
                "type": "server_vad",
                "create_response": True,
                "interrupt_response": False,
                "prefix_padding_ms": 300,
                "silence_duration_ms": 500,
                "idle_timeout_ms": 6000,
                "model_version": "v2",
                "threshold": 0.6,
            },
        ),
        (
            {"type": "server_vad", "create_response": True, "silence_duration_ms": 200},
            {"type": "server_vad", "create_response": True, "silence_duration_ms": 200},
        ),
        # camelCase wins when both spellings are given
        (
            {"type": "server_vad", "silenceDurationMs": 100, "silence_duration_ms": 900},
            {"type": "server_vad", "silence_duration_ms": 100},
        ),
        (
            {"type": "semantic_vad", "create_response": True, "createResponse": False},
            {"type": "semantic_vad", "create_response": False},
        ),
        # camel UNSET/None does not hide the snake value
        (
            {"type": "server_vad", "threshold": 0.5, "createResponse": UNSET, "create_response": 1},
            {"type": "server_vad", "threshold": 0.5, "create_response": 1},
        ),
        # falsy values kept, unset removed
        (
            {"type": "server_vad", "threshold": 0, "createResponse": False, "eagerness": UNSET},
            {"type": "server_vad", "threshold": 0, "create_response": False},
        ),
        # unknown keys pass through
        ({"type": "semantic_vad", "futureKnob": 3}, {"type": "semantic_vad", "futureKnob": 3}),
        ({"eagerness": "high"}, {"eagerness": "high"}),
        (
            {"type": "server_vad", "idle_timeout_ms": None},
            {"type": "server_vad", "idle_timeout_ms": None},
        ),
        (None, None),
        (UNSET, UNSET),
        ({}, UNSET),
        ({"type": UNSET, "createResponse": UNSET}, UNSET),
    ],
)
def test_normalize_turn_detection(given: Any, expected: Any) -> None:
    assert normalize_turn_detection(given) == expected


def test_turn_detection_of_wrong_type() -> None:
    with pytest.raises(UserError, match="turn_detection must be"):
        normalize_turn_detection("server_vad")


# --- legacy shape -> GA ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("legacy", "ga"),
    [
        ({"modalities": ["text"]}, {"output_modalities": ["text"]}),
        ({"input_audio_format": "g711_ulaw"}, {"audio": {"input": {"format": PCMU}}}),
        ({"output_audio_format": "g711_alaw"}, {"audio": {"output": {"format": PCMA}}}),
        ({"output_audio_format": "pcm16"}, {"audio": {"output": {"format": PCM}}}),
        (
            {"input_audio_transcription": {"model": "whisper-1", "language": "de"}},
            {"audio": {"input": {"transcription": {"model": "whisper-1", "language": "de"}}}},
        ),
        (
            {"turn_detection": {"type": "server_vad", "silenceDurationMs": 700}},
            {
                "audio": {
                    "input": {"turn_detection": {"type": "server_vad", "silence_duration_ms": 700}}
                }
            },
        ),
        ({"turn_detection": None}, {"audio": {"input": {"turn_detection": None}}}),
        (
            {"input_audio_noise_reduction": {"type": "far_field"}},
            {"audio": {"input": {"noise_reduction": {"type": "far_field"}}}},
        ),
        ({"speed": 1.25}, {"audio": {"output": {"speed": 1.25}}}),
        (
            {"modalities": ["audio"], "voice": "cedar"},
            {"output_modalities": ["audio"], "audio": {"output": {"voice": "cedar"}}},
        ),
        ({"max_response_output_tokens": 200}, {"max_output_tokens": 200}),
        # camelCase spellings of the legacy keys (ported JS code)
        (
            {"inputAudioFormat": "g711_ulaw", "outputAudioFormat": "g711_ulaw"},
            {"audio": {"input": {"format": PCMU}, "output": {"format": PCMU}}},
        ),
        ({"inputAudioTranscription": None}, {"audio": {"input": {"transcription": None}}}),
        (
            {"turnDetection": {"type": "semantic_vad"}},
            {"audio": {"input": {"turn_detection": {"type": "semantic_vad"}}}},
        ),
        ({"inputAudioNoiseReduction": None}, {"audio": {"input": {"noise_reduction": None}}}),
    ],
)
def test_legacy_to_ga(legacy: dict[str, Any], ga: dict[str, Any]) -> None:
    assert to_ga_config(legacy) == ga


def test_legacy_payload_full() -> None:
    payload = build_session_payload(
        {
            "modalities": ["text"],
            "voice": "ash",
            "input_audio_format": "g711_ulaw",
            "output_audio_format": "g711_ulaw",
            "input_audio_transcription": None,
            "turn_detection": {"type": "server_vad", "createResponse": False},
            "speed": 1.1,
        }
    )
    assert payload == {
        "type": "realtime",
        "output_modalities": ["text"],
        "audio": {
            "input": {
                "format": PCMU,
                "noise_reduction": None,
                "transcription": None,
                "turn_detection": {"type": "server_vad", "create_response": False},
            },
            "output": {"format": PCMU, "voice": "ash", "speed": 1.1},
        },
    }


# --- GA shape --------------------------------------------------------------------------------


def test_ga_full_config_to_payload() -> None:
    config = {
        "model": "gpt-realtime-mini",
        "instructions": "Be brief.",
        "output_modalities": ["audio"],
        "audio": {
            "input": {
                "format": "pcm16",
                "noise_reduction": {"type": "near_field"},
                "transcription": {"model": "gpt-4o-transcribe", "language": "en", "prompt": "x"},
                "turn_detection": {"type": "server_vad", "threshold": 0.4},
            },
            "output": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "voice": "marin",
                "speed": 0.9,
            },
        },
        "tool_choice": "required",
        "parallel_tool_calls": False,
        "reasoning": {"effort": "low"},
        "prompt": {"id": "pmpt_1", "version": "3", "variables": {"city": "Paris"}},
        "max_output_tokens": 512,
        "truncation": {"type": "retention_ratio", "retention_ratio": 0.8},
        "include": ["item.input_audio_transcription.logprobs"],
        "tracing": {"workflow_name": "w"},
    }
    payload = build_session_payload(config, model="ignored-when-config-has-one")
    assert payload == {
        "type": "realtime",
        "model": "gpt-realtime-mini",
        "instructions": "Be brief.",
        "output_modalities": ["audio"],
        "audio": {
            "input": {
                "format": PCM,
                "noise_reduction": {"type": "near_field"},
                "transcription": {"model": "gpt-4o-transcribe", "language": "en", "prompt": "x"},
                "turn_detection": {"type": "server_vad", "threshold": 0.4},
            },
            "output": {"format": PCM, "voice": "marin", "speed": 0.9},
        },
        "tool_choice": "required",
        "parallel_tool_calls": False,
        "reasoning": {"effort": "low"},
        "prompt": {"id": "pmpt_1", "version": "3", "variables": {"city": "Paris"}},
        "max_output_tokens": 512,
        "truncation": {"type": "retention_ratio", "retention_ratio": 0.8},
        "include": ["item.input_audio_transcription.logprobs"],
    }
    # key order on the wire is the documented one
    assert list(payload) == [
        "type", "model", "instructions", "output_modalities", "audio", "tool_choice",
        "parallel_tool_calls", "reasoning", "prompt", "max_output_tokens", "truncation", "include",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("config", "voice"),
    [
        ({"voice": "sage"}, "sage"),
        ({"voice": "sage", "audio": {"output": {"voice": "verse"}}}, "verse"),
        ({"voice": "sage", "audio": {"output": None}}, "sage"),
        ({"voice": {"id": "voice_123"}}, {"id": "voice_123"}),
    ],
)
def test_top_level_voice_compat(config: dict[str, Any], voice: Any) -> None:
    assert build_session_payload(config)["audio"]["output"]["voice"] == voice


def test_string_shorthands() -> None:
    payload = build_session_payload(
        {"audio": {"input": {"transcription": "whisper-1", "noise_reduction": "far_field"}}}
    )
    assert payload["audio"]["input"]["transcription"] == {"model": "whisper-1"}
    assert payload["audio"]["input"]["noise_reduction"] == {"type": "far_field"}
    assert build_session_payload(DEFAULT_SESSION_CONFIG) == DEFAULT_PAYLOAD


def test_null_channels_are_absent() -> None:
    assert build_session_payload({"audio": {"input": None, "output": None}}) == DEFAULT_PAYLOAD
    assert build_session_payload({"audio": None}) == DEFAULT_PAYLOAD


def test_camel_case_ga_keys() -> None:
    config = {
        "outputModalities": ["text"],
        "toolChoice": "none",
        "parallelToolCalls": True,
        "maxOutputTokens": "inf",
        "providerData": {"x_custom": 1},
        "audio": {
            "input": {
                "noiseReduction": None,
                "turnDetection": {"type": "server_vad", "prefixPaddingMs": 0},
            },
            "output": {"voice": "coral"},
        },
        "prompt": {"promptId": "pmpt_9"},
    }
    assert build_session_payload(config, defaults=False) == {
        "type": "realtime",
        "output_modalities": ["text"],
        "audio": {
            "input": {
                "noise_reduction": None,
                "turn_detection": {"type": "server_vad", "prefix_padding_ms": 0},
            },
            "output": {"voice": "coral"},
        },
        "tool_choice": "none",
        "parallel_tool_calls": True,
        "prompt": {"id": "pmpt_9"},
        "max_output_tokens": "inf",
        "x_custom": 1,
    }


# --- errors: mixing, typos, duplicates -------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "legacy", "ga"),
    [
        (
            {"modalities": ["text"], "output_modalities": ["text"]},
            "modalities",
            "output_modalities",
        ),
        ({"input_audio_format": "pcm16", "audio": {}}, "input_audio_format", "audio"),
        ({"turnDetection": None, "audio": {"input": {}}}, "turn_detection", "audio"),
        ({"speed": 1.0, "outputModalities": ["audio"]}, "speed", "output_modalities"),
    ],
)
def test_mixing_legacy_and_ga_is_an_error(config: dict[str, Any], legacy: str, ga: str) -> None:
    with pytest.raises(UserError, match="mixes legacy keys") as info:
        to_ga_config(config)
    assert legacy in str(info.value) and ga in str(info.value)


def test_unset_legacy_key_does_not_count_as_mixing() -> None:
    assert to_ga_config({"modalities": UNSET, "output_modalities": ["text"]}) == {
        "output_modalities": ["text"]
    }


def test_unknown_key_is_an_error_listing_valid_keys() -> None:
    with pytest.raises(UserError) as info:
        build_session_payload({"instructons": "typo"})
    message = str(info.value)
    assert "'instructons'" in message and "instructions" in message and "provider_data" in message
    assert "expires_at" not in message  # server echo keys are accepted but not advertised


def test_removed_key_gets_a_hint() -> None:
    with pytest.raises(UserError, match="'temperature' was removed"):
        to_ga_config({"temperature": 0.7})


@pytest.mark.parametrize(
    "config",
    [
        {"audio": {"inputs": {}}},
        {"audio": {"input": {"formt": "pcm16"}}},
        {"audio": {"output": {"volume": 2}}},
        {"prompt": {"id": "p", "vars": {}}},
    ],
)
def test_unknown_nested_keys_are_errors(config: dict[str, Any]) -> None:
    with pytest.raises(UserError, match="unknown key"):
        to_ga_config(config)


def test_both_spellings_of_one_key_is_an_error() -> None:
    with pytest.raises(UserError, match="both 'tool_choice' and 'toolChoice'"):
        to_ga_config({"tool_choice": "auto", "toolChoice": "none"})


@pytest.mark.parametrize(
    ("config", "match"),
    [
        ("instructions", "session config must be a mapping"),
        ({"audio": "pcm16"}, "audio must be a mapping"),
        ({"tools": {"name": "f"}}, "tools must be a list"),
        ({"output_modalities": [1]}, "output_modalities must be a list"),
        ({"type": "transcription"}, "only 'realtime'"),
        ({"prompt": {"version": "1"}}, "prompt needs an 'id'"),
        ({"tracing": "on"}, "tracing must be 'auto', None or a mapping"),
        ({"provider_data": ["x"]}, "provider_data must be a mapping"),
    ],
)
def test_bad_values_are_user_errors(config: Any, match: str) -> None:
    with pytest.raises(UserError, match=match):
        build_session_payload(config)


# --- unset vs None ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "path", "expected"),
    [
        ({"audio": {"input": {"transcription": None}}}, ("audio", "input", "transcription"), None),
        (
            {"audio": {"input": {"turn_detection": None}}},
            ("audio", "input", "turn_detection"),
            None,
        ),
        (
            {"audio": {"input": {"noise_reduction": {"type": "far_field", "strength": 0.3}}}},
            ("audio", "input", "noise_reduction"),
            {"type": "far_field", "strength": 0.3},
        ),
        # an empty/unset turn detection means "use the default"
        (
            {"audio": {"input": {"turn_detection": {}}}},
            ("audio", "input", "turn_detection"),
            {"type": "semantic_vad"},
        ),
        (
            {"audio": {"input": {"turn_detection": UNSET}}},
            ("audio", "input", "turn_detection"),
            {"type": "semantic_vad"},
        ),
        # a None format means "default": formats cannot be null on the wire
        ({"audio": {"input": {"format": None}}}, ("audio", "input", "format"), PCM),
        ({"instructions": ""}, ("instructions",), ""),
        ({"instructions": None}, ("instructions",), None),
        ({"tool_choice": None}, ("tool_choice",), None),
        ({"tools": None}, ("tools",), None),
        ({"prompt": None}, ("prompt",), None),
    ],
)
def test_explicit_none_vs_unset(
    config: dict[str, Any], path: tuple[str, ...], expected: Any
) -> None:
    value: Any = build_session_payload(config)
    for key in path:
        value = value[key]
    assert value == expected


def test_unset_values_are_omitted() -> None:
    payload = build_session_payload(
        {
            "instructions": UNSET,
            "tools": UNSET,
            "voice": UNSET,
            "audio": {"output": {"speed": UNSET}},
        },
        defaults=False,
    )
    assert payload == {"type": "realtime"}


def test_partial_update_without_defaults() -> None:
    assert build_session_payload({"instructions": "New agent"}, defaults=False) == {
        "type": "realtime",
        "instructions": "New agent",
    }
    assert build_session_payload({"audio": {"output": {"voice": "echo"}}}, defaults=False) == {
        "type": "realtime",
        "audio": {"output": {"voice": "echo"}},
    }


def test_defaults_fill_only_missing_subfields() -> None:
    payload = build_session_payload({"audio": {"input": {"format": "g711_alaw"}}})
    assert payload["audio"]["input"] == {**DEFAULT_PAYLOAD["audio"]["input"], "format": PCMA}
    assert payload["audio"]["output"] == DEFAULT_PAYLOAD["audio"]["output"]


@pytest.mark.parametrize(
    ("config", "model", "expected"),
    [
        ({}, None, None),
        ({}, "gpt-realtime-2", "gpt-realtime-2"),
        ({"model": "gpt-realtime-mini"}, "gpt-realtime-2", "gpt-realtime-mini"),
        ({"model": None}, "gpt-realtime-2", "gpt-realtime-2"),
    ],
)
def test_model_precedence(config: dict[str, Any], model: str | None, expected: str | None) -> None:
    assert build_session_payload(config, model=model).get("model") == expected


# --- tools -----------------------------------------------------------------------------------


def test_function_tools_are_whitelisted() -> None:
    params = {"type": "object", "properties": {"city": {"type": "string"}}}
    tools = [
        {
            "type": "function",
            "name": "get_weather",
            "description": "Weather",
            "parameters": params,
            "strict": True,
            "needs_approval": True,
            "handler": print,
        },
        {"name": "transfer_to_billing", "description": "Handoff", "parameters": {}},
    ]
    assert build_session_payload({"tools": tools})["tools"] == [
        {"type": "function", "name": "get_weather", "description": "Weather", "parameters": params},
        {
            "type": "function",
            "name": "transfer_to_billing",
            "description": "Handoff",
            "parameters": {},
        },
    ]


def test_mcp_tools_are_whitelisted() -> None:
    tool = {
        "type": "mcp",
        "server_label": "deepwiki",
        "server_url": "https://mcp.deepwiki.com/mcp",
        "serverDescription": "Docs",
        "headers": {"X-Key": "v"},
        "allowed_tools": ["ask_question"],
        "require_approval": {"never": {"toolNames": ["ask_question"], "read_only": True}},
        "authorization": "tok",
        "tunnel_id": "tun_1",
        "allowed_callers": ["programmatic"],
        "on_approval": print,
    }
    assert build_session_payload({"tools": [tool]})["tools"] == [
        {
            "type": "mcp",
            "server_label": "deepwiki",
            "server_url": "https://mcp.deepwiki.com/mcp",
            "server_description": "Docs",
            "tunnel_id": "tun_1",
            "authorization": "tok",
            "headers": {"X-Key": "v"},
            "allowed_tools": ["ask_question"],
            "require_approval": {"never": {"tool_names": ["ask_question"], "read_only": True}},
        }
    ]


@pytest.mark.parametrize("approval", ["never", "always", None, {"always": {"tool_names": ["x"]}}])
def test_mcp_require_approval_forms_kept(approval: Any) -> None:
    tool = {
        "type": "mcp",
        "server_label": "s",
        "server_url": "https://s",
        "require_approval": approval,
    }
    assert build_session_payload({"tools": [tool]})["tools"][0]["require_approval"] == approval


@pytest.mark.parametrize(
    ("tool", "match"),
    [
        ({"type": "mcp", "server_url": "https://s"}, "server_label"),
        ({"type": "mcp", "server_label": "s", "require_approval": "sometimes"}, "require_approval"),
        ({"type": "mcp", "server_label": "s", "require_approval": {"maybe": {}}}, "unknown key"),
        ({"type": "function", "description": "no name"}, "non-empty string 'name'"),
        ("get_weather", "tool must be a mapping"),
    ],
)
def test_bad_tools(tool: Any, match: str) -> None:
    with pytest.raises(UserError, match=match):
        build_session_payload({"tools": [tool]})


def test_empty_tools_are_sent_to_clear_previous_tools() -> None:
    # Differs from JS on purpose: a handoff to an agent without tools must clear the old ones.
    assert build_session_payload({"tools": []})["tools"] == []
    assert build_session_payload({"tools": ()}, defaults=False) == {"type": "realtime", "tools": []}
    assert "tools" not in build_session_payload({})


# --- pinned format ---------------------------------------------------------------------------


def test_pinned_format_forces_both_directions() -> None:
    payload = build_session_payload({}, pinned_audio_format="g711_ulaw")
    assert payload["audio"]["input"]["format"] == PCMU
    assert payload["audio"]["output"]["format"] == PCMU
    assert payload["audio"]["input"]["turn_detection"] == {"type": "semantic_vad"}


def test_pinned_format_survives_partial_updates_and_handoffs() -> None:
    # a handoff re-sends instructions/tools/voice only: the pinned format must still be there
    payload = build_session_payload(
        {"instructions": "agent 2", "tools": [], "voice": "ash"},
        defaults=False,
        pinned_audio_format={"type": "audio/pcmu"},
    )
    assert payload == {
        "type": "realtime",
        "instructions": "agent 2",
        "audio": {"input": {"format": PCMU}, "output": {"format": PCMU, "voice": "ash"}},
        "tools": [],
    }


def test_pinned_format_overrides_configured_format(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="realtime_transport.config"):
        payload = build_session_payload(
            {"input_audio_format": "pcm16", "output_audio_format": "g711_ulaw"},
            pinned_audio_format=PCMU,
        )
    assert payload["audio"]["input"]["format"] == PCMU
    assert payload["audio"]["output"]["format"] == PCMU
    assert "audio.input.format" in caplog.text and "audio.output" not in caplog.text


# --- provider_data, tracing and prompt in the payload ----------------------------------------


def test_provider_data_is_merged_last_and_raw() -> None:
    payload = build_session_payload(
        {"instructions": "a", "provider_data": {"instructions": "b", "x_vendor": {"k": [1, 2]}}}
    )
    assert payload["instructions"] == "b"
    assert payload["x_vendor"] == {"k": [1, 2]}
    assert list(payload)[-1] == "x_vendor"


@pytest.mark.parametrize(
    ("provider", "match"),
    [
        ({"type": "transcription"}, "may not override the session type"),
        ({"tracing": "auto"}, "tracing"),
    ],
)
def test_provider_data_cannot_override_type_or_tracing(
    provider: dict[str, Any], match: str
) -> None:
    with pytest.raises(UserError, match=match):
        build_session_payload({"provider_data": provider})


def test_provider_data_same_type_is_fine() -> None:
    assert build_session_payload({"provider_data": {"type": "realtime"}})["type"] == "realtime"


@pytest.mark.parametrize("tracing", ["auto", None, {"workflow_name": "w", "group_id": "g"}])
def test_tracing_is_never_in_the_payload(tracing: Any) -> None:
    assert "tracing" not in build_session_payload({"tracing": tracing})
    assert to_ga_config({"tracing": tracing})["tracing"] == tracing


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ({"id": "pmpt_1"}, {"id": "pmpt_1"}),
        ({"prompt_id": "pmpt_1", "version": "2"}, {"id": "pmpt_1", "version": "2"}),
        (
            {"promptId": "pmpt_1", "variables": {"a": "b"}},
            {"id": "pmpt_1", "variables": {"a": "b"}},
        ),
        ("pmpt_1", {"id": "pmpt_1"}),
    ],
)
def test_prompt_forms(prompt: Any, expected: dict[str, Any]) -> None:
    assert build_session_payload({"prompt": prompt})["prompt"] == expected


# --- fixed points and feeding things back ----------------------------------------------------


CONFIGS: list[Any] = [
    {},
    {"modalities": ["text"], "voice": "ash", "turn_detection": None, "speed": 1.2},
    {"voice": "marin", "audio": {"input": {"turnDetection": {"type": "server_vad"}}}},
    {"tools": [{"name": "f", "strict": True}], "prompt": "pmpt", "tracing": "auto"},
    {"instructions": "x", "provider_data": {"foo": 1}},
]


@pytest.mark.parametrize("config", CONFIGS)
def test_to_ga_config_is_a_fixed_point(config: Any) -> None:
    once = to_ga_config(config)
    assert to_ga_config(once) == once
    assert build_session_payload(once) == build_session_payload(config)


@pytest.mark.parametrize("config", CONFIGS[:-1])  # provider_data keys are not config keys
def test_payload_fed_back_gives_the_same_payload(config: Any) -> None:
    payload = build_session_payload(config, model="gpt-realtime")
    assert build_session_payload(payload) == payload


def test_server_session_echo_can_be_fed_back() -> None:
    session = {
        "type": "realtime",
        "object": "realtime.session",
        "id": "sess_1",
        "expires_at": 1756324625,
        "model": "gpt-realtime",
        "output_modalities": ["audio"],
        "audio": {"output": {"format": PCMU, "voice": "alloy", "speed": 1.0}},
    }
    payload = build_session_payload(session, defaults=False)
    assert payload == {
        "type": "realtime",
        "model": "gpt-realtime",
        "output_modalities": ["audio"],
        "audio": {"output": {"format": PCMU, "voice": "alloy", "speed": 1.0}},
    }


def test_duck_typed_models_are_accepted() -> None:
    class FakeModel:
        def __init__(self, data: dict[str, Any]) -> None:
            self.data = data

        def model_dump(self, *, exclude_unset: bool = False) -> dict[str, Any]:
            assert exclude_unset
            return self.data

    config = {
        "audio": FakeModel({"output": FakeModel({"voice": "ash"})}),
        "tools": [FakeModel({"name": "f"})],
    }
    assert build_session_payload(FakeModel(config), defaults=False) == {
        "type": "realtime",
        "audio": {"output": {"voice": "ash"}},
        "tools": [{"type": "function", "name": "f"}],
    }


# --- tracing rules (reference §6.6), one test each --------------------------------------------


def _tracing_event(value: Any) -> dict[str, Any]:
    return {"type": "session.update", "session": {"type": "realtime", "tracing": value}}


def test_tracing_auto_is_sent() -> None:
    assert build_tracing_update("auto", None) == (_tracing_event("auto"), None)


def test_tracing_auto_is_sent_even_over_an_object() -> None:
    assert build_tracing_update("auto", {"workflow_name": "w"}).event == _tracing_event("auto")


def test_tracing_unset_means_auto() -> None:
    assert build_tracing_update(UNSET, UNSET) == (_tracing_event("auto"), None)


def test_tracing_object_on_server_blocks_a_different_object() -> None:
    event, warning = build_tracing_update({"workflow_name": "new"}, {"workflow_name": "old"})
    assert event is None
    assert warning is not None and "cannot be changed" in warning


def test_tracing_object_on_server_blocks_disabling() -> None:
    event, warning = build_tracing_update(None, {"workflow_name": "old"})
    assert event is None and warning is not None


def test_tracing_equal_object_on_server_is_silent_noop() -> None:
    # Differs from JS (which warns and re-sends): nothing to change, nothing to say.
    same = {"workflow_name": "w", "group_id": "g", "metadata": {"a": 1}}
    assert build_tracing_update(dict(same), same) == (None, None)


def test_tracing_none_disables() -> None:
    assert build_tracing_update(None, None) == (_tracing_event(None), None)
    assert build_tracing_update(None, "auto") == (_tracing_event(None), None)


def test_tracing_object_sent_when_server_has_none() -> None:
    desired = {"workflow_name": "w", "group_id": "g", "metadata": {"k": "v"}}
    assert build_tracing_update(desired, None) == (_tracing_event(desired), None)
    assert build_tracing_update(desired, UNSET) == (_tracing_event(desired), None)


def test_tracing_object_sent_when_server_has_a_string() -> None:
    assert build_tracing_update({"workflow_name": "w"}, "auto") == (
        _tracing_event({"workflow_name": "w"}),
        None,
    )


def test_tracing_camel_case_keys_and_bad_values() -> None:
    assert build_tracing_update(
        {"workflowName": "w", "groupId": "g"}, None
    ).event == _tracing_event({"workflow_name": "w", "group_id": "g"})
    with pytest.raises(UserError):
        build_tracing_update("enabled", None)


# --- reading a server session back -----------------------------------------------------------

SESSION_UPDATED = {
    "type": "session.updated",
    "event_id": "event_1",
    "session": {
        "type": "realtime",
        "audio": {
            "input": {
                "format": {"type": "audio/pcmu"},
                "turn_detection": {"type": "server_vad", "interrupt_response": False},
            },
            "output": {"format": {"type": "audio/pcm", "rate": 24000}},
        },
    },
}


def test_session_formats_from_event_and_session() -> None:
    assert session_input_format(SESSION_UPDATED) == PCMU
    assert session_output_format(SESSION_UPDATED) == PCM
    assert session_input_format(SESSION_UPDATED["session"]) == PCMU
    assert session_output_format({"type": "realtime"}) is None
    assert session_input_format({"input_audio_format": "g711_alaw"}) == PCMA
    assert session_output_format({"output_audio_format": "g711_ulaw"}) == PCMU
    assert session_output_format("garbage") is None


@pytest.mark.parametrize(
    ("session", "expected"),
    [
        (SESSION_UPDATED, False),
        ({"audio": {"input": {"turn_detection": None}}}, False),
        ({"audio": {"input": {"turn_detection": {"type": "semantic_vad"}}}}, True),
        (
            {
                "audio": {
                    "input": {"turn_detection": {"type": "server_vad", "interruptResponse": True}}
                }
            },
            True,
        ),
        ({"audio": {"input": {}}}, True),
        ({}, True),
        ({"turn_detection": {"type": "server_vad", "interrupt_response": False}}, False),
        ({"turn_detection": None}, False),
    ],
)
def test_interrupt_response_enabled(session: dict[str, Any], expected: bool) -> None:
    assert interrupt_response_enabled(session) is expected


def test_unset_sentinel_behaviour() -> None:
    import pickle

    assert repr(UNSET) == "UNSET" and not UNSET
    assert copy.deepcopy(UNSET) is UNSET and pickle.loads(pickle.dumps(UNSET)) is UNSET
    assert cfg.UnsetType() is UNSET
