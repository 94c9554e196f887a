"""Helpers for session tests against the emulator on loopback (the websocket transport).

``emulator`` (marker ``emulator_options(...)`` passes options) and ``session_factory`` are
fixtures: import them into a test module to use them there.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from realtime_transport import RealtimeAgent, RealtimeSession
from realtime_transport_emulator import Emulator

KEY = "sk-test-session"


async def until(
    session: RealtimeSession,
    name: str,
    predicate: Callable[[Any], bool] = lambda _: True,
    timeout: float = 5.0,
) -> Any:
    """The next ``name`` session event matching ``predicate``."""
    future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    def listener(payload: Any) -> None:
        if not future.done() and predicate(payload):
            future.set_result(payload)

    unsubscribe = session.on(name, listener)
    try:
        return await asyncio.wait_for(future, timeout)
    finally:
        unsubscribe()


def client_items(emulator: Emulator, kind: str) -> list[dict[str, Any]]:
    """The items of ``kind`` the client created, over every connection."""
    return [
        event["item"]
        for record in emulator.connections
        for event in record.client_events
        if event.get("type") == "conversation.item.create" and event["item"].get("type") == kind
    ]


def client_events(emulator: Emulator, kind: str) -> list[dict[str, Any]]:
    return [
        event
        for record in emulator.connections
        for event in record.client_events
        if event.get("type") == kind
    ]


def outputs(emulator: Emulator) -> list[str]:
    """The outputs of every function call the client answered."""
    return [item["output"] for item in client_items(emulator, "function_call_output")]


@pytest.fixture
async def emulator(request: pytest.FixtureRequest) -> AsyncIterator[Emulator]:
    marker = request.node.get_closest_marker("emulator_options")
    options: dict[str, Any] = dict(marker.kwargs) if marker else {}
    async with Emulator(**options) as emu:
        yield emu


@pytest.fixture
async def session_factory(emulator: Emulator) -> AsyncIterator[Callable[..., Any]]:
    sessions: list[RealtimeSession] = []

    async def make(agent: RealtimeAgent, **options: Any) -> RealtimeSession:
        session = RealtimeSession(agent, transport="websocket", **options)
        await asyncio.wait_for(session.connect(api_key=KEY, url=emulator.ws_url), 5)
        sessions.append(session)
        return session

    yield make
    for session in sessions:
        await asyncio.wait_for(session.close(), 5)
