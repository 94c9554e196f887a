"""The websocket transport runs the whole conformance kit against the emulator."""

from __future__ import annotations

from typing import Any

import pytest
from realtime_transport.testing import TransportConformanceTests
from realtime_transport_websocket.transport import OpenAIRealtimeWebSocket


class TestWebSocketConformance(TransportConformanceTests):
    @pytest.fixture
    def transport_factory(self) -> Any:
        return lambda emulator: OpenAIRealtimeWebSocket()
