"""The public :class:`RealtimeSession`: construction, connect/close, the public methods.

It owns one of each part of a session (history, turns, tool calls, approvals, agent switching,
output guardrails, hosted MCP; see the package docstring), wires the transport's events to
them, and re-emits what they report as session events.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..agent import RealtimeAgent, prepare_agent_tools
from ..context import RealtimeContext
from ..errors import TransportConnectionError, UserError
from ..events import ConnectionEvent, DtmfEvent, RealtimeItem, Usage
from ..guardrails import OutputGuardrail
from ..log_privacy import log_data_policy
from ..session_events import McpApprovalItem, ToolApprovalItem
from .agent_switch import AgentSwitcher
from .approvals import ToolApprovals, ToolErrorFormatter
from .config_updates import config_voice, deep_merge
from .history import TRANSCRIPTION_COMPLETED, SessionHistory
from .history_audio import DEFAULT_MAX_BYTES
from .hosted_mcp import HostedMcp
from .local_mcp import LocalMcp
from .output_guardrails import OutputGuardrailRunner
from .reconnect import Reconnector, ReconnectPolicy
from .runtime import SessionRuntime, logger
from .session_config import default_config, tracing_setting
from .session_emitter import SessionEmitter
from .tool_calls import ToolCalls
from .tool_guardrails import ToolGuardrails
from .turns import Turns

if TYPE_CHECKING:
    from ..transport import ApiKey, RealtimeTransportLayer

__all__ = ["RealtimeSession"]


class RealtimeSession(SessionEmitter):
    """A voice agent session over a transport.

    ``transport`` is a registered name (``"websocket"``, ``"webrtc"``, any installed plugin's
    name; looked up through the registry, whose errors say what is installed or what to install)
    or a :class:`~realtime_transport.RealtimeTransportLayer` instance. ``config`` is a session
    config (snake_case, GA or legacy shape) applied on every ``session.update``; the agent's
    instructions, tools and voice are layered on top. ``session.transport`` is the raw escape
    hatch (``on("*")``, ``send_event``).

    Session events (each also on ``async for event in session``): ``agent_start``,
    ``agent_end``, ``agent_handoff``, ``agent_tool_start``, ``agent_tool_end``,
    ``transport_event`` (raw server events; opt-in for ``async for``), ``audio_start``,
    ``audio_stopped``, ``audio``, ``audio_interrupted``, ``guardrail_tripped``,
    ``tool_guardrail_tripped``, ``history_updated``, ``history_added``, ``error``,
    ``tool_approval_requested``, ``mcp_tool_call_completed``, ``mcp_tools_changed``, ``dtmf``
    (a telephony keypress), ``connected``, ``disconnected``.

    ``pre_approval_input_guardrails`` also runs tools' input guardrails before asking for
    approval. ``log_model_data``/``log_tool_data=False`` keep transcripts, frames, tool arguments
    and exception text out of logs and error messages (``None``: the
    ``REALTIME_TRANSPORT_DONT_LOG_*`` environment variables decide). ``history_store_audio``
    keeps the caller's and the assistant's audio in the history, at most
    ``history_audio_max_bytes`` of assistant audio (oldest dropped first).
    """

    def __init__(
        self,
        agent: RealtimeAgent,
        *,
        transport: str | RealtimeTransportLayer = "websocket",
        model: str | None = None,
        config: Mapping[str, Any] | None = None,
        api_key: ApiKey | None = None,
        context: Any = None,
        output_guardrails: Sequence[OutputGuardrail] = (),
        guardrail_debounce_text_length: int = 100,
        history_store_audio: bool = False,
        history_audio_max_bytes: int = DEFAULT_MAX_BYTES,
        tracing_disabled: bool = False,
        workflow_name: str | None = None,
        group_id: str | None = None,
        trace_metadata: Mapping[str, Any] | None = None,
        tool_error_formatter: ToolErrorFormatter | None = None,
        automatically_trigger_response_for_mcp_tool_calls: bool = True,
        transport_options: Mapping[str, Any] | None = None,
        pre_approval_input_guardrails: bool = False,
        log_model_data: bool | None = None,
        log_tool_data: bool | None = None,
        reconnect: ReconnectPolicy | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(agent, RealtimeAgent):
            raise UserError(f"RealtimeSession needs a RealtimeAgent, got {type(agent).__name__}")
        if (
            not isinstance(guardrail_debounce_text_length, int)
            or isinstance(guardrail_debounce_text_length, bool)
            or (guardrail_debounce_text_length < 1 and guardrail_debounce_text_length != -1)
        ):
            raise UserError(
                "guardrail_debounce_text_length must be a positive number of characters, or -1 "
                "to run output guardrails on the final text only"
            )
        if not isinstance(pre_approval_input_guardrails, bool):
            raise UserError(
                "pre_approval_input_guardrails must be True or False (run tool input guardrails "
                "before asking for approval)"
            )
        for option, value in (("log_model_data", log_model_data), ("log_tool_data", log_tool_data)):
            if value is not None and not isinstance(value, bool):
                raise UserError(f"{option} must be True, False or None (None: use the environment)")
        from ..config import to_ga_config

        user_config: dict[str, Any] = to_ga_config(config) if config else {}
        self._transport = _resolve_transport(transport, model, transport_options)
        self._initial_agent = agent
        self._model = model
        self._api_key = api_key
        self._context: RealtimeContext[Any] = RealtimeContext(context=context)
        self._runtime = SessionRuntime(self.emit, self._transport, self._context, agent)
        self._guardrails = OutputGuardrailRunner(
            self._runtime, output_guardrails, guardrail_debounce_text_length
        )
        self._turns = Turns(self._runtime, self._guardrails)
        self._mcp = HostedMcp(
            self._runtime, auto_response=automatically_trigger_response_for_mcp_tool_calls
        )
        self._agents = AgentSwitcher(
            self._runtime,
            config=user_config,
            model=model,
            tracing=tracing_setting(tracing_disabled, workflow_name, group_id, trace_metadata),
            on_tools_changed=self._tools_changed,
        )
        self._local_mcp = LocalMcp(self._runtime, self._agents)
        if log_model_data is None and log_tool_data is None and transport is self._transport:
            self._runtime.log_policy = self._transport.log_policy  # the instance's own setting
        else:
            self._runtime.log_policy = log_data_policy(log_model_data, log_tool_data)
            self._transport.log_policy = self._runtime.log_policy
        self._tool_calls = ToolCalls(
            self._runtime,
            ToolApprovals(self._runtime, tool_error_formatter),
            self._agents,
            ToolGuardrails(self._runtime, pre_approval=pre_approval_input_guardrails),
        )
        if (
            not isinstance(history_audio_max_bytes, int)
            or isinstance(history_audio_max_bytes, bool)
            or history_audio_max_bytes < 0
        ):
            raise UserError("history_audio_max_bytes must be a number of bytes (0 or more)")
        self._history = SessionHistory(
            self._runtime, store_audio=history_store_audio, max_audio_bytes=history_audio_max_bytes
        )
        self._listeners_attached = False
        if reconnect is not None and not isinstance(reconnect, ReconnectPolicy):
            raise UserError("reconnect must be a ReconnectPolicy (or None: never reconnect)")
        self._reconnector = (
            Reconnector(self._runtime, reconnect, self._reconnect_transport, self._end_streams)
            if reconnect is not None
            else None
        )
        self._closed_by_app = False
        self._connect_args: dict[str, Any] = {}

    # -- public properties ---------------------------------------------------------------------

    @property
    def transport(self) -> RealtimeTransportLayer:
        """The transport (escape hatch: ``on("*")``, ``send_event``)."""
        return self._transport

    @property
    def current_agent(self) -> RealtimeAgent:
        return self._runtime.agent

    @property
    def context(self) -> RealtimeContext[Any]:
        return self._context

    @property
    def usage(self) -> Usage:
        """Token usage summed over every response of this session (across reconnects)."""
        return self._context.usage

    @property
    def history(self) -> list[RealtimeItem]:
        """The local conversation history (a new list; the items are shared, do not mutate)."""
        return list(self._history.items)

    @property
    def muted(self) -> bool | None:
        return self._transport.muted

    @property
    def available_mcp_tools(self) -> list[dict[str, Any]]:
        """Hosted MCP tools the server listed for the current agent's MCP servers."""
        return list(self._mcp.available_tools)

    @property
    def connected(self) -> bool:
        return self._transport.status == "connected"

    # -- lifecycle -------------------------------------------------------------------------------

    async def connect(
        self,
        *,
        api_key: ApiKey | None = None,
        call_id: str | None = None,
        url: str | None = None,
    ) -> None:
        """Open the connection with the initial agent's config.

        Starts a new connection generation: tool calls, approvals and guardrail state of an
        earlier connection are forgotten, the current agent is reset to the initial agent and
        the local history is cleared (``history_updated([])``).
        """
        if self._transport.status in ("connecting", "connected"):
            raise UserError(
                f"the session is already {self._transport.status}; call close() before "
                "connecting again"
            )
        if self._reconnector is not None:
            self._reconnector.cancel()  # an explicit connect() replaces a pending reconnect
            self._reconnector.call_id = call_id
        self._closed_by_app = False
        self._connect_args = {
            "api_key": api_key if api_key is not None else self._api_key,
            "url": url,
            "call_id": call_id,  # a reconnect re-attaches to the same call
        }
        self._runtime.generation += 1
        generation = self._runtime.generation
        self._reset_connection_state()
        self._runtime.agent = self._initial_agent
        self._agents.last_config = default_config()  # nothing of an earlier connection carries over
        self._attach_listeners()
        self._history.reset()

        agent = self._runtime.agent
        tools = await prepare_agent_tools(agent, self._context)
        config = await self._agents.session_config(agent, tools)
        if generation != self._runtime.generation:
            raise TransportConnectionError("the session was closed while it was connecting")
        self._runtime.tools = tools
        self._tools_changed()
        await self._transport.connect(
            api_key=api_key if api_key is not None else self._api_key,
            model=self._model,
            url=url,
            call_id=call_id,
            initial_session_config=config,
        )
        self._agents.last_config = config

    def close(self) -> asyncio.Task[None]:
        """Close the session and its transport.

        Takes effect at once (pending tool calls, handoffs and guardrail results are dropped
        from this moment, even if the returned task is not awaited, e.g. when called from a
        synchronous listener); ``await session.close()`` waits for the transport to close and
        for the session's async listeners still running to be cancelled (no task is left).
        """
        self._runtime.generation += 1
        self._closed_by_app = True
        if self._reconnector is not None:
            self._reconnector.cancel()
        self._reset_connection_state()
        # async listeners of the session still running are cancelled once the transport closed
        # (not the one calling close(): it may be awaiting the returned task)
        running = self._running_listener_tasks()
        task = asyncio.get_running_loop().create_task(self._close_transport(running))
        task.add_done_callback(_consume_task_exception)
        return task

    async def _close_transport(self, running: Sequence[asyncio.Task[Any]] = ()) -> None:
        try:
            await self._transport.close()
        finally:
            self._end_streams()
            await self._cancel_listener_tasks(running)

    async def __aenter__(self) -> RealtimeSession:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- delegation to the transport ---------------------------------------------------------------

    def send_message(
        self,
        message: str | Sequence[Mapping[str, Any]],
        other_event_data: Mapping[str, Any] | None = None,
        *,
        trigger_response: bool = True,
    ) -> None:
        """Add a user message (text or content parts) and by default ask for a response.

        Response requests merge while a response is running: three back-to-back calls give two
        responses (the first message's, then one for the second and third together). For one
        response per message wait for ``agent_end`` between them, or pass
        ``trigger_response=False`` and call ``transport.request_response({...})`` (requests
        with a body are never merged). Raises ``TransportNotConnectedError`` when not connected.
        """
        self._transport.send_message(message, other_event_data, trigger_response=trigger_response)

    def add_image(self, image: str, *, trigger_response: bool = True) -> None:
        self._transport.add_image(image, trigger_response=trigger_response)

    def send_audio(self, data: bytes, *, commit: bool = False) -> None:
        """Send caller audio (PCM16 24 kHz unless the config or transport says otherwise)."""
        self._transport.send_audio(data, commit=commit)

    def interrupt(self) -> None:
        """Stop the model's current answer (barge-in)."""
        self._transport.interrupt()

    def mute(self, muted: bool) -> None:
        self._transport.mute(muted)

    def update_history(
        self,
        history: Sequence[RealtimeItem] | Callable[[list[RealtimeItem]], Sequence[RealtimeItem]],
    ) -> None:
        """Make the server conversation match ``history`` (or ``fn(current_history)``).

        The local history changes when the server confirms the edits (item events).
        """
        current = self.history
        new = history(list(current)) if callable(history) else history
        self._transport.reset_history(current, list(new))

    async def update_agent(self, agent: RealtimeAgent) -> None:
        """Switch to ``agent`` now (``session.update`` with its instructions, tools, voice).

        Before ``connect()`` this sets the agent the session starts with.
        """
        if not isinstance(agent, RealtimeAgent):
            raise UserError(f"update_agent needs a RealtimeAgent, got {type(agent).__name__}")
        if not self.connected:
            self._initial_agent = agent
            self._runtime.agent = agent
            return
        await self._agents.update_agent(agent)

    async def update_config(self, config: Mapping[str, Any]) -> None:
        """Change part of the session config: now, and on every later ``session.update``.

        A partial update: only what ``config`` names changes (``{"instructions": ...}`` keeps
        the audio formats and turn detection), and it stays in force across handoffs and
        reconnects. Before ``connect()`` it only changes what ``connect()`` will send.
        Connected, it waits for the server's answer and raises
        :class:`~realtime_transport.errors.SessionUpdateRejectedError` if the server refused
        it. A voice change after the assistant has spoken is left out (the server refuses it)
        with a warning. A pinned audio format (Twilio) stays pinned.
        """
        from ..config import to_ga_config

        await self._agents.update_config(to_ga_config(config))

    #: The transport's name for :meth:`update_config`.
    update_session_config = update_config

    async def get_initial_session_config(
        self, overrides: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """The config ``connect()`` would send for the initial agent (e.g. to accept a SIP call)."""
        tools = await prepare_agent_tools(self._initial_agent, self._context)
        return await self._agents.session_config(
            self._initial_agent, tools, overrides, base=default_config()
        )

    # -- approvals ---------------------------------------------------------------------------------

    def approve(
        self, item: ToolApprovalItem | McpApprovalItem, *, always_approve: bool = False
    ) -> asyncio.Task[None]:
        """Approve a pending call; it then runs and is answered.

        The decision is recorded at once (so this works from a synchronous listener); await the
        returned task to wait until the tool ran and its output was sent.
        """
        return self._decide(item, approve=True, always=always_approve, message=None)

    def reject(
        self,
        item: ToolApprovalItem | McpApprovalItem,
        *,
        always_reject: bool = False,
        message: str | None = None,
    ) -> asyncio.Task[None]:
        """Reject a pending call; the model is told it was not approved (``message`` if given)."""
        return self._decide(item, approve=False, always=always_reject, message=message)

    def _decide(
        self,
        item: ToolApprovalItem | McpApprovalItem,
        *,
        approve: bool,
        always: bool,
        message: str | None,
    ) -> asyncio.Task[None]:
        if isinstance(item, McpApprovalItem):
            return self._mcp.decide(item, approve=approve, always=always, message=message)
        if not isinstance(item, ToolApprovalItem):
            raise UserError(
                f"approve()/reject() need the approval item of a tool_approval_requested event, "
                f"got {type(item).__name__}"
            )
        return self._tool_calls.decide(item, approve=approve, always=always, message=message)

    # -- internals: state ------------------------------------------------------------------------

    async def _reconnect_transport(self) -> None:
        """Connect the transport again for the current agent (the reconnect policy's step)."""
        self._runtime.generation += 1  # late work of the dropped connection is dropped
        generation = self._runtime.generation
        self._reset_connection_state()
        agent = self._runtime.agent
        tools = await prepare_agent_tools(agent, self._context)
        config = await self._agents.session_config(agent, tools)
        voice = config_voice(self._agents.last_config)
        if self._connect_args.get("call_id") is not None and voice is not None:
            # the call's session kept its voice (fixed once the model spoke): another one would
            # make the server refuse the whole config
            config = deep_merge(config, {"audio": {"output": {"voice": voice}}})
        if generation != self._runtime.generation or self._closed_by_app:
            raise TransportConnectionError("the session was closed while it was reconnecting")
        self._runtime.tools = tools
        self._tools_changed()
        await self._transport.connect(
            api_key=self._connect_args.get("api_key"),
            model=self._model,
            url=self._connect_args.get("url"),
            call_id=self._connect_args.get("call_id"),
            initial_session_config=config,
        )
        self._agents.last_config = config

    def _lost_on_drop(self) -> list[str]:
        response = self._runtime.active_response_id
        if self._connect_args.get("call_id") is not None:
            # a call's audio rides the phone line and its session lives on with the call: only
            # what the socket would have told us in the gap is lost
            lost = [
                "events of the call while the socket was down (transcripts, items, tool calls "
                "the model made) were not received; the local history may miss them"
            ]
            if response is not None:
                lost.append(f"the rest of response {response}'s events was not received")
        else:
            lost = ["audio in flight in either direction (unplayed reply audio, uncommitted input)"]
            if response is not None:
                lost.append(f"response {response} was cut off")
        if self._runtime.tasks:
            lost.append("tool calls, approvals or guardrails still running were dropped")
        return lost

    def _reset_connection_state(self) -> None:
        """Forget what the connection that ended had under way (no events)."""
        self._runtime.reset()
        self._tool_calls.clear()
        self._mcp.clear()
        self._local_mcp.clear()
        self._turns.audio_started = False
        self._guardrails.clear()

    def _tools_changed(self) -> None:
        """The current agent or its tools changed: hosted MCP tools, local MCP servers."""
        self._mcp.recompute_tools()
        self._local_mcp.follow(self._runtime.agent)

    # -- internals: transport listeners --------------------------------------------------------

    def _attach_listeners(self) -> None:
        if self._listeners_attached:
            return
        self._listeners_attached = True
        t = self._transport
        t.on("error", self._on_transport_error)
        t.on("connected", self._on_connected)
        t.on("disconnected", self._on_disconnected)
        t.on("connection_change", self._on_connection_change)
        t.on("turn_started", self._turns.on_turn_started)
        t.on("turn_done", self._turns.on_turn_done)
        t.on("usage_update", self._turns.on_usage)
        t.on("audio", self._turns.on_audio)
        t.on("audio_done", self._turns.on_audio_done)
        t.on("audio_interrupted", self._turns.on_audio_interrupted)
        t.on("audio_transcript_delta", self._guardrails.on_transcript_delta)
        t.on("output_text_delta", self._guardrails.on_text_delta)
        t.on("item_update", self._history.on_item_update)
        t.on("item_deleted", self._history.on_item_deleted)
        t.on("function_call", self._tool_calls.on_function_call)
        t.on("mcp_approval_request", self._mcp.on_approval_request)
        t.on("mcp_tool_call_completed", self._mcp.on_tool_call_completed)
        t.on("mcp_tools_listed", self._mcp.on_tools_listed)
        t.on("dtmf", self._on_dtmf)
        t.on(TRANSCRIPTION_COMPLETED, self._history.on_transcription_completed)
        if self._history.assistant_audio is not None:  # history_store_audio=True
            t.on("audio", self._history.on_audio)
            t.on("audio_done", self._history.on_audio_done)
        self._sync_raw_listener()

    def _on_transport_error(self, event: Any) -> None:
        message = getattr(event, "message", None) or str(event)
        code = getattr(event, "code", None)
        self._runtime.emit_error(message, "transport", event, code=code)

    def _on_dtmf(self, event: DtmfEvent) -> None:
        self.emit("dtmf", event)  # the transport's DtmfEvent as is (SIP, Twilio)

    def _on_connected(self, event: ConnectionEvent) -> None:
        self.emit("connected", event)

    def _on_disconnected(self, event: ConnectionEvent) -> None:
        self._turns.audio_started = False
        self.emit("disconnected", event)
        reconnector = self._reconnector
        if reconnector is not None and reconnector.active and not self._closed_by_app:
            return  # a failed attempt: the reconnect loop decides what comes next
        if reconnector is not None and not self._closed_by_app and reconnector.should_retry(event):
            reconnector.start(event.reason or "disconnected", self.history, self._lost_on_drop())
            return  # event streams stay open across the reconnect
        self._end_streams()

    def _on_connection_change(self, status: str) -> None:
        self.emit("connection_change", status)  # every transition, across reconnects too


def _resolve_transport(
    transport: str | RealtimeTransportLayer,
    model: str | None,
    options: Mapping[str, Any] | None,
) -> RealtimeTransportLayer:
    from ..transport import RealtimeTransportLayer

    if isinstance(transport, RealtimeTransportLayer):
        if options:
            raise UserError("transport_options only apply when the transport is given by name")
        return transport
    if not isinstance(transport, str):
        raise UserError(
            "transport must be a registered transport name (e.g. 'websocket') or a "
            f"RealtimeTransportLayer instance, not {type(transport).__name__}"
        )
    from ..registry import get_transport

    kwargs = dict(options or {})
    if model is not None:
        kwargs.setdefault("model", model)
    return get_transport(transport, **kwargs)


def _consume_task_exception(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.warning("closing the transport failed: %s", task.exception())
