"""Function calls that wait for a person: the approval policy, pending items and rejections.

A tool with ``needs_approval`` is asked (its policy sees parsed arguments only; anything else
fails closed) before it runs. A call that needs approval is parked as a
:class:`~realtime_transport.ToolApprovalItem` until ``session.approve``/``reject``; the decision
is recorded in the run context (so "always" survives reconnects). A rejected call is answered
with the rejection message, the ``tool_error_formatter``'s text, or
:data:`DEFAULT_REJECTION_MESSAGE`.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ..errors import UserError
from ..log_privacy import describe_error
from ..session_events import ToolApprovalItem, ToolApprovalRequestedEvent
from ..tools import FunctionTool, ToolArgumentsError, parse_tool_arguments
from .runtime import logger

if TYPE_CHECKING:
    from ..agent import RealtimeAgent
    from ..events import FunctionCallEvent
    from .call_records import CallRecord
    from .runtime import SessionRuntime

__all__ = [
    "DEFAULT_REJECTION_MESSAGE",
    "ToolApprovals",
    "ToolErrorFormatter",
    "ToolErrorFormatterArgs",
]

DEFAULT_REJECTION_MESSAGE = "Tool execution was not approved."


@dataclass(frozen=True)
class ToolErrorFormatterArgs:
    """What ``tool_error_formatter`` gets; it returns the output the model sees (or ``None``)."""

    kind: Literal["approval_rejected"]
    tool_name: str
    call_id: str
    default_message: str


ToolErrorFormatter = Callable[[ToolErrorFormatterArgs], "str | Awaitable[str | None] | None"]


class ToolApprovals:
    """The function calls waiting for a decision on the current connection."""

    __slots__ = ("_formatter", "_pending", "_runtime")

    def __init__(self, runtime: SessionRuntime, formatter: ToolErrorFormatter | None) -> None:
        self._runtime = runtime
        self._formatter = formatter
        self._pending: dict[tuple[RealtimeAgent, str], ToolApprovalItem] = {}

    def clear(self) -> None:
        self._pending.clear()

    async def needs_approval(
        self, tool: FunctionTool, arguments: str, call_id: str, agent: RealtimeAgent
    ) -> bool:
        """Ask the tool's policy; malformed arguments or a failing policy mean "yes"."""
        policy = tool.needs_approval
        if isinstance(policy, bool):
            return policy
        try:
            params = parse_tool_arguments(tool.name, arguments)
        except ToolArgumentsError:
            return True  # malformed arguments are never shown to a policy: fail closed
        try:
            value = policy(self._runtime.context, params, call_id)
            if inspect.isawaitable(value):
                value = await value
            return bool(value)
        except Exception as exc:
            self._runtime.emit_error(
                f"the needs_approval policy of tool {tool.name!r} raised "
                f"{describe_error(exc, self._runtime.log_policy.tool_data)}; approval is "
                "required",
                "approval",
                exc,
                agent,
            )
            return True

    def request(
        self,
        call: FunctionCallEvent,
        agent: RealtimeAgent,
        tool: FunctionTool,
        record: CallRecord,
        generation: int,
        call_id: str,
    ) -> None:
        """Park the call and emit ``tool_approval_requested``."""
        item = ToolApprovalItem(
            agent=agent,
            tool=tool,
            call=call,
            arguments=call.arguments,
            call_key=call_id,
            fingerprint=record.fingerprint,
            generation=generation,
        )
        record.state = "awaiting_approval"
        self._pending[(agent, call_id)] = item
        record.settled.set()
        self._runtime.emit(
            "tool_approval_requested",
            ToolApprovalRequestedEvent(
                agent=agent, approval_item=item, context=self._runtime.context
            ),
        )

    def decide(
        self, item: ToolApprovalItem, *, approve: bool, always: bool, message: str | None
    ) -> None:
        """Take ``item`` off the pending list and record the decision in the run context.

        Raises :class:`UserError` unless ``item`` is pending on the current connection.
        """
        key = (item.agent, item.call_id)
        pending = self._pending.get(key)
        if (
            pending is None
            or item.generation != self._runtime.generation
            or not (pending is item or pending == item)
        ):
            raise UserError(
                f"no pending approval matches this item for tool {item.tool_name!r} (call "
                f"{item.call_id!r}): it was already decided, belongs to an earlier connection, or "
                "was changed"
            )
        del self._pending[key]
        ctx = self._runtime.context
        if approve:
            ctx.approve_tool(item.tool_name, item.call_id, always=always)
        else:
            ctx.reject_tool(item.tool_name, item.call_id, always=always, message=message)

    async def rejection_output(self, tool_name: str, call_id: str, generation: int) -> str:
        """What the model is told when the call was rejected."""
        message = self._runtime.context.rejection_message(tool_name, call_id)
        if message is not None:
            return message
        formatter = self._formatter
        if formatter is None or not self._runtime.is_live(generation):
            return DEFAULT_REJECTION_MESSAGE
        try:
            value = formatter(
                ToolErrorFormatterArgs(
                    kind="approval_rejected",
                    tool_name=tool_name,
                    call_id=call_id,
                    default_message=DEFAULT_REJECTION_MESSAGE,
                )
            )
            if inspect.isawaitable(value):
                value = await value
        except Exception as exc:
            logger.warning(
                "tool_error_formatter raised %s; using the default message", type(exc).__name__
            )
            return DEFAULT_REJECTION_MESSAGE
        return value if isinstance(value, str) else DEFAULT_REJECTION_MESSAGE
