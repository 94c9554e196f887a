"""Session updates the server may refuse: handoffs, update_agent() and update_config().

Against the emulator, which refuses what the real server refuses: a voice change once the
assistant has spoken (``cannot_update_voice``) and a tool list over 128 entries.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from emulated import KEY, client_events, client_items, until
from realtime_transport import (
    FunctionTool,
    RealtimeAgent,
    RealtimeMessageItem,
    RealtimeSession,
    SessionErrorEvent,
    function_tool,
)
from realtime_transport.errors import SessionUpdateRejectedError
from realtime_transport_emulator import Emulator, FunctionCall, Reply, Rule, Script

TO_SALES = Script(
    rules=(
        Rule(
            contains="sales",
            reply=Reply(
                text="Let me transfer you.",
                function_calls=(FunctionCall("transfer_to_sales", {}),),
                then=Reply(text="How can I help?"),
            ),
        ),
    ),
    default=Reply(text="Hello there."),
)


def _too_many_tools() -> list[FunctionTool]:
    """129 tools: one more than the server takes, so it refuses the whole session.update."""

    def noop() -> str:
        return "ok"

    return [function_tool(noop, name=f"tool_{index}") for index in range(129)]


def _server_session(emulator: Emulator) -> dict[str, Any]:
    return dict(emulator.connections[0].session)


@pytest.mark.emulator_options(script=TO_SALES)
async def test_handoff_after_speech_leaves_the_voice_out_and_succeeds(
    emulator: Emulator, session_factory: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    sales = RealtimeAgent("Sales", instructions="You sell.", voice="cedar")
    front = RealtimeAgent("Front", instructions="You greet.", voice="marin", handoffs=[sales])
    session: RealtimeSession = await session_factory(front)
    errors: list[SessionErrorEvent] = []
    session.on("error", errors.append)
    caplog.set_level(logging.WARNING, "realtime_transport.session")
    session.send_message("sales please")
    handoff = await until(session, "agent_handoff")
    assert handoff.to_agent is sales and session.current_agent is sales
    await until(session, "agent_end", lambda e: e.agent is sales)
    server = _server_session(emulator)
    assert server["instructions"] == "You sell."
    assert server["audio"]["output"]["voice"] == "marin"  # the voice the caller already heard
    handoff_update = client_events(emulator, "session.update")[-1]["session"]
    assert "voice" not in handoff_update.get("audio", {}).get("output", {})
    assert not [e for e in errors if "cannot_update_voice" in e.message]
    assert "voice 'cedar' not applied" in caplog.text
    assert json.loads(client_items(emulator, "function_call_output")[0]["output"]) == {
        "assistant": "Sales"
    }


@pytest.mark.emulator_options(script=TO_SALES)
async def test_a_handoff_the_server_refuses_is_a_failed_handoff(
    emulator: Emulator, session_factory: Callable[..., Any]
) -> None:
    sales = RealtimeAgent("Sales", instructions="You sell.", tools=_too_many_tools())
    front = RealtimeAgent("Front", instructions="You greet.", handoffs=[sales])
    session: RealtimeSession = await session_factory(front)
    errors: list[SessionErrorEvent] = []
    handoffs: list[Any] = []
    session.on("error", errors.append)
    session.on("agent_handoff", handoffs.append)
    session.send_message("sales please")
    failure = await until(session, "error", lambda e: e.source == "handoff")
    assert failure.code == "handoff_rejected" and "Sales" in failure.message
    assert failure.agent is front
    await until(session, "agent_end", lambda e: e.output == "How can I help?")
    assert handoffs == [] and session.current_agent is front
    (output,) = client_items(emulator, "function_call_output")
    assert "failed" in json.loads(output["output"])["error"]
    assert _server_session(emulator)["instructions"] == "You greet."  # nothing changed


async def test_update_agent_the_server_refuses_raises_and_keeps_the_agent(
    emulator: Emulator, session_factory: Callable[..., Any]
) -> None:
    front = RealtimeAgent("Front", instructions="You greet.")
    session: RealtimeSession = await session_factory(front)
    handoffs: list[Any] = []
    session.on("agent_handoff", handoffs.append)
    with pytest.raises(SessionUpdateRejectedError, match="Sales"):
        await session.update_agent(RealtimeAgent("Sales", tools=_too_many_tools()))
    assert session.current_agent is front and handoffs == []
    sales = RealtimeAgent("Sales", instructions="You sell.")
    await session.update_agent(sales)  # a valid one still works
    assert session.current_agent is sales and len(handoffs) == 1


PCMU = {"type": "audio/pcmu"}


async def test_update_config_is_partial_and_outlives_agent_switches(
    emulator: Emulator, session_factory: Callable[..., Any]
) -> None:
    config = {
        "audio": {
            "input": {"format": PCMU, "turn_detection": {"type": "server_vad"}},
            "output": {"format": PCMU},
        }
    }
    session: RealtimeSession = await session_factory(RealtimeAgent("Front"), config=config)
    await session.update_config({"instructions": "Speak like a pirate.", "max_output_tokens": 99})
    server = _server_session(emulator)  # the update was answered before update_config returned
    assert server["instructions"] == "Speak like a pirate." and server["max_output_tokens"] == 99
    assert server["audio"]["input"]["format"]["type"] == "audio/pcmu"
    assert server["audio"]["input"]["turn_detection"]["type"] == "server_vad"
    await session.update_agent(RealtimeAgent("Sales", instructions="You sell."))
    server = _server_session(emulator)
    assert server["max_output_tokens"] == 99 and server["instructions"] == "You sell."
    assert server["audio"]["output"]["format"]["type"] == "audio/pcmu"
    with pytest.raises(SessionUpdateRejectedError):
        await session.update_session_config({"max_output_tokens": 100_000})
    assert _server_session(emulator)["max_output_tokens"] == 99


async def test_update_config_before_connect_applies_at_connect(emulator: Emulator) -> None:
    session = RealtimeSession(RealtimeAgent("Front"), transport="websocket")
    await session.update_config({"max_output_tokens": 42})
    await session.connect(api_key=KEY, url=emulator.ws_url)
    try:
        first = await emulator.wait_for_client_event("session.update")
        assert first["session"]["max_output_tokens"] == 42
    finally:
        await session.close()


async def test_update_history_keeps_the_order_on_the_server(
    emulator: Emulator, session_factory: Callable[..., Any]
) -> None:
    """Editing the first message keeps it first (on the server, as its echo shows)."""
    session: RealtimeSession = await session_factory(RealtimeAgent("main"))
    session.send_message("one", trigger_response=False)
    session.send_message("two", trigger_response=False)
    await until(
        session,
        "history_updated",
        lambda e: len(e.history) == 2 and all(i.status == "completed" for i in e.history),
    )
    first, second = session.history
    assert isinstance(first, RealtimeMessageItem)
    edited = RealtimeMessageItem(
        first.item_id, "user", [{"type": "input_text", "text": "ONE"}], "completed"
    )
    session.update_history([edited, second])
    event = await until(
        session,
        "history_updated",
        lambda e: len(e.history) == 2 and "ONE" in _texts(e),
    )
    assert _texts(event) == ["ONE", "two"]
    create = client_events(emulator, "conversation.item.create")[-1]
    assert create["previous_item_id"] == "root"


def _texts(event: Any) -> list[str]:
    return [item.content[0].get("text") for item in event.history]
