"""Output guardrails: checks on what the model says, run while it speaks (debounced).

A guardrail that trips makes the session stop the answer (cancel or interrupt) and send the
model a message asking it to apologise and steer back (see :func:`guardrail_feedback_message`).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, Union, overload

from .context import RealtimeContext
from .errors import RealtimeTransportError

if TYPE_CHECKING:
    from .agent import RealtimeAgent

__all__ = [
    "GuardrailFunctionOutput",
    "OutputGuardrail",
    "OutputGuardrailResult",
    "OutputGuardrailTripwireTriggered",
    "guardrail_feedback_message",
    "output_guardrail",
]

GuardrailFunction = Callable[
    [RealtimeContext[Any], "RealtimeAgent", str],
    Union["GuardrailFunctionOutput", Awaitable["GuardrailFunctionOutput"]],
]
G = TypeVar("G", bound=Callable[..., Any])


@dataclass(frozen=True)
class GuardrailFunctionOutput:
    """What a guardrail function returns: details for the feedback, and whether it tripped."""

    output_info: Any = None
    tripwire_triggered: bool = False


@dataclass
class OutputGuardrail:
    """``guardrail_function(ctx, agent, text)`` (sync or async) checks the model's output text.

    ``policy_hint`` is how the feedback message names the violated policy (default: the name).
    """

    guardrail_function: GuardrailFunction
    name: str | None = None
    policy_hint: str | None = None

    def get_name(self) -> str:
        return self.name or str(getattr(self.guardrail_function, "__name__", "output_guardrail"))

    async def run(
        self, ctx: RealtimeContext[Any], agent: RealtimeAgent, text: str
    ) -> OutputGuardrailResult:
        output = self.guardrail_function(ctx, agent, text)
        if inspect.isawaitable(output):
            output = await output
        if not isinstance(output, GuardrailFunctionOutput):
            raise TypeError(
                f"guardrail {self.get_name()!r} returned {type(output).__name__}; it must "
                "return GuardrailFunctionOutput"
            )
        return OutputGuardrailResult(guardrail=self, agent=agent, agent_output=text, output=output)


@dataclass(frozen=True)
class OutputGuardrailResult:
    guardrail: OutputGuardrail
    agent: RealtimeAgent
    agent_output: str
    output: GuardrailFunctionOutput


class OutputGuardrailTripwireTriggered(RealtimeTransportError):
    """A guardrail tripped; carried by the ``guardrail_tripped`` session event."""

    def __init__(self, result: OutputGuardrailResult) -> None:
        self.result = result
        super().__init__(f"output guardrail {result.guardrail.get_name()!r} tripped")


@overload
def output_guardrail(func: G, /) -> OutputGuardrail: ...


@overload
def output_guardrail(
    *, name: str | None = None, policy_hint: str | None = None
) -> Callable[[G], OutputGuardrail]: ...


def output_guardrail(
    func: G | None = None, /, *, name: str | None = None, policy_hint: str | None = None
) -> OutputGuardrail | Callable[[G], OutputGuardrail]:
    """Decorator: ``@output_guardrail`` or ``@output_guardrail(name=..., policy_hint=...)``."""

    def build(fn: G) -> OutputGuardrail:
        return OutputGuardrail(guardrail_function=fn, name=name, policy_hint=policy_hint)

    return build(func) if func is not None else build


def guardrail_feedback_message(result: OutputGuardrailResult) -> str:
    """The user message sent to the model after a trip: it was blocked, why, and what to do."""
    hint = result.guardrail.policy_hint or result.guardrail.get_name()
    try:
        details = json.dumps(result.output.output_info, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        details = str(result.output.output_info)
    return (
        "Your last answer was blocked by a safety check and was not heard in full.\n"
        f"Failed guardrail reason: {hint}.\n"
        f"Failure details: {details}.\n"
        "Please respond again following the policy: briefly apologise that you cannot continue "
        "that answer (without repeating the blocked content or the exact reason) and steer the "
        "conversation back to an approved topic, without inviting more discussion of it."
    )
