"""Local MCP servers as function tools (``RealtimeAgent(mcp_servers=[...])``).

A server is a connected, initialized client session of the official ``mcp`` package
(``mcp.ClientSession`` over stdio, or any transport it supports), or :class:`McpServer` wrapping
one with options. Its tools become :class:`~realtime_transport.FunctionTool` objects: the MCP
tool's ``inputSchema`` is the parameters schema, a call goes to ``call_tool`` with the model's
arguments, and every outcome answers the model: a result as text (structured content as JSON),
an ``isError`` result or a failed call (the server died, the timeout expired) as an error
output that is also reported as a session ``error``.

The tool list is read once and cached; a ``notifications/tools/list_changed`` from the server
drops the cache and tells the sessions using the server, which re-list the tools and send a
``session.update``. Following notifications hooks the client session's message handler (its
own handler still runs); the ``mcp`` package itself is never imported here, so it is an
optional extra (``realtime-transport[mcp]``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from .context import ToolContext
from .errors import RealtimeTransportError, UserError
from .tool_guardrails import ToolInputGuardrail, ToolOutputGuardrail
from .tools import FunctionTool, NeedsApproval, parse_tool_arguments

__all__ = ["McpServer", "McpToolError", "as_mcp_server"]

logger = logging.getLogger("realtime_transport.mcp")

_LIST_CHANGED = "notifications/tools/list_changed"
_VALID_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


class McpToolError(RealtimeTransportError):
    """An MCP tool answered with ``isError``, or listing/calling a server's tools failed."""


