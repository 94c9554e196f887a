"""Connect flows and connect failures against the emulator's calls endpoint, over real peer
connections on loopback. Every failure says which step failed, leaves status ``disconnected``,
stops the track the transport created, closes the peer connection and never shows the key."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from aiortc import RTCPeerConnection
from realtime_transport.errors import ConnectTimeoutError
from realtime_transport_emulator import Emulator
from realtime_transport_emulator.net.routing import HttpRequest, HttpResponse
from realtime_transport_webrtc import (
    OpenAIRealtimeWebRTC,
    WebRTCAuthenticationError,
    WebRTCConnectError,
)

KEY = "sk-test-webrtc-SECRET-42"
TIMEOUT = 15


def calls_url(emulator: Emulator) -> str:
    return f"{emulator.base_url}/realtime/calls"


async def mint(emulator: Emulator, session: dict[str, Any]) -> str:
    async with httpx.AsyncClient(timeout=5) as http:
        response = await http.post(
            f"{emulator.base_url}/realtime/client_secrets",
            json={"session": session},
            headers={"Authorization": f"Bearer {KEY}"},
        )
    value: str = response.json()["value"]
    return value


class Captured:
    """A change_peer_connection hook that remembers the connection (to check it was closed)."""

    def __init__(self) -> None:
        self.pcs: list[Any] = []

    def __call__(self, pc: Any) -> None:
        self.pcs.append(pc)


async def test_ephemeral_key_flow(emulator: Emulator) -> None:
    key = await mint(emulator, {"type": "realtime", "instructions": "minted"})
    transport = OpenAIRealtimeWebRTC(base_url=emulator.base_url, audio_sink=lambda pcm: None)
    states: list[str] = []
    transport.on("connection_change", states.append)
    await asyncio.wait_for(transport.connect(api_key=key), TIMEOUT)
    try:
        assert transport.status == "connected" and states == ["connecting", "connected"]
        record = emulator.connections[0]
        assert record.auth == "ephemeral"
        assert transport.call_id is not None and transport.call_id == record.call_id
        assert transport.server_session["instructions"] == "minted"  # the key's session
        assert record.client_types()[0] == "session.update"
    finally:
        await transport.close()
    assert transport.call_id is None and states[-1] == "disconnected"


async def test_standard_key_unified_flow_sends_the_session(emulator: Emulator) -> None:
    transport = OpenAIRealtimeWebRTC(base_url=emulator.base_url, audio_sink=lambda pcm: None)
    config = {"instructions": "unified flow", "output_modalities": ["text"]}
    await asyncio.wait_for(transport.connect(api_key=KEY, initial_session_config=config), TIMEOUT)
    try:
        record = emulator.connections[0]
        assert record.auth == "api_key"
        created = next(e for e in record.server_events if e["type"] == "session.created")
        # the multipart session part applied before the data channel opened
        assert created["session"]["instructions"] == "unified flow"
        transport.send_message("hi")
        done = asyncio.get_running_loop().create_future()
        transport.on("turn_done", lambda e: done.done() or done.set_result(e))
        assert (await asyncio.wait_for(done, 5)).status == "completed"
    finally:
        await transport.close()


async def test_session_updated_timeout_falls_back_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # delay every server event so the ack misses the short timeout
    async with Emulator(faults="delay_ms:400") as emu:
        transport = OpenAIRealtimeWebRTC(
            base_url=emu.base_url, audio_sink=lambda pcm: None, session_updated_timeout=0.2
        )
        with caplog.at_level(logging.WARNING, "realtime_transport.webrtc"):
            await asyncio.wait_for(transport.connect(api_key=KEY), TIMEOUT)
        assert transport.status == "connected"
        assert "no session.updated" in caplog.text
        await transport.close()


async def test_change_peer_connection_can_replace_the_connection(emulator: Emulator) -> None:
    replacement = RTCPeerConnection()
    seen: list[Any] = []

    async def hook(pc: Any) -> Any:
        seen.append(pc)
        return replacement

    transport = OpenAIRealtimeWebRTC(
        base_url=emulator.base_url, audio_sink=lambda pcm: None, change_peer_connection=hook
    )
    await asyncio.wait_for(transport.connect(api_key=KEY), TIMEOUT)
    try:
        assert transport.peer_connection is replacement
        assert seen[0] is not replacement and seen[0].connectionState == "closed"
        assert replacement.connectionState == "connected"
    finally:
        await transport.close()
    assert replacement.connectionState == "closed"


# -- failures ---------------------------------------------------------------------------------


async def failed_connect(
    url: str, key: str = KEY, *, expect: Any = WebRTCConnectError, **options: Any
) -> tuple[Exception, OpenAIRealtimeWebRTC, Captured, list[str]]:
    captured = Captured()
    transport = OpenAIRealtimeWebRTC(
        audio_sink=lambda pcm: None, change_peer_connection=captured, **options
    )
    states: list[str] = []
    errors: list[Any] = []
    transport.on("connection_change", states.append)
    transport.on("error", errors.append)
    with pytest.raises(expect) as info:
        await asyncio.wait_for(transport.connect(api_key=key, url=url), TIMEOUT)
    assert transport.status == "disconnected" and states[-1] == "disconnected"
    assert transport.peer_connection is None and transport.call_id is None
    for pc in captured.pcs:
        assert pc.connectionState == "closed"
        for sender in pc.getSenders():
            assert sender.track is None or sender.track.readyState == "ended"
    for text in (str(info.value), repr(info.value), *(e.message for e in errors)):
        assert key not in text
    assert errors and errors[-1].code == "connect_failed"
    return info.value, transport, captured, states


async def test_bad_key_is_an_authentication_error_at_the_call_request(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "sk-wrong-SECRET-0123456789"
    async with Emulator(api_keys={KEY}) as emu:
        error, *_ = await failed_connect(calls_url(emu), secret, expect=WebRTCAuthenticationError)
    assert isinstance(error, WebRTCConnectError)
    assert error.step == "call_request" and error.status == 401
    assert "HTTP 401" in str(error)
    assert secret not in caplog.text


async def test_http_error_with_the_api_error_body(emulator: Emulator) -> None:
    error, *_ = await failed_connect(f"{emulator.base_url}/realtime/nope")
    assert isinstance(error, WebRTCConnectError)
    assert error.step == "call_request" and error.status == 404
    assert "Unknown path" in str(error)


def rewriting(transform: Callable[[str], str]) -> Callable[[Emulator], None]:
    """A test surface in front of the real calls endpoint that edits the answer SDP."""

    def install(emulator: Emulator) -> None:
        async def handler(request: HttpRequest) -> HttpResponse:
            async with httpx.AsyncClient(timeout=10) as http:
                real = await http.post(
                    calls_url(emulator),
                    content=request.body,
                    headers={k: v for k, v in request.headers if k.lower() != "host"},
                )
            if real.status_code != 201:
                return HttpResponse(real.status_code, real.content)
            return HttpResponse(
                201,
                transform(real.text).encode(),
                "application/sdp",
                headers=(("Location", real.headers["location"]),),
            )

        emulator.router.add("POST", "/test/rewrite", handler)

    return install


async def test_answer_that_is_not_sdp() -> None:
    async with Emulator(surfaces=[rewriting(lambda sdp: "<html>proxy error</html>")]) as emu:
        error, *_ = await failed_connect(f"{emu.http_url}/test/rewrite")
    assert isinstance(error, WebRTCConnectError) and error.step == "answer"


async def test_malformed_answer_sdp() -> None:
    def mangle(sdp: str) -> str:
        return re.sub(r"a=fingerprint:[^\r\n]*\r\n", "", sdp).replace("a=ice-ufrag", "a=x-ufrag")

    async with Emulator(surfaces=[rewriting(mangle)]) as emu:
        error, *_ = await failed_connect(f"{emu.http_url}/test/rewrite")
    assert isinstance(error, WebRTCConnectError) and error.step == "answer"


async def test_ice_never_connecting() -> None:
    def no_candidates(sdp: str) -> str:
        return re.sub(r"a=candidate:[^\r\n]*\r\n", "", sdp)

    async with Emulator(surfaces=[rewriting(no_candidates)]) as emu:
        error, *_ = await failed_connect(f"{emu.http_url}/test/rewrite")
    assert isinstance(error, WebRTCConnectError) and error.step == "ice"
    assert "ICE failed" in str(error)


async def test_dtls_never_completing() -> None:
    def wrong_fingerprint(sdp: str) -> str:
        return re.sub(
            r"(a=fingerprint:sha-256 )([0-9A-F:]+)",
            lambda m: m.group(1) + ":".join(["AB"] * 32),
            sdp,
        )

    async with Emulator(surfaces=[rewriting(wrong_fingerprint)]) as emu:
        error, *_ = await failed_connect(f"{emu.http_url}/test/rewrite")
    assert isinstance(error, WebRTCConnectError) and error.step == "dtls"


async def test_data_channel_never_opening() -> None:
    """A server that answers and completes ICE and DTLS but never runs SCTP."""
    from aiortc import RTCConfiguration, RTCSessionDescription
    from realtime_transport_emulator.surfaces.webrtc.hosts import pinned_host_addresses

    servers: list[Any] = []

    def install(emulator: Emulator) -> None:
        async def handler(request: HttpRequest) -> HttpResponse:
            pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
            servers.append(pc)
            await pc.setRemoteDescription(
                RTCSessionDescription(sdp=request.body.decode(), type="offer")
            )
            with pinned_host_addresses("127.0.0.1"):
                await pc.setLocalDescription(await pc.createAnswer())

            async def ignore(data: bytes) -> None:
                return None

            pc.sctp._handle_data = ignore  # SCTP packets from the caller go nowhere
            return HttpResponse(201, pc.localDescription.sdp.encode(), "application/sdp")

        emulator.router.add("POST", "/test/no-sctp", handler)

    async with Emulator(surfaces=[install]) as emu:
        error, *_ = await failed_connect(
            f"{emu.http_url}/test/no-sctp",
            expect=(ConnectTimeoutError, WebRTCConnectError),  # type: ignore[arg-type]
            connect_timeout=2.0,
        )
        for pc in servers:
            await pc.close()
    if isinstance(error, WebRTCConnectError):
        assert error.step == "data_channel"
    else:
        assert "data channel never opened" in str(error)


async def test_calls_endpoint_unreachable() -> None:
    error, *_ = await failed_connect("http://127.0.0.1:9/v1/realtime/calls")
    assert isinstance(error, WebRTCConnectError) and error.step == "call_request"
