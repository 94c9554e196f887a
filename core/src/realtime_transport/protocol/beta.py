"""Beta-era shapes the GA Realtime API rejects (protocols §2.7), found so they can be refused.

The models keep unknown fields, so a beta field such as ``session.modalities`` would otherwise
pass silently as an "extra". The conformance kit and the emulator call :func:`find_beta_fields`
to reject beta shapes the way the GA server does (``Unknown parameter: 'session.modalities'.``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

__all__ = ["BETA_EVENT_TYPES", "BETA_RESPONSE_FIELDS", "BETA_SESSION_FIELDS", "find_beta_fields"]

#: Beta event type -> GA event type.
BETA_EVENT_TYPES: Final[Mapping[str, str]] = {
    "response.audio.delta": "response.output_audio.delta",
    "response.audio.done": "response.output_audio.done",
    "response.audio_transcript.delta": "response.output_audio_transcript.delta",
    "response.audio_transcript.done": "response.output_audio_transcript.done",
    "response.text.delta": "response.output_text.delta",
    "response.text.done": "response.output_text.done",
    "transcription_session.update": "session.update",
    "transcription_session.updated": "session.updated",
}

#: Beta session field -> its GA replacement (``None``: removed in GA).
BETA_SESSION_FIELDS: Final[Mapping[str, str | None]] = {
    "modalities": "output_modalities",
    "input_audio_format": "audio.input.format",
    "output_audio_format": "audio.output.format",
    "voice": "audio.output.voice",
    "speed": "audio.output.speed",
    "turn_detection": "audio.input.turn_detection",
    "input_audio_transcription": "audio.input.transcription",
    "input_audio_noise_reduction": "audio.input.noise_reduction",
    "max_response_output_tokens": "max_output_tokens",
    "temperature": None,
}

#: Beta ``response`` (``response.create`` params / response object) field -> GA replacement.
BETA_RESPONSE_FIELDS: Final[Mapping[str, str | None]] = {
    "modalities": "output_modalities",
    "voice": "audio.output.voice",
    "output_audio_format": "audio.output.format",
    "max_response_output_tokens": "max_output_tokens",
    "temperature": None,
}

_BETA_ASSISTANT_CONTENT: Final = frozenset({"text", "audio"})
_SESSION_EVENTS: Final = frozenset({"session.update", "session.created", "session.updated"})
_ITEM_EVENTS: Final = frozenset(
    {
        "conversation.item.create",
        "conversation.item.added",
        "conversation.item.done",
        "conversation.item.created",
        "conversation.item.retrieved",
        "response.output_item.added",
        "response.output_item.done",
    }
)
_RESPONSE_EVENTS: Final = frozenset({"response.create", "response.created", "response.done"})


def find_beta_fields(event: Any) -> list[str]:
    """Paths of beta-era names in one client or server event; ``[]`` if it is GA-clean.

    Paths use the server's ``param`` notation: ``"type"`` (a beta event type such as
    ``response.audio.delta``), ``"session.modalities"``, ``"session.audio.input.format"`` (a
    legacy format string like ``"pcm16"``), ``"response.voice"``,
    ``"item.content[0].type"`` (assistant content typed ``text``/``audio`` instead of
    ``output_text``/``output_audio``). :data:`BETA_EVENT_TYPES`, :data:`BETA_SESSION_FIELDS` and
    :data:`BETA_RESPONSE_FIELDS` give the GA names for hints.
    """
    if not isinstance(event, Mapping):
        return []
    found: list[str] = []
    kind = event.get("type")
    if kind in BETA_EVENT_TYPES:
        found.append("type")
    if kind in _SESSION_EVENTS or kind in ("transcription_session.update",):
        session = event.get("session")
        if isinstance(session, Mapping):
            found.extend(_session_fields(session, "session"))
    if kind in _ITEM_EVENTS:
        found.extend(_item_fields(event.get("item"), "item"))
    if kind in _RESPONSE_EVENTS:
        response = event.get("response")
        if isinstance(response, Mapping):
            found.extend(f"response.{k}" for k in BETA_RESPONSE_FIELDS if k in response)
            for key in ("output", "input"):
                items = response.get(key)
                if isinstance(items, Sequence) and not isinstance(items, (str, bytes)):
                    for index, item in enumerate(items):
                        found.extend(_item_fields(item, f"response.{key}[{index}]"))
    return found


def _session_fields(session: Mapping[str, Any], prefix: str) -> list[str]:
    found = [f"{prefix}.{k}" for k in BETA_SESSION_FIELDS if k in session]
    audio = session.get("audio")
    if isinstance(audio, Mapping):
        for channel in ("input", "output"):
            cfg = audio.get(channel)
            if isinstance(cfg, Mapping) and isinstance(cfg.get("format"), str):
                found.append(f"{prefix}.audio.{channel}.format")
    return found


def _item_fields(item: Any, prefix: str) -> list[str]:
    if not isinstance(item, Mapping) or item.get("role") != "assistant":
        return []
    content = item.get("content")
    if not isinstance(content, Sequence) or isinstance(content, (str, bytes)):
        return []
    return [
        f"{prefix}.content[{index}].type"
        for index, part in enumerate(content)
        if isinstance(part, Mapping) and part.get("type") in _BETA_ASSISTANT_CONTENT
    ]
