"""Shared helpers for the session suite."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

# the emulator fixtures (emulator, session_factory) for every module of the suite
from emulated import emulator, session_factory  # noqa: F401
from realtime_transport import RealtimeAgent, RealtimeSession
from realtime_transport.testing.fake import FakeTransport


class Recorder:
    """Collects session events by name."""

    def __init__(self, session: RealtimeSession, names: tuple[str, ...]) -> None:
        self.events: list[tuple[str, Any]] = []
        for name in names:
            session.on(name, self._make(name))

    def _make(self, name: str) -> Callable[[Any], None]:
        return lambda payload: self.events.append((name, payload))

    def named(self, name: str) -> list[Any]:
        return [payload for n, payload in self.events if n == name]

    @property
    def names(self) -> list[str]:
        return [n for n, _ in self.events]


async def settle(rounds: int = 20) -> None:
    """Let scheduled session tasks run (the fake transport never waits on anything)."""
    for _ in range(rounds):
        await asyncio.sleep(0)


@pytest.fixture
def transport() -> FakeTransport:
    return FakeTransport()


@pytest.fixture
async def connected(transport: FakeTransport) -> AsyncIterator[Callable[..., Any]]:
    """Factory: a connected session over the fake transport, closed at the end."""
    sessions: list[RealtimeSession] = []

    async def make(agent: RealtimeAgent | None = None, **options: Any) -> RealtimeSession:
        session = RealtimeSession(agent or RealtimeAgent("main"), transport=transport, **options)
        await session.connect()
        sessions.append(session)
        return session

    yield make
    for session in sessions:
        await session.close()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "emulator_options(**kwargs): keyword arguments for the test's Emulator"
    )
