"""Handoffs: tools named ``transfer_to_<agent>`` that switch the session to another agent."""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .context import RealtimeContext
from .errors import UserError
from .tools import IsEnabled, ToolArgumentsError, parse_tool_arguments

if TYPE_CHECKING:
    from .agent import RealtimeAgent

__all__ = ["Handoff", "default_handoff_tool_name", "handoff"]

_EMPTY_OBJECT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {},
    "required": [],
    "additionalProperties": False,
}


def default_handoff_tool_name(agent_name: str) -> str:
    """``transfer_to_<name>``, lower-cased, anything outside ``[a-z0-9_]`` replaced by ``_``."""
    return "transfer_to_" + re.sub(r"[^a-z0-9_]", "_", agent_name.lower())


def default_handoff_description(agent: RealtimeAgent) -> str:
    text = f"Handoff to the {agent.name} agent to handle the request."
    if agent.handoff_description:
        text += f" {agent.handoff_description}"
    return text


@dataclass
class Handoff:
    """A handoff as the model sees it (a function tool) and what running it does.

    ``on_invoke_handoff(ctx, arguments_json)`` returns the agent to switch to; it may raise
    :class:`~realtime_transport.tools.ToolArgumentsError` for unusable arguments.
    """

    tool_name: str
    tool_description: str
    input_json_schema: dict[str, Any]
    on_invoke_handoff: Callable[[RealtimeContext[Any], str], Awaitable[RealtimeAgent]]
    agent_name: str
    is_enabled: IsEnabled = True

    @property
    def name(self) -> str:
        return self.tool_name

    def definition(self) -> dict[str, Any]:
        return {
            "type": "function",
            "name": self.tool_name,
            "description": self.tool_description,
            "parameters": self.input_json_schema,
        }


def handoff(
    agent: RealtimeAgent,
    *,
    tool_name_override: str | None = None,
    tool_description_override: str | None = None,
    on_handoff: Callable[..., Any] | None = None,
    input_type: Any = None,
    is_enabled: IsEnabled = True,
) -> Handoff:
    """A handoff to ``agent``, customised.

    ``on_handoff`` runs when the model hands off (sync or async): ``on_handoff(ctx)``, or
    ``on_handoff(ctx, data)`` when ``input_type`` is given, with the model's arguments validated
    against ``input_type`` (any type pydantic accepts; the model sees its JSON schema).
    """
    if input_type is not None and on_handoff is None:
        raise UserError("handoff(input_type=...) needs on_handoff to receive the input")
    adapter: Any = None
    schema = dict(_EMPTY_OBJECT_SCHEMA)
    if input_type is not None:
        from pydantic import TypeAdapter

        adapter = TypeAdapter(input_type)
        schema = adapter.json_schema()
        schema.pop("title", None)
    tool_name = tool_name_override or default_handoff_tool_name(agent.name)

    async def invoke(ctx: RealtimeContext[Any], arguments: str) -> RealtimeAgent:
        if adapter is not None:
            data = parse_tool_arguments(tool_name, arguments)
            try:
                value = adapter.validate_python(data)
            except Exception as exc:
                raise ToolArgumentsError(f"invalid arguments for {tool_name!r}: {exc}") from exc
            result = on_handoff(ctx, value)  # type: ignore[misc]
        elif on_handoff is not None:
            result = on_handoff(ctx)
        else:
            result = None
        if inspect.isawaitable(result):
            await result
        return agent

    return Handoff(
        tool_name=tool_name,
        tool_description=tool_description_override or default_handoff_description(agent),
        input_json_schema=schema,
        on_invoke_handoff=invoke,
        agent_name=agent.name,
        is_enabled=is_enabled,
    )
