"""Changing which agent the session runs: handoffs the model calls and ``update_agent()``.

Both build the new agent's session config on top of the last one sent (so audio formats and
turn detection carry over), send it with ``session.update`` and wait for the server's answer.
Only an update the server applied emits ``agent_handoff`` and makes the new agent and its tools
current; a refused one keeps the old agent (``update_agent()`` raises, a handoff is reported as
failed). A handoff is also a tool call, answered with the agent that took over, or with the
failure. Once the assistant has spoken the voice is left out of the update (the server refuses
to change it), with a warning.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..agent import AgentTools, RealtimeAgent, prepare_agent_tools
from ..errors import SessionUpdateRejectedError
from ..log_privacy import describe_error
from ..session_events import AgentHandoffEvent
from ..tools import ToolArgumentsError
from .config_updates import deep_merge, send_session_update
from .session_config import compute_initial_session_config, default_config

if TYPE_CHECKING:
    from ..events import FunctionCallEvent
    from ..handoffs import Handoff
    from .call_records import CallRecord
    from .runtime import SessionRuntime

__all__ = ["AgentSwitcher"]


class AgentSwitcher:
    """Builds each agent's session config and switches the session to another agent."""

    __slots__ = ("_config", "_model", "_on_tools_changed", "_runtime", "_tracing", "last_config")

    def __init__(
        self,
        runtime: SessionRuntime,
        *,
        config: dict[str, Any],
        model: str | None,
        tracing: Any,
        on_tools_changed: Callable[[], None],
    ) -> None:
        self._runtime = runtime
        self._config = config  # the user's session config (GA shape), applied on every update
        self._model = model
        self._tracing = tracing
        self._on_tools_changed = on_tools_changed  # the current agent's tool list changed
        self.last_config: dict[str, Any] = default_config()  # what the server was last sent

    async def session_config(
        self,
        agent: RealtimeAgent,
        tools: AgentTools,
        overrides: Mapping[str, Any] | None = None,
        *,
        base: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """``agent``'s config on top of ``base`` (default: the last config sent)."""
        return await compute_initial_session_config(
            agent,
            tools=tools,
            context=self._runtime.context,
            config=self._config,
            last_config=self.last_config if base is None else base,
            overrides=overrides,
            model=self._model,
            tracing=self._tracing,
        )

    async def update_agent(self, agent: RealtimeAgent) -> None:
        """Switch a connected session to ``agent`` (dropped if the connection changes meanwhile).

        Raises :class:`SessionUpdateRejectedError` when the server refuses the update; the
        current agent stays."""
        runtime = self._runtime
        generation = runtime.generation
        tools = await prepare_agent_tools(agent, runtime.context)
        config = await self.session_config(agent, tools)
        if not runtime.is_live(generation):
            return
        sent, refused = await send_session_update(
            runtime, config, last_config=self.last_config, what=f"update_agent({agent.name!r})"
        )
        if not runtime.is_live(generation):
            return
        if refused is not None:
            raise SessionUpdateRejectedError(
                f"the server refused the switch to agent {agent.name!r} ({refused.message}); "
                f"{runtime.agent.name!r} is still the current agent"
            )
        self.last_config = sent
        self._emit_handoff(runtime.agent, agent)
        runtime.agent = agent
        runtime.tools = tools
        self._on_tools_changed()

    async def update_config(self, update: Mapping[str, Any]) -> None:
        """Apply a partial (GA-shape) config now and on every later update of this session.

        Only what ``update`` names is sent. Raises :class:`SessionUpdateRejectedError` (and
        keeps the previous config) when the server refuses it."""
        runtime = self._runtime
        generation = runtime.generation
        if not runtime.is_live(generation):
            self._config = deep_merge(self._config, update)
            return
        sent, refused = await send_session_update(
            runtime, update, last_config=self.last_config, what="update_config()"
        )
        if refused is not None:
            raise SessionUpdateRejectedError(
                f"the server refused the session update ({refused.message}); the session keeps "
                "its previous configuration"
            )
        self._config = deep_merge(self._config, sent)
        if runtime.is_live(generation):
            self.last_config = deep_merge(self.last_config, sent)

    async def refresh_tools(self, generation: int) -> None:
        """Send the current agent's tools again (its MCP servers' tool lists changed)."""
        runtime = self._runtime
        agent = runtime.agent
        tools = await prepare_agent_tools(agent, runtime.context)
        if not runtime.is_live(generation) or runtime.agent is not agent:
            return  # a reconnect or an agent switch sends its own tools
        runtime.tools = tools
        definitions = tools.definitions()
        # only the tools: the voice must not be re-sent once the model has spoken
        runtime.transport.update_session_config({"tools": definitions})
        self.last_config = {**self.last_config, "tools": definitions}
        self._on_tools_changed()

    async def run_handoff(
        self,
        call: FunctionCallEvent,
        agent: RealtimeAgent,
        handoff: Handoff,
        record: CallRecord,
        generation: int,
    ) -> None:
        """Run the handoff the model called, switch to its agent, then answer the call."""
        runtime = self._runtime
        ctx = runtime.context
        try:
            new_agent = await handoff.on_invoke_handoff(ctx, call.arguments)
        except ToolArgumentsError as exc:
            if runtime.is_live(generation):
                record.commit(runtime, call, f"{exc}", True)
                runtime.emit_error(str(exc), "model", exc, agent, code="invalid_tool_arguments")
            return
        except Exception as exc:
            self._report_failure(f"handoff {handoff.tool_name!r}", exc, agent)
            return
        if not runtime.is_live(generation):
            return
        if not isinstance(new_agent, RealtimeAgent):
            runtime.emit_error(
                f"handoff {handoff.tool_name!r} returned {type(new_agent).__name__}, not a "
                "RealtimeAgent",
                "handoff",
                agent=agent,
            )
            return
        try:
            tools = await prepare_agent_tools(new_agent, ctx)
            if not runtime.is_live(generation):
                return
            config = await self.session_config(new_agent, tools)
        except Exception as exc:
            self._report_failure(f"handoff to {new_agent.name!r}", exc, agent)
            return
        if not runtime.is_live(generation):
            return
        sent, refused = await send_session_update(
            runtime, config, last_config=self.last_config, what=f"handoff to {new_agent.name!r}"
        )
        if not runtime.is_live(generation):
            return
        if refused is not None:
            runtime.emit_error(
                f"handoff to {new_agent.name!r} failed: the server refused the session update "
                f"({refused.message}); {agent.name!r} is still the current agent",
                "handoff",
                refused,
                agent,
                code="handoff_rejected",
            )
            output = {
                "error": f"The transfer to {new_agent.name} failed. You are still "
                f"{agent.name}; carry on helping the user."
            }
            record.commit(runtime, call, json.dumps(output), True)
            return
        self.last_config = sent
        self._emit_handoff(agent, new_agent)
        runtime.agent = new_agent
        runtime.tools = tools
        self._on_tools_changed()
        record.commit(runtime, call, json.dumps({"assistant": new_agent.name}), True)

    def _report_failure(self, what: str, exc: Exception, agent: RealtimeAgent) -> None:
        self._runtime.emit_error(
            f"{what} failed: {describe_error(exc, self._runtime.log_policy.tool_data)}",
            "handoff",
            exc,
            agent,
        )

    def _emit_handoff(self, from_agent: RealtimeAgent, to_agent: RealtimeAgent) -> None:
        event = AgentHandoffEvent(
            from_agent=from_agent, to_agent=to_agent, context=self._runtime.context
        )
        self._runtime.emit_both(from_agent, "agent_handoff", event)
