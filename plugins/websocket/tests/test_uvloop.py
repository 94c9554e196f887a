"""Regression for issue 10: on uvloop the transport could not connect and the emulator could not
accept (both asserted ``isinstance(transport, asyncio.Transport)``, which uvloop's transports are
not). Runs whole programs on an explicitly chosen loop, outside pytest-asyncio's matrix, so it
fails even if the matrix were narrowed to the default loop."""

from __future__ import annotations

import asyncio

import pytest
from realtime_transport import get_transport
from realtime_transport.loops import available_loops, run
from realtime_transport_emulator import Emulator

pytestmark = pytest.mark.skipif("uvloop" not in available_loops(), reason="uvloop not installed")


async def _text_turn() -> tuple[str, str]:
    async with Emulator() as emulator:
        transport = get_transport("websocket")
        done = asyncio.Event()
        text: list[str] = []
        transport.on("audio_transcript_delta", lambda event: text.append(event.delta))
        transport.on("output_text_delta", lambda event: text.append(event.delta))
        transport.on("turn_done", lambda event: done.set())
        await asyncio.wait_for(transport.connect(url=emulator.ws_url, api_key="sk-test"), 10)
        transport.send_message("hello there")
        await asyncio.wait_for(done.wait(), 10)
        await transport.close()
        return type(asyncio.get_running_loop()).__module__, "".join(text)


def test_connects_and_holds_a_turn_on_uvloop() -> None:
    loop_module, text = run(_text_turn(), loop="uvloop")
    assert loop_module.startswith("uvloop")
    assert text, "no reply text or transcript arrived over uvloop"


def test_connects_and_holds_a_turn_on_the_default_loop() -> None:
    loop_module, text = run(_text_turn(), loop="asyncio")
    assert loop_module.startswith("asyncio")
    assert text
