"""pytest plugin (``pytest11``) of the conformance kit: a marker and the event-loop matrix.

Every async test of a suite that has the core installed runs once per available event loop
(the default asyncio loop, and uvloop when installed), through pytest-asyncio's
``pytest_asyncio_loop_factories`` hook. ``REALTIME_TRANSPORT_TEST_LOOPS=asyncio`` (a comma
list) narrows it. Nothing heavy is imported eagerly.
"""

from __future__ import annotations

import os
from typing import Any

import pytest


def pytest_configure(config: Any) -> None:
    config.addinivalue_line(
        "markers",
        "conformance: a realtime-transport conformance kit scenario "
        "(realtime_transport.testing.TransportConformanceTests)",
    )


def selected_loops() -> dict[str, Any]:
    """The loop factories the tests run on (every installed loop unless the variable narrows)."""
    from realtime_transport.loops import available_loops

    loops = available_loops()
    wanted = os.environ.get("REALTIME_TRANSPORT_TEST_LOOPS", "").strip()
    if not wanted:
        return dict(loops)
    names = [name.strip() for name in wanted.split(",") if name.strip()]
    missing = [name for name in names if name not in loops]
    if missing:
        raise pytest.UsageError(
            f"REALTIME_TRANSPORT_TEST_LOOPS asks for {', '.join(missing)}, which is not "
            f"installed (available: {', '.join(loops)}); pip install uvloop"
        )
    return {name: loops[name] for name in names}


@pytest.hookimpl(optionalhook=True)
def pytest_asyncio_loop_factories(config: Any, item: Any) -> dict[str, Any]:
    return selected_loops()
