"""The npm SDK's browser ``OpenAIRealtimeWebRTC`` (in headless Chromium) against the emulator:
CORS preflight, an ek_ key from /v1/realtime/client_secrets, a browser offer without candidates
(the emulator learns the browser's address from its connectivity checks), a text turn and an
audio turn from Chromium's fake microphone, the reply on the remote track."""

from __future__ import annotations

from typing import Any

import httpx
from realtime_transport_emulator import Emulator

TIMEOUT_MS = 20_000


async def mint(emulator: Emulator, turn_detection: Any) -> str:
    session = {"type": "realtime", "audio": {"input": {"turn_detection": turn_detection}}}
    async with httpx.AsyncClient(timeout=5) as http:
        response = await http.post(
            f"{emulator.base_url}/realtime/client_secrets",
            json={"session": session},
            headers={"Authorization": "Bearer sk-test"},
        )
    assert response.status_code == 200, response.text
    key: str = response.json()["value"]
    assert key.startswith("ek_")
    return key


async def open_page(
    browser: Any, static_url: str, emulator: Emulator, key: str, *, mic_muted: bool = False
) -> Any:
    page = await browser.new_page()
    await page.goto(static_url)
    started = await page.evaluate(
        "(args) => window.start(args)",
        {"baseUrl": f"{emulator.base_url}/realtime/calls", "apiKey": key, "micMuted": mic_muted},
    )
    assert started["status"] == "connected"
    assert started["callId"] and started["callId"] in emulator.calls  # Location was exposed
    return page


async def wait_for_event(page: Any, name: str, count: int = 1) -> None:
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    try:
        await page.wait_for_function(
            f"() => window.events.filter((t) => t === {name!r}).length >= {count}",
            timeout=TIMEOUT_MS,
        )
    except PlaywrightTimeout:
        events = await page.evaluate("() => window.events")
        raise AssertionError(f"no {name!r} in the page within {TIMEOUT_MS} ms: {events}") from None


async def test_text_turn(browser: Any, static_url: str) -> None:
    async with Emulator(pace="realtime") as emu:
        page = await open_page(browser, static_url, emu, await mint(emu, None), mic_muted=True)
        await page.evaluate("() => window.transport.sendMessage('hello from the browser', {})")
        await wait_for_event(page, "response.done")
        await wait_for_event(page, "output_audio_buffer.stopped")
        events: list[str] = await page.evaluate("() => window.events")
        assert "session.updated" in events
        assert not [e for e in events if e.startswith("transport-error")], events
        record = emu.connections[0]
        assert record.auth == "ephemeral"
        assert "conversation.item.create" in record.client_types()
        inbound = await page.evaluate("() => window.inboundAudio()")
        assert inbound["packets"] > 0 and inbound["energy"] > 0, inbound
        await page.evaluate("() => window.transport.close()")
        assert await record.wait_closed(timeout=10) is not None


async def test_audio_turn_from_the_fake_microphone(browser: Any, static_url: str) -> None:
    async with Emulator(pace="realtime") as emu:
        key = await mint(emu, {"type": "server_vad", "silence_duration_ms": 400})
        page = await open_page(browser, static_url, emu, key)
        await wait_for_event(page, "input_audio_buffer.speech_started")
        await wait_for_event(page, "input_audio_buffer.speech_stopped")
        await wait_for_event(page, "response.done")
        await wait_for_event(page, "output_audio_buffer.started")
        events: list[str] = await page.evaluate("() => window.events")
        assert not [e for e in events if e.startswith("transport-error")], events
        record = emu.connections[0]
        assert "input_audio_buffer.committed" in record.server_types()
        inbound = await page.evaluate("() => window.inboundAudio()")
        assert inbound["energy"] > 0, inbound
        await page.evaluate("() => window.transport.close()")
