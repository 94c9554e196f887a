"""Output guardrails: checks on what the model says, run while it says it.

Transcript and text deltas are collected per response (the ``agent_end`` output falls back to
them) and per output item; every ``guardrail_debounce_text_length`` characters the guardrails
run on the text so far, and once more on the final text. The first guardrail that trips stops
the answer (``response.cancel`` for text, ``interrupt()`` for audio), unless a newer response
is already under way, and asks the model to steer back (``guardrail_tripped`` either way).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..guardrails import (
    OutputGuardrail,
    OutputGuardrailResult,
    OutputGuardrailTripwireTriggered,
    guardrail_feedback_message,
)
from ..session_events import GuardrailTrippedEvent

if TYPE_CHECKING:
    from ..agent import RealtimeAgent
    from ..events import OutputTextDeltaEvent, TranscriptDeltaEvent
    from .runtime import SessionRuntime

__all__ = ["OutputGuardrailRunner"]


@dataclass
class _GuardrailBuffer:
    """The text of one output item so far, and how many debounced runs it has had."""

    text: str = ""
    runs: int = 0


class OutputGuardrailRunner:
    """The delta listeners, the per-response text, and the guardrail runs they start."""

    __slots__ = ("_buffers", "_debounce", "_guardrails", "_response_text", "_runtime", "_tripped")

    def __init__(
        self, runtime: SessionRuntime, guardrails: Sequence[OutputGuardrail], debounce: int
    ) -> None:
        self._runtime = runtime
        self._guardrails = list(guardrails)  # the session's; each agent adds its own
        self._debounce = debounce  # characters between runs; -1: the final text only
        self._buffers: dict[tuple[str, str], _GuardrailBuffer] = {}
        self._tripped: set[str] = set()  # responses already stopped
        self._response_text: dict[str, list[str]] = {}  # transcript pieces per response

    def clear(self) -> None:
        """Forget the connection's responses."""
        self._buffers.clear()
        self._tripped.clear()
        self._response_text.clear()

    def collected_text(self, response_id: str) -> str:
        """The deltas of a response joined (for ``agent_end`` when ``response.done`` has none)."""
        return "".join(self._response_text.get(response_id, ()))

    def check_final(self, text: str, response_id: str, item_id: str, agent: RealtimeAgent) -> None:
        """Run the guardrails on a finished response's text, unless one already tripped."""
        if response_id not in self._tripped:
            self._start(text, response_id, item_id, "final", agent)

    def forget(self, response_id: str) -> None:
        """Drop the text kept for a finished response."""
        self._response_text.pop(response_id, None)
        for key in [k for k in self._buffers if k[0] == response_id]:
            del self._buffers[key]

    def on_transcript_delta(self, event: TranscriptDeltaEvent) -> None:
        self._on_delta(event.delta, event.item_id, event.response_id, "audio")

    def on_text_delta(self, event: OutputTextDeltaEvent) -> None:
        self._on_delta(event.delta, event.item_id, event.response_id, "text")

    def _on_delta(self, delta: str, item_id: str, response_id: str, source: str) -> None:
        runtime = self._runtime
        if runtime.active_response_id is None and response_id:
            runtime.active_response_id = response_id  # a delta without turn_started: adopt it
        if response_id in runtime.responses:
            self._response_text.setdefault(response_id, []).append(delta)
        if self._debounce < 0 or response_id in self._tripped:
            return
        agent = runtime.agent_for_response(response_id)
        if not (self._guardrails or agent.output_guardrails):
            return
        buffer = self._buffers.get((response_id, item_id))
        if buffer is None:
            buffer = self._buffers[(response_id, item_id)] = _GuardrailBuffer()
        buffer.text += delta
        runs = len(buffer.text) // self._debounce
        if runs > buffer.runs:
            buffer.runs = runs
            self._start(buffer.text, response_id, item_id, source, agent)

    def _start(
        self, text: str, response_id: str, item_id: str, source: str, agent: RealtimeAgent
    ) -> None:
        guardrails = [*self._guardrails, *agent.output_guardrails]
        if not guardrails:
            return
        self._runtime.spawn(
            self._run(
                guardrails,
                text,
                response_id,
                item_id,
                source,
                agent,
                self._runtime.generation,
                self._runtime.response_generation,
            )
        )

    async def _run(
        self,
        guardrails: list[OutputGuardrail],
        text: str,
        response_id: str,
        item_id: str,
        source: str,
        agent: RealtimeAgent,
        generation: int,
        response_generation: int,
    ) -> None:
        runtime = self._runtime
        results = await asyncio.gather(
            *(g.run(runtime.context, agent, text) for g in guardrails), return_exceptions=True
        )
        if generation != runtime.generation:
            return
        tripped: OutputGuardrailResult | None = None
        for guardrail, result in zip(guardrails, results, strict=True):
            if isinstance(result, BaseException):
                if isinstance(result, asyncio.CancelledError):
                    raise result
                runtime.emit_error(
                    f"output guardrail {guardrail.get_name()!r} raised "
                    f"{type(result).__name__}: {result}",
                    "guardrail",
                    result,
                    agent,
                )
            elif tripped is None and result.output.tripwire_triggered:
                tripped = result
        if tripped is None or response_id in self._tripped:
            return
        self._tripped.add(response_id)
        runtime.emit(
            "guardrail_tripped",
            GuardrailTrippedEvent(
                agent=agent,
                error=OutputGuardrailTripwireTriggered(tripped),
                item_id=item_id,
                response_id=response_id,
                context=runtime.context,
            ),
        )
        if runtime.is_live(generation):
            self._stop_answer(tripped, response_id, source, agent, response_generation)

    def _stop_answer(
        self,
        tripped: OutputGuardrailResult,
        response_id: str,
        source: str,
        agent: RealtimeAgent,
        response_generation: int,
    ) -> None:
        """Cut the blocked answer and send the model the guardrail's feedback."""
        runtime = self._runtime
        active = runtime.active_response_id
        if response_generation != runtime.response_generation or (
            active is not None and active != response_id
        ):
            return  # a newer response is already under way: do not cut it
        try:
            if source == "text":
                if active == response_id:
                    runtime.transport.send_event(
                        {"type": "response.cancel", "response_id": response_id}
                    )
            else:
                runtime.transport.interrupt()
            runtime.transport.send_message(guardrail_feedback_message(tripped))
        except Exception as exc:
            runtime.emit_error(f"could not stop the blocked answer: {exc}", "guardrail", exc, agent)
