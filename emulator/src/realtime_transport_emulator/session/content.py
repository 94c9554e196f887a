"""What a response says: the scripted text or an echo, as speech when audio is asked for.

Deciding the content is kept apart from streaming it (:mod:`.response_stream`): these functions
do no I/O, so the rules for echo, ``{user_text}``, ``{conversation}`` and ``max_output_tokens``
cuts can be read and changed in one place.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from realtime_transport_emulator.model.audio import (
    bytes_for,
    convert,
    duration_ms,
    format_from_wire,
)
from realtime_transport_emulator.model.script import Reply
from realtime_transport_emulator.model.synth import Speech, synthesize
from realtime_transport_emulator.session.conversation import Item
from realtime_transport_emulator.session.usage import tokens


def compose_message(
    reply: Reply,
    user_text: str,
    context: Sequence[Item],
    output_format: dict[str, Any] | None,
) -> tuple[str, Speech | None]:
    """The message of ``reply``: its text, and its speech when ``output_format`` is given."""
    if reply.echo:
        return _echo(user_text, context, output_format)
    text = (reply.text or "").replace("{user_text}", user_text)
    if "{conversation}" in text:  # what the server holds, e.g. to check a re-seeded history
        held = " | ".join(
            f"{item.role}: {item.text()}" for item in context if item.type == "message"
        )
        text = text.replace("{conversation}", held)
    if output_format is None:
        return text, None
    return text, synthesize(text, output_format, duration_ms=reply.audio_ms)


def _echo(
    user_text: str, context: Sequence[Item], output_format: dict[str, Any] | None
) -> tuple[str, Speech | None]:
    """Echo: the user's last audio (re-encoded to the output format), else their text."""
    if output_format is None:
        return user_text, None
    target = format_from_wire(output_format)
    for item in reversed(context):
        if item.type == "message" and item.role == "user":
            for index, data in item.audio.items():
                audio = convert(bytes(data), item.audio_format[index], target)
                length = duration_ms(len(audio), target)
                return user_text, Speech(audio, target, length, ((user_text, 0.0),))
            break
    return user_text, synthesize(user_text, target)


def fit_to_budget(
    text: str, speech: Speech | None, budget: int
) -> tuple[str, Speech | None, int, bool]:
    """Cut a message to ``budget`` tokens (text 4 chars/token, audio 50 ms/token).

    Returns the text, the speech, the budget left and whether anything was cut.
    """
    if speech is None:
        if tokens(text) <= budget:
            return text, None, budget - tokens(text), False
        return text[: budget * 4], None, 0, True
    words = list(speech.words)
    kept, spent, end_ms = 0, 0, 0.0
    for index in range(len(words)):
        word_end = words[index + 1][1] if index + 1 < len(words) else speech.duration_ms
        cost = tokens("".join(w for w, _ in words[: index + 1])) + math.ceil(word_end / 50)
        if cost > budget:
            break
        kept, spent, end_ms = index + 1, cost, word_end
    if kept == len(words):
        return text, speech, budget - spent, False
    fmt = speech.fmt
    audio = speech.audio[: bytes_for(end_ms, fmt)]
    cut = Speech(audio, fmt, duration_ms(len(audio), fmt), tuple(words[:kept]))
    return "".join(w for w, _ in words[:kept]), cut, 0, True


def word_deltas(text: str) -> list[str]:
    """``text`` split after each space, as text and transcript deltas carry it.

    Runs of spaces give ``" "`` pieces and a trailing space gives a last ``""``; joining the
    pieces gives ``text`` back.
    """
    words = text.split(" ")
    last = len(words) - 1
    return [word if index == last else word + " " for index, word in enumerate(words)]
