"""Auth at the upgrade, subprotocol keys, beta clients, client secrets, calls, plain HTTP."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import httpx
import pytest
from emutest import connect, user_text
from realtime_transport_emulator import Emulator
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import InvalidStatus


async def rejected(emulator: Emulator, url: str | None = None, **kwargs: Any) -> InvalidStatus:
    with pytest.raises(InvalidStatus) as caught:
        async with ws_connect(url or emulator.realtime_url(), open_timeout=5, **kwargs):
            pass
    return caught.value


async def test_bad_and_missing_keys_get_http_401_with_a_json_body(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "not-a-real-key-1234567"
    bad = await rejected(emulator, additional_headers={"Authorization": f"Bearer {secret}"})
    missing = await rejected(emulator)
    wrong_scheme = await rejected(emulator, additional_headers={"Authorization": "Basic abc"})
    assert bad.response.status_code == 401
    body = json.loads(bad.response.body)
    assert body["error"]["code"] == "invalid_api_key"
    assert body["error"]["type"] == "invalid_request_error"
    assert secret not in bad.response.body.decode()
    assert missing.response.status_code == wrong_scheme.response.status_code == 401
    assert "You didn't provide an API key" in json.loads(missing.response.body)["error"]["message"]
    server_side = [r for r in caplog.records if not r.name.startswith("websockets.client")]
    assert server_side and not any(secret in r.getMessage() for r in server_side)
    assert emulator.connections == []


async def test_configured_keys_only(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with Emulator(api_keys={"sk-one", "custom-key"}) as emu:
        refused = await rejected(emu, additional_headers={"Authorization": "Bearer sk-two"})
        assert refused.response.status_code == 401
        assert "sk-two" not in refused.response.body.decode()
        async with connect(emu, key="custom-key") as client:
            await client.send(user_text("hi"))
            await client.until("conversation.item.done")
    server_side = [r.getMessage() for r in caplog.records if r.name != "websockets.client"]
    assert any("Authorization: Bearer ***" in m for m in server_side)
    assert not any("custom-key" in m for m in server_side)


async def test_subprotocol_key_is_accepted_and_answered_with_realtime(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    protocols = ["realtime", "openai-insecure-api-key.sk-browser", "openai-agents-sdk.0.1.0"]
    async with connect(emulator, key=None, subprotocols=protocols) as client:
        assert client.ws.subprotocol == "realtime"
    record = emulator.connections[0]
    assert record.auth_via == "subprotocol" and record.subprotocol == "realtime"
    assert "sk-browser" not in repr(record)
    server_side = [r for r in caplog.records if not r.name.startswith("websockets.client")]
    assert any("openai-insecure-api-key.***" in r.getMessage() for r in server_side)
    assert not any("sk-browser" in r.getMessage() for r in server_side)
    bad = await rejected(emulator, subprotocols=["realtime", "openai-insecure-api-key.nope"])
    assert bad.response.status_code == 401


@pytest.mark.parametrize("how", ["header", "subprotocol"])
async def test_beta_clients_get_the_version_mismatch_error(emulator: Emulator, how: str) -> None:
    kwargs: dict[str, Any] = (
        {"additional_headers": {"OpenAI-Beta": "realtime=v1"}}
        if how == "header"
        else {"subprotocols": ["realtime", "openai-beta.realtime-v1"]}
    )
    async with connect(emulator, skip_created=False, **kwargs) as client:
        event = await client.recv()
        await client.ws.wait_closed()
    assert event["type"] == "error"
    assert event["error"]["message"] == (
        "API version mismatch. You cannot start a Realtime beta session with a GA client secret."
    )
    assert client.ws.protocol.close_code == 1008


async def test_client_secret_flow() -> None:
    async with Emulator(clock=lambda: 1_000_000.75) as emulator:  # a fixed, fractional clock
        await _client_secret_flow(emulator)


async def _client_secret_flow(emulator: Emulator) -> None:
    from openai.types.realtime import ClientSecretCreateResponse

    async with httpx.AsyncClient(base_url=emulator.base_url) as http:
        response = await http.post(
            "/realtime/client_secrets",
            headers={"Authorization": "Bearer sk-test"},
            json={
                "expires_after": {"anchor": "created_at", "seconds": 60},
                "session": {
                    "type": "realtime",
                    "model": "gpt-realtime-mini",
                    "instructions": "From the secret.",
                    "audio": {"output": {"voice": "cedar"}},
                },
            },
        )
    assert response.status_code == 200
    body = response.json()
    ClientSecretCreateResponse.model_validate(body)
    key = body["value"]
    assert key.startswith("ek_") and body["session"]["id"].startswith("sess_")
    assert body["expires_at"] == 1_000_060  # created_at + the 60 s asked for, whole seconds
    assert body["session"]["instructions"] == "From the secret."
    for _ in range(2):  # one secret may start several sessions
        async with connect(emulator, key=key, skip_created=False) as client:
            created = await client.recv()
    session = created["session"]
    assert session["model"] == "gpt-realtime-mini"
    assert session["instructions"] == "From the secret."
    assert session["audio"]["output"]["voice"] == "cedar"
    assert [r.auth for r in emulator.connections] == ["ephemeral", "ephemeral"]


async def test_expired_and_unknown_ephemeral_keys_are_refused() -> None:
    now = [1_000_000.0]
    async with Emulator(clock=lambda: now[0]) as emu:
        async with httpx.AsyncClient(base_url=emu.base_url) as http:
            response = await http.post(
                "/realtime/client_secrets",
                headers={"Authorization": "Bearer sk-test"},
                json={"expires_after": {"anchor": "created_at", "seconds": 10}},
            )
        key = response.json()["value"]
        assert response.json()["expires_at"] == 1_000_010
        now[0] += 11
        expired = await rejected(emu, additional_headers={"Authorization": f"Bearer {key}"})
        unknown = await rejected(emu, additional_headers={"Authorization": "Bearer ek_nope"})
    assert expired.response.status_code == unknown.response.status_code == 401
    assert "expired" in json.loads(expired.response.body)["error"]["message"]
    assert key not in expired.response.body.decode()


@pytest.mark.parametrize(
    ("headers", "body", "status", "code"),
    [
        ({}, {}, 401, None),
        (
            {"Authorization": "Bearer sk-test"},
            {"expires_after": {"anchor": "created_at", "seconds": 5}},
            400,
            "integer_below_min_value",
        ),
        (
            {"Authorization": "Bearer sk-test"},
            {"session": {"instructions": "x"}},
            400,
            "missing_required_parameter",
        ),
        (
            {"Authorization": "Bearer sk-test"},
            {"session": {"type": "realtime", "voice": "x"}},
            400,
            "unknown_parameter",
        ),
        (
            {"Authorization": "Bearer sk-test"},
            {"expires_after": {"anchor": "now"}},
            400,
            "invalid_value",
        ),
        ({"Authorization": "Bearer sk-test"}, "not json", 400, "invalid_json"),
    ],
)
async def test_client_secret_errors(
    emulator: Emulator, headers: dict[str, str], body: object, status: int, code: str | None
) -> None:
    async with httpx.AsyncClient(base_url=emulator.base_url) as http:
        if isinstance(body, str):
            response = await http.post("/realtime/client_secrets", headers=headers, content=body)
        else:
            response = await http.post("/realtime/client_secrets", headers=headers, json=body)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code and set(error) == {"message", "type", "param", "code"}


async def test_ephemeral_keys_cannot_mint_secrets(emulator: Emulator) -> None:
    async with httpx.AsyncClient(base_url=emulator.base_url) as http:
        first = await http.post(
            "/realtime/client_secrets", headers={"Authorization": "Bearer sk-test"}, json={}
        )
        key = first.json()["value"]
        second = await http.post(
            "/realtime/client_secrets", headers={"Authorization": f"Bearer {key}"}, json={}
        )
    assert second.status_code == 401


async def test_call_id_attaches_to_a_registered_call(emulator: Emulator) -> None:
    both = await rejected(
        emulator,
        emulator.realtime_url(call_id="rtc_1"),
        additional_headers={"Authorization": "Bearer sk-test"},
    )
    unknown = await rejected(
        emulator,
        emulator.realtime_url(None, call_id="rtc_missing"),
        additional_headers={"Authorization": "Bearer sk-test"},
    )
    assert both.response.status_code == 400 and unknown.response.status_code == 404
    emulator.register_call(
        "rtc_abc",
        {
            "type": "realtime",
            "object": "realtime.session",
            "id": "sess_call",
            "model": "gpt-realtime",
            "instructions": "Phone agent.",
            "output_modalities": ["audio"],
            "audio": {
                "input": {"format": {"type": "audio/pcmu"}},
                "output": {"format": {"type": "audio/pcmu"}, "voice": "alloy"},
            },
        },
    )
    async with connect(
        emulator, url=emulator.realtime_url(None, call_id="rtc_abc"), skip_created=False
    ) as client:
        created = await client.recv()
    assert created["session"]["instructions"] == "Phone agent."
    assert created["session"]["audio"]["input"]["format"] == {"type": "audio/pcmu"}
    assert emulator.connections[0].call_id == "rtc_abc"


async def test_plain_http_routes(emulator: Emulator) -> None:
    async with httpx.AsyncClient(base_url=emulator.http_url) as http:
        info = await http.get("/")
        health = await http.get("/healthz")  # same keep-alive connection
        missing = await http.get("/v1/nothing")
        wrong_method = await http.get("/v1/realtime/client_secrets")
        not_upgrade = await http.get("/v1/realtime")
    assert info.json()["websocket_url"] == emulator.ws_url
    assert health.text == "ok"
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert wrong_method.status_code == 405
    assert not_upgrade.status_code == 426


async def test_bad_query_parameters_are_refused(emulator: Emulator) -> None:
    headers = {"Authorization": "Bearer sk-test"}
    fault = await rejected(
        emulator, emulator.realtime_url(fault="explode:1"), additional_headers=headers
    )
    limit = await rejected(
        emulator, emulator.realtime_url(max_session_seconds="-1"), additional_headers=headers
    )
    intent = await rejected(
        emulator, emulator.realtime_url(None, intent="transcription"), additional_headers=headers
    )
    assert fault.response.status_code == limit.response.status_code == 400
    assert "Unknown fault 'explode'" in json.loads(fault.response.body)["error"]["message"]
    assert intent.response.status_code == 400


async def test_raw_http_expect_continue_and_pipelining(emulator: Emulator) -> None:
    reader, writer = await asyncio.open_connection(emulator.host, emulator.port)
    body = json.dumps({"session": {"type": "realtime"}}).encode()
    writer.write(
        b"POST /v1/realtime/client_secrets HTTP/1.1\r\nHost: x\r\n"
        b"Authorization: Bearer sk-test\r\nContent-Type: application/json\r\n"
        b"Expect: 100-continue\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    await writer.drain()
    interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert interim.startswith(b"HTTP/1.1 100 Continue")
    health = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    last = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    writer.write(body + health + last)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 5)  # until the server closes
    writer.close()
    assert data.count(b"HTTP/1.1 200 OK") == 3
    assert b'"value": "ek_' in data and data.endswith(b"ok")
