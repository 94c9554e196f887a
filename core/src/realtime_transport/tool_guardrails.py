"""Tool guardrails: checks on a function call's arguments before it runs, and on its result.

A tool input guardrail sees the call (``data.context.arguments``) before the tool runs; a
tool output guardrail sees the tool's result before the model does. Each returns a
:class:`ToolGuardrailFunctionOutput` saying what happens next:

- ``allow()``: carry on;
- ``reject_content(message)``: do not run the tool (input) or do not send its result (output);
  the model gets ``message`` as the call's output and the session emits
  ``tool_guardrail_tripped``;
- ``raise_exception()``: stop: the session emits an ``error`` (code
  ``tool_guardrail_tripped``) carrying :class:`ToolInputGuardrailTripwireTriggered` or
  :class:`ToolOutputGuardrailTripwireTriggered`, and the call gets no output.

Attach them with ``@function_tool(tool_input_guardrails=[...], tool_output_guardrails=[...])``.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar, Union, overload

from .context import ToolContext
from .errors import RealtimeTransportError

if TYPE_CHECKING:
    from .agent import RealtimeAgent

__all__ = [
    "ToolGuardrailBehavior",
    "ToolGuardrailFunctionOutput",
    "ToolInputGuardrail",
    "ToolInputGuardrailData",
    "ToolInputGuardrailTripwireTriggered",
    "ToolOutputGuardrail",
    "ToolOutputGuardrailData",
    "ToolOutputGuardrailTripwireTriggered",
    "tool_input_guardrail",
    "tool_output_guardrail",
]

G = TypeVar("G", bound=Callable[..., Any])


@dataclass(frozen=True)
class ToolGuardrailBehavior:
    """What the session does with a guardrail's verdict (see the module docstring)."""

    type: Literal["allow", "reject_content", "raise_exception"] = "allow"
    message: str | None = None


@dataclass(frozen=True)
class ToolGuardrailFunctionOutput:
    """A tool guardrail's verdict; build it with :meth:`allow`, :meth:`reject_content` or
    :meth:`raise_exception`. ``output_info`` is free-form detail for your own events/logs."""

    output_info: Any = None
    behavior: ToolGuardrailBehavior = field(default_factory=ToolGuardrailBehavior)

    @classmethod
    def allow(cls, output_info: Any = None) -> ToolGuardrailFunctionOutput:
        return cls(output_info=output_info)

    @classmethod
    def reject_content(cls, message: str, output_info: Any = None) -> ToolGuardrailFunctionOutput:
        """Answer the model with ``message`` instead of running the tool / sending its result."""
        if not isinstance(message, str):
            raise TypeError("reject_content needs the message (a str) the model will receive")
        return cls(output_info, ToolGuardrailBehavior("reject_content", message))

    @classmethod
    def raise_exception(cls, output_info: Any = None) -> ToolGuardrailFunctionOutput:
        """Stop the call: an ``error`` event, and no output for the model."""
        return cls(output_info, ToolGuardrailBehavior("raise_exception"))


@dataclass(frozen=True)
class ToolInputGuardrailData:
    """What an input guardrail sees: the call's context (name, id, raw arguments) and agent."""

    context: ToolContext[Any]
    agent: RealtimeAgent


@dataclass(frozen=True)
class ToolOutputGuardrailData(ToolInputGuardrailData):
    """An output guardrail also sees the tool's result (before it is turned into text)."""

    output: Any = None


InputGuardrailFunction = Callable[
    [ToolInputGuardrailData],
    Union[ToolGuardrailFunctionOutput, Awaitable[ToolGuardrailFunctionOutput]],
]
OutputGuardrailFunction = Callable[
    [ToolOutputGuardrailData],
    Union[ToolGuardrailFunctionOutput, Awaitable[ToolGuardrailFunctionOutput]],
]


async def _verdict(name: str, value: Any) -> ToolGuardrailFunctionOutput:
    if inspect.isawaitable(value):
        value = await value
    if not isinstance(value, ToolGuardrailFunctionOutput):
        raise TypeError(
            f"tool guardrail {name!r} returned {type(value).__name__}; it must return "
            "ToolGuardrailFunctionOutput (allow(), reject_content(msg) or raise_exception())"
        )
    return value


@dataclass
class ToolInputGuardrail:
    """``guardrail_function(data)`` (sync or async) checks a call before the tool runs."""

    guardrail_function: InputGuardrailFunction
    name: str | None = None

    def get_name(self) -> str:
        return self.name or str(getattr(self.guardrail_function, "__name__", "tool_guardrail"))

    async def run(self, data: ToolInputGuardrailData) -> ToolGuardrailFunctionOutput:
        return await _verdict(self.get_name(), self.guardrail_function(data))


@dataclass
class ToolOutputGuardrail:
    """``guardrail_function(data)`` (sync or async) checks a tool's result before it is sent."""

    guardrail_function: OutputGuardrailFunction
    name: str | None = None

    def get_name(self) -> str:
        return self.name or str(getattr(self.guardrail_function, "__name__", "tool_guardrail"))

    async def run(self, data: ToolOutputGuardrailData) -> ToolGuardrailFunctionOutput:
        return await _verdict(self.get_name(), self.guardrail_function(data))


class ToolInputGuardrailTripwireTriggered(RealtimeTransportError):
    """An input guardrail chose ``raise_exception``; carried by the session ``error`` event."""

    def __init__(self, guardrail: ToolInputGuardrail, output: ToolGuardrailFunctionOutput) -> None:
        self.guardrail = guardrail
        self.output = output
        super().__init__(f"tool input guardrail {guardrail.get_name()!r} tripped")


class ToolOutputGuardrailTripwireTriggered(RealtimeTransportError):
    """An output guardrail chose ``raise_exception``; carried by the session ``error`` event."""

    def __init__(self, guardrail: ToolOutputGuardrail, output: ToolGuardrailFunctionOutput) -> None:
        self.guardrail = guardrail
        self.output = output
        super().__init__(f"tool output guardrail {guardrail.get_name()!r} tripped")


@overload
def tool_input_guardrail(func: G, /) -> ToolInputGuardrail: ...


@overload
def tool_input_guardrail(*, name: str | None = None) -> Callable[[G], ToolInputGuardrail]: ...


def tool_input_guardrail(
    func: G | None = None, /, *, name: str | None = None
) -> ToolInputGuardrail | Callable[[G], ToolInputGuardrail]:
    """Decorator: ``@tool_input_guardrail`` or ``@tool_input_guardrail(name=...)``."""

    def build(fn: G) -> ToolInputGuardrail:
        return ToolInputGuardrail(guardrail_function=fn, name=name)

    return build(func) if func is not None else build


@overload
def tool_output_guardrail(func: G, /) -> ToolOutputGuardrail: ...


@overload
def tool_output_guardrail(*, name: str | None = None) -> Callable[[G], ToolOutputGuardrail]: ...


def tool_output_guardrail(
    func: G | None = None, /, *, name: str | None = None
) -> ToolOutputGuardrail | Callable[[G], ToolOutputGuardrail]:
    """Decorator: ``@tool_output_guardrail`` or ``@tool_output_guardrail(name=...)``."""

    def build(fn: G) -> ToolOutputGuardrail:
        return ToolOutputGuardrail(guardrail_function=fn, name=name)

    return build(func) if func is not None else build
