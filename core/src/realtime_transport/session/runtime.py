"""What every part of a session shares, and the rule that keeps late work off a new connection.

The session is split into parts (history, tool calls, approvals, guardrails, hosted MCP, agent
switching, turns); each part holds this :class:`SessionRuntime` rather than the session itself.
It carries the transport, the run context, the current agent and its tools, which agent and
tools each response started with, the session's background tasks, and the *connection
generation*: asynchronous work remembers the generation it started in and, after each
``await``, drops its result unless :meth:`SessionRuntime.is_live` says that connection is
still the current one.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal

from ..agent import AgentTools, RealtimeAgent
from ..context import RealtimeContext
from ..log_privacy import LogDataPolicy, describe_error
from ..session_events import SessionErrorEvent

if TYPE_CHECKING:
    from ..transport import RealtimeTransportLayer

__all__ = ["ErrorSource", "SessionRuntime", "logger"]

#: One logger for every part of a session.
logger = logging.getLogger("realtime_transport.session")

ErrorSource = Literal[
    "transport", "tool", "handoff", "guardrail", "approval", "history", "model", "listener"
]


class SessionRuntime:
    """The state and helpers the parts of one session share (see the module docstring)."""

    __slots__ = (
        "active_response_id",
        "agent",
        "assistant_audio",
        "context",
        "emit",
        "generation",
        "log_policy",
        "response_generation",
        "responses",
        "tasks",
        "tools",
        "transport",
    )

    def __init__(
        self,
        emit: Callable[[str, Any], None],
        transport: RealtimeTransportLayer,
        context: RealtimeContext[Any],
        agent: RealtimeAgent,
    ) -> None:
        self.emit = emit  # the session's emit: every part reports through the session
        self.transport = transport
        self.context = context
        self.generation = 0
        self.agent = agent  # the current agent ...
        self.tools = AgentTools()  # ... and its enabled tools
        # per response: the agent and tools it started with (a handoff mid-response does not
        # change whose tool calls and output it is)
        self.responses: OrderedDict[str, tuple[RealtimeAgent, AgentTools]] = OrderedDict()
        self.active_response_id: str | None = None
        self.response_generation = 0  # counts responses, so a late guardrail spares a new one
        self.tasks: set[asyncio.Task[Any]] = set()
        # the assistant spoke on this connection: the server no longer lets the voice change
        self.assistant_audio = False
        self.log_policy = LogDataPolicy()  # what error messages and logs may contain

    def is_live(self, generation: int) -> bool:
        """Whether work started in ``generation`` may still act (same connection, connected)."""
        return generation == self.generation and self.transport.status == "connected"

    def agent_for_response(self, response_id: str) -> RealtimeAgent:
        snapshot = self.responses.get(response_id)
        return snapshot[0] if snapshot is not None else self.agent

    def emit_error(
        self,
        message: str,
        source: ErrorSource,
        error: Any = None,
        agent: RealtimeAgent | None = None,
        code: str | None = None,
    ) -> None:
        self.emit(
            "error",
            SessionErrorEvent(message=message, source=source, error=error, code=code, agent=agent),
        )

    def emit_both(self, agent: RealtimeAgent, name: str, payload: Any) -> None:
        """Emit on the agent, then on the session (agent lifecycle and tool events)."""
        agent.emit(name, payload)
        self.emit(name, payload)

    def spawn(self, coro: Awaitable[None]) -> asyncio.Task[None]:
        """Run ``coro`` as a task the session cancels on ``close()`` or a new ``connect()``."""
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            self.emit_error(
                f"internal error in the session: {describe_error(exc, self.log_policy.all_data)}",
                "tool",
                exc,
            )

    def reset(self) -> None:
        """Forget the connection's work: cancel its tasks (not the caller's), drop responses."""
        current = asyncio.current_task() if _loop_running() else None
        for task in list(self.tasks):
            if task is not current and not task.done():
                task.cancel()
        self.tasks = {t for t in self.tasks if t is current}
        self.responses.clear()
        self.active_response_id = None
        self.assistant_audio = False


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
