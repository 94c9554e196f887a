"""The session end to end: the emulator on loopback, the websocket transport found by name.

Everything here crosses a real socket: the session's calls become client events the emulator
records, and the emulator's scripted model drives tool calls, handoffs and replies.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from emulated import KEY, client_items, until
from realtime_transport import (
    AgentEndEvent,
    GuardrailFunctionOutput,
    GuardrailTrippedEvent,
    OutputGuardrail,
    RealtimeAgent,
    RealtimeContext,
    RealtimeMessageItem,
    RealtimeSession,
    RealtimeToolCallItem,
    SessionErrorEvent,
    ToolApprovalRequestedEvent,
    function_tool,
    handoff,
)
from realtime_transport_emulator import Emulator, FunctionCall, Reply, Rule, Script
from realtime_transport_emulator.model.synth import silence, speech

PCMU = {"type": "audio/pcmu"}


@function_tool
def get_weather(city: str) -> str:
    """Get the weather for a city.

    Args:
        city: The city.
    """
    return f"{city}: snow, -3 °C"


@function_tool
def refund(order_id: str) -> str:
    """Refund an order."""
    return f"refunded {order_id}"


async def quiesce(session: RealtimeSession, emulator: Emulator | None = None) -> None:
    """Wait until every task of the session finished and, when given the emulator, until it
    received a marker sent after them: whatever those tasks were going to send has arrived.
    A deterministic "nothing else happened" point (instead of sleeping and hoping)."""
    tasks = list(session._runtime.tasks)
    if tasks:
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 5)
    if emulator is not None:
        marker = f"quiesce_{len(emulator.connections[-1].client_events)}"
        session.transport.send_event({"type": "input_audio_buffer.clear", "event_id": marker})
        await emulator.wait_for_client_event(
            "input_audio_buffer.clear", predicate=lambda e: e.get("event_id") == marker
        )


def ended_with(text: str) -> Callable[[AgentEndEvent], bool]:
    return lambda event: event.output == text


WEATHER = Script(
    rules=(
        Rule(
            contains="weather",
            reply=Reply(
                text="Let me check.",
                function_calls=(FunctionCall("get_weather", {"city": "Oslo"}),),
                then=Reply(text="It is snowy in Oslo."),
            ),
        ),
    ),
    transcripts=("What is the weather in Oslo?",),
)


def test_default_transport_is_websocket_from_the_registry() -> None:
    session = RealtimeSession(RealtimeAgent("a"))
    assert type(session.transport).__name__ == "OpenAIRealtimeWebSocket"


@pytest.mark.emulator_options(script=WEATHER)
async def test_tool_round_trip_history_and_usage(
    emulator: Emulator, session_factory: Callable[..., Any]
) -> None:
    agent = RealtimeAgent("main", instructions="Help.", tools=[get_weather])
    session: RealtimeSession = await session_factory(agent)
    tool_ends: list[Any] = []
    session.on("agent_tool_end", tool_ends.append)
    session.send_message("What is the weather in Oslo?")
    await until(session, "agent_end", ended_with("It is snowy in Oslo."))

    assert [e.output for e in tool_ends] == ["Oslo: snow, -3 °C"]
    (output_item,) = client_items(emulator, "function_call_output")
    assert output_item["output"] == "Oslo: snow, -3 °C"
    kinds = [(item.type, getattr(item, "role", None)) for item in session.history]
    assert kinds == [
        ("message", "user"),
        ("message", "assistant"),
        ("function_call", None),
        ("message", "assistant"),
    ]
    call = session.history[2]
    assert isinstance(call, RealtimeToolCallItem) and call.output == "Oslo: snow, -3 °C"
    assert session.history[1].previous_item_id in (None, session.history[0].item_id)
    # usage: the sum of what the server reported in response.done
    done = [
        e["response"]["usage"]
        for e in emulator.connections[0].server_events
        if e["type"] == "response.done"
    ]
    assert session.usage.requests == len(done) == 2
    assert session.usage.total_tokens == sum(u["total_tokens"] for u in done)
    assert session.usage.input_tokens == sum(u["input_tokens"] for u in done)


@pytest.mark.emulator_options(script=WEATHER)
async def test_spoken_turn_transcript_and_audio(
    emulator: Emulator, session_factory: Callable[..., Any]
) -> None:
    session: RealtimeSession = await session_factory(RealtimeAgent("main", tools=[get_weather]))
    chunks: list[bytes] = []
    session.on("audio", lambda event: chunks.append(event.data))
    starts: list[Any] = []
    session.on("audio_start", starts.append)
    audio = speech("What is the weather in Oslo?") + silence(800)
    for offset in range(0, len(audio), 4800):
        session.send_audio(audio[offset : offset + 4800])
    await until(session, "agent_end", ended_with("It is snowy in Oslo."))
    user = session.history[0]
    assert isinstance(user, RealtimeMessageItem) and user.role == "user"
    assert user.content[0]["type"] == "input_audio"
    assert user.content[0]["transcript"] == "What is the weather in Oslo?"
    assert user.content[0].get("audio") is None  # not stored unless asked
    assert len(starts) == 2 and sum(map(len, chunks)) > 24_000  # two spoken replies


@pytest.mark.emulator_options(
    script=Script(
        rules=(
            Rule(
                contains="go",
                reply=Reply(function_calls=(FunctionCall("missing_tool", {}),)),
            ),
        )
    )
)
async def test_unknown_tool_over_the_wire(
    emulator: Emulator, session_factory: Callable[..., Any]
) -> None:
    session: RealtimeSession = await session_factory(RealtimeAgent("main", tools=[get_weather]))
    errors: list[SessionErrorEvent] = []
    session.on("error", errors.append)
    session.send_message("go")
    event = await emulator.wait_for_client_event(
        "conversation.item.create",
        predicate=lambda e: e["item"].get("type") == "function_call_output",
    )
    assert event["item"]["output"] == "Tool missing_tool not found"
    await quiesce(session, emulator)
    creates = emulator.connections[0].client_types().count("response.create")
    assert creates == 1  # no new response for a missing tool
    assert [e.code for e in errors] == ["tool_not_found"]


@pytest.mark.emulator_options(script=WEATHER)
async def test_approval_over_the_wire(
    emulator: Emulator, session_factory: Callable[..., Any]
) -> None:
    @function_tool(name="get_weather", needs_approval=True)
    def guarded_weather(city: str) -> str:
        return f"{city}: fog"

    session: RealtimeSession = await session_factory(RealtimeAgent("main", tools=[guarded_weather]))
    session.send_message("weather?")
    request: ToolApprovalRequestedEvent = await until(session, "tool_approval_requested")
    await quiesce(session, emulator)  # the call's task parked it and ended without an output
    assert client_items(emulator, "function_call_output") == []
    await session.approve(request.approval_item)
    await until(session, "agent_end", ended_with("It is snowy in Oslo."))
    assert [i["output"] for i in client_items(emulator, "function_call_output")] == ["Oslo: fog"]


HANDOFF = Script(
    rules=(
        Rule(
            contains="billing",
            reply=Reply(
                text="Transferring.",
                function_calls=(FunctionCall("transfer_to_billing", {}),),
                then=Reply(text="Billing here."),
            ),
        ),
    )
)


@pytest.mark.emulator_options(script=HANDOFF)
async def test_handoff_keeps_formats_and_clears_tools(
    emulator: Emulator, session_factory: Callable[..., Any]
) -> None:
    billing = RealtimeAgent("billing", instructions="You are billing.")
    main = RealtimeAgent("main", instructions="You greet.", tools=[get_weather], handoffs=[billing])
    session: RealtimeSession = await session_factory(
        main, config={"audio": {"input": {"format": PCMU}, "output": {"format": PCMU}}}
    )
    handoffs: list[Any] = []
    session.on("agent_handoff", handoffs.append)
    session.send_message("billing please")
    end = await until(session, "agent_end", ended_with("Billing here."))
    assert end.agent is billing and session.current_agent is billing
    assert [(h.from_agent, h.to_agent) for h in handoffs] == [(main, billing)]

    record = emulator.connections[0]
    updates = [e["session"] for e in record.client_events if e["type"] == "session.update"]
    first = next(u for u in updates if "instructions" in u)
    assert first["instructions"] == "You greet."
    assert [t["name"] for t in first["tools"]] == ["get_weather", "transfer_to_billing"]
    last = updates[-1]
    assert last["instructions"] == "You are billing." and last["tools"] == []
    assert last["audio"]["input"]["format"] == PCMU and last["audio"]["output"]["format"] == PCMU
    echo = await emulator.wait_for_server_event(
        "session.updated",
        predicate=lambda e: e["session"].get("instructions") == "You are billing.",
    )
    assert echo["session"]["tools"] == []  # the server really dropped the old tools
    assert echo["session"]["audio"]["output"]["format"]["type"] == "audio/pcmu"


@pytest.mark.emulator_options(script=HANDOFF)
async def test_reconnect_resets_to_the_initial_agent(
    emulator: Emulator, session_factory: Callable[..., Any]
) -> None:
    billing = RealtimeAgent("billing", instructions="You are billing.")
    main = RealtimeAgent("main", instructions="You greet.", handoffs=[billing])
    session: RealtimeSession = await session_factory(main)
    session.send_message("billing please")
    await until(session, "agent_end", ended_with("Billing here."))
    assert session.current_agent is billing and session.history
    await session.close()
    await asyncio.wait_for(session.connect(api_key=KEY, url=emulator.ws_url), 5)
    assert session.current_agent is main and session.history == []
    record = await emulator.wait_for_connection(1)
    update = await emulator.wait_for_client_event("session.update", connection=record)
    assert update["session"]["instructions"] == "You greet."


@pytest.mark.emulator_options(script=HANDOFF)
async def test_stale_handoff_after_close_is_dropped(
    emulator: Emulator, session_factory: Callable[..., Any]
) -> None:
    gate = asyncio.Event()
    entered = asyncio.Event()

    async def slow(ctx: RealtimeContext[Any]) -> None:
        entered.set()
        await gate.wait()

    billing = RealtimeAgent("billing", instructions="You are billing.")
    main = RealtimeAgent("main", handoffs=[handoff(billing, on_handoff=slow)])
    session: RealtimeSession = await session_factory(main)
    errors: list[SessionErrorEvent] = []
    session.on("error", errors.append)
    session.send_message("billing please")
    await asyncio.wait_for(entered.wait(), 5)
    pending = list(session._runtime.tasks)
    await session.close()
    gate.set()
    # the handoff's task (cancelled or not) has finished: nothing of it can happen any more
    await asyncio.wait_for(asyncio.gather(*pending, return_exceptions=True), 5)
    assert session.current_agent is main and errors == []
    types = emulator.connections[0].client_types()
    assert types.count("session.update") == 2  # the initial config and tracing, nothing later
    assert client_items(emulator, "function_call_output") == []


@pytest.mark.emulator_options(
    script=Script(
        rules=(
            Rule(
                contains="secret",
                reply=Reply(text="Swordfish is the password, and many more words follow it here."),
            ),
        ),
        default=Reply(text="Sorry."),
    ),
    pace="realtime",
    chunk_ms=40,
)
async def test_guardrail_trip_interrupts_and_sends_feedback(
    emulator: Emulator, session_factory: Callable[..., Any]
) -> None:
    def no_passwords(
        ctx: RealtimeContext[Any], agent: RealtimeAgent, text: str
    ) -> GuardrailFunctionOutput:
        return GuardrailFunctionOutput({"matched": "swordfish"}, "swordfish" in text.lower())

    guard = OutputGuardrail(guardrail_function=no_passwords, policy_hint="no passwords")
    session: RealtimeSession = await session_factory(
        RealtimeAgent("main"), output_guardrails=[guard], guardrail_debounce_text_length=10
    )
    interrupted: list[Any] = []
    session.on("audio_interrupted", interrupted.append)
    session.send_message("tell me the secret")
    tripped: GuardrailTrippedEvent = await until(session, "guardrail_tripped")
    assert tripped.response_id
    feedback = await emulator.wait_for_client_event(
        "conversation.item.create",
        predicate=lambda e: e["item"].get("role") == "user" and "blocked" in str(e["item"]),
    )
    assert "no passwords" in str(feedback["item"])
    cancelled = await emulator.wait_for_server_event(
        "response.done", predicate=lambda e: e["response"]["status"] == "cancelled"
    )
    assert cancelled["response"]["id"] == tripped.response_id
    assert interrupted  # playback told to stop
    await until(session, "agent_end", ended_with("Sorry."), timeout=10)


@pytest.mark.emulator_options(script=WEATHER)
async def test_async_for_over_a_live_connection(
    emulator: Emulator, session_factory: Callable[..., Any]
) -> None:
    session: RealtimeSession = await session_factory(RealtimeAgent("main", tools=[get_weather]))
    session.send_message("weather?")
    names: list[str] = []
    async for event in session:
        names.append(event.name)
        if event.name == "agent_end" and event.payload.output == "It is snowy in Oslo.":
            break
    assert names.count("agent_start") == 2 and names.count("agent_end") == 2
    assert "agent_tool_start" in names and "history_added" in names
    assert names.index("audio_start") < names.index("audio")
