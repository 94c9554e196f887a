"""RealtimeAgent: who the model is (instructions, voice), what it can call, whom it hands off to."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Union

from .context import RealtimeContext
from .errors import UserError
from .events import EventEmitter
from .handoffs import Handoff, handoff
from .tools import FunctionTool, HostedMcpTool, IsEnabled

if TYPE_CHECKING:
    from .guardrails import OutputGuardrail
    from .mcp_servers import McpServer

__all__ = ["AgentTools", "Instructions", "RealtimeAgent", "prepare_agent_tools"]

#: A system prompt, or ``fn(ctx, agent) -> str`` (sync or async) evaluated at each
#: ``session.update`` (connect, handoff, ``update_agent``).
Instructions = Union[
    str, Callable[[RealtimeContext[Any], "RealtimeAgent"], Union[str, Awaitable[str]]]
]

#: A stored prompt reference (``{"id": ..., "version": ..., "variables": {...}}``) or a function
#: returning one.
Prompt = Union[
    Mapping[str, Any],
    Callable[
        [RealtimeContext[Any], "RealtimeAgent"],
        Union[Mapping[str, Any], Awaitable[Mapping[str, Any]]],
    ],
]

Tool = Union[FunctionTool, HostedMcpTool]


class RealtimeAgent(EventEmitter):
    """A voice agent: a configuration the session applies with ``session.update``.

    Agents emit ``agent_start``, ``agent_end``, ``agent_handoff``, ``agent_tool_start`` and
    ``agent_tool_end`` (the same payloads as the session's events of those names). ``voice``
    cannot change once the session has produced audio (a server rule), so agents that hand off
    to each other mid-call should share a voice.
    """

    def __init__(
        self,
        name: str,
        *,
        instructions: Instructions | None = None,
        tools: Sequence[Tool] = (),
        handoffs: Sequence[RealtimeAgent | Handoff] = (),
        voice: str | None = None,
        prompt: Prompt | None = None,
        output_guardrails: Sequence[OutputGuardrail] = (),
        handoff_description: str | None = None,
        mcp_servers: Sequence[Any] = (),
    ) -> None:
        super().__init__()
        if not isinstance(name, str):
            raise UserError(
                f"RealtimeAgent's name must be a string, got {name!r} ({type(name).__name__})"
            )
        if not name.strip():
            raise UserError("RealtimeAgent needs a non-empty name")
        if instructions is not None and not (
            isinstance(instructions, str) or callable(instructions)
        ):
            raise UserError(
                f"agent {name!r}: instructions must be a string or a callable(ctx, agent), "
                f"not {type(instructions).__name__}"
            )
        for tool in tools:
            if not isinstance(tool, (FunctionTool, HostedMcpTool)):
                hint = " (decorate it with @function_tool)" if callable(tool) else ""
                raise UserError(
                    f"agent {name!r}: tools must be FunctionTool or HostedMcpTool objects, got "
                    f"{type(tool).__name__}{hint}"
                )
        for target in handoffs:
            if not isinstance(target, (RealtimeAgent, Handoff)):
                raise UserError(
                    f"agent {name!r}: handoffs must be RealtimeAgent or Handoff objects, got "
                    f"{type(target).__name__}"
                )
        self.name = name
        self.instructions = instructions
        self.tools: list[Tool] = list(tools)
        self.handoffs: list[RealtimeAgent | Handoff] = list(handoffs)
        self.voice = voice
        self.prompt = prompt
        self.output_guardrails: list[OutputGuardrail] = list(output_guardrails)
        self.handoff_description = handoff_description
        self.mcp_servers: list[McpServer] = []
        if mcp_servers:
            from .mcp_servers import as_mcp_server

            self.mcp_servers = [as_mcp_server(server) for server in mcp_servers]

    def __repr__(self) -> str:
        return f"RealtimeAgent(name={self.name!r})"

    def clone(self, **changes: Any) -> RealtimeAgent:
        """A copy with some fields changed (listeners are not copied)."""
        name = changes.pop("name", self.name)
        fields: dict[str, Any] = {
            "instructions": self.instructions,
            "tools": self.tools,
            "handoffs": self.handoffs,
            "voice": self.voice,
            "prompt": self.prompt,
            "output_guardrails": self.output_guardrails,
            "handoff_description": self.handoff_description,
            "mcp_servers": self.mcp_servers,
        }
        fields.update(changes)
        return RealtimeAgent(name, **fields)

    async def get_system_prompt(self, ctx: RealtimeContext[Any]) -> str | None:
        """The instructions, calling them if they are a function."""
        if self.instructions is None or isinstance(self.instructions, str):
            return self.instructions
        value = self.instructions(ctx, self)
        if inspect.isawaitable(value):
            value = await value
        if value is not None and not isinstance(value, str):
            raise UserError(
                f"agent {self.name!r}: the instructions function returned "
                f"{type(value).__name__}, expected str"
            )
        return value

    async def get_prompt(self, ctx: RealtimeContext[Any]) -> dict[str, Any] | None:
        """The stored-prompt reference in wire shape (``id``, ``version``, ``variables``)."""
        if self.prompt is None:
            return None
        value: Any = self.prompt
        if callable(value):
            value = value(ctx, self)
            if inspect.isawaitable(value):
                value = await value
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise UserError(f"agent {self.name!r}: prompt must be a mapping with an 'id'")
        prompt = dict(value)
        if "prompt_id" in prompt:
            prompt["id"] = prompt.pop("prompt_id")
        return {k: v for k, v in prompt.items() if v is not None}

    def handoff_objects(self) -> list[Handoff]:
        return [h if isinstance(h, Handoff) else handoff(h) for h in self.handoffs]


@dataclass
class AgentTools:
    """An agent's enabled tools and handoffs at one moment, and their wire definitions."""

    functions: dict[str, FunctionTool] = field(default_factory=dict)
    handoffs: dict[str, Handoff] = field(default_factory=dict)
    mcp: list[HostedMcpTool] = field(default_factory=list)

    def definitions(self) -> list[dict[str, Any]]:
        return [
            *(t.definition() for t in self.functions.values()),
            *(t.definition() for t in self.mcp),
            *(h.definition() for h in self.handoffs.values()),
        ]


async def is_enabled(flag: IsEnabled, ctx: RealtimeContext[Any], agent: RealtimeAgent) -> bool:
    """Evaluate an ``is_enabled`` flag or callable."""
    if isinstance(flag, bool):
        return flag
    value = flag(ctx, agent)
    if inspect.isawaitable(value):
        value = await value
    return bool(value)


async def prepare_agent_tools(agent: RealtimeAgent, ctx: RealtimeContext[Any]) -> AgentTools:
    """Enabled tools and handoffs of ``agent``; duplicate names are a :class:`UserError`."""
    prepared = AgentTools()
    seen: dict[str, str] = {}

    def claim(name: str, kind: str) -> None:
        if name in seen:
            raise UserError(
                f"agent {agent.name!r} has two tools named {name!r} ({seen[name]} and {kind}); "
                "tool and handoff names must be unique"
            )
        seen[name] = kind

    for item in agent.tools:
        if not await is_enabled(item.is_enabled, ctx, agent):
            continue
        if isinstance(item, FunctionTool):
            claim(item.name, "function tool")
            prepared.functions[item.name] = item
        else:
            claim(f"mcp:{item.server_label}", "hosted MCP server")
            prepared.mcp.append(item)
    for server in agent.mcp_servers:
        for mcp_tool in await server.function_tools():
            claim(mcp_tool.name, f"a tool of MCP server {server.name!r}")
            prepared.functions[mcp_tool.name] = mcp_tool
    for target in agent.handoff_objects():
        if not await is_enabled(target.is_enabled, ctx, agent):
            continue
        claim(target.tool_name, f"handoff to {target.agent_name!r}")
        prepared.handoffs[target.tool_name] = target
    return prepared