class McpServer:
    """A connected ``mcp`` client session and how the agent uses its tools.

    ``session`` must already be initialized (``await session.initialize()``) and stay open
    while the agent may call it. ``name`` labels errors (default: the server's own name);
    ``timeout`` bounds each call in seconds; ``allowed_tools`` keeps only the named tools;
    ``use_structured_content=True`` answers with a result's structured content (JSON) instead
    of its text content (a result with only structured content is always sent as JSON).
    ``needs_approval``, ``tool_input_guardrails`` and ``tool_output_guardrails`` apply to every
    tool of the server, as on :func:`~realtime_transport.function_tool`.
    """

    def __init__(
        self,
        session: Any,
        *,
        name: str | None = None,
        timeout: float = 60.0,
        allowed_tools: list[str] | None = None,
        use_structured_content: bool = False,
        needs_approval: NeedsApproval = False,
        tool_input_guardrails: Sequence[ToolInputGuardrail] = (),
        tool_output_guardrails: Sequence[ToolOutputGuardrail] = (),
    ) -> None:
        if not callable(getattr(session, "list_tools", None)) or not callable(
            getattr(session, "call_tool", None)
        ):
            raise UserError(
                f"an MCP server must be a connected mcp.ClientSession (or McpServer), got "
                f"{type(session).__name__}; pip install 'realtime-transport[mcp]'"
            )
        if not timeout > 0:
            raise UserError("McpServer timeout must be a positive number of seconds")
        self.session = session
        self.timeout = timeout
        self.allowed_tools = list(allowed_tools) if allowed_tools is not None else None
        self.use_structured_content = use_structured_content
        self.needs_approval = needs_approval
        self.tool_input_guardrails = list(tool_input_guardrails)
        self.tool_output_guardrails = list(tool_output_guardrails)
        self._name = name
        self._tools: list[FunctionTool] | None = None
        self._listeners: list[Callable[[], None]] = []
        self.follows_changes = _hook_notifications(session, self._on_list_changed)

    @property
    def name(self) -> str:
        if self._name:
            return self._name
        info = getattr(self.session, "server_info", None)
        return str(getattr(info, "name", None) or "mcp")

    def __repr__(self) -> str:
        return f"McpServer(name={self.name!r})"

    # -- tool list -----------------------------------------------------------------------------

    async def function_tools(self) -> list[FunctionTool]:
        """The server's tools as function tools (listed once, again after a change)."""
        if self._tools is not None:
            return self._tools
        try:
            result = await asyncio.wait_for(self._list_all(), self.timeout)
        except asyncio.TimeoutError:
            raise McpToolError(
                f"MCP server {self.name!r} did not list its tools within {self.timeout:g} s"
            ) from None
        except Exception as exc:
            raise McpToolError(
                f"listing the tools of MCP server {self.name!r} failed: {type(exc).__name__}"
            ) from exc
        self._tools = result
        return result

    async def _list_all(self) -> list[FunctionTool]:
        tools: list[FunctionTool] = []
        cursor: str | None = None
        for _ in range(100):  # bounded pagination
            page = await (
                self.session.list_tools(params=_page_params(cursor))
                if cursor
                else self.session.list_tools()
            )
            for mcp_tool in getattr(page, "tools", None) or ():
                tool = self._function_tool(mcp_tool)
                if tool is not None:
                    tools.append(tool)
            cursor = getattr(page, "next_cursor", None) or getattr(page, "nextCursor", None)
            if not cursor:
                break
        return tools

    def _function_tool(self, mcp_tool: Any) -> FunctionTool | None:
        remote_name = str(getattr(mcp_tool, "name", "") or "")
        if self.allowed_tools is not None and remote_name not in self.allowed_tools:
            return None
        name = remote_name if _VALID_NAME.fullmatch(remote_name) else _safe_name(remote_name)
        if not name:
            logger.warning("MCP server %r: skipped a tool without a usable name", self.name)
            return None
        schema = getattr(mcp_tool, "input_schema", None) or getattr(mcp_tool, "inputSchema", None)

        async def invoke(ctx: ToolContext[Any], arguments: str) -> str:
            return await self._call(remote_name, parse_tool_arguments(name, arguments))

        return FunctionTool(
            name=name,
            description=str(getattr(mcp_tool, "description", None) or ""),
            params_json_schema=_object_schema(schema),
            on_invoke_tool=invoke,
            timeout=self.timeout,
            failure_error_function=_error_output,
            needs_approval=self.needs_approval,
            tool_input_guardrails=self.tool_input_guardrails,
            tool_output_guardrails=self.tool_output_guardrails,
        )

    # -- calls ---------------------------------------------------------------------------------

    async def _call(self, remote_name: str, arguments: dict[str, Any]) -> str:
        result = await self.session.call_tool(remote_name, arguments)
        text = _result_text(result, self.use_structured_content)
        if getattr(result, "is_error", None) or getattr(result, "isError", None):
            raise McpToolError(text or f"MCP tool {remote_name!r} failed")
        return text

    # -- list changes --------------------------------------------------------------------------

    def subscribe(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener()`` after each tool-list change; returns the unsubscribe function."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def invalidate(self) -> None:
        """Forget the cached tool list (the next use lists the tools again)."""
        self._tools = None

    def _on_list_changed(self) -> None:
        self.invalidate()
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:  # a session's listener must not break the MCP receive loop
                logger.exception("an MCP tool-list listener failed")


_servers: weakref.WeakKeyDictionary[Any, McpServer] = weakref.WeakKeyDictionary()


def as_mcp_server(server: Any) -> McpServer:
    """``server`` as an :class:`McpServer` (one per client session, so agents share it)."""
    if isinstance(server, McpServer):
        return server
    try:
        existing = _servers.get(server)
    except TypeError:  # not weak-referenceable: wrap it each time
        return McpServer(server)
    if existing is None:
        existing = McpServer(server)
        _servers[server] = existing
    return existing


def _hook_notifications(session: Any, on_change: Callable[[], None]) -> bool:
    """Chain a tool-list-change hook in front of the client session's message handler."""
    original = getattr(session, "_message_handler", None)
    if not callable(original):
        logger.warning(
            "this MCP client session has no message handler hook; tool-list changes will not be "
            "followed (the list is read again on the next connect or agent switch)"
        )
        return False

    async def handler(message: Any) -> None:
        if getattr(message, "method", None) == _LIST_CHANGED:
            on_change()
        await original(message)

    session._message_handler = handler
    return True


def _page_params(cursor: str) -> Any:
    from mcp import types

    return types.PaginatedRequestParams(cursor=cursor)


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)[:64]


def _object_schema(schema: Any) -> dict[str, Any]:
    """The MCP input schema as a function-tool parameters schema (always an object)."""
    out = dict(schema) if isinstance(schema, dict) else {}
    out.setdefault("type", "object")
    out.setdefault("properties", {})
    return out


def _result_text(result: Any, use_structured: bool) -> str:
    """What the model hears: the text parts (other parts as JSON), or the structured content
    as JSON when asked for or when there is nothing else."""
    structured = getattr(result, "structured_content", None)
    if structured is None:
        structured = getattr(result, "structuredContent", None)
    content = list(getattr(result, "content", None) or ())
    if structured is not None and (use_structured or not content):
        return json.dumps(structured, ensure_ascii=False, default=str)
    if all(getattr(part, "type", None) == "text" for part in content):
        return "\n".join(str(getattr(part, "text", "")) for part in content)
    parts = [
        part.model_dump(mode="json", exclude_none=True) if hasattr(part, "model_dump") else part
        for part in content
    ]
    return json.dumps(parts, ensure_ascii=False, default=str)


def _error_output(ctx: ToolContext[Any], error: Exception) -> str:
    """The model's answer when an MCP call failed: what went wrong, so it can tell the user."""
    try:
        detail = str(error) or type(error).__name__
    except Exception:
        detail = type(error).__name__
    return f"The tool {ctx.tool_name!r} failed: {detail}"
