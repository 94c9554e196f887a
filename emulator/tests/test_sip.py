"""SIP surface: call control endpoints, the signed webhook, and a simulated call end to end.

The application side of the end-to-end test is deliberately minimal and independent of the SIP
plugin: a webhook route on the emulator's own router that verifies with the official ``openai``
client, accepts over REST with httpx and attaches a plain ``websockets`` client by ``call_id``.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import openai
import pytest
from realtime_transport_emulator import Emulator, Reply, Rule, Script
from realtime_transport_emulator.net.routing import HttpRequest, HttpResponse
from realtime_transport_emulator.surfaces.sip import SipSimulator, sign
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

KEY = {"Authorization": "Bearer sk-test"}
SECRET = "whsec_" + base64.b64encode(b"emulator-test-secret").decode()


@pytest.fixture
async def sip_emu() -> AsyncIterator[tuple[Emulator, SipSimulator]]:
    sip = SipSimulator(webhook_secret=SECRET)
    script = Script(
        rules=[
            Rule(regex="^$", reply=Reply(text="Hello, how can I help?")),
            Rule(contains="weather", reply=Reply(text="Sunny in Paris.")),
        ]
    )
    async with Emulator(script=script, surfaces=[sip.install]) as emu:
        yield emu, sip


async def post(emu: Emulator, path: str, body: Any = None) -> httpx.Response:
    async with httpx.AsyncClient(timeout=5) as client:
        return await client.post(f"{emu.base_url}{path}", json=body, headers=KEY)


def test_the_protocols_worked_example_signs_and_verifies_with_openai(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = "whsec_dGVzdC1zZWNyZXQtMDEyMzQ1Njc4OWFiY2RlZg=="
    body = (
        b'{"object":"event","id":"evt_123","type":"realtime.call.incoming","created_at":'
        b'1700000000,"data":{"call_id":"rtc_abc","sip_headers":[{"name":"From","value":'
        b'"sip:+15551234567@example.com"}]}}'
    )
    signature = sign(secret, "wh_123", 1700000000, body)
    assert signature == "v1,ffJzFmkPzIyeR5ao86nnMCkjUL48M+LbXfVLJ9Z1GtU="
    monkeypatch.setattr("time.time", lambda: 1700000010.0)
    headers = {
        "webhook-id": "wh_123",
        "webhook-timestamp": "1700000000",
        "webhook-signature": signature,
    }
    openai.OpenAI(api_key="sk-x").webhooks.verify_signature(body, headers, secret=secret)


async def test_accept_validates_like_session_update_and_refuses_vad_tuning(
    sip_emu: tuple[Emulator, SipSimulator],
) -> None:
    emu, sip = sip_emu
    call = sip.open_call()
    path = f"/realtime/calls/{call.call_id}/accept"
    turn = {"type": "server_vad", "threshold": 0.6}
    refused = await post(
        emu, path, {"type": "realtime", "audio": {"input": {"turn_detection": turn}}}
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == (
        "Unknown parameter: 'session.audio.input.turn_detection.threshold'."
    )
    untyped = await post(emu, path, {"instructions": "hi"})
    assert untyped.status_code == 400
    assert untyped.json()["error"]["param"] == "session.type"
    beta = await post(emu, path, {"type": "realtime", "modalities": ["audio"]})
    assert beta.status_code == 400 and "modalities" in beta.json()["error"]["message"]
    assert call.state == "ringing"
    body = {
        "type": "realtime",
        "instructions": "Be a helpful phone agent.",
        "audio": {"input": {"turn_detection": {"type": "server_vad", "idle_timeout_ms": 6000}}},
    }
    accepted = await post(emu, path, body)
    assert accepted.status_code == 200 and accepted.content == b""
    assert (await post(emu, path, body)).status_code == 400  # already accepted
    url = f"{emu.ws_url}?call_id={call.call_id}"
    async with ws_connect(url, additional_headers=KEY, open_timeout=5) as ws:
        created = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert created["type"] == "session.created"
        assert created["session"]["instructions"] == "Be a helpful phone agent."
        assert created["session"]["audio"]["input"]["turn_detection"]["idle_timeout_ms"] == 6000
        assert (await post(emu, f"/realtime/calls/{call.call_id}/hangup")).status_code == 200
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is None  # a hang-up: the socket dropped, no close frame
    gone = await post(emu, path, body)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "call_not_found"
    assert "has ended" in gone.json()["error"]["message"]
    assert (await post(emu, f"/realtime/calls/{call.call_id}/hangup")).status_code == 404
    assert (await post(emu, "/realtime/calls/rtc_unknown/reject")).status_code == 404
    async with httpx.AsyncClient(timeout=5) as client:
        anonymous = await client.post(f"{emu.base_url}/realtime/calls/{call.call_id}/hangup")
    assert anonymous.status_code == 401


async def test_reject_and_refer_reach_the_emulator_with_their_bodies(
    sip_emu: tuple[Emulator, SipSimulator],
) -> None:
    emu, sip = sip_emu
    busy, declined, transferred = sip.open_call(), sip.open_call(), sip.open_call()
    assert (
        await post(emu, f"/realtime/calls/{busy.call_id}/reject", {"status_code": 486})
    ).status_code == 200
    assert (busy.state, busy.reject_status) == ("rejected", 486)
    assert (await post(emu, f"/realtime/calls/{declined.call_id}/reject")).status_code == 200
    assert declined.reject_status == 603
    path = f"/realtime/calls/{transferred.call_id}"
    early = await post(emu, f"{path}/refer", {"target_uri": "tel:+14155550123"})
    assert early.status_code == 400  # only an accepted call can be transferred
    assert (await post(emu, f"{path}/accept", {"type": "realtime"})).status_code == 200
    bad = await post(emu, f"{path}/refer", {"target_uri": "mailto:x@example.com"})
    assert bad.status_code == 400
    missing = await post(emu, f"{path}/refer", {})
    assert missing.json()["error"]["code"] == "missing_required_parameter"
    assert (await post(emu, f"{path}/refer", {"target_uri": "tel:+14155550123"})).status_code == 200
    assert (transferred.state, transferred.refer_target) == ("referred", "tel:+14155550123")
    assert ("reject", busy.call_id, {"status_code": 486}) in sip.requests
    assert ("refer", transferred.call_id, {"target_uri": "tel:+14155550123"}) in sip.requests
    url = f"{emu.ws_url}?call_id={transferred.call_id}"
    async with httpx.AsyncClient(timeout=5) as client:  # the ended call cannot be attached
        upgrade = await client.get(
            url.replace("ws://", "http://"),
            headers={
                **KEY,
                "Connection": "Upgrade",
                "Upgrade": "websocket",
                "Sec-WebSocket-Version": "13",
                "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
            },
        )
    assert upgrade.status_code == 404


class MiniApp:
    """The smallest correct webhook handler: verify, answer 200, accept and attach later."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.client = openai.AsyncOpenAI(api_key="sk-test", base_url=emu.base_url)
        self.statuses: list[int] = []
        self.seen: set[str] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.events: list[dict[str, Any]] = []

    async def webhook(self, request: HttpRequest) -> HttpResponse:
        headers = dict(request.headers)
        try:
            event = self.client.webhooks.unwrap(request.body, headers, secret=SECRET)
        except openai.InvalidWebhookSignatureError:
            return HttpResponse.json(400, {"error": "bad signature"})
        if headers["webhook-id"] in self.seen:
            return HttpResponse.json(200, {"duplicate": True})
        self.seen.add(headers["webhook-id"])
        assert event.type == "realtime.call.incoming"
        task = asyncio.get_running_loop().create_task(self.answer(event.data.call_id))
        self.tasks.add(task)
        return HttpResponse.json(200, {})

    async def answer(self, call_id: str) -> None:
        await self.client.realtime.calls.accept(
            call_id,
            type="realtime",
            instructions="Greet the caller.",
            audio={"input": {"transcription": {"model": "gpt-4o-mini-transcribe"}}},
        )
        url = f"{self.emu.ws_url}?call_id={call_id}"
        async with ws_connect(url, additional_headers=KEY, open_timeout=5) as ws:
            await ws.send(json.dumps({"type": "response.create"}))
            try:
                async for message in ws:
                    self.events.append(json.loads(message))
            except ConnectionClosed:
                pass


