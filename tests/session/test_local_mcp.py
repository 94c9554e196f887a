"""Local MCP servers as tools: a real MCP server over stdio (``mcp_test_server.py``), the
emulator's scripted model calling its tools through the websocket transport.

Reference 9.9 "MCP server tools become function tools"; the issue's "list changes are
followed, and errors are answered".
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from emulated import client_events, outputs, until
from realtime_transport import (
    McpServer,
    McpToolError,
    RealtimeAgent,
    RealtimeSession,
    SessionErrorEvent,
    UserError,
    function_tool,
)
from realtime_transport_emulator import Emulator, FunctionCall, Reply, Rule, Script

mcp = pytest.importorskip("mcp", reason="the mcp extra is not installed")
from mcp.client.stdio import StdioServerParameters, stdio_client  # noqa: E402

SERVER = Path(__file__).with_name("mcp_test_server.py")


def call(text: str, name: str, arguments: dict[str, Any], then: str) -> Rule:
    return Rule(
        contains=text,
        reply=Reply(
            text="One moment.",
            function_calls=(FunctionCall(name, arguments),),
            then=Reply(text=then),
        ),
    )


SCRIPT = Script(
    rules=(
        call("enable", "enable_refunds", {}, "Refunds are on."),
        call("refund", "refund", {"order_id": "A-7", "amount": 5}, "Refunded."),
        call("broken", "broken", {"order_id": "A-7"}, "Sorry about that."),
        call("slow", "slow", {"order_id": "A-7"}, "That took too long."),
        call("where", "lookup_order", {"order_id": "A-7"}, "It shipped."),
    ),
)
pytestmark = pytest.mark.emulator_options(script=SCRIPT)


@asynccontextmanager
async def mcp_session() -> AsyncIterator[Any]:
    """A connected client session to the test server (entered and left in the test's task)."""
    params = StdioServerParameters(command=sys.executable, args=[str(SERVER)])
    async with stdio_client(params) as (read, write), mcp.ClientSession(read, write) as session:
        await asyncio.wait_for(session.initialize(), 20)
        yield session


def ended_with(text: str) -> Callable[[Any], bool]:
    return lambda event: event.output == text


async def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait (bounded) until the emulator has recorded what the client sent."""
    for _ in range(int(timeout / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the emulator never saw it")


def sent_tool_lists(emulator: Emulator) -> list[list[str]]:
    return [
        [tool["name"] for tool in event["session"]["tools"]]
        for event in client_events(emulator, "session.update")
        if "tools" in event["session"]
    ]


async def test_mcp_tools_become_function_tools_and_answer_the_model(
    emulator: Emulator, session_factory: Callable[..., Any]
) -> None:
    async with mcp_session() as client:
        agent = RealtimeAgent("support", mcp_servers=[client])
        session: RealtimeSession = await session_factory(agent)
        await eventually(lambda: len(sent_tool_lists(emulator)) == 1)
        (tools,) = sent_tool_lists(emulator)
        assert sorted(tools) == ["broken", "enable_refunds", "lookup_order", "slow"]
        definition = next(
            t
            for t in client_events(emulator, "session.update")[0]["session"]["tools"]
            if t["name"] == "lookup_order"
        )
        assert definition["description"] == "Look up an order by its id."
        assert definition["parameters"]["properties"]["order_id"]["type"] == "string"
        assert definition["parameters"]["required"] == ["order_id"]

        session.send_message("where is my order?")
        await until(session, "agent_end", ended_with("It shipped."), timeout=10)
        assert outputs(emulator) == ["order A-7: shipped on Monday"]
        await asyncio.wait_for(session.close(), 5)


async def test_failures_are_answered_and_reported(
    emulator: Emulator, session_factory: Callable[..., Any]
) -> None:
    async with mcp_session() as client:
        agent = RealtimeAgent(
            "support",
            mcp_servers=[
                McpServer(client, allowed_tools=["broken"]),
                McpServer(client, timeout=0.3, allowed_tools=["slow"]),
            ],
        )
        session: RealtimeSession = await session_factory(agent)
        errors: list[SessionErrorEvent] = []
        session.on("error", errors.append)
        await eventually(lambda: len(sent_tool_lists(emulator)) == 1)
        assert sorted(sent_tool_lists(emulator)[0]) == ["broken", "slow"]

        session.send_message("try the broken one")  # an isError result
        await until(session, "agent_end", ended_with("Sorry about that."), timeout=10)
        (output,) = outputs(emulator)
        assert output.startswith("The tool 'broken' failed: ")
        assert "broken" in output[len("The tool 'broken' failed: ") :]  # the server's text
        (error,) = errors
        assert error.code == "tool_error" and isinstance(error.error, McpToolError)

        session.send_message("try the slow one")  # no answer within the timeout
        await until(session, "agent_end", ended_with("That took too long."), timeout=10)
        assert outputs(emulator)[-1] == "Tool 'slow' timed out after 300ms."
        await asyncio.wait_for(session.close(), 5)


async def test_tool_list_changes_are_followed(
    emulator: Emulator, session_factory: Callable[..., Any]
) -> None:
    async with mcp_session() as client:
        session: RealtimeSession = await session_factory(
            RealtimeAgent("support", mcp_servers=[client])
        )
        session.send_message("please enable refunds")
        await until(session, "agent_end", ended_with("Refunds are on."), timeout=10)
        assert outputs(emulator) == ["refunds enabled"]
        await eventually(lambda: len(sent_tool_lists(emulator)) >= 2)  # the notification's
        initial, updated = sent_tool_lists(emulator)
        assert "refund" not in initial and "refund" in updated
        refresh = [e for e in client_events(emulator, "session.update") if "tools" in e["session"]]
        assert "audio" not in refresh[-1]["session"]  # only the tools change (never the voice)

        session.send_message("refund it now")
        await until(session, "agent_end", ended_with("Refunded."), timeout=10)
        assert outputs(emulator)[-1] == "refunded 5.00 on A-7"
        await asyncio.wait_for(session.close(), 5)


async def test_names_must_not_clash_with_the_agents_tools(emulator: Emulator) -> None:
    @function_tool
    def lookup_order(order_id: str) -> str:
        """Local lookup."""
        return order_id

    async with mcp_session() as client:
        session = RealtimeSession(
            RealtimeAgent("support", tools=[lookup_order], mcp_servers=[client])
        )
        with pytest.raises(UserError, match="lookup_order"):
            await session.connect(api_key="sk-test", url=emulator.ws_url)


def test_a_server_must_be_a_client_session() -> None:
    with pytest.raises(UserError, match=r"mcp\.ClientSession"):
        RealtimeAgent("a", mcp_servers=[object()])
    with pytest.raises(UserError, match="timeout"):
        McpServer(_FakeSession(), timeout=0)


class _FakeSession:
    async def list_tools(self) -> None: ...

    async def call_tool(self, name: str, arguments: Any) -> None: ...
