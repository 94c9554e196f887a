"""SipCallControl on the official openai client, against the emulator's call endpoints."""

from __future__ import annotations

import asyncio
import socket

import pytest
from conftest import KEY, SipEmulator
from openai import AsyncOpenAI
from realtime_transport.errors import UserError
from realtime_transport_sip import CallControlError, CallGoneError, SipCallControl


def control_for(sip_emu: SipEmulator) -> SipCallControl:
    return SipCallControl(api_key=KEY, base_url=sip_emu.emulator.base_url, max_retries=0)


async def test_reject_and_refer_reach_the_emulator_with_the_right_bodies(
    sip_emu: SipEmulator,
) -> None:
    control = control_for(sip_emu)
    busy, declined, transferred = (sip_emu.sip.open_call() for _ in range(3))
    await control.reject(busy.call_id, status_code=486)
    await control.reject(declined.call_id)
    await control.accept(transferred.call_id, {"type": "realtime", "instructions": "hi"})
    await control.refer(transferred.call_id, "tel:+14155550123")
    assert list(sip_emu.sip.requests) == [
        ("reject", busy.call_id, {"status_code": 486}),
        ("reject", declined.call_id, {}),
        ("accept", transferred.call_id, {"type": "realtime", "instructions": "hi"}),
        ("refer", transferred.call_id, {"target_uri": "tel:+14155550123"}),
    ]
    assert (busy.state, busy.reject_status) == ("rejected", 486)
    assert (declined.state, declined.reject_status) == ("rejected", 603)
    assert (transferred.state, transferred.refer_target) == ("referred", "tel:+14155550123")
    with pytest.raises(UserError, match="tel: or sip:"):
        await control.refer(transferred.call_id, "+14155550123")


async def test_accept_of_an_ended_call_is_call_gone_and_leaks_nothing(
    sip_emu: SipEmulator,
) -> None:
    control = control_for(sip_emu)
    call = sip_emu.sip.open_call()
    await control.hangup(call.call_id)
    before = {t for t in asyncio.all_tasks() if not t.done()}
    with pytest.raises(CallGoneError) as gone:
        await control.accept(call.call_id, {"type": "realtime"})
    assert gone.value.call_id == call.call_id and gone.value.status == 404
    assert "hung up" in str(gone.value) and KEY not in str(gone.value)
    assert isinstance(gone.value, CallControlError)
    with pytest.raises(CallGoneError):
        await control.hangup("rtc_never_existed")
    await asyncio.sleep(0.05)
    assert {t for t in asyncio.all_tasks() if not t.done()} <= before | {asyncio.current_task()}
    assert sip_emu.emulator.connections == []  # nothing attached to the ended call


async def test_a_caller_configured_client_is_used_as_is(sip_emu: SipEmulator) -> None:
    client = AsyncOpenAI(api_key=KEY, base_url=sip_emu.emulator.base_url, max_retries=0, timeout=3)
    control = SipCallControl(client)
    assert control.client is client
    call = sip_emu.sip.open_call()
    await control.accept(call.call_id, {"type": "realtime"})
    assert call.state == "accepted"
    with pytest.raises(UserError, match="'realtime' session"):
        await control.accept(call.call_id, {"type": "transcription"})


async def test_missing_key_and_unreachable_api_are_clear_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(UserError, match="OPENAI_API_KEY"):
        SipCallControl()
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    control = SipCallControl(api_key=KEY, base_url=f"http://127.0.0.1:{port}/v1", max_retries=0)
    with pytest.raises(CallControlError, match="did not reach the API") as failed:
        await control.hangup("rtc_1")
    assert KEY not in str(failed.value) and failed.value.status is None
