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
