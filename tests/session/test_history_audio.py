"""``history_store_audio=True`` keeps the assistant's audio too (assembled from the audio
events per item, bounded), against the emulator with a spoken turn."""

from __future__ import annotations

import base64
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pytest
from emulated import until
from realtime_transport import (
    AudioEvent,
    RealtimeAgent,
    RealtimeMessageItem,
    RealtimeSession,
    UserError,
)
from realtime_transport_emulator import Emulator, Reply, Script
from realtime_transport_emulator.model.synth import silence, speech

SCRIPT = Script(default=Reply(text="Your table for two is booked."), transcripts=("Book a table.",))
pytestmark = pytest.mark.emulator_options(script=SCRIPT)


async def spoken_turn(session: RealtimeSession) -> dict[str, bytes]:
    """Speak one turn; the assistant audio received per item id."""
    received: dict[str, bytearray] = defaultdict(bytearray)

    def on_audio(event: AudioEvent) -> None:
        received[event.item_id] += event.data

    session.on("audio", on_audio)
    audio = speech("Book a table.") + silence(800)
    for offset in range(0, len(audio), 4800):
        session.send_audio(audio[offset : offset + 4800])
    await until(session, "agent_end", lambda e: e.output == "Your table for two is booked.")
    return {item_id: bytes(data) for item_id, data in received.items()}


def assistant_items(session: RealtimeSession) -> list[RealtimeMessageItem]:
    return [
        item
        for item in session.history
        if isinstance(item, RealtimeMessageItem) and item.role == "assistant"
    ]


async def test_assistant_audio_is_kept_per_item(
    emulator: Emulator, session_factory: Callable[..., Any]
) -> None:
    session: RealtimeSession = await session_factory(
        RealtimeAgent("host"), history_store_audio=True
    )
    received = await spoken_turn(session)
    (item,) = assistant_items(session)
    (part,) = [p for p in item.content if p["type"] == "output_audio"]
    assert part["transcript"] == "Your table for two is booked."
    assert len(received[item.item_id]) > 24_000
    assert base64.b64decode(part["audio"]) == received[item.item_id]  # every byte, in order
    user = session.history[0]
    assert isinstance(user, RealtimeMessageItem) and user.role == "user"
    assert len(base64.b64decode(user.content[0]["audio"])) > 24_000  # the caller's, as before


async def test_without_the_option_no_audio_is_kept(
    emulator: Emulator, session_factory: Callable[..., Any]
) -> None:
    session: RealtimeSession = await session_factory(RealtimeAgent("host"))
    await spoken_turn(session)
    (item,) = assistant_items(session)
    assert all(part.get("audio") is None for part in item.content)
    assert all(part.get("audio") is None for i in session.history for part in i.content)


async def test_assistant_audio_is_bounded_oldest_first_never_a_fragment(
    emulator: Emulator, session_factory: Callable[..., Any]
) -> None:
    reply_bytes = 96_960  # the emulator's synthesized reply to this script (checked below)
    session: RealtimeSession = await session_factory(
        RealtimeAgent("host"),
        history_store_audio=True,
        history_audio_max_bytes=int(reply_bytes * 1.5),
    )
    first = await spoken_turn(session)
    assert [len(b) for b in first.values()] == [reply_bytes]
    second = await spoken_turn(session)
    old, new = assistant_items(session)
    assert old.content[0].get("audio") is None  # evicted to make room for the newer reply
    assert base64.b64decode(new.content[0]["audio"]) == second[new.item_id]


async def test_a_reply_larger_than_the_bound_is_not_kept(
    emulator: Emulator, session_factory: Callable[..., Any]
) -> None:
    session: RealtimeSession = await session_factory(
        RealtimeAgent("host"), history_store_audio=True, history_audio_max_bytes=10_000
    )
    await spoken_turn(session)
    (item,) = assistant_items(session)
    assert item.content[0].get("audio") is None


def test_the_bound_must_be_a_size() -> None:
    with pytest.raises(UserError, match="history_audio_max_bytes"):
        RealtimeSession(RealtimeAgent("a"), history_audio_max_bytes=-1)
