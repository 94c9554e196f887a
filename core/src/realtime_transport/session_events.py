"""Payloads of the events a :class:`~realtime_transport.RealtimeSession` emits.

Each session event name has one payload type (``audio`` re-uses the transport's
:class:`~realtime_transport.AudioEvent` unchanged; ``transport_event`` carries the raw server
dict). ``async for event in session`` yields :class:`SessionEvent` ``(name, payload)`` pairs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, Union

if TYPE_CHECKING:
    from .agent import RealtimeAgent
    from .context import RealtimeContext
    from .events import FunctionCallEvent, RealtimeItem, RealtimeMcpApprovalRequestItem
    from .guardrails import OutputGuardrailTripwireTriggered
    from .handoffs import Handoff
    from .tool_guardrails import (
        ToolGuardrailFunctionOutput,
        ToolInputGuardrail,
        ToolOutputGuardrail,
    )
    from .tools import FunctionTool

__all__ = [
    "SESSION_EVENTS",
    "AgentEndEvent",
    "AgentHandoffEvent",
    "AgentStartEvent",
    "AudioStartEvent",
    "AudioStoppedEvent",
    "GuardrailTrippedEvent",
    "HistoryAddedEvent",
    "HistoryUpdatedEvent",
    "McpApprovalItem",
    "McpToolCallCompletedEvent",
    "McpToolsChangedEvent",
    "SessionAudioInterruptedEvent",
    "SessionErrorEvent",
    "SessionEvent",
    "ToolApprovalItem",
    "ToolApprovalRequestedEvent",
    "ToolEndEvent",
    "ToolGuardrailTrippedEvent",
    "ToolStartEvent",
]

#: Every event name a session emits (reference section 8.8, plus ``connected`` and
#: ``disconnected`` so ``async for`` consumers learn when the connection ends).
SESSION_EVENTS = (
    "agent_start",
    "agent_end",
    "agent_handoff",
    "agent_tool_start",
    "agent_tool_end",
    "transport_event",
    "audio_start",
    "audio_stopped",
    "audio",
    "audio_interrupted",
    "guardrail_tripped",
    "tool_guardrail_tripped",
    "history_updated",
    "history_added",
    "error",
    "tool_approval_requested",
    "mcp_tool_call_completed",
    "mcp_tools_changed",
    "dtmf",
    "connected",
    "disconnected",
    "connection_change",
    "reconnecting",
    "reconnected",
    "reconnect_failed",
)


class SessionEvent(NamedTuple):
    """One item of ``async for event in session``."""

    name: str
    payload: Any


@dataclass(slots=True)
class AgentStartEvent:
    """``agent_start``: a response began; ``agent`` is the agent that owns it."""

    agent: RealtimeAgent
    response_id: str
    context: RealtimeContext[Any]
    type: Literal["agent_start"] = "agent_start"


@dataclass(slots=True)
class AgentEndEvent:
    """``agent_end``: a response finished; ``output`` is its final text or transcript."""

    agent: RealtimeAgent
    output: str
    response_id: str
    status: str
    context: RealtimeContext[Any]
    type: Literal["agent_end"] = "agent_end"


@dataclass(slots=True)
class AgentHandoffEvent:
    """``agent_handoff``: the session switched from one agent to another."""

    from_agent: RealtimeAgent
    to_agent: RealtimeAgent
    context: RealtimeContext[Any]
    type: Literal["agent_handoff"] = "agent_handoff"


@dataclass(slots=True)
class ToolStartEvent:
    """``agent_tool_start``: a tool (or handoff) is about to run for ``call``."""

    agent: RealtimeAgent
    tool: FunctionTool | Handoff
    call: FunctionCallEvent
    arguments: str
    context: RealtimeContext[Any]
    type: Literal["agent_tool_start"] = "agent_tool_start"


@dataclass(slots=True)
class ToolEndEvent:
    """``agent_tool_end``: ``output`` is what the model was sent; ``result`` the raw return."""

    agent: RealtimeAgent
    tool: FunctionTool | Handoff
    call: FunctionCallEvent
    arguments: str
    output: str
    result: Any
    context: RealtimeContext[Any]
    type: Literal["agent_tool_end"] = "agent_tool_end"


@dataclass(slots=True)
class AudioStartEvent:
    """``audio_start``: the first audio chunk of a response arrived."""

    agent: RealtimeAgent
    response_id: str
    type: Literal["audio_start"] = "audio_start"


@dataclass(slots=True)
class AudioStoppedEvent:
    """``audio_stopped``: the model finished sending audio for a response."""

    agent: RealtimeAgent
    response_id: str
    type: Literal["audio_stopped"] = "audio_stopped"


@dataclass(slots=True)
class SessionAudioInterruptedEvent:
    """``audio_interrupted``: stop playback now (barge-in, ``interrupt()``, guardrail)."""

    agent: RealtimeAgent
    item_id: str
    audio_end_ms: int
    type: Literal["audio_interrupted"] = "audio_interrupted"


@dataclass(slots=True)
class GuardrailTrippedEvent:
    """``guardrail_tripped``: an output guardrail stopped a response."""

    agent: RealtimeAgent
    error: OutputGuardrailTripwireTriggered
    item_id: str
    response_id: str
    context: RealtimeContext[Any]
    type: Literal["guardrail_tripped"] = "guardrail_tripped"


@dataclass(slots=True)
class ToolGuardrailTrippedEvent:
    """``tool_guardrail_tripped``: a tool guardrail answered the call with ``reject_content``.

    ``kind`` is ``"input"`` (the tool did not run) or ``"output"`` (its result was replaced);
    ``message`` is the output the model got instead.
    """

    agent: RealtimeAgent
    tool: FunctionTool
    call: FunctionCallEvent
    guardrail: ToolInputGuardrail | ToolOutputGuardrail
    kind: Literal["input", "output"]
    output: ToolGuardrailFunctionOutput
    message: str
    context: RealtimeContext[Any]


@dataclass(slots=True)
class HistoryUpdatedEvent:
    """``history_updated``: the whole local history after a change (a new list each time)."""

    history: list[RealtimeItem]
    type: Literal["history_updated"] = "history_updated"


@dataclass(slots=True)
class HistoryAddedEvent:
    """``history_added``: an item with a new id entered the history."""

    item: RealtimeItem
    type: Literal["history_added"] = "history_added"


@dataclass(slots=True)
class SessionErrorEvent:
    """``error``: something failed; ``error`` is the exception or the transport's ErrorEvent.

    ``source`` says where: ``transport`` (re-emitted transport error), ``tool``, ``handoff``,
    ``guardrail``, ``approval``, ``history``, ``model`` (the model misbehaved), ``listener``.
    """

    message: str
    source: Literal[
        "transport", "tool", "handoff", "guardrail", "approval", "history", "model", "listener"
    ]
    error: Any = None
    code: str | None = None
    agent: RealtimeAgent | None = None
    type: Literal["error"] = "error"


@dataclass(frozen=True)
class ToolApprovalItem:
    """A function call waiting for ``session.approve(item)`` or ``session.reject(item)``.

    Bound to the connection, agent, tool and exact arguments it was issued for.
    """

    agent: RealtimeAgent
    tool: FunctionTool
    call: FunctionCallEvent
    arguments: str
    call_key: str
    fingerprint: str
    generation: int
    type: Literal["function_approval"] = "function_approval"

    @property
    def tool_name(self) -> str:
        return self.tool.name

    @property
    def call_id(self) -> str:
        return self.call.call_id or self.call.item_id


@dataclass(frozen=True)
class McpApprovalItem:
    """A hosted MCP tool call waiting for approval."""

    agent: RealtimeAgent
    request: RealtimeMcpApprovalRequestItem
    generation: int
    fingerprint: str = field(default="", repr=False)
    type: Literal["mcp_approval_request"] = "mcp_approval_request"

    @property
    def tool_name(self) -> str:
        return self.request.name


ApprovalItem = Union[ToolApprovalItem, McpApprovalItem]


@dataclass(slots=True)
class ToolApprovalRequestedEvent:
    """``tool_approval_requested``: call ``session.approve`` or ``session.reject`` with it."""

    agent: RealtimeAgent
    approval_item: ApprovalItem
    context: RealtimeContext[Any]
    type: Literal["tool_approval_requested"] = "tool_approval_requested"


@dataclass(slots=True)
class McpToolCallCompletedEvent:
    """``mcp_tool_call_completed``: the server finished a hosted MCP tool call."""

    agent: RealtimeAgent
    item: Any
    type: Literal["mcp_tool_call_completed"] = "mcp_tool_call_completed"


@dataclass(slots=True)
class McpToolsChangedEvent:
    """``mcp_tools_changed``: the hosted MCP tools available to the current agent changed."""

    tools: list[dict[str, Any]]
    type: Literal["mcp_tools_changed"] = "mcp_tools_changed"
