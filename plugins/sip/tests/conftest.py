"""Fixtures: an emulator with the SIP surface, and a key the emulator accepts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from realtime_transport_emulator import Emulator, FunctionCall, Reply, Rule, Script, SipSimulator

KEY = "sk-sip-tests-0123456789"
SCRIPT = Script(
    rules=[
        Rule(regex="^$", reply=Reply(text="Hello, weather line.")),
        Rule(
            contains="weather",
            reply=Reply(
                function_calls=[FunctionCall("get_weather", {"city": "Paris"})],
                then=Reply(text="Sunny in Paris."),
            ),
        ),
    ],
    default=Reply(text="Sorry?"),
)


@dataclass
class SipEmulator:
    emulator: Emulator
    sip: SipSimulator


@pytest.fixture
async def sip_emu() -> AsyncIterator[SipEmulator]:
    sip = SipSimulator()
    async with Emulator(script=SCRIPT, api_keys={KEY}, surfaces=[sip.install]) as emulator:
        yield SipEmulator(emulator, sip)
