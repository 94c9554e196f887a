"""The conformance kit on SIP's capabilities: every connection attaches to an accepted call.

Scenarios that need ``send_audio``, audio events or client-side truncation are skipped (the
audio rides the phone line); the rest run against the emulator's SIP surface.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from weakref import WeakKeyDictionary

import pytest
from realtime_transport.testing import TransportConformanceTests
from realtime_transport.testing.emulator import TEST_API_KEY
from realtime_transport_emulator import SipSimulator
from realtime_transport_sip import OpenAIRealtimeSIP

_SIMULATORS: WeakKeyDictionary[Any, SipSimulator] = WeakKeyDictionary()


def _accepted_call(driver: Any) -> str:
    emulator = driver.emulator
    simulator = _SIMULATORS.get(emulator)
    if simulator is None:
        simulator = _SIMULATORS[emulator] = SipSimulator()
        simulator.install(emulator)
    return simulator.accepted_call().call_id


class TestSipConformance(TransportConformanceTests):
    @pytest.fixture
    def transport_factory(self) -> Callable[[Any], OpenAIRealtimeSIP]:
        return lambda emulator: OpenAIRealtimeSIP()

    @pytest.fixture
    def connect_kwargs(self) -> Callable[[Any], dict[str, Any]]:
        return lambda driver: {
            "url": driver.ws_url,
            "api_key": TEST_API_KEY,
            "call_id": _accepted_call(driver),
        }
