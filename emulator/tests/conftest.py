"""Fixtures: a running emulator, and an autouse check of every server event it sent.

The check is independent of the emulator's own code: each event recorded by any emulator started
during the test is validated against the official ``openai`` package's server-event models
(``openai.types.realtime.RealtimeServerEvent``) with no unknown fields allowed, against the
core's protocol models (``realtime_transport.protocol``), and for beta-era names. A test fails
if any event is invalid. Fault-injected frames are not protocol events and are not checked.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from realtime_transport_emulator import Emulator

# The session object in session.created/.updated is typed by openai as the *request* model,
# which lacks the fields the server adds (protocols.md §2.1: id, object, expires_at).
_SERVER_ADDED = {
    ("session.created", "session.id"),
    ("session.created", "session.object"),
    ("session.created", "session.expires_at"),
    ("session.updated", "session.id"),
    ("session.updated", "session.object"),
    ("session.updated", "session.expires_at"),
}
_BETA_TYPES = {
    "response.audio.delta",
    "response.audio.done",
    "response.audio_transcript.delta",
    "response.audio_transcript.done",
    "response.text.delta",
    "response.text.done",
    "conversation.item.created",
}


@functools.lru_cache(maxsize=1)
def _openai_adapter() -> Any:
    from openai.types.realtime import RealtimeServerEvent
    from pydantic import TypeAdapter

    return TypeAdapter(RealtimeServerEvent)


def _extra_fields(value: Any, path: str, found: list[str]) -> None:
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        for key in value.model_extra or {}:
            found.append(f"{path}.{key}" if path else key)
        for name in type(value).model_fields:
            _extra_fields(getattr(value, name), f"{path}.{name}" if path else name, found)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _extra_fields(item, f"{path}[{index}]", found)
    elif isinstance(value, dict):
        for key, item in value.items():
            _extra_fields(item, f"{path}.{key}", found)


def check_server_event(event: dict[str, Any]) -> list[str]:
    """Problems with one server event ([] if it is valid GA)."""
    kind = event.get("type")
    problems: list[str] = []
    if kind in _BETA_TYPES:
        problems.append(f"{kind}: beta-era event type")
    try:
        model = _openai_adapter().validate_python(event)
    except Exception as exc:
        return [*problems, f"{kind}: not a valid openai RealtimeServerEvent: {exc}"]
    extras: list[str] = []
    _extra_fields(model, "", extras)
    for path in extras:
        if (kind, path) not in _SERVER_ADDED:
            problems.append(f"{kind}: field {path!r} is not in the GA schema")
    try:
        from realtime_transport.protocol import find_beta_fields, parse_server_event
    except ImportError:  # the core's models are optional for this check
        return problems
    try:
        parse_server_event(event)
    except Exception as exc:
        problems.append(f"{kind}: rejected by realtime_transport.protocol: {exc}")
    problems.extend(f"{kind}: beta-era field {path}" for path in find_beta_fields(event))
    return problems


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
