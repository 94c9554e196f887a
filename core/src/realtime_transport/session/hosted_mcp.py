"""Hosted MCP servers: the calls the server makes to them, as far as the session is involved.

The Realtime API calls hosted MCP tools itself; the session relays approval requests as
``tool_approval_requested`` (exact repeats suppressed, a reused request id reported) and sends
the decision back, announces completed calls (and asks for the response that follows them,
unless told not to), and keeps the list of MCP tools the current agent may use.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import ModelBehaviorError, UserError
from ..openai.items import mcp_approval_response_event
from ..session_events import (
    McpApprovalItem,
    McpToolCallCompletedEvent,
    McpToolsChangedEvent,
    ToolApprovalRequestedEvent,
)
from .call_records import call_fingerprint
from .runtime import logger

if TYPE_CHECKING:
    from ..events import McpToolsListedEvent, RealtimeMcpApprovalRequestItem
    from .runtime import SessionRuntime

__all__ = ["HostedMcp"]


@dataclass
class _McpApproval:
    """A request relayed to the application; ``decided`` once the answer was sent."""

    item: McpApprovalItem
    decided: bool = False


class HostedMcp:
    """MCP approval requests and decisions, completed calls, and the available MCP tools."""

    __slots__ = ("_approvals", "_auto_response", "_runtime", "_tools_by_server", "available_tools")

    def __init__(self, runtime: SessionRuntime, *, auto_response: bool) -> None:
        self._runtime = runtime
        self._auto_response = auto_response
        # keyed by (agent, request item id): after a handoff the same id is a new request
        self._approvals: dict[tuple[Any, str], _McpApproval] = {}
        self._tools_by_server: dict[str, list[dict[str, Any]]] = {}
        self.available_tools: list[dict[str, Any]] = []

    def clear(self) -> None:
        """Forget the connection's requests and listed tools (no event: a new one follows)."""
        self._approvals.clear()
        self._tools_by_server.clear()
        self.available_tools = []

    def on_approval_request(self, request: RealtimeMcpApprovalRequestItem) -> None:
        generation = self._runtime.generation
        if not self._runtime.is_live(generation):
            return
        fingerprint = call_fingerprint(request.name, json.dumps(request.arguments, sort_keys=True))
        fingerprint = f"{request.server_label}:{fingerprint}"
        agent = self._runtime.agent
        existing = self._approvals.get((agent, request.item_id))
        if existing is not None:
            if existing.item.fingerprint != fingerprint:
                self._runtime.emit_error(
                    f"MCP approval request {request.item_id!r} was reused for a different call",
                    "model",
                    ModelBehaviorError("conflicting MCP approval request"),
                    self._runtime.agent,
                )
            return  # exact repeats are suppressed
        item = McpApprovalItem(
            agent=self._runtime.agent,
            request=dataclasses.replace(request, arguments=copy.deepcopy(request.arguments)),
            generation=generation,
            fingerprint=fingerprint,
        )
        self._approvals[(agent, request.item_id)] = _McpApproval(item)
        self._runtime.emit(
            "tool_approval_requested",
            ToolApprovalRequestedEvent(
                agent=self._runtime.agent, approval_item=item, context=self._runtime.context
            ),
        )

    def on_tool_call_completed(self, item: Any) -> None:
        if not self._runtime.is_live(self._runtime.generation):
            return
        self._runtime.emit(
            "mcp_tool_call_completed", McpToolCallCompletedEvent(self._runtime.agent, item)
        )
        if self._auto_response:
            try:
                self._runtime.transport.request_response()
            except Exception as exc:
                self._runtime.emit_error(f"could not request a response: {exc}", "transport", exc)

    def on_tools_listed(self, event: McpToolsListedEvent) -> None:
        self._tools_by_server[event.server_label] = list(event.tools)
        self.recompute_tools()

    def recompute_tools(self) -> None:
        """The listed tools of the current agent's servers, filtered by ``allowed_tools``."""
        tools: list[dict[str, Any]] = []
        seen: set[str] = set()
        for server in self._runtime.tools.mcp:
            allowed = server.allowed_tools
            names: set[str] | None = None
            if isinstance(allowed, list):
                names = set(allowed)
            elif isinstance(allowed, Mapping) and isinstance(allowed.get("tool_names"), list):
                names = set(allowed["tool_names"])
            for listed in self._tools_by_server.get(server.server_label, ()):
                name = str(listed.get("name", ""))
                if not name or name in seen or (names is not None and name not in names):
                    continue
                seen.add(name)
                tools.append(listed)
        before = [t.get("name") for t in self.available_tools]
        self.available_tools = tools
        if [t.get("name") for t in tools] != before:
            self._runtime.emit("mcp_tools_changed", McpToolsChangedEvent(list(tools)))

    def decide(
        self, item: McpApprovalItem, *, approve: bool, always: bool, message: str | None
    ) -> asyncio.Task[None]:
        """Send the decision to the server now; the task returned finishes at once."""
        state = self._approvals.get((item.agent, item.request.item_id))
        if (
            state is None
            or state.decided
            or item.generation != self._runtime.generation
            or not (state.item is item or state.item == item)
        ):
            raise UserError(
                f"no pending MCP approval matches this item ({item.request.item_id!r}): it was "
                "already decided, belongs to an earlier connection, or was changed"
            )
        if always:
            logger.warning("always_approve/always_reject are not supported for hosted MCP tools")
        reason = message if not approve else None
        send = getattr(self._runtime.transport, "send_mcp_response", None)
        state.decided = True  # before sending: a re-entrant approve() must not send twice
        try:
            if callable(send):
                send(item.request.item_id, approve, reason)
            else:
                self._runtime.transport.send_event(
                    mcp_approval_response_event(item.request.item_id, approve, reason)
                )
        except Exception as exc:  # leave it pending so the caller can retry
            state.decided = False
            self._runtime.emit_error(
                f"could not send the MCP approval response: {exc}", "approval", exc, item.agent
            )
            raise
        return self._runtime.spawn(_noop())


async def _noop() -> None:
    return None
