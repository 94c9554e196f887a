"""Opt-in reconnect: across the provider's session-duration limit and a transient drop, with the
earlier text context visible to the model afterwards; never after an authentication failure or
a close() by the app."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from realtime_transport import RealtimeAgent, RealtimeSession, ReconnectPolicy
from realtime_transport.errors import AuthenticationError, UserError
from realtime_transport.events import RealtimeMessageItem, RealtimeToolCallItem
from realtime_transport.session.reconnect import text_only_history
from realtime_transport_emulator import Emulator, Faults, Reply, Rule, Script

KEY = "sk-reconnect"
SCRIPT = Script(
    rules=[
        Rule(contains="remember", reply=Reply(text="Noted.")),
        Rule(contains="what do you hold", reply=Reply(text="I hold: {conversation}")),
    ]
)
FAST = ReconnectPolicy(backoff=0.01, max_backoff=0.05)


class Events:
    """Every session event by name, and a way to wait for the n-th of one."""

    def __init__(self, session: RealtimeSession) -> None:
        self.seen: dict[str, list[Any]] = {}
        self._session = session
        self._changed = asyncio.Event()
        for name in (
            "agent_end", "reconnecting", "reconnected", "reconnect_failed", "disconnected",
            "connection_change", "error",
        ):  # fmt: skip
            session.on(name, self._recorder(name))

    def _recorder(self, name: str) -> Any:
        def record(payload: Any) -> None:
            self.seen.setdefault(name, []).append(payload)
            self._changed.set()

        return record

    def of(self, name: str) -> list[Any]:
        return self.seen.get(name, [])

    async def wait(self, name: str, count: int = 1, timeout: float = 10) -> Any:
        async def until() -> Any:
            while len(self.of(name)) < count:
                self._changed.clear()
                await self._changed.wait()
            return self.of(name)[count - 1]

        return await asyncio.wait_for(until(), timeout)


def _agent() -> RealtimeAgent:
    return RealtimeAgent("Keeper", instructions="Keep what you are told.")


async def test_reconnect_across_the_session_limit_keeps_the_text_context() -> None:
    async with Emulator(script=SCRIPT, max_session_seconds=1.0) as emulator:
        session = RealtimeSession(_agent(), reconnect=FAST)
        events = Events(session)
        await session.connect(api_key=KEY, url=emulator.ws_url)
        session.send_message("remember: the code is 42")
        first = await events.wait("agent_end")
        assert first.output == "Noted."
        reconnected = await events.wait("reconnected", timeout=10)  # the 1 s limit hit
        assert reconnected.reseeded_items == 2  # the user's message and the reply, as text
        assert any("audio in flight" in note for note in reconnected.lost)
        assert session.transport.status == "connected"
        session.send_message("what do you hold?")
        second = await events.wait("agent_end", count=2)
        assert "the code is 42" in second.output and "Noted." in second.output, second.output
        statuses = events.of("connection_change")
        assert statuses[:5] == [
            "connecting",
            "connected",
            "disconnected",
            "connecting",
            "connected",
        ]
        assert len(emulator.connections) >= 2
        await session.close()
        assert not events.of("reconnect_failed")


async def test_reconnect_after_a_transient_drop_mid_response() -> None:
    async with Emulator(script=SCRIPT, faults=[Faults(close_after=8), None]) as emulator:
        session = RealtimeSession(_agent(), reconnect=FAST)
        events = Events(session)
        await session.connect(api_key=KEY, url=emulator.ws_url)
        session.send_message("remember: blue")
        reconnected = await events.wait("reconnected")
        assert reconnected.attempts == 1
        session.send_message("what do you hold?")
        answer = await events.wait("agent_end")
        assert "remember: blue" in answer.output, answer.output
        await session.close()


async def test_authentication_failure_is_never_retried() -> None:
    keys = iter([KEY, "sk-revoked", "sk-revoked", "sk-revoked"])
    async with Emulator(script=SCRIPT, api_keys=[KEY], max_session_seconds=0.5) as emulator:
        session = RealtimeSession(_agent(), reconnect=ReconnectPolicy(max_attempts=3, backoff=0))
        events = Events(session)
        stream = session.events()
        await session.connect(api_key=lambda: next(keys), url=emulator.ws_url)
        failed = await events.wait("reconnect_failed", timeout=10)
        assert failed.attempts == 1, "an authentication error stops at the first attempt"
        assert isinstance(failed.error, AuthenticationError)
        assert "sk-revoked" not in failed.message
        assert len(events.of("reconnecting")) == 1
        assert session.transport.status == "disconnected"
        names = await asyncio.wait_for(_drain(stream), 5)  # the stream ends: nothing hangs
        assert names.count("reconnecting") == 1 and names[-1] == "reconnect_failed"
        await session.close()


async def _drain(stream: Any) -> list[str]:
    return [event.name async for event in stream]


async def test_close_during_the_backoff_stops_reconnecting() -> None:
    async with Emulator(script=SCRIPT, faults=[Faults(close_after=3)]) as emulator:
        session = RealtimeSession(_agent(), reconnect=ReconnectPolicy(backoff=0.5))
        events = Events(session)
        await session.connect(api_key=KEY, url=emulator.ws_url)
        await events.wait("reconnecting")
        await session.close()
        await asyncio.sleep(0.7)  # past the backoff: no attempt may follow the close
        assert len(emulator.connections) == 1
        assert not events.of("reconnected")


async def test_off_by_default() -> None:
    async with Emulator(script=SCRIPT, faults=[Faults(close_after=3)]) as emulator:
        session = RealtimeSession(_agent())
        events = Events(session)
        stream = session.events()
        await session.connect(api_key=KEY, url=emulator.ws_url)
        await events.wait("disconnected")
        names = await asyncio.wait_for(_drain(stream), 5)  # ends on disconnect
        assert names[-1] == "disconnected"
        assert not events.of("reconnecting")
        assert len(emulator.connections) == 1


def test_policy_validation_and_backoff() -> None:
    policy = ReconnectPolicy(backoff=1, backoff_factor=2, max_backoff=5, jitter=0)
    assert [policy.delay(n) for n in (1, 2, 3, 4)] == [1, 2, 4, 5]
    jittered = ReconnectPolicy(backoff=1, jitter=0.5)
    assert jittered.delay(1, rng=lambda: 0.0) == 0.5 and jittered.delay(1, rng=lambda: 1.0) == 1.5
    for bad in ({"max_attempts": 0}, {"backoff": -1}, {"jitter": 2}):
        with pytest.raises(UserError):
            ReconnectPolicy(**bad)
    with pytest.raises(UserError, match="ReconnectPolicy"):
        RealtimeSession(_agent(), reconnect=3)  # type: ignore[arg-type]


def test_text_only_history_keeps_words_and_says_what_it_leaves_out() -> None:
    items = [
        RealtimeMessageItem("u1", "user", [{"type": "input_audio", "transcript": "hello"}]),
        RealtimeMessageItem("a1", "assistant", [{"type": "output_audio", "transcript": "hi"}]),
        RealtimeToolCallItem("c1", "get_weather", "{}", "completed", output="sunny"),
        RealtimeMessageItem("u2", "user", [{"type": "input_audio"}]),
    ]
    kept, notes = text_only_history(items)
    assert [(item.item_id, item.content) for item in kept] == [
        ("u1", [{"type": "input_text", "text": "hello"}]),
        ("a1", [{"type": "output_text", "text": "hi"}]),
    ]
    assert any("tool call" in note for note in notes) and any("u2" in note for note in notes)
