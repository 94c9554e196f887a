"""POST /v1/realtime/calls with real aiortc peer connections over loopback: both SDP flows, the
session over the oai-events channel, caller audio to the VAD, paced reply audio on the track,
output_audio_buffer events, the call registry, and every malformed request."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import numpy as np
import pytest
from emutest import connect, user_text
from realtime_transport_emulator import Emulator
from rtcpeer import Caller, speech48

pytest.importorskip("aiortc")

TEST_KEY = "sk-test"


@pytest.fixture(autouse=True)
def loopback_ice(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """aioice leaves 127.0.0.1 out of host candidates: pin the caller's to loopback (tests only)."""
    import aioice.ice

    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])
    yield


def calls_url(emulator: Emulator) -> str:
    return f"{emulator.base_url}/realtime/calls"


async def ephemeral_key(emulator: Emulator, session: dict[str, object]) -> str:
    async with httpx.AsyncClient(timeout=5) as http:
        response = await http.post(
            f"{emulator.base_url}/realtime/client_secrets",
            json={"session": session},
            headers={"Authorization": f"Bearer {TEST_KEY}"},
        )
    assert response.status_code == 200
    value: str = response.json()["value"]
    return value


async def test_ephemeral_key_flow_text_turn(emulator: Emulator) -> None:
    key = await ephemeral_key(emulator, {"type": "realtime", "instructions": "from the key"})
    caller = Caller()
    try:
        response = await caller.connect(calls_url(emulator), key)
        assert response.headers["content-type"] == "application/sdp"
        assert "a=candidate:" in response.text and "127.0.0.1" in response.text
        created = await caller.until("session.created")
        assert created["session"]["instructions"] == "from the key"
        call_id = response.headers["location"].rsplit("/", 1)[-1]
        assert call_id.startswith("rtc_") and call_id in emulator.calls
        caller.send(
            {
                "type": "session.update",
                "session": {"type": "realtime", "output_modalities": ["text"]},
            }
        )
        await caller.until("session.updated")
        caller.send(
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": "hello"}],
                },
            }
        )
        caller.send({"type": "response.create"})
        done = await caller.until("response.done")
        assert done["response"]["status"] == "completed"
        assert "response.output_text.delta" in caller.types()
        record = emulator.connections[0]
        assert record.call_id == call_id and record.auth == "ephemeral"
        assert [e["type"] for e in record.client_events][:1] == ["session.update"]
    finally:
        await caller.close()


async def test_unified_multipart_flow_and_call_id_attach(emulator: Emulator) -> None:
    caller = Caller()
    try:
        session = {"type": "realtime", "instructions": "unified", "output_modalities": ["text"]}
        response = await caller.connect(calls_url(emulator), TEST_KEY, session=session)
        created = await caller.until("session.created")
        assert created["session"]["instructions"] == "unified"
        call_id = response.headers["location"].rsplit("/", 1)[-1]
        url = emulator.realtime_url(None, call_id=call_id)
        async with connect(emulator, url=url, skip_created=False) as sideband:
            attached = await sideband.until("session.created")
            assert attached[-1]["session"]["instructions"] == "unified"
            # the sideband drives the call's own session; both see the same events
            await sideband.send(user_text("from the server"))
            await sideband.send({"type": "response.create"})
            mirrored = await sideband.until("response.done")
            on_channel = await caller.until("response.done")
            assert mirrored[-1]["response"]["id"] == on_channel["response"]["id"]
            assert mirrored[-1]["response"]["status"] == "completed"
        await caller.close()
        await emulator.connections[0].wait_closed(timeout=10)
        assert call_id not in emulator.calls  # ended: ?call_id= is a 404 from now on
    finally:
        await caller.close()


async def test_audio_turn_vad_reply_on_the_track_and_buffer_events() -> None:
    async with Emulator(pace="realtime") as emu:
        caller = Caller()
        try:
            await caller.connect(calls_url(emu), TEST_KEY)
            await caller.until("session.created")
            caller.send(
                {
                    "type": "session.update",
                    "session": {
                        "type": "realtime",
                        "audio": {
                            "input": {
                                "turn_detection": {"type": "server_vad", "silence_duration_ms": 300}
                            }
                        },
                    },
                }
            )
            await caller.until("session.updated")
            caller.mic.say(speech48(0.6))
            await caller.until("input_audio_buffer.speech_started")
            await caller.until("input_audio_buffer.speech_stopped")
            started = await caller.until("output_audio_buffer.started")
            stopped = await caller.until("output_audio_buffer.stopped", timeout=15)
            assert started["response_id"] == stopped["response_id"]
            types = caller.types()
            assert "response.output_audio.delta" not in types  # the audio rode RTP
            assert types.index("response.done") < types.index("output_audio_buffer.stopped")
            heard = np.concatenate(caller.received_audio).astype(np.float64)
            assert np.sqrt(np.mean(heard**2)) > 50, "the reply track carried no audio"
        finally:
            await caller.close()


