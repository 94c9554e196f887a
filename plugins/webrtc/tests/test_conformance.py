"""The webrtc transport runs the conformance kit against the emulator's calls endpoint.

Capabilities: audio leaves on an Opus track and the model's voice comes back on one (no
``audio`` events to assert on, no client-side truncation), so the kit skips those scenarios;
the WebRTC media behaviour is covered in test_media.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from realtime_transport.testing import TransportConformanceTests
from realtime_transport.testing.emulator import TEST_API_KEY
from realtime_transport_webrtc.transport import OpenAIRealtimeWebRTC


def calls_url(emulator: Any) -> str:
    return emulator.ws_url.replace("ws://", "http://", 1) + "/calls"


class TestWebRTCConformance(TransportConformanceTests):
    @pytest.fixture
    def transport_factory(self) -> Any:
        return lambda emulator: OpenAIRealtimeWebRTC(audio_sink=lambda pcm: None)

    @pytest.fixture
    def connect_kwargs(self) -> Any:
        return lambda emulator: {"url": calls_url(emulator), "api_key": TEST_API_KEY}
