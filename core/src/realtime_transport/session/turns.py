"""Model responses (turns) as the session reports them, and the audio they carry.

Each response is tied to the agent and tools current when it started (``agent_start``), ends
with its final text (``agent_end``; the output guardrails then check that text) and adds its
usage to the session total. Audio chunks pass straight through, bracketed by ``audio_start``
and ``audio_stopped`` / ``audio_interrupted``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..events import AudioInterruptedEvent
from ..session_events import (
    AgentEndEvent,
    AgentStartEvent,
    AudioStartEvent,
    AudioStoppedEvent,
    SessionAudioInterruptedEvent,
)

if TYPE_CHECKING:
    from ..events import AudioEvent, TurnDoneEvent, TurnStartedEvent, Usage
    from .output_guardrails import OutputGuardrailRunner
    from .runtime import SessionRuntime

__all__ = ["Turns"]

_MAX_RESPONSE_SNAPSHOTS = 64


class Turns:
    """The transport's turn, usage and audio listeners."""

    __slots__ = ("_audio_response_id", "_emit", "_guardrails", "_runtime", "audio_started")

    def __init__(self, runtime: SessionRuntime, guardrails: OutputGuardrailRunner) -> None:
        self._runtime = runtime
        self._emit = runtime.emit
        self._guardrails = guardrails
        self.audio_started = False  # audio_start was emitted for the current response
        self._audio_response_id = ""

    def on_turn_started(self, event: TurnStartedEvent) -> None:
        runtime = self._runtime
        self.audio_started = False
        runtime.active_response_id = event.response_id
        runtime.response_generation += 1
        agent = runtime.agent
        runtime.responses[event.response_id] = (agent, runtime.tools)
        while len(runtime.responses) > _MAX_RESPONSE_SNAPSHOTS:
            runtime.responses.popitem(last=False)
        runtime.emit_both(
            agent,
            "agent_start",
            AgentStartEvent(agent=agent, response_id=event.response_id, context=runtime.context),
        )

    def on_turn_done(self, event: TurnDoneEvent) -> None:
        runtime = self._runtime
        guardrails = self._guardrails
        response_id = event.response_id
        agent = runtime.agent_for_response(response_id)
        text = _final_text(event.output) or guardrails.collected_text(response_id)
        if not runtime.assistant_audio and _has_audio(event.output):
            runtime.assistant_audio = True  # transports that play audio themselves
        runtime.emit_both(
            agent,
            "agent_end",
            AgentEndEvent(
                agent=agent,
                output=text,
                response_id=response_id,
                status=event.status,
                context=runtime.context,
            ),
        )
        if text:
            guardrails.check_final(text, response_id, _last_message_id(event.output), agent)
        # drop per-response state
        runtime.responses.pop(response_id, None)
        guardrails.forget(response_id)
        if runtime.active_response_id == response_id:
            runtime.active_response_id = None

    def on_usage(self, usage: Usage) -> None:
        """Add a response's usage to the session total (``session.usage``)."""
        self._runtime.context.usage.add(usage)

    def on_audio(self, event: AudioEvent) -> None:
        # The per-chunk path: one flag test and one emit, no copies.
        if not self.audio_started:
            self.audio_started = True
            self._runtime.assistant_audio = True
            self._audio_response_id = event.response_id
            self._emit(
                "audio_start",
                AudioStartEvent(
                    self._runtime.agent_for_response(event.response_id), event.response_id
                ),
            )
        self._emit("audio", event)

    def on_audio_done(self, event: Any) -> None:
        response_id = getattr(event, "response_id", "") or self._audio_response_id
        self.audio_started = False
        self._runtime.assistant_audio = True
        self._emit(
            "audio_stopped",
            AudioStoppedEvent(self._runtime.agent_for_response(response_id), response_id),
        )

    def on_audio_interrupted(self, event: Any) -> None:
        self.audio_started = False
        item_id = ""
        audio_end_ms = 0
        if isinstance(event, AudioInterruptedEvent):
            item_id, audio_end_ms = event.item_id, event.audio_end_ms
        self._emit(
            "audio_interrupted",
            SessionAudioInterruptedEvent(self._runtime.agent, item_id, audio_end_ms),
        )


def _final_text(output: Sequence[Any]) -> str:
    """From the last output item backwards: the first message whose last part has text."""
    for item in reversed(output):
        if not isinstance(item, Mapping) or item.get("type") != "message":
            continue
        content = item.get("content") or []
        if not content or not isinstance(content[-1], Mapping):
            continue
        part = content[-1]
        kind = part.get("type")
        if kind in ("output_text", "text"):
            return str(part.get("text") or "")
        if kind in ("output_audio", "audio"):
            return str(part.get("transcript") or "")
    return ""


def _has_audio(output: Sequence[Any]) -> bool:
    """Whether a response's output holds assistant audio."""
    for item in output:
        if isinstance(item, Mapping) and item.get("type") == "message":
            for part in item.get("content") or ():
                if isinstance(part, Mapping) and part.get("type") in ("output_audio", "audio"):
                    return True
    return False


def _last_message_id(output: Sequence[Any]) -> str:
    """The id of the last message in a response's output (the item a final trip names)."""
    for item in reversed(output):
        if isinstance(item, Mapping) and item.get("type") == "message":
            return str(item.get("id") or "")
    return ""
