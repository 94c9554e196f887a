"""Automatic barge-in: the server hears the caller while the model is talking.

With ``interrupt_response`` the server cancels the response itself, so the transport only
truncates; without it the transport cancels too. Either way the assistant item is cut at what
was played, never beyond what was received.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from realtime_transport.testing import TEST_API_KEY, EmulatorDriver, Recorder, speech_like_pcm16
from realtime_transport_websocket.transport import OpenAIRealtimeWebSocket


async def _barge_in(interrupt_response: bool) -> tuple[list[dict[str, Any]], Recorder]:
    turn_detection = {"type": "server_vad", "interrupt_response": interrupt_response}
    async with EmulatorDriver(pace="realtime") as emulator:
        transport = OpenAIRealtimeWebSocket()
        recorder = Recorder(transport)
        await transport.connect(
            url=emulator.ws_url,
            api_key=TEST_API_KEY,
            initial_session_config={"audio": {"input": {"turn_detection": turn_detection}}},
        )
        await recorder.wait_for("session.updated")
        transport.send_message("tell me a long story")
        await recorder.wait_for("audio")
        await asyncio.sleep(0.3)
        speech = speech_like_pcm16(0.4)
        for start in range(0, len(speech), 4800):
            transport.send_audio(speech[start : start + 4800])
        await recorder.wait_for("audio_interrupted")
        await recorder.wait_for("conversation.item.truncated")
        events = emulator.client_events()
        await transport.close()
        return events, recorder


@pytest.mark.parametrize("interrupt_response", [True, False])
async def test_speech_started_truncates_and_cancels_only_when_the_server_does_not(
    interrupt_response: bool,
) -> None:
    events, recorder = await _barge_in(interrupt_response)
    types = [e["type"] for e in events]
    assert types.count("conversation.item.truncate") == 1
    assert ("response.cancel" in types) is (not interrupt_response)
    truncate = next(e for e in events if e["type"] == "conversation.item.truncate")
    first_audio = recorder.payloads("audio")[0]
    assert truncate["item_id"] == first_audio.item_id
    assert 250 <= truncate["audio_end_ms"] <= recorder.received_ms(first_audio.item_id)
    assert not [e for e in recorder.payloads("error") if e.source == "server"]
