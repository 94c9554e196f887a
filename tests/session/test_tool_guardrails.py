"""Tool input/output guardrails and pre-approval input guardrails, against the emulator.

Reference 8.4, 8.6 and 9.9 ("Input guardrail rejectContent", "Output guardrail rejectContent",
"Pre-approval input guardrails"): a rejection's message is the call's output, the session says
which guardrail tripped, ``raise_exception`` is an ``error`` with no output.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from emulated import client_items, outputs, until
from realtime_transport import (
    RealtimeAgent,
    RealtimeSession,
    SessionErrorEvent,
    ToolApprovalRequestedEvent,
    ToolGuardrailFunctionOutput,
    ToolGuardrailTrippedEvent,
    ToolInputGuardrailData,
    ToolInputGuardrailTripwireTriggered,
    ToolOutputGuardrailData,
    ToolOutputGuardrailTripwireTriggered,
    UserError,
    function_tool,
    tool_input_guardrail,
    tool_output_guardrail,
)
from realtime_transport_emulator import Emulator, FunctionCall, Reply, Rule, Script

SCRIPT = Script(
    rules=(
        Rule(
            contains="transfer",
            reply=Reply(
                text="One moment.",
                function_calls=(FunctionCall("transfer", {"account": "ACC-123", "amount": 900}),),
                then=Reply(text="Done with the transfer."),
            ),
        ),
    ),
    default=Reply(text="Anything else?"),
)
pytestmark = pytest.mark.emulator_options(script=SCRIPT)

ran: list[dict[str, Any]] = []


def make_tool(**options: Any) -> Any:
    @function_tool(**options)
    def transfer(account: str, amount: int) -> dict[str, Any]:
        """Transfer money."""
        ran.append({"account": account, "amount": amount})
        return {"status": "sent", "account": account, "secret_ref": "REF-999"}

    return transfer


@pytest.fixture(autouse=True)
def _clear_runs() -> None:
    ran.clear()


@tool_input_guardrail
def block_big_amounts(data: ToolInputGuardrailData) -> ToolGuardrailFunctionOutput:
    args = json.loads(data.context.arguments)
    if args["amount"] > 500:
        return ToolGuardrailFunctionOutput.reject_content(
            "Transfers over 500 need a branch visit.", output_info={"amount": args["amount"]}
        )
    return ToolGuardrailFunctionOutput.allow()


@tool_output_guardrail(name="hide_refs")
def hide_refs(data: ToolOutputGuardrailData) -> ToolGuardrailFunctionOutput:
    if "REF-" in json.dumps(data.output):
        return ToolGuardrailFunctionOutput.reject_content("The result held an internal reference.")
    return ToolGuardrailFunctionOutput.allow()


def ended_with(text: str) -> Callable[[Any], bool]:
    return lambda event: event.output == text


async def test_input_guardrail_rejects_before_the_tool_runs(
    emulator: Emulator, session_factory: Callable[..., Any]
) -> None:
    tool = make_tool(tool_input_guardrails=[block_big_amounts])
    session: RealtimeSession = await session_factory(RealtimeAgent("bank", tools=[tool]))
    tripped: list[ToolGuardrailTrippedEvent] = []
    ends: list[Any] = []
    session.on("tool_guardrail_tripped", tripped.append)
    session.on("agent_tool_end", ends.append)
    session.send_message("please transfer the money")
    await until(session, "agent_end", ended_with("Done with the transfer."))

    assert ran == []  # the tool never ran
    assert outputs(emulator) == ["Transfers over 500 need a branch visit."]
    (event,) = tripped
    assert event.kind == "input" and event.guardrail is block_big_amounts
    assert event.guardrail.get_name() == "block_big_amounts" and event.tool is tool
    assert event.output.output_info == {"amount": 900}
    assert event.message == "Transfers over 500 need a branch visit."
    assert [e.output for e in ends] == ["Transfers over 500 need a branch visit."]


async def test_input_guardrail_that_allows_lets_the_tool_run(
    emulator: Emulator, session_factory: Callable[..., Any]
) -> None:
    @tool_input_guardrail
    def allow_all(data: ToolInputGuardrailData) -> ToolGuardrailFunctionOutput:
        return ToolGuardrailFunctionOutput.allow()

    tool = make_tool(tool_input_guardrails=[allow_all])
    session: RealtimeSession = await session_factory(RealtimeAgent("bank", tools=[tool]))
    session.send_message("please transfer the money")
    await until(session, "agent_end", ended_with("Done with the transfer."))
    assert ran == [{"account": "ACC-123", "amount": 900}]
    assert json.loads(outputs(emulator)[0])["status"] == "sent"


async def test_output_guardrail_replaces_the_result(
    emulator: Emulator, session_factory: Callable[..., Any]
) -> None:
    tool = make_tool(tool_output_guardrails=[hide_refs])
    session: RealtimeSession = await session_factory(RealtimeAgent("bank", tools=[tool]))
    tripped: list[ToolGuardrailTrippedEvent] = []
    session.on("tool_guardrail_tripped", tripped.append)
    session.send_message("please transfer the money")
    await until(session, "agent_end", ended_with("Done with the transfer."))

    assert len(ran) == 1  # the tool ran ...
    assert outputs(emulator) == [
        "The result held an internal reference."
    ]  # ... its result not sent
    assert "REF-999" not in json.dumps(client_items(emulator, "function_call_output"))
    (event,) = tripped
    assert event.kind == "output" and event.guardrail.get_name() == "hide_refs"


@pytest.mark.parametrize("kind", ["input", "output"])
async def test_raise_exception_reports_an_error_and_sends_no_output(
    kind: str, emulator: Emulator, session_factory: Callable[..., Any]
) -> None:
    @tool_input_guardrail(name="stop_in")
    def stop_in(data: ToolInputGuardrailData) -> ToolGuardrailFunctionOutput:
        return ToolGuardrailFunctionOutput.raise_exception(output_info="fraud")

    @tool_output_guardrail(name="stop_out")
    async def stop_out(data: ToolOutputGuardrailData) -> ToolGuardrailFunctionOutput:
        return ToolGuardrailFunctionOutput.raise_exception(output_info="fraud")

    options = (
        {"tool_input_guardrails": [stop_in]}
        if kind == "input"
        else {"tool_output_guardrails": [stop_out]}
    )
    session: RealtimeSession = await session_factory(
        RealtimeAgent("bank", tools=[make_tool(**options)])
    )
    session.send_message("please transfer the money")
    error: SessionErrorEvent = await until(session, "error")
    assert error.code == "tool_guardrail_tripped" and error.source == "guardrail"
    expected = (
        ToolInputGuardrailTripwireTriggered
        if kind == "input"
        else ToolOutputGuardrailTripwireTriggered
    )
    assert isinstance(error.error, expected)
    assert error.error.guardrail.get_name() == f"stop_{'in' if kind == 'input' else 'out'}"
    assert error.error.output.output_info == "fraud"
    assert f"stop_{'in' if kind == 'input' else 'out'}" in error.message
    # a later turn completes, and the stopped call was never answered
    session.send_message("hello")
    await until(session, "agent_end", ended_with("Anything else?"))
    assert outputs(emulator) == []
    assert len(ran) == (0 if kind == "input" else 1)


async def test_a_failing_guardrail_blocks_the_call_and_answers_the_model(
    emulator: Emulator, session_factory: Callable[..., Any]
) -> None:
    @tool_input_guardrail
    def broken(data: ToolInputGuardrailData) -> ToolGuardrailFunctionOutput:
        raise RuntimeError("policy service down")

    session: RealtimeSession = await session_factory(
        RealtimeAgent("bank", tools=[make_tool(tool_input_guardrails=[broken])])
    )
    errors: list[SessionErrorEvent] = []
    session.on("error", errors.append)
    session.send_message("please transfer the money")
    await until(session, "agent_end", ended_with("Done with the transfer."))
    assert ran == []
    assert outputs(emulator) == [
        "The tool call was blocked because the safety check 'broken' could not run."
    ]
    (error,) = errors
    assert error.code == "tool_guardrail_error" and isinstance(error.error, RuntimeError)


async def test_approval_comes_first_and_input_guardrails_run_after_it_by_default(
    emulator: Emulator, session_factory: Callable[..., Any]
) -> None:
    seen: list[str] = []

    @tool_input_guardrail
    def counted(data: ToolInputGuardrailData) -> ToolGuardrailFunctionOutput:
        seen.append(data.context.call_id)
        return ToolGuardrailFunctionOutput.reject_content("Blocked after approval.")

    tool = make_tool(needs_approval=True, tool_input_guardrails=[counted])
    session: RealtimeSession = await session_factory(RealtimeAgent("bank", tools=[tool]))
    session.send_message("please transfer the money")
    request: ToolApprovalRequestedEvent = await until(session, "tool_approval_requested")
    assert seen == []  # off by default: nothing ran before the approval request
    await session.approve(request.approval_item)
    await until(session, "agent_end", ended_with("Done with the transfer."))
    assert len(seen) == 1 and ran == []
    assert outputs(emulator) == ["Blocked after approval."]


async def test_pre_approval_guardrail_rejection_replaces_the_approval_request(
    emulator: Emulator, session_factory: Callable[..., Any]
) -> None:
    tool = make_tool(needs_approval=True, tool_input_guardrails=[block_big_amounts])
    session: RealtimeSession = await session_factory(
        RealtimeAgent("bank", tools=[tool]), pre_approval_input_guardrails=True
    )
    requests: list[Any] = []
    session.on("tool_approval_requested", requests.append)
    session.send_message("please transfer the money")
    await until(session, "agent_end", ended_with("Done with the transfer."))
    assert requests == [] and ran == []
    assert outputs(emulator) == ["Transfers over 500 need a branch visit."]


async def test_pre_approval_guardrails_run_again_after_approval(
    emulator: Emulator, session_factory: Callable[..., Any]
) -> None:
    seen: list[str] = []

    @tool_input_guardrail
    def counted(data: ToolInputGuardrailData) -> ToolGuardrailFunctionOutput:
        seen.append(data.agent.name)
        return ToolGuardrailFunctionOutput.allow()

    tool = make_tool(needs_approval=True, tool_input_guardrails=[counted])
    session: RealtimeSession = await session_factory(
        RealtimeAgent("bank", tools=[tool]), pre_approval_input_guardrails=True
    )
    session.send_message("please transfer the money")
    request: ToolApprovalRequestedEvent = await until(session, "tool_approval_requested")
    assert seen == ["bank"]
    await session.approve(request.approval_item)
    await until(session, "agent_end", ended_with("Done with the transfer."))
    assert seen == ["bank", "bank"] and len(ran) == 1


def test_pre_approval_option_must_be_a_bool() -> None:
    with pytest.raises(UserError, match="pre_approval_input_guardrails"):
        RealtimeSession(RealtimeAgent("a"), pre_approval_input_guardrails="yes")  # type: ignore[arg-type]