async def test_clear_mid_reply_drops_unplayed_audio() -> None:
    async with Emulator(pace="realtime") as emu:
        caller = Caller()
        try:
            await caller.connect(calls_url(emu), TEST_KEY)
            await caller.until("session.created")
            caller.send({"type": "response.create"})
            started = await caller.until("output_audio_buffer.started")
            await asyncio.sleep(0.2)
            caller.send({"type": "response.cancel"})
            caller.send({"type": "output_audio_buffer.clear"})
            cleared = await caller.until("output_audio_buffer.cleared")
            assert cleared["response_id"] == started["response_id"]
            done = await caller.until("response.done")
            assert done["response"]["status"] == "cancelled"
            await asyncio.sleep(0.3)  # frames in flight drain
            before = len(caller.received_audio)
            await asyncio.sleep(0.4)
            tail = np.concatenate(caller.received_audio[before:]).astype(np.float64)
            assert np.sqrt(np.mean(tail**2)) < 20, "reply audio kept playing after the clear"
            assert "output_audio_buffer.stopped" not in caller.types()
        finally:
            await caller.close()


async def test_call_ends_when_the_caller_hangs_up(emulator: Emulator) -> None:
    caller = Caller()
    await caller.connect(calls_url(emulator), TEST_KEY)
    await caller.until("session.created")
    await caller.close()
    record = emulator.connections[0]
    assert await record.wait_closed(timeout=10) == 1000


async def test_official_openai_client_calls_create(emulator: Emulator) -> None:
    from openai import AsyncOpenAI

    caller = Caller()
    try:
        sdp = await caller.offer()
        client = AsyncOpenAI(api_key=TEST_KEY, base_url=emulator.base_url)
        raw = await client.realtime.calls.with_raw_response.create(
            sdp=sdp, session={"type": "realtime", "instructions": "from openai-python"}
        )
        assert raw.status_code == 201
        assert raw.headers["location"].startswith("/v1/realtime/calls/rtc_")
        answer = raw.http_response.text
        await caller.pc.setRemoteDescription(
            __import__("aiortc").RTCSessionDescription(sdp=answer, type="answer")
        )
        await asyncio.wait_for(caller.opened.wait(), 10)
        created = await caller.until("session.created")
        assert created["session"]["instructions"] == "from openai-python"
        await client.close()
    finally:
        await caller.close()


# -- malformed requests: the API's error shape, a 4xx, never a hang ---------------------------


async def post(emulator: Emulator, **kwargs: object) -> httpx.Response:
    headers = {"Authorization": f"Bearer {TEST_KEY}", **kwargs.pop("headers", {})}  # type: ignore[dict-item]
    async with httpx.AsyncClient(timeout=5) as http:
        return await http.post(calls_url(emulator), headers=headers, **kwargs)  # type: ignore[arg-type]


def error_of(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    error: dict[str, object] = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["message"]
    return error


async def test_wrong_content_type_is_415(emulator: Emulator) -> None:
    response = await post(emulator, json={"sdp": "v=0"})
    assert error_of(response, 415)["code"] == "unsupported_content_type"


async def test_missing_sdp_part_is_400(emulator: Emulator) -> None:
    files = {"session": (None, json.dumps({"type": "realtime"}), "application/json")}
    error = error_of(await post(emulator, files=files), 400)
    assert error["param"] == "sdp" and error["code"] == "missing_required_parameter"


async def test_invalid_session_part_is_400(emulator: Emulator) -> None:
    caller = Caller()
    try:
        sdp = await caller.offer()
        files = {
            "sdp": (None, sdp, "application/sdp"),
            "session": (None, json.dumps({"type": "realtime", "voice": "x"}), "application/json"),
        }
        error_of(await post(emulator, files=files), 400)
        files["session"] = (None, "{not json", "application/json")
        assert error_of(await post(emulator, files=files), 400)["code"] == "invalid_json"
    finally:
        await caller.close()


@pytest.mark.parametrize(
    "sdp",
    [
        "hello",
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n",
        "v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nnonsense\r\n",
    ],
)
async def test_invalid_sdp_is_400(emulator: Emulator, sdp: str) -> None:
    response = await post(emulator, content=sdp, headers={"Content-Type": "application/sdp"})
    assert error_of(response, 400)["code"] == "invalid_offer"
    assert emulator.calls == {}


async def test_bad_key_is_401_and_not_echoed(emulator: Emulator) -> None:
    response = await post(
        emulator,
        content="v=0\r\n",
        headers={"Content-Type": "application/sdp", "Authorization": "Bearer nope-secret-123"},
    )
    assert response.status_code == 401
    assert "nope-secret-123" not in response.text
