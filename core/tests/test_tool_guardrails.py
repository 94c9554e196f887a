"""Tool guardrail types and the ``function_tool`` options that attach them."""

from __future__ import annotations

from typing import Any

import pytest
from realtime_transport import (
    FunctionTool,
    RealtimeContext,
    ToolContext,
    ToolGuardrailFunctionOutput,
    ToolInputGuardrail,
    ToolInputGuardrailData,
    ToolOutputGuardrail,
    ToolOutputGuardrailData,
    UserError,
    function_tool,
    output_guardrail,
    tool_input_guardrail,
    tool_output_guardrail,
)
from realtime_transport.agent import RealtimeAgent


@tool_input_guardrail
def allow(data: ToolInputGuardrailData) -> ToolGuardrailFunctionOutput:
    return ToolGuardrailFunctionOutput.allow("fine")


@tool_output_guardrail(name="named")
async def check_output(data: ToolOutputGuardrailData) -> ToolGuardrailFunctionOutput:
    return ToolGuardrailFunctionOutput.reject_content(f"no {data.output}")


def data(output: Any = None) -> ToolOutputGuardrailData:
    ctx = ToolContext.from_run_context(
        RealtimeContext(context=None),
        tool_name="t",
        call_id="c1",
        arguments="{}",
        agent=RealtimeAgent("a"),
        tool_call=None,
    )
    return ToolOutputGuardrailData(ctx, RealtimeAgent("a"), output)


def test_verdict_constructors() -> None:
    assert ToolGuardrailFunctionOutput.allow().behavior.type == "allow"
    rejected = ToolGuardrailFunctionOutput.reject_content("nope", output_info={"x": 1})
    assert (rejected.behavior.type, rejected.behavior.message) == ("reject_content", "nope")
    assert rejected.output_info == {"x": 1}
    assert ToolGuardrailFunctionOutput.raise_exception().behavior.type == "raise_exception"
    with pytest.raises(TypeError, match="message"):
        ToolGuardrailFunctionOutput.reject_content(None)  # type: ignore[arg-type]


def test_decorators_build_named_guardrails() -> None:
    assert isinstance(allow, ToolInputGuardrail) and allow.get_name() == "allow"
    assert isinstance(check_output, ToolOutputGuardrail) and check_output.get_name() == "named"


async def test_run_awaits_async_guardrails_and_checks_the_return_type() -> None:
    verdict = await check_output.run(data("secret"))
    assert verdict.behavior.message == "no secret"
    assert (await allow.run(data())).output_info == "fine"

    @tool_input_guardrail
    def wrong(data: ToolInputGuardrailData) -> Any:
        return True

    with pytest.raises(TypeError, match="ToolGuardrailFunctionOutput"):
        await wrong.run(data())


def test_function_tool_takes_guardrails() -> None:
    @function_tool(tool_input_guardrails=[allow], tool_output_guardrails=[check_output])
    def echo(text: str) -> str:
        """Echo."""
        return text

    assert echo.tool_input_guardrails == [allow]
    assert echo.tool_output_guardrails == [check_output]
    assert "guardrail" not in str(echo.definition())  # never sent to the model


def test_function_tool_rejects_wrong_guardrail_objects() -> None:
    def plain(data: Any) -> Any:
        return None

    def noop() -> None:
        """Nothing."""

    with pytest.raises(UserError, match="@tool_input_guardrail"):
        function_tool(tool_input_guardrails=[plain])(noop)  # type: ignore[list-item]
    with pytest.raises(UserError, match="ToolOutputGuardrail"):
        function_tool(tool_output_guardrails=[allow])(noop)  # type: ignore[list-item]
    with pytest.raises(UserError, match="must be a list"):
        FunctionTool(
            name="t",
            description="",
            params_json_schema={},
            on_invoke_tool=lambda ctx, args: None,  # type: ignore[arg-type,return-value]
            tool_input_guardrails=allow,  # type: ignore[arg-type]
        )
    # an agent-level output guardrail is not a tool guardrail
    with pytest.raises(UserError):
        function_tool(tool_output_guardrails=[output_guardrail(plain)])(noop)  # type: ignore[list-item]
