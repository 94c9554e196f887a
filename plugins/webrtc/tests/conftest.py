"""Loopback WebRTC for the suite: aioice leaves 127.0.0.1 out of its host candidates, so tests pin
the caller's candidates to loopback (tests only; production code never touches aioice)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def loopback_ice(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    import aioice.ice

    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])
    yield


@pytest.fixture
async def emulator() -> Any:
    from realtime_transport_emulator import Emulator

    async with Emulator() as emu:
        yield emu
