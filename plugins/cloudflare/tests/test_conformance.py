"""The cloudflare transport (httpx upgrade on CPython) runs the whole conformance kit."""

from __future__ import annotations

from typing import Any

import pytest
from realtime_transport.testing import TransportConformanceTests
from realtime_transport_cloudflare.transport import CloudflareRealtimeTransportLayer


class TestCloudflareConformance(TransportConformanceTests):
    @pytest.fixture
    def transport_factory(self) -> Any:
        return lambda emulator: CloudflareRealtimeTransportLayer()
