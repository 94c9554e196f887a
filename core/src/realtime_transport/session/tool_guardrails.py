"""Running a function tool's input and output guardrails, and what their verdicts do.

``reject_content`` answers the model with the guardrail's message (``tool_guardrail_tripped``
is emitted); ``raise_exception`` reports an ``error`` (code ``tool_guardrail_tripped``) and the
call gets no output, as in the reference. A guardrail that itself raises fails closed: the tool
does not run (or its result is not sent), an ``error`` (code ``tool_guardrail_error``) is
reported and the model is told the call was blocked, so the call is never left unanswered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ..context import ToolContext
from ..session_events import ToolGuardrailTrippedEvent
from ..tool_guardrails import (
    ToolGuardrailFunctionOutput,
    ToolInputGuardrail,
    ToolInputGuardrailData,
    ToolInputGuardrailTripwireTriggered,
    ToolOutputGuardrail,
    ToolOutputGuardrailData,
    ToolOutputGuardrailTripwireTriggered,
)

if TYPE_CHECKING:
    from ..agent import RealtimeAgent
    from ..events import FunctionCallEvent
    from ..tools import FunctionTool
    from .runtime import SessionRuntime

__all__ = ["GuardrailVerdict", "ToolGuardrails", "guardrail_failure_output"]


@dataclass(frozen=True)
class GuardrailVerdict:
    """``output``: what the model gets instead (``None``: carry on); ``stop``: send nothing."""

    output: str | None = None
    stop: bool = False


_ALLOW = GuardrailVerdict()


def guardrail_failure_output(name: str) -> str:
    """The output the model gets when a guardrail could not check the call (fail closed)."""
    return f"The tool call was blocked because the safety check {name!r} could not run."


class ToolGuardrails:
    """Runs the guardrails of the tools the session calls, in order, first trip wins."""

    __slots__ = ("_runtime", "pre_approval")

    def __init__(self, runtime: SessionRuntime, *, pre_approval: bool) -> None:
        self._runtime = runtime
        self.pre_approval = pre_approval  # input guardrails also run before asking for approval

    def tool_context(
        self, call: FunctionCallEvent, agent: RealtimeAgent, tool: FunctionTool, call_id: str
    ) -> ToolContext[Any]:
        return ToolContext.from_run_context(
            self._runtime.context,
            tool_name=tool.name,
            call_id=call_id,
            arguments=call.arguments,
            agent=agent,
            tool_call=call,
        )

    async def check_input(
        self, call: FunctionCallEvent, agent: RealtimeAgent, tool: FunctionTool, call_id: str
    ) -> GuardrailVerdict:
        if not tool.tool_input_guardrails:
            return _ALLOW
        data = ToolInputGuardrailData(self.tool_context(call, agent, tool, call_id), agent)
        for guardrail in tool.tool_input_guardrails:
            verdict = await self._apply(guardrail, "input", call, agent, tool, data)
            if verdict is not _ALLOW:
                return verdict
        return _ALLOW

    async def check_output(
        self,
        call: FunctionCallEvent,
        agent: RealtimeAgent,
        tool: FunctionTool,
        tool_ctx: ToolContext[Any],
        result: Any,
    ) -> GuardrailVerdict:
        if not tool.tool_output_guardrails:
            return _ALLOW
        data = ToolOutputGuardrailData(tool_ctx, agent, result)
        for guardrail in tool.tool_output_guardrails:
            verdict = await self._apply(guardrail, "output", call, agent, tool, data)
            if verdict is not _ALLOW:
                return verdict
        return _ALLOW

    async def _apply(
        self,
        guardrail: ToolInputGuardrail | ToolOutputGuardrail,
        kind: Literal["input", "output"],
        call: FunctionCallEvent,
        agent: RealtimeAgent,
        tool: FunctionTool,
        data: Any,
    ) -> GuardrailVerdict:
        runtime = self._runtime
        name = guardrail.get_name()
        try:
            verdict: ToolGuardrailFunctionOutput = await guardrail.run(data)
        except Exception as exc:
            detail = f": {exc}" if runtime.log_policy.tool_data else ""
            runtime.emit_error(
                f"tool {kind} guardrail {name!r} of tool {tool.name!r} raised "
                f"{type(exc).__name__}{detail}; the call was blocked",
                "guardrail",
                exc,
                agent,
                code="tool_guardrail_error",
            )
            return GuardrailVerdict(output=guardrail_failure_output(name))
        behavior = verdict.behavior
        if behavior.type == "reject_content":
            message = behavior.message or ""
            runtime.emit(
                "tool_guardrail_tripped",
                ToolGuardrailTrippedEvent(
                    agent=agent,
                    tool=tool,
                    call=call,
                    guardrail=guardrail,
                    kind=kind,
                    output=verdict,
                    message=message,
                    context=runtime.context,
                ),
            )
            return GuardrailVerdict(output=message)
        if behavior.type == "raise_exception":
            error: Exception
            if isinstance(guardrail, ToolInputGuardrail):
                error = ToolInputGuardrailTripwireTriggered(guardrail, verdict)
            else:
                error = ToolOutputGuardrailTripwireTriggered(guardrail, verdict)
            runtime.emit_error(
                f"{error} for tool {tool.name!r}; the call was stopped and gets no output",
                "guardrail",
                error,
                agent,
                code="tool_guardrail_tripped",
            )
            return GuardrailVerdict(stop=True)
        return _ALLOW
