"""The run context a session hands to instructions, tools, guardrails and approval policies."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .events import Usage

if TYPE_CHECKING:
    from .agent import RealtimeAgent
    from .events import FunctionCallEvent, RealtimeItem

__all__ = ["ApprovalDecision", "RealtimeContext", "ToolContext"]

TContext = TypeVar("TContext")


@dataclass
class ApprovalDecision:
    """Recorded approve/reject decisions for one tool name.

    ``approved``/``rejected`` are ``True`` for "always" decisions, else the set of call ids
    decided one by one.
    """

    approved: bool | set[str] = field(default_factory=set)
    rejected: bool | set[str] = field(default_factory=set)
    reject_message: str | None = None
    call_messages: dict[str, str] = field(default_factory=dict)


@dataclass
class RealtimeContext(Generic[TContext]):
    """What a session shares with user code: your own ``context`` object, usage and history.

    ``history`` mirrors the session history (the same item objects; treat them as read-only).
    Approval decisions live here so "always approve" survives reconnects of one session.
    """

    context: TContext
    usage: Usage = field(default_factory=Usage)
    history: list[RealtimeItem] = field(default_factory=list)
    approvals: dict[str, ApprovalDecision] = field(default_factory=dict, repr=False)

    def approval_status(self, tool_name: str, call_id: str) -> bool | None:
        """``True``/``False`` if a decision for this call is recorded, ``None`` if not."""
        decision = self.approvals.get(tool_name)
        if decision is None:
            return None
        if decision.approved is True:
            return True
        if decision.rejected is True:
            return False
        if isinstance(decision.approved, set) and call_id in decision.approved:
            return True
        if isinstance(decision.rejected, set) and call_id in decision.rejected:
            return False
        return None

    def approve_tool(self, tool_name: str, call_id: str, *, always: bool = False) -> None:
        decision = self.approvals.setdefault(tool_name, ApprovalDecision())
        if always:
            decision.approved = True
            decision.rejected = set()
            return
        if isinstance(decision.approved, set):
            decision.approved.add(call_id)
        if isinstance(decision.rejected, set):
            decision.rejected.discard(call_id)

    def reject_tool(
        self, tool_name: str, call_id: str, *, always: bool = False, message: str | None = None
    ) -> None:
        decision = self.approvals.setdefault(tool_name, ApprovalDecision())
        if always:
            decision.rejected = True
            decision.approved = set()
            decision.reject_message = message
            return
        if isinstance(decision.rejected, set):
            decision.rejected.add(call_id)
        if isinstance(decision.approved, set):
            decision.approved.discard(call_id)
        if message is not None:
            decision.call_messages[call_id] = message

    def rejection_message(self, tool_name: str, call_id: str) -> str | None:
        """The message recorded with a rejection (per call first, then the "always" one)."""
        decision = self.approvals.get(tool_name)
        if decision is None:
            return None
        if call_id in decision.call_messages:
            return decision.call_messages[call_id]
        return decision.reject_message if decision.rejected is True else None


@dataclass
class ToolContext(RealtimeContext[TContext]):
    """The context a tool receives: the run context plus the call being answered.

    ``history`` is a deep copy taken when the call started, so a tool may keep it.
    Declare it as the first parameter of a tool function (``ctx: ToolContext[MyState]``).
    """

    tool_name: str = ""
    call_id: str = ""
    arguments: str = ""
    agent: RealtimeAgent | None = None
    tool_call: FunctionCallEvent | None = None

    @classmethod
    def from_run_context(
        cls,
        ctx: RealtimeContext[Any],
        *,
        tool_name: str,
        call_id: str,
        arguments: str,
        agent: RealtimeAgent | None,
        tool_call: FunctionCallEvent | None,
    ) -> ToolContext[Any]:
        return cls(
            context=ctx.context,
            usage=ctx.usage,
            history=copy.deepcopy(ctx.history),
            approvals=ctx.approvals,
            tool_name=tool_name,
            call_id=call_id,
            arguments=arguments,
            agent=agent,
            tool_call=tool_call,
        )
