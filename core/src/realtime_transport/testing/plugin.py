"""pytest plugin (``pytest11``) of the conformance kit: a marker, nothing imported eagerly."""

from __future__ import annotations

from typing import Any


def pytest_configure(config: Any) -> None:
    config.addinivalue_line(
        "markers",
        "conformance: a realtime-transport conformance kit scenario "
        "(realtime_transport.testing.TransportConformanceTests)",
    )
