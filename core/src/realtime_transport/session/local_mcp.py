"""Following the tool lists of the current agent's local MCP servers.

While connected, the session listens to the MCP servers of the agent it runs. When one says its
tool list changed, the agent's tools are prepared again (the server is listed anew) and sent in
a ``session.update``; a failure to do so is reported as an ``error`` and the old tools stay.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..log_privacy import describe_error

if TYPE_CHECKING:
    from ..agent import RealtimeAgent
    from .agent_switch import AgentSwitcher
    from .runtime import SessionRuntime

__all__ = ["LocalMcp"]


class LocalMcp:
    """Subscriptions to the current agent's MCP servers, and the refresh they trigger."""

    __slots__ = ("_agent", "_agents", "_runtime", "_unsubscribe")

    def __init__(self, runtime: SessionRuntime, agents: AgentSwitcher) -> None:
        self._runtime = runtime
        self._agents = agents
        self._agent: RealtimeAgent | None = None
        self._unsubscribe: list[Callable[[], None]] = []

    def follow(self, agent: RealtimeAgent) -> None:
        """Listen to ``agent``'s servers (and stop listening to the previous agent's)."""
        if agent is self._agent and (self._unsubscribe or not agent.mcp_servers):
            return
        self.clear()
        self._agent = agent
        self._unsubscribe = [server.subscribe(self._changed) for server in agent.mcp_servers]

    def clear(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        self._agent = None

    def _changed(self) -> None:
        runtime = self._runtime
        if runtime.transport.status == "connected":
            runtime.spawn(self._refresh(runtime.generation))

    async def _refresh(self, generation: int) -> None:
        runtime = self._runtime
        try:
            await self._agents.refresh_tools(generation)
        except Exception as exc:
            if runtime.is_live(generation):
                runtime.emit_error(
                    "could not update the tools after an MCP server changed its tool list: "
                    f"{describe_error(exc, runtime.log_policy.tool_data)}",
                    "tool",
                    exc,
                    runtime.agent,
                    code="mcp_tools_refresh_failed",
                )
