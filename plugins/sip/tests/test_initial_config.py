"""build_initial_config: the accept body is what the session sends at connect (reference §5.3)."""

from __future__ import annotations

import copy
import logging
from typing import Any

import pytest
from conftest import KEY, SipEmulator
from realtime_transport import RealtimeAgent, RealtimeSession, function_tool
from realtime_transport.errors import UserError
from realtime_transport_sip import CallControlError, OpenAIRealtimeSIP, SipCallControl


@function_tool
def get_weather(city: str) -> str:
    """Weather for a city."""
    return f"{city}: sunny"


AGENT = RealtimeAgent(
    "Receptionist", instructions="Answer the phone.", tools=[get_weather], voice="cedar"
)
OPTIONS: dict[str, Any] = {
    "model": "gpt-realtime",
    "config": {
        "audio": {
            "input": {
                "turn_detection": {
                    "type": "server_vad",
                    "threshold": 0.6,
                    "silence_duration_ms": 400,
                    "idle_timeout_ms": 7000,
                }
            },
            "output": {"speed": 1.1},
        }
    },
    "workflow_name": "phone",
}


async def test_the_accept_body_equals_the_sessions_first_update(sip_emu: SipEmulator) -> None:
    payload = await OpenAIRealtimeSIP.build_initial_config(AGENT, OPTIONS)
    call = sip_emu.sip.accepted_call(payload)
    session = RealtimeSession(AGENT, transport="sip", api_key=KEY, **OPTIONS)
    await session.connect(call_id=call.call_id, url=sip_emu.emulator.ws_url)
    update = await sip_emu.emulator.wait_for_client_event("session.update")
    sent = copy.deepcopy(update["session"])
    turn = sent["audio"]["input"]["turn_detection"]
    assert (turn["threshold"], turn["silence_duration_ms"]) == (0.6, 400)  # the session sends them
    del turn["threshold"], turn["silence_duration_ms"]  # ...the accept body may not
    assert payload == {**sent, "tracing": {"workflow_name": "phone"}}
    assert payload["instructions"] == "Answer the phone."
    assert payload["audio"]["output"]["voice"] == "cedar"
    assert payload["tools"][0]["name"] == "get_weather"
    assert payload["model"] == "gpt-realtime"
    assert call.session is not None and call.session["instructions"] == "Answer the phone."
    await session.close()


async def test_refused_vad_fields_are_left_out_in_either_spelling(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "realtime_transport.sip")
    camel = {
        "config": {
            "audio": {
                "input": {
                    "turnDetection": {
                        "type": "server_vad",
                        "threshold": 0.4,
                        "prefixPaddingMs": 200,
                        "silenceDurationMs": 300,
                        "idleTimeoutMs": 5000,
                        "interruptResponse": False,
                    }
                }
            }
        }
    }
    payload = await OpenAIRealtimeSIP.build_initial_config(AGENT, camel)
    assert payload["audio"]["input"]["turn_detection"] == {
        "type": "server_vad",
        "idle_timeout_ms": 5000,
        "interrupt_response": False,
    }
    assert "threshold, prefix_padding_ms, silence_duration_ms" in caplog.text
    snake = {"audio": {"input": {"turn_detection": {"type": "server_vad", "prefix_padding_ms": 1}}}}
    overridden = await OpenAIRealtimeSIP.build_initial_config(AGENT, {"config": snake})
    assert overridden["audio"]["input"]["turn_detection"] == {"type": "server_vad"}


async def test_overrides_win_and_defaults_match_the_session() -> None:
    payload = await OpenAIRealtimeSIP.build_initial_config(
        AGENT, OPTIONS, {"audio": {"output": {"speed": 1.4}}}
    )
    assert payload["audio"]["output"]["speed"] == 1.4
    plain = await OpenAIRealtimeSIP.build_initial_config(RealtimeAgent("x"))
    assert plain["type"] == "realtime" and "model" not in plain
    assert plain["audio"]["input"]["turn_detection"] == {"type": "semantic_vad"}
    assert plain["audio"]["input"]["transcription"] == {"model": "gpt-4o-mini-transcribe"}
    assert plain["tracing"] == "auto"
    with pytest.raises(UserError, match="transport"):
        await OpenAIRealtimeSIP.build_initial_config(AGENT, {"transport": "websocket"})
    with pytest.raises(UserError, match="RealtimeSession"):
        await OpenAIRealtimeSIP.build_initial_config(AGENT, {"not_an_option": 1})


async def test_the_emulator_accepts_the_body_and_refuses_the_raw_config(
    sip_emu: SipEmulator,
) -> None:
    control = SipCallControl(api_key=KEY, base_url=sip_emu.emulator.base_url, max_retries=0)
    good, bad = sip_emu.sip.open_call(), sip_emu.sip.open_call()
    await control.accept(good.call_id, await OpenAIRealtimeSIP.build_initial_config(AGENT, OPTIONS))
    assert good.state == "accepted"
    raw = {"type": "realtime", **OPTIONS["config"]}
    with pytest.raises(CallControlError) as refused:
        await control.accept(bad.call_id, raw)
    assert refused.value.status == 400
    assert "turn_detection.threshold" in str(refused.value)
    assert bad.state == "ringing"