async def test_a_simulated_call_rings_the_app_and_records_what_the_model_said(
    sip_emu: tuple[Emulator, SipSimulator],
) -> None:
    emu, sip = sip_emu
    app = MiniApp(emu)
    emu.router.add("POST", "/app/webhook", app.webhook)
    lines: list[str] = []
    result = await sip.call(
        f"{emu.http_url}/app/webhook",
        caller_says=["What's the weather in Paris?"],
        duplicate_delivery=True,
        dtmf="1#",
        log=lines.append,
        turn_timeout=10,
    )
    await asyncio.wait_for(asyncio.gather(*app.tasks), 5)
    assert [d.status for d in result.deliveries] == [200, 200]
    assert result.deliveries[0].webhook_id == result.deliveries[1].webhook_id
    assert result.answered and result.state == "ended" and result.ended_by == "caller"
    assert result.said == ["Hello, how can I help?", "Sunny in Paris."]
    assert result.model_audio_ms > 500
    types = [event["type"] for event in app.events]
    assert "response.output_audio.delta" not in types  # the audio rides the phone line
    assert (
        types.count("output_audio_buffer.started")
        == types.count("output_audio_buffer.stopped")
        == 2
    )
    assert "input_audio_buffer.speech_started" in types
    transcripts = [
        e["transcript"] for e in app.events if e["type"].endswith("transcription.completed")
    ]
    assert transcripts == ["What's the weather in Paris?"]
    dtmf = [e["event"] for e in app.events if e["type"] == "input_audio_buffer.dtmf_event_received"]
    assert dtmf == ["1", "#"]
    assert any("agent said: 'Sunny in Paris.'" in line for line in lines)


async def test_a_badly_signed_call_is_refused_and_never_answered(
    sip_emu: tuple[Emulator, SipSimulator],
) -> None:
    emu, sip = sip_emu
    app = MiniApp(emu)
    emu.router.add("POST", "/app/webhook", app.webhook)
    result = await sip.call(f"{emu.http_url}/app/webhook", bad_signature=True, accept_timeout=0.5)
    assert [d.status for d in result.deliveries] == [400]
    assert not result.answered and result.state == "ended" and result.said == []
    assert (
        await post(emu, f"/realtime/calls/{result.call_id}/accept", {"type": "realtime"})
    ).status_code == 404


async def test_an_unreachable_app_is_reported_without_waiting_for_an_accept(
    sip_emu: tuple[Emulator, SipSimulator],
) -> None:
    import socket

    _emu, sip = sip_emu
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    loop = asyncio.get_running_loop()
    started = loop.time()
    result = await sip.call(f"http://127.0.0.1:{port}/webhook", accept_timeout=30)
    assert loop.time() - started < 10  # did not sit out the 30 s accept timeout
    (delivery,) = result.deliveries
    assert delivery.status is None and delivery.error and "Connect" in delivery.error
    assert not result.answered and result.state == "ended" and result.ended_by == "caller"
