"""Fixtures: a running emulator, and an autouse check of every server event it sent.

The check is independent of the emulator's own code: each event recorded by any emulator started
during the test is validated against the official ``openai`` package's server-event models
(``openai.types.realtime.RealtimeServerEvent``) with no unknown fields allowed, against the
core's protocol models (``realtime_transport.protocol``), and for beta-era names. A test fails
if any event is invalid. Fault-injected frames are not protocol events and are not checked.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from emutest import check_server_event
from realtime_transport_emulator import Emulator


@pytest.fixture(autouse=True)
def validate_server_events(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Emulator]]:
    """Validate every server event of every emulator started in the test, at teardown."""
    started: list[Emulator] = []
    original = Emulator.start

    async def start(self: Emulator) -> Emulator:
        started.append(self)
        return await original(self)

    monkeypatch.setattr(Emulator, "start", start)
    yield started
    problems: list[str] = []
    checked = 0
    for emulator in started:
        for record in emulator.connections:
            for event in record.server_events:
                checked += 1
                problems.extend(check_server_event(event))
    if problems:
        shown = "\n".join(sorted(set(problems))[:40])
        pytest.fail(f"{len(problems)} invalid server event(s) of {checked}:\n{shown}")


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with Emulator() as emu:
        yield emu
