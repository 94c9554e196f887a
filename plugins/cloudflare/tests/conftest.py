"""Shared fixtures: the emulator on loopback and a helper waiting for one session event."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from realtime_transport import RealtimeSession
from realtime_transport_emulator import Emulator, Reply, Rule, Script

KEY = "sk-test-cloudflare-0123456789"
GREETING = Script(rules=(Rule(contains="hello", reply=Reply(text="Hi from the emulator.")),))


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with Emulator(script=GREETING, api_keys={KEY}) as emu:
        yield emu


async def until(
    session: RealtimeSession,
    name: str,
    predicate: Callable[[Any], bool] = lambda _: True,
    timeout: float = 10.0,
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


async def text_turn(session: RealtimeSession) -> str:
    """Say hello and return what the agent answered."""
    waiter = asyncio.ensure_future(until(session, "agent_end"))
    await asyncio.sleep(0)
    session.send_message("hello there")
    return str((await waiter).output)
