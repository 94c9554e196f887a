"""Output guardrails: debounced runs, trips that interrupt or cancel, feedback (reference 8.7)."""

from __future__ import annotations

import asyncio
from typing import Any

from conftest import settle
from realtime_transport import (
    GuardrailFunctionOutput,
    GuardrailTrippedEvent,
    OutputGuardrail,
    RealtimeAgent,
    RealtimeContext,
    RealtimeSession,
    SessionErrorEvent,
)
from realtime_transport.testing.fake import FakeTransport


class Checker:
    """A guardrail that trips when a word appears, and records what it saw."""

    def __init__(self, word: str, gate: asyncio.Event | None = None) -> None:
        self.word = word
        self.gate = gate
        self.seen: list[str] = []

    async def __call__(
        self, ctx: RealtimeContext[Any], agent: RealtimeAgent, text: str
    ) -> GuardrailFunctionOutput:
        self.seen.append(text)
        if self.gate is not None:
            await self.gate.wait()
        return GuardrailFunctionOutput(
            output_info={"word": self.word}, tripwire_triggered=self.word in text
        )


def guardrail(checker: Checker) -> OutputGuardrail:
    return OutputGuardrail(guardrail_function=checker, name="no_secrets", policy_hint="secrets")


def feedback(transport: FakeTransport) -> list[str]:
    return [c.args[0] for c in transport.calls_named("send_message")]


async def test_final_output_trip_interrupts_and_sends_feedback(
    connected: Any, transport: FakeTransport
) -> None:
    checker = Checker("password")
    session: RealtimeSession = await connected(
        output_guardrails=[guardrail(checker)], guardrail_debounce_text_length=-1
    )
    tripped: list[GuardrailTrippedEvent] = []
    session.on("guardrail_tripped", tripped.append)
    transport.emit_turn_started("resp_1")
    transport.emit_transcript_delta("the password is 1234", response_id="resp_1")
    transport.emit_turn_done(
        "resp_1",
        output=[
            {
                "type": "message",
                "id": "msg_1",
                "role": "assistant",
                "content": [{"type": "output_audio", "transcript": "the password is 1234"}],
            }
        ],
    )
    await transport.wait_for_call("send_message")
    assert checker.seen == ["the password is 1234"]  # -1: final text only
    (event,) = tripped
    assert event.item_id == "msg_1" and event.response_id == "resp_1"
    assert event.error.result.guardrail.get_name() == "no_secrets"
    assert len(transport.calls_named("interrupt")) == 1
    (message,) = feedback(transport)
    assert "blocked" in message and "secrets" in message


async def test_audio_transcript_deltas_are_debounced_per_item(
    connected: Any, transport: FakeTransport
) -> None:
    checker = Checker("never")
    await connected(output_guardrails=[guardrail(checker)], guardrail_debounce_text_length=10)
    transport.emit_turn_started("resp_1")
    for delta in ("abcde", "fghij", "kl", "mnopqrst"):  # crosses 10 and 20
        transport.emit_transcript_delta(delta, response_id="resp_1", item_id="a")
    transport.emit_transcript_delta("0123456789", response_id="resp_1", item_id="b")
    await settle()
    assert checker.seen == ["abcdefghij", "abcdefghijklmnopqrst", "0123456789"]


async def test_text_delta_trip_cancels_the_adopted_response(
    connected: Any, transport: FakeTransport
) -> None:
    checker = Checker("secret")
    owner = RealtimeAgent("owner", output_guardrails=[guardrail(checker)])
    session: RealtimeSession = await connected(owner, guardrail_debounce_text_length=5)
    tripped: list[GuardrailTrippedEvent] = []
    session.on("guardrail_tripped", tripped.append)
    # no turn_started: the session adopts the delta's response id
    transport.emit_text_delta("a secret!", response_id="resp_9", item_id="t1")
    await transport.wait_for_call("send_message")
    assert tripped[0].agent is owner and tripped[0].response_id == "resp_9"
    assert transport.sent_events == [{"type": "response.cancel", "response_id": "resp_9"}]
    assert transport.calls_named("interrupt") == []
    assert "blocked" in feedback(transport)[0]


async def test_only_the_first_trip_per_response_acts(
    connected: Any, transport: FakeTransport
) -> None:
    checker = Checker("x")
    session: RealtimeSession = await connected(
        output_guardrails=[guardrail(checker)], guardrail_debounce_text_length=1
    )
    tripped: list[GuardrailTrippedEvent] = []
    session.on("guardrail_tripped", tripped.append)
    transport.emit_turn_started("resp_1")
    transport.emit_transcript_delta("x", response_id="resp_1")
    transport.emit_transcript_delta("x", response_id="resp_1")
    await settle()
    assert len(tripped) == 1 and len(transport.calls_named("interrupt")) == 1
    assert len(feedback(transport)) == 1


async def test_stale_result_for_an_older_response_does_not_cut_the_new_one(
    connected: Any, transport: FakeTransport
) -> None:
    gate = asyncio.Event()
    checker = Checker("bad", gate)
    session: RealtimeSession = await connected(
        output_guardrails=[guardrail(checker)], guardrail_debounce_text_length=3
    )
    tripped: list[GuardrailTrippedEvent] = []
    session.on("guardrail_tripped", tripped.append)
    transport.emit_turn_started("resp_1")
    transport.emit_transcript_delta("bad", response_id="resp_1")
    await settle()
    transport.emit_turn_done("resp_1")
    transport.emit_turn_started("resp_2")
    gate.set()
    await settle()
    assert len(tripped) >= 1 and tripped[0].response_id == "resp_1"
    assert transport.calls_named("interrupt") == [] and feedback(transport) == []


async def test_results_after_close_are_ignored(transport: FakeTransport) -> None:
    gate = asyncio.Event()
    checker = Checker("bad", gate)
    session = RealtimeSession(
        RealtimeAgent("a"),
        transport=transport,
        output_guardrails=[guardrail(checker)],
        guardrail_debounce_text_length=3,
    )
    tripped: list[GuardrailTrippedEvent] = []
    session.on("guardrail_tripped", tripped.append)
    await session.connect()
    transport.emit_turn_started("resp_1")
    transport.emit_transcript_delta("bad", response_id="resp_1")
    await settle()
    await session.close()
    gate.set()
    await settle()
    assert tripped == [] and transport.calls_named("interrupt") == []


async def test_a_failing_guardrail_is_reported(connected: Any, transport: FakeTransport) -> None:
    def broken(
        ctx: RealtimeContext[Any], agent: RealtimeAgent, text: str
    ) -> GuardrailFunctionOutput:
        raise RuntimeError("guard bug")

    session: RealtimeSession = await connected(
        output_guardrails=[OutputGuardrail(guardrail_function=broken)],
        guardrail_debounce_text_length=1,
    )
    errors: list[SessionErrorEvent] = []
    session.on("error", errors.append)
    transport.emit_turn_started("resp_1")
    transport.emit_transcript_delta("a", response_id="resp_1")
    await settle()
    assert errors[0].source == "guardrail" and "guard bug" in errors[0].message
