"""Running the function calls the model makes, and answering each call once.

A call belongs to the agent and tools of the response it came in (a handoff mid-response does
not change whose tools it may call). Its id is checked against the call records: an exact
repeat replays the stored answer, the same id with other arguments is reported and ignored.
Then the call is gated by approval, run with the tool's timeout and answered; tool errors
become the output the model sees (or an ``error`` event). Handoffs go to the agent switcher.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from ..agent import AgentTools, RealtimeAgent, is_enabled
from ..context import ToolContext
from ..errors import ModelBehaviorError
from ..handoffs import Handoff
from ..log_privacy import describe_error
from ..session_events import ToolApprovalItem, ToolEndEvent, ToolStartEvent
from ..tools import (
    BackgroundResult,
    FunctionTool,
    ToolArgumentsError,
    ToolTimeoutError,
    stringify_tool_output,
)
from .call_records import CallRecord, call_fingerprint

if TYPE_CHECKING:
    from ..events import FunctionCallEvent
    from .agent_switch import AgentSwitcher
    from .approvals import ToolApprovals
    from .runtime import SessionRuntime
    from .tool_guardrails import ToolGuardrails

__all__ = ["ToolCalls"]

_MAX_TOOL_CALL_RECORDS = 1024


class ToolCalls:
    """The ``function_call`` listener and the tool runs it starts."""

    __slots__ = ("_agents", "_approvals", "_guardrails", "_records", "_runtime")

    def __init__(
        self,
        runtime: SessionRuntime,
        approvals: ToolApprovals,
        agents: AgentSwitcher,
        guardrails: ToolGuardrails,
    ) -> None:
        self._runtime = runtime
        self._approvals = approvals
        self._agents = agents
        self._guardrails = guardrails
        self._records: OrderedDict[tuple[RealtimeAgent, str], CallRecord] = OrderedDict()

    def clear(self) -> None:
        """Forget the calls (and pending approvals) of the connection that ended."""
        self._records.clear()
        self._approvals.clear()

    def on_function_call(self, call: FunctionCallEvent) -> None:
        runtime = self._runtime
        generation = runtime.generation
        if not runtime.is_live(generation):
            return
        if not call.response_id:
            runtime.emit_error(
                f"the model called {call.name!r} outside of a response (no response id); the call "
                "was ignored",
                "model",
                ModelBehaviorError(f"function call {call.name!r} has no response id"),
                code="missing_response_id",
            )
            return
        agent, tools = runtime.responses.get(call.response_id) or (runtime.agent, runtime.tools)
        call_id = call.call_id or call.item_id
        key = (agent, call_id)
        fingerprint = call_fingerprint(call.name, call.arguments)
        record = self._records.get(key)
        if record is not None:
            if record.fingerprint != fingerprint:
                runtime.emit_error(
                    f"the model reused call id {call_id!r} for a different call ({call.name!r} "
                    "with other arguments); the second call was ignored",
                    "model",
                    ModelBehaviorError(f"conflicting tool call {call_id!r}"),
                    agent,
                    code="conflicting_tool_call",
                )
                return
            if not record.sending:  # synchronous re-entry while sending is the same call
                runtime.spawn(self._replay(call, record, generation))
            return
        record = CallRecord(fingerprint)  # reserved before any await
        self._records[key] = record
        while len(self._records) > _MAX_TOOL_CALL_RECORDS:
            self._records.popitem(last=False)
        runtime.spawn(self._run_call(call, agent, tools, record, generation, call_id))

    def decide(
        self, item: ToolApprovalItem, *, approve: bool, always: bool, message: str | None
    ) -> asyncio.Task[None]:
        """Record the decision on a parked call, then run (or reject) it in a task."""
        self._approvals.decide(item, approve=approve, always=always, message=message)
        key = (item.agent, item.call_id)
        record = self._records.get(key)
        if record is None:  # pragma: no cover - records outlive their pending approvals
            record = CallRecord(item.fingerprint)
            self._records[key] = record
        record.state = "running"
        record.settled = asyncio.Event()
        return self._runtime.spawn(
            self._run_function_tool(
                item.call, item.agent, item.tool, record, item.generation, item.call_id
            )
        )

    async def _replay(self, call: FunctionCallEvent, record: CallRecord, generation: int) -> None:
        """An exact repeat of a call: send the stored output again instead of re-running."""
        await record.settled.wait()
        runtime = self._runtime
        if record.state != "committed" or record.output is None or not runtime.is_live(generation):
            return
        try:
            runtime.transport.send_function_call_output(
                call, record.output, start_response=record.start_response
            )
        except Exception as exc:
            runtime.emit_error(f"could not send the tool output: {exc}", "transport", exc)

    async def _run_call(
        self,
        call: FunctionCallEvent,
        agent: RealtimeAgent,
        tools: AgentTools,
        record: CallRecord,
        generation: int,
        call_id: str,
    ) -> None:
        runtime = self._runtime
        try:
            function = tools.functions.get(call.name)
            handoff = tools.handoffs.get(call.name) if function is None else None
            target: FunctionTool | Handoff | None = function or handoff
            if target is not None and not await is_enabled(
                target.is_enabled, runtime.context, agent
            ):
                target = None
            if not runtime.is_live(generation):
                return
            if target is None:
                record.commit(runtime, call, f"Tool {call.name} not found", False)
                runtime.emit_error(
                    f"the model called a tool that does not exist (or is disabled): {call.name!r}",
                    "model",
                    ModelBehaviorError(f"Tool {call.name} not found"),
                    agent,
                    code="tool_not_found",
                )
                return
            if isinstance(target, Handoff):
                await self._agents.run_handoff(call, agent, target, record, generation)
            else:
                await self._run_function_tool(call, agent, target, record, generation, call_id)
        finally:
            record.settle()

    async def _run_function_tool(
        self,
        call: FunctionCallEvent,
        agent: RealtimeAgent,
        tool: FunctionTool,
        record: CallRecord,
        generation: int,
        call_id: str,
    ) -> None:
        """Approval gate, ``agent_tool_start``, run (or rejection), answer, ``agent_tool_end``."""
        runtime = self._runtime
        ctx = runtime.context
        arguments = call.arguments
        try:
            rejection: str | None = None
            guarded = False  # input guardrails already ran for this attempt
            if tool.needs_approval is not False:
                decision = ctx.approval_status(tool.name, call_id)
                if decision is None:
                    if await self._approvals.needs_approval(tool, arguments, call_id, agent):
                        if self._guardrails.pre_approval:
                            verdict = await self._guardrails.check_input(call, agent, tool, call_id)
                            if verdict.stop or not runtime.is_live(generation):
                                return
                            rejection, guarded = verdict.output, True
                        if rejection is None:
                            if runtime.is_live(generation):
                                self._approvals.request(
                                    call, agent, tool, record, generation, call_id
                                )
                            return
                elif decision is False:
                    rejection = await self._approvals.rejection_output(
                        tool.name, call_id, generation
                    )
            if rejection is None and not guarded:
                verdict = await self._guardrails.check_input(call, agent, tool, call_id)
                if verdict.stop or not runtime.is_live(generation):
                    return
                rejection = verdict.output
            if not runtime.is_live(generation):
                return

            runtime.emit_both(
                agent, "agent_tool_start", ToolStartEvent(agent, tool, call, arguments, ctx)
            )
            if not runtime.is_live(generation):  # a start listener may have closed the session
                return
            if rejection is not None:
                output, result, start_response = rejection, None, True
            else:
                answer = await self._invoke(call, agent, tool, call_id)
                if answer is None or not runtime.is_live(generation):
                    return
                output, result, start_response = answer
            record.commit(runtime, call, output, start_response)
            runtime.emit_both(
                agent,
                "agent_tool_end",
                ToolEndEvent(agent, tool, call, arguments, output, result, ctx),
            )
        finally:
            record.settle()

    async def _invoke(
        self, call: FunctionCallEvent, agent: RealtimeAgent, tool: FunctionTool, call_id: str
    ) -> tuple[str, Any, bool] | None:
        """Run the tool: ``(output, result, start_response)``, or ``None`` to send nothing.

        Bad arguments, a timeout and a raising tool become outputs the model can act on (each
        also reported as an ``error``), unless the tool says to only report them.
        """
        runtime = self._runtime
        arguments = call.arguments
        tool_ctx = ToolContext.from_run_context(
            runtime.context,
            tool_name=tool.name,
            call_id=call_id,
            arguments=arguments,
            agent=agent,
            tool_call=call,
        )
        try:
            result = await tool.invoke(tool_ctx, arguments)
        except ToolArgumentsError as exc:
            runtime.emit_error(str(exc), "model", exc, agent, code="invalid_tool_arguments")
            return (
                f"{exc}. Call the tool again with JSON arguments that match its schema.",
                None,
                True,
            )
        except ToolTimeoutError as exc:
            if tool.timeout_behavior == "raise_exception":
                runtime.emit_error(str(exc), "tool", exc, agent, code="tool_timeout")
                return None
            return tool.timeout_message(), None, True
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            runtime.emit_error(
                f"tool {tool.name!r} raised {describe_error(exc, runtime.log_policy.tool_data)}",
                "tool",
                exc,
                agent,
                code="tool_error",
            )
            if tool.failure_error_function is None:
                return None  # the tool asked for the error to be reported only
            try:
                output = tool.failure_error_function(tool_ctx, exc)
                if not isinstance(output, str):
                    output = stringify_tool_output(output)
            except Exception as format_exc:
                runtime.emit_error(
                    f"the failure_error_function of tool {tool.name!r} raised "
                    f"{describe_error(format_exc, runtime.log_policy.tool_data)}",
                    "tool",
                    format_exc,
                    agent,
                )
                # the model still gets an answer: an unanswered call stalls the conversation
                output = f"An error occurred while running the tool {tool.name}. Please try again."
            return output, None, True
        value, start_response = (
            (result.value, False) if isinstance(result, BackgroundResult) else (result, True)
        )
        verdict = await self._guardrails.check_output(call, agent, tool, tool_ctx, value)
        if verdict.stop:
            return None
        if verdict.output is not None:
            return verdict.output, value, start_response
        return stringify_tool_output(value), value, start_response
