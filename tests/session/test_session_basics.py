"""Session construction, connect/close, delegation, history, turns, audio, usage (fake transport).

The fake transport records every call and only emits what a test tells it to, so ordering and
timing are exact (reference 9.9, "Construction/config/connect").
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from conftest import Recorder, settle
from realtime_transport import (
    AudioEvent,
    HistoryUpdatedEvent,
    RealtimeAgent,
    RealtimeMessageItem,
    RealtimeSession,
    SessionErrorEvent,
    UnknownTransportError,
    UserError,
    function_tool,
)
from realtime_transport.testing.fake import FakeTransport


@function_tool
def ping() -> str:
    """Answer pong."""
    return "pong"


async def test_connect_forwards_options_and_initial_config(transport: FakeTransport) -> None:
    agent = RealtimeAgent("main", instructions="be kind", voice="marin", tools=[ping])
    session = RealtimeSession(agent, transport=transport, model="gpt-realtime", api_key="sk-x")
    rec = Recorder(session, ("history_updated", "connected"))
    await session.connect(url="ws://127.0.0.1:1/v1/realtime", call_id="rtc_1")
    (call,) = transport.calls_named("connect")
    assert call.kwargs["api_key"] == "sk-x"
    assert call.kwargs["model"] == "gpt-realtime"
    assert call.kwargs["url"] == "ws://127.0.0.1:1/v1/realtime"
    assert call.kwargs["call_id"] == "rtc_1"
    config = call.kwargs["initial_session_config"]
    assert config["instructions"] == "be kind"
    assert config["model"] == "gpt-realtime"
    assert config["audio"]["output"]["voice"] == "marin"
    assert config["audio"]["input"]["transcription"] == {"model": "gpt-4o-mini-transcribe"}
    assert config["tools"] == [ping.definition()]
    assert config["tracing"] == "auto"
    assert rec.named("history_updated")[0].history == []
    assert len(rec.named("connected")) == 1
    assert session.connected
    await session.close()
    assert not session.connected


async def test_connect_api_key_argument_wins(transport: FakeTransport) -> None:
    session = RealtimeSession(RealtimeAgent("a"), transport=transport, api_key="sk-ctor")
    await session.connect(api_key="sk-arg")
    assert transport.calls_named("connect")[0].kwargs["api_key"] == "sk-arg"
    await session.close()


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, "auto"),
        ({"tracing_disabled": True}, None),
        (
            {"workflow_name": "wf", "group_id": "g", "trace_metadata": {"k": 1}},
            {"workflow_name": "wf", "group_id": "g", "metadata": {"k": 1}},
        ),
    ],
)
async def test_tracing_in_initial_config(
    transport: FakeTransport, options: dict[str, Any], expected: Any
) -> None:
    session = RealtimeSession(RealtimeAgent("a"), transport=transport, **options)
    await session.connect()
    assert transport.calls_named("connect")[0].kwargs["initial_session_config"]["tracing"] == (
        expected
    )
    await session.close()


def test_tracing_metadata_without_workflow_warns(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        RealtimeSession(RealtimeAgent("a"), transport=FakeTransport(), group_id="g")
    assert "workflow_name" in caplog.text


def test_constructor_validation() -> None:
    with pytest.raises(UserError, match="RealtimeAgent"):
        RealtimeSession("agent", transport=FakeTransport())  # type: ignore[arg-type]
    with pytest.raises(UserError, match="guardrail_debounce_text_length"):
        RealtimeSession(
            RealtimeAgent("a"), transport=FakeTransport(), guardrail_debounce_text_length=0
        )
    with pytest.raises(UserError, match="mixes legacy keys"):
        RealtimeSession(
            RealtimeAgent("a"),
            transport=FakeTransport(),
            config={"modalities": ["audio"], "output_modalities": ["audio"]},
        )
    with pytest.raises(UserError, match="transport_options"):
        RealtimeSession(RealtimeAgent("a"), transport=FakeTransport(), transport_options={"x": 1})


def test_unknown_transport_name_uses_registry_errors() -> None:
    with pytest.raises(UnknownTransportError) as info:
        RealtimeSession(RealtimeAgent("a"), transport="no-such-transport")
    assert "no-such-transport" in str(info.value)


async def test_duplicate_tool_names_rejected_before_connecting(transport: FakeTransport) -> None:
    @function_tool(name="ping")
    def other() -> str:
        return ""

    session = RealtimeSession(RealtimeAgent("a", tools=[ping, other]), transport=transport)
    with pytest.raises(UserError, match="two tools named 'ping'"):
        await session.connect()
    assert transport.calls_named("connect") == []


async def test_delegation_to_the_transport(connected: Any, transport: FakeTransport) -> None:
    session: RealtimeSession = await connected()
    transport.clear_calls()
    session.send_message("hello", {"event_id": "e1"}, trigger_response=False)
    session.add_image("data:image/png;base64,AA==")
    session.send_audio(b"\x00\x01", commit=True)
    session.interrupt()
    old = transport.emit_message("user", "hi")
    session.update_history(lambda items: [])
    assert [c.name for c in transport.calls] == [
        "send_message",
        "add_image",
        "send_audio",
        "interrupt",
        "reset_history",
    ]
    assert transport.calls[0].args == ("hello", {"event_id": "e1"})
    assert transport.calls[0].kwargs == {"trigger_response": False}
    assert transport.calls[2].kwargs == {"commit": True}
    assert transport.calls[4].args == ([old], [])
    with pytest.raises(UserError, match="mute"):
        session.mute(True)
    assert session.muted is None


async def test_mute_delegates_when_the_transport_owns_media() -> None:
    transport = FakeTransport(supports_mute=True)
    session = RealtimeSession(RealtimeAgent("a"), transport=transport)
    await session.connect()
    session.mute(True)
    assert session.muted is True
    await session.close()


async def test_getters(connected: Any, transport: FakeTransport) -> None:
    agent = RealtimeAgent("main")
    session: RealtimeSession = await connected(agent, context={"user": "u1"})
    assert session.transport is transport
    assert session.current_agent is agent
    assert session.context.context == {"user": "u1"}
    assert session.history == [] and session.available_mcp_tools == []
    assert session.usage.total_tokens == 0


async def test_transport_event_reemits_raw_events_and_listens_only_when_wanted(
    connected: Any, transport: FakeTransport
) -> None:
    session: RealtimeSession = await connected()
    assert transport.listener_count("*") == 0  # no '*' cost until someone asks
    seen: list[dict[str, Any]] = []
    unsubscribe = session.on("transport_event", seen.append)
    assert transport.listener_count("*") == 1
    raw = {"type": "custom.event", "x": [1]}
    transport.emit_raw(raw)
    assert seen == [raw]
    unsubscribe()
    assert transport.listener_count("*") == 0


async def test_reconnect_does_not_duplicate_listeners(transport: FakeTransport) -> None:
    session = RealtimeSession(RealtimeAgent("a"), transport=transport)
    audio: list[AudioEvent] = []
    session.on("audio", audio.append)
    for _ in range(3):
        await session.connect()
        await session.close()
    await session.connect()
    assert transport.listener_count("audio") == 1
    transport.emit_audio(b"\x01\x02")
    assert len(audio) == 1
    await session.close()


async def test_async_with_and_async_for(transport: FakeTransport) -> None:
    session = RealtimeSession(RealtimeAgent("a"), transport=transport)
    seen: list[str] = []

    async def consume() -> None:
        async for event in session:
            seen.append(event.name)

    async with session:
        consumer = asyncio.create_task(consume())
        await asyncio.sleep(0)
        transport.emit_turn_started("resp_1")
        transport.emit_audio(b"\x00" * 4, response_id="resp_1")
        transport.emit_turn_done("resp_1")
        await asyncio.sleep(0)
    await asyncio.wait_for(consumer, 2)  # the stream ends with the session
    assert seen == ["agent_start", "audio_start", "audio", "agent_end", "disconnected"]
    assert transport.calls_named("close")


async def test_stream_ends_when_the_server_disconnects(
    connected: Any, transport: FakeTransport
) -> None:
    session: RealtimeSession = await connected()
    stream = session.events(["disconnected", "error"])
    transport.simulate_disconnect("gone")
    names = [event.name async for event in stream]
    assert names == ["disconnected"]


async def test_listener_errors_become_session_errors(
    connected: Any, transport: FakeTransport
) -> None:
    session: RealtimeSession = await connected()
    errors: list[SessionErrorEvent] = []
    session.on("error", errors.append)

    def boom(_: object) -> None:
        raise RuntimeError("listener bug")

    session.on("audio", boom)
    transport.emit_audio(b"\x00\x00")
    assert errors[0].source == "listener" and "listener bug" in errors[0].message


async def test_transport_errors_are_reemitted(connected: Any, transport: FakeTransport) -> None:
    session: RealtimeSession = await connected()
    errors: list[SessionErrorEvent] = []
    session.on("error", errors.append)
    transport.emit_error("server error (bad): nope", code="bad")
    assert errors[0].source == "transport" and errors[0].code == "bad"
    assert errors[0].error.message == "server error (bad): nope"


def parts(item: object) -> list[dict[str, Any]]:
    assert isinstance(item, RealtimeMessageItem)
    return item.content


# -- history -------------------------------------------------------------------------------------


async def test_history_ordering_added_and_updated(connected: Any, transport: FakeTransport) -> None:
    session: RealtimeSession = await connected()
    rec = Recorder(session, ("history_added", "history_updated"))
    a = transport.emit_message("user", "first", item_id="a")
    transport.emit_message("assistant", "third", item_id="c", previous_item_id="a")
    transport.emit_message("user", "second", item_id="b", previous_item_id="a")
    transport.emit_message("user", "last", item_id="d", previous_item_id="unknown")
    assert [i.item_id for i in session.history] == ["a", "b", "c", "d"]
    assert [e.item.item_id for e in rec.named("history_added")] == ["a", "c", "b", "d"]
    # an update replaces in place: no history_added, one history_updated
    transport.emit_message("user", "first, edited", item_id="a")
    assert len(rec.named("history_added")) == 4
    updates: list[HistoryUpdatedEvent] = rec.named("history_updated")
    assert len(updates) == 5
    assert parts(updates[-1].history[0])[0]["text"] == "first, edited"
    assert session.context.history == session.history
    assert a.content[0]["text"] == "first"  # the transport's object is never mutated
    transport.emit_item_deleted("b")
    assert [i.item_id for i in session.history] == ["a", "c", "d"]


async def test_history_strips_audio_unless_asked(transport: FakeTransport) -> None:
    part = {"type": "input_audio", "audio": "AAAA", "transcript": "hi"}
    item = RealtimeMessageItem(item_id="u1", role="user", content=[part], status="completed")
    plain = RealtimeSession(RealtimeAgent("a"), transport=transport)
    await plain.connect()
    transport.emit_item(item)
    assert parts(plain.history[0])[0]["audio"] is None
    assert part["audio"] == "AAAA"
    await plain.close()

    keeping = RealtimeSession(RealtimeAgent("a"), transport=transport, history_store_audio=True)
    await keeping.connect()
    transport.emit_item(item)
    assert parts(keeping.history[0])[0]["audio"] == "AAAA"
    await keeping.close()


async def test_status_defaults_and_transcripts_kept(
    connected: Any, transport: FakeTransport
) -> None:
    session: RealtimeSession = await connected()
    transport.emit_message("assistant", item_id="m1", status=None, audio_transcript="Hello there")
    transport.emit_message("assistant", item_id="m2", status="incomplete")
    assert [i.status for i in session.history] == ["completed", "incomplete"]  # type: ignore[union-attr]
    # a later update without a transcript keeps the one we had
    transport.emit_message("assistant", item_id="m1", audio_transcript="")
    assert session.history[0].content[0]["transcript"] == "Hello there"  # type: ignore[union-attr]


async def test_input_transcription_is_merged(connected: Any, transport: FakeTransport) -> None:
    session: RealtimeSession = await connected()
    transport.emit_message("user", item_id="u1", status="in_progress", audio_transcript=None or "")
    rec = Recorder(session, ("history_updated",))
    transport.emit_raw(
        {
            "type": "conversation.item.input_audio_transcription.completed",
            "item_id": "u1",
            "content_index": 0,
            "transcript": "what's the weather",
        }
    )
    (item,) = session.history
    assert item.content[0]["transcript"] == "what's the weather"  # type: ignore[union-attr]
    assert item.status == "completed"  # type: ignore[union-attr]
    assert len(rec.named("history_updated")) == 1


# -- turns, audio, usage ---------------------------------------------------------------------------


async def test_turn_and_audio_events(connected: Any, transport: FakeTransport) -> None:
    agent = RealtimeAgent("main")
    session: RealtimeSession = await connected(agent)
    rec = Recorder(
        session,
        ("agent_start", "audio_start", "audio", "audio_stopped", "audio_interrupted", "agent_end"),
    )
    agent_events: list[str] = []
    agent.on("agent_start", lambda e: agent_events.append("start"))
    agent.on("agent_end", lambda e: agent_events.append("end"))
    transport.emit_turn_started("resp_1")
    chunk = AudioEvent(b"\x01\x00" * 10, "resp_1")
    transport.emit("audio", chunk)
    transport.emit("audio", chunk)
    transport.emit_audio_done(response_id="resp_1")
    transport.emit_audio_interrupted(item_id="i1", audio_end_ms=120)
    transport.emit_turn_done(
        "resp_1",
        output=[
            {
                "type": "message",
                "id": "m1",
                "role": "assistant",
                "content": [{"type": "output_audio", "transcript": "It is sunny."}],
            },
            {"type": "function_call", "id": "f1", "name": "x", "arguments": "{}"},
        ],
    )
    assert rec.names == [
        "agent_start",
        "audio_start",
        "audio",
        "audio",
        "audio_stopped",
        "audio_interrupted",
        "agent_end",
    ]
    assert rec.named("audio")[0] is chunk  # forwarded as-is, no copy
    assert rec.named("audio_start")[0].agent is agent
    assert rec.named("audio_interrupted")[0].audio_end_ms == 120
    end = rec.named("agent_end")[0]
    assert end.output == "It is sunny." and end.response_id == "resp_1"
    assert agent_events == ["start", "end"]


async def test_usage_accumulates(connected: Any, transport: FakeTransport) -> None:
    session: RealtimeSession = await connected()
    for index, (inp, out) in enumerate(((10, 5), (7, 3))):
        rid = transport.emit_turn_started(f"r{index}")
        transport.emit_turn_done(
            rid,
            usage={
                "input_tokens": inp,
                "output_tokens": out,
                "input_token_details": {"audio_tokens": inp},
            },
        )
    usage = session.usage
    assert (usage.requests, usage.input_tokens, usage.output_tokens, usage.total_tokens) == (
        2,
        17,
        8,
        25,
    )
    assert usage.input_tokens_details == {"audio_tokens": 17}


async def test_reconnect_resets_state(transport: FakeTransport) -> None:
    second = RealtimeAgent("second")
    first = RealtimeAgent("first", handoffs=[second])
    session = RealtimeSession(first, transport=transport)
    await session.connect()
    transport.emit_message("user", "hi")
    transport.emit_turn_started("resp_1")
    transport.emit_function_call("transfer_to_second", response_id="resp_1")
    await transport.wait_for_call("send_function_call_output")
    assert session.current_agent is second and len(session.history) == 2
    await session.close()
    await session.connect()
    assert session.current_agent is first
    assert session.history == []
    config = transport.calls_named("connect")[-1].kwargs["initial_session_config"]
    assert [t["name"] for t in config["tools"]] == ["transfer_to_second"]
    await session.close()
    await settle()


async def test_connecting_twice_is_a_clear_error(connected: Any, transport: FakeTransport) -> None:
    session: RealtimeSession = await connected()
    with pytest.raises(UserError, match="already connected"):
        await session.connect()
    assert len(transport.calls_named("connect")) == 1


async def test_get_initial_session_config_resolves_prompt_and_tracing(
    transport: FakeTransport,
) -> None:
    agent = RealtimeAgent(
        "a",
        instructions=lambda ctx, agent: f"Hello {ctx.context}",
        prompt=lambda ctx, agent: {"id": "pmpt_1", "variables": {"who": ctx.context}},
    )
    session = RealtimeSession(
        agent,
        transport=transport,
        context="Ada",
        workflow_name="calls",
        trace_metadata={"team": "x"},
        config={"audio": {"output": {"voice": "cedar"}}},
    )
    config = await session.get_initial_session_config({"output_modalities": ["text"]})
    assert config["instructions"] == "Hello Ada"
    assert config["prompt"] == {"id": "pmpt_1", "variables": {"who": "Ada"}}
    assert config["tracing"] == {"workflow_name": "calls", "metadata": {"team": "x"}}
    assert config["output_modalities"] == ["text"]
    assert config["audio"]["output"]["voice"] == "cedar"
    assert transport.calls == []  # nothing was sent


async def test_dtmf_from_the_transport_is_a_session_event(transport: FakeTransport) -> None:
    session = RealtimeSession(RealtimeAgent("a"), transport=transport, api_key="sk-x")
    rec = Recorder(session, ("dtmf",))
    await session.connect()
    transport.emit_dtmf("7", received_at=12.5)
    (event,) = rec.named("dtmf")
    assert (event.digit, event.received_at) == ("7", 12.5)
    await session.close()


async def test_close_cancels_the_sessions_async_listeners(connected: Any, transport: Any) -> None:
    """No task outlives ``await session.close()``: a slow async listener is cancelled; one
    that itself awaits close() is not."""
    session = await connected()
    started = asyncio.Event()
    cancelled: list[str] = []

    async def slow(_: Any) -> None:
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.append("slow")
            raise

    session.on("agent_start", slow)
    transport.emit_turn_started()
    await asyncio.wait_for(started.wait(), 5)
    before = {t for t in asyncio.all_tasks() if not t.done()}
    await session.close()
    assert cancelled == ["slow"]
    left = {t for t in asyncio.all_tasks() if not t.done()} - before - {asyncio.current_task()}
    assert not [t for t in left if not t.done()]


async def test_an_async_listener_that_closes_the_session_finishes(transport: Any) -> None:
    from realtime_transport import RealtimeAgent, RealtimeSession

    session = RealtimeSession(RealtimeAgent("main"), transport=transport)
    await session.connect()
    finished = asyncio.Event()

    async def closer(_: Any) -> None:
        await session.close()
        finished.set()

    session.on("agent_start", closer)
    transport.emit_turn_started()
    await asyncio.wait_for(finished.wait(), 5)
    assert transport.status == "disconnected"
