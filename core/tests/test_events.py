"""Emitter ordering, isolation and the bounded events() stream."""

from __future__ import annotations

import asyncio

import pytest
from realtime_transport.errors import EventStreamOverflowError
from realtime_transport.events import AudioEvent, ErrorEvent, EventEmitter


def test_listeners_run_in_registration_order() -> None:
    emitter = EventEmitter()
    seen: list[str] = []
    emitter.on("x", lambda p: seen.append(f"a{p}"))
    emitter.on("x", lambda p: seen.append(f"b{p}"))
    emitter.emit("x", 1)
    assert seen == ["a1", "b1"]


def test_raising_listener_is_reported_on_error_and_others_still_run() -> None:
    emitter = EventEmitter()
    errors: list[ErrorEvent] = []
    seen: list[int] = []
    emitter.on("error", errors.append)

    def boom(_: object) -> None:
        raise RuntimeError("kaput")

    emitter.on("x", boom)
    emitter.on("x", seen.append)
    emitter.emit("x", 7)
    assert seen == [7]
    assert len(errors) == 1 and errors[0].source == "listener" and "kaput" in errors[0].message


def test_error_without_listener_is_not_fatal(caplog: pytest.LogCaptureFixture) -> None:
    emitter = EventEmitter()
    emitter.emit("error", ErrorEvent(message="nobody listens", source="transport"))
    assert "nobody listens" in caplog.text


def test_failing_error_listener_does_not_recurse() -> None:
    emitter = EventEmitter()
    calls = []

    def bad(p: object) -> None:
        calls.append(p)
        raise RuntimeError("again")

    emitter.on("error", bad)
    emitter.emit("error", ErrorEvent(message="m", source="transport"))
    assert len(calls) == 1


def test_once_and_off() -> None:
    emitter = EventEmitter()
    seen: list[int] = []
    emitter.once("x", seen.append)
    emitter.emit("x", 1)
    emitter.emit("x", 2)
    assert seen == [1]
    unsubscribe = emitter.on("y", seen.append)
    unsubscribe()
    emitter.emit("y", 3)
    once_removed: list[int] = []
    emitter.once("z", once_removed.append)
    emitter.off("z", once_removed.append)
    emitter.emit("z", 4)
    assert seen == [1] and once_removed == [] and not emitter.has_listeners("z")


async def test_async_listener_failure_reported() -> None:
    emitter = EventEmitter()
    errors: list[ErrorEvent] = []
    emitter.on("error", errors.append)

    async def failing(_: object) -> None:
        raise ValueError("async boom")

    emitter.on("x", failing)
    emitter.emit("x", None)
    for _ in range(5):
        await asyncio.sleep(0)
    assert errors and "async boom" in errors[0].message


async def test_events_stream_drops_audio_first_and_never_structural() -> None:
    emitter = EventEmitter()
    stream = emitter.events(maxsize=3)
    emitter.emit("audio", AudioEvent(b"1", "r"))
    emitter.emit("turn_started", "t1")
    emitter.emit("audio", AudioEvent(b"2", "r"))
    emitter.emit("audio", AudioEvent(b"3", "r"))  # full: new audio dropped
    emitter.emit("turn_done", "t2")  # full: oldest audio dropped to make room
    names = []
    for _ in range(3):
        event = await asyncio.wait_for(stream.__anext__(), 1)
        names.append(event.name)
    assert names == ["turn_started", "audio", "turn_done"]
    assert stream.dropped == 2


async def test_events_stream_overflow_of_structural_events_raises() -> None:
    emitter = EventEmitter()
    stream = emitter.events(["turn_done"], maxsize=2)
    for i in range(9):
        emitter.emit("turn_done", i)
    received = []
    with pytest.raises(EventStreamOverflowError):
        async for event in stream:
            received.append(event.payload)
    assert received == list(range(8))
