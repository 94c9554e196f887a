"""Local MCP server helpers that need no server: schemas, result text, wrapping, the hook."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from realtime_transport import McpServer, RealtimeAgent, UserError
from realtime_transport.mcp_servers import _object_schema, _result_text, as_mcp_server


@dataclass
class Part:
    text: str
    type: str = "text"


@dataclass
class Result:
    content: list[Any] = field(default_factory=list)
    structured_content: Any = None
    is_error: bool = False


class Session:
    def __init__(self) -> None:
        self.seen: list[Any] = []

        async def original(message: Any) -> None:
            self.seen.append(message)

        self._message_handler = original

    async def list_tools(self) -> Any: ...

    async def call_tool(self, name: str, arguments: Any) -> Any: ...


def test_schema_is_always_an_object() -> None:
    assert _object_schema(None) == {"type": "object", "properties": {}}
    schema = {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}
    assert _object_schema(schema) == schema


def test_result_text() -> None:
    assert _result_text(Result([Part("a"), Part("b")]), False) == "a\nb"
    structured = Result([Part("a")], {"result": "a"})
    assert _result_text(structured, False) == "a"
    assert _result_text(structured, True) == '{"result": "a"}'
    assert _result_text(Result([], {"n": 1}), False) == '{"n": 1}'
    assert _result_text(Result([{"type": "image", "data": "x"}]), False) == (
        '[{"type": "image", "data": "x"}]'
    )


async def test_one_wrapper_per_session_and_the_hook_chains() -> None:
    session = Session()
    server = as_mcp_server(session)
    assert as_mcp_server(session) is server and as_mcp_server(server) is server
    assert server.follows_changes
    changes: list[int] = []
    unsubscribe = server.subscribe(lambda: changes.append(1))

    @dataclass
    class Note:
        method: str

    await session._message_handler(Note("notifications/tools/list_changed"))
    await session._message_handler(Note("notifications/message"))
    assert changes == [1] and len(session.seen) == 2  # the original handler still runs
    unsubscribe()
    await session._message_handler(Note("notifications/tools/list_changed"))
    assert changes == [1]


def test_agent_validates_servers() -> None:
    with pytest.raises(UserError, match="ClientSession"):
        RealtimeAgent("a", mcp_servers=["stdio://x"])
    agent = RealtimeAgent("a", mcp_servers=[Session()])
    assert isinstance(agent.mcp_servers[0], McpServer)
    assert agent.clone(name="b").mcp_servers == agent.mcp_servers


@dataclass
class Tool:
    name: str
    description: str = ""
    input_schema: dict[str, Any] = field(default_factory=dict)


class ListingSession(Session):
    def __init__(self, tools: list[Tool]) -> None:
        super().__init__()
        self.tools = tools
        self.lists = 0

    async def list_tools(self, params: Any = None) -> Any:
        self.lists += 1
        return type("Page", (), {"tools": self.tools, "next_cursor": None})()


async def test_server_options_reach_every_tool_and_the_list_is_cached() -> None:
    from realtime_transport import ToolGuardrailFunctionOutput, tool_input_guardrail

    @tool_input_guardrail
    def guard(data: Any) -> ToolGuardrailFunctionOutput:
        return ToolGuardrailFunctionOutput.allow()

    session = ListingSession([Tool("a.b", "dotted"), Tool("ok"), Tool("skip")])
    server = McpServer(
        session, needs_approval=True, tool_input_guardrails=[guard], allowed_tools=["a.b", "ok"]
    )
    tools = await server.function_tools()
    assert [t.name for t in tools] == ["a_b", "ok"]  # made valid; the call keeps the real name
    assert all(t.needs_approval is True and t.tool_input_guardrails == [guard] for t in tools)
    assert await server.function_tools() is tools and session.lists == 1
    server.invalidate()
    await server.function_tools()
    assert session.lists == 2
