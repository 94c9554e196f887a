"""RealtimeAgent, handoffs and guardrail building blocks (no transport involved)."""

from __future__ import annotations

import pydantic
import pytest
from realtime_transport import (
    GuardrailFunctionOutput,
    Handoff,
    RealtimeAgent,
    RealtimeContext,
    ToolArgumentsError,
    UserError,
    function_tool,
    handoff,
    output_guardrail,
)
from realtime_transport.agent import prepare_agent_tools
from realtime_transport.guardrails import guardrail_feedback_message
from realtime_transport.handoffs import default_handoff_tool_name
from realtime_transport.session import compute_initial_session_config


@function_tool
def ping() -> str:
    """Answer pong."""
    return "pong"


def ctx(value: object = None) -> RealtimeContext[object]:
    return RealtimeContext(context=value)


async def test_instructions_string_sync_and_async_callables() -> None:
    assert await RealtimeAgent("a", instructions="hi").get_system_prompt(ctx()) == "hi"
    assert await RealtimeAgent("a").get_system_prompt(ctx()) is None

    def sync(c: RealtimeContext[object], agent: RealtimeAgent) -> str:
        return f"{agent.name} for {c.context}"

    async def asynchronous(c: RealtimeContext[object], agent: RealtimeAgent) -> str:
        return f"async {agent.name}"

    assert await RealtimeAgent("b", instructions=sync).get_system_prompt(ctx("x")) == "b for x"
    assert await RealtimeAgent("c", instructions=asynchronous).get_system_prompt(ctx()) == "async c"

    with pytest.raises(UserError, match="expected str"):
        await RealtimeAgent("d", instructions=lambda c, a: 3).get_system_prompt(ctx())  # type: ignore[arg-type]


def test_constructor_rejects_wrong_types_with_hints() -> None:
    def undecorated() -> None: ...

    with pytest.raises(UserError, match="@function_tool"):
        RealtimeAgent("a", tools=[undecorated])  # type: ignore[list-item]
    with pytest.raises(UserError, match="handoffs must be"):
        RealtimeAgent("a", handoffs=["b"])  # type: ignore[list-item]
    with pytest.raises(UserError, match="non-empty name"):
        RealtimeAgent("")
    with pytest.raises(UserError, match="instructions must be"):
        RealtimeAgent("a", instructions=3)  # type: ignore[arg-type]


async def test_prompt_normalised_and_callable() -> None:
    agent = RealtimeAgent("a", prompt={"prompt_id": "pmpt_1", "version": None})
    assert await agent.get_prompt(ctx()) == {"id": "pmpt_1"}
    dynamic = RealtimeAgent("b", prompt=lambda c, a: {"id": "pmpt_2", "variables": {"n": a.name}})
    assert await dynamic.get_prompt(ctx()) == {"id": "pmpt_2", "variables": {"n": "b"}}


def test_clone_copies_configuration_not_listeners() -> None:
    agent = RealtimeAgent("a", instructions="x", voice="marin", tools=[ping])
    agent.on("agent_start", lambda e: None)
    copy = agent.clone(name="b", voice="cedar")
    assert (copy.name, copy.voice, copy.instructions, copy.tools) == ("b", "cedar", "x", [ping])
    assert copy.listener_count("agent_start") == 0


async def test_default_handoff_tool_and_definition() -> None:
    billing = RealtimeAgent("Billing Desk!", handoff_description="Invoices and refunds.")
    assert default_handoff_tool_name(billing.name) == "transfer_to_billing_desk_"
    front = RealtimeAgent("front", handoffs=[billing], tools=[ping])
    tools = await prepare_agent_tools(front, ctx())
    assert list(tools.functions) == ["ping"]
    h = tools.handoffs["transfer_to_billing_desk_"]
    assert h.definition() == {
        "type": "function",
        "name": "transfer_to_billing_desk_",
        "description": "Handoff to the Billing Desk! agent to handle the request. "
        "Invoices and refunds.",
        "parameters": {
            "type": "object",
            "properties": {},
            "required": [],
            "additionalProperties": False,
        },
    }
    assert await h.on_invoke_handoff(ctx(), "") is billing
    assert [d["name"] for d in tools.definitions()] == ["ping", "transfer_to_billing_desk_"]


async def test_custom_handoff_with_validated_input() -> None:
    class Reason(pydantic.BaseModel):
        reason: str

    target = RealtimeAgent("support")
    seen: list[str] = []

    async def on_handoff(c: RealtimeContext[object], data: Reason) -> None:
        seen.append(data.reason)

    h = handoff(
        target,
        tool_name_override="escalate",
        tool_description_override="Escalate.",
        on_handoff=on_handoff,
        input_type=Reason,
    )
    assert isinstance(h, Handoff)
    assert h.input_json_schema["required"] == ["reason"]
    assert await h.on_invoke_handoff(ctx(), '{"reason": "angry"}') is target
    assert seen == ["angry"]
    with pytest.raises(ToolArgumentsError):
        await h.on_invoke_handoff(ctx(), '{"nope": 1}')
    with pytest.raises(UserError, match="needs on_handoff"):
        handoff(target, input_type=Reason)


async def test_duplicate_names_rejected_but_disabled_tools_ignored() -> None:
    @function_tool(name="transfer_to_b")
    def clash() -> str:
        return ""

    b = RealtimeAgent("b")
    with pytest.raises(UserError, match="two tools named 'transfer_to_b'"):
        await prepare_agent_tools(RealtimeAgent("a", tools=[clash], handoffs=[b]), ctx())

    @function_tool(name="transfer_to_b", is_enabled=False)
    def disabled_clash() -> str:
        return ""

    prepared = await prepare_agent_tools(
        RealtimeAgent("a", tools=[disabled_clash], handoffs=[b]), ctx()
    )
    assert list(prepared.functions) == [] and list(prepared.handoffs) == ["transfer_to_b"]


async def test_dynamic_is_enabled_sees_context_and_agent() -> None:
    async def only_for_admins(c: RealtimeContext[object], agent: RealtimeAgent) -> bool:
        return c.context == "admin"

    @function_tool(is_enabled=only_for_admins)
    def secret() -> str:
        return "s"

    agent = RealtimeAgent("a", tools=[secret])
    assert list((await prepare_agent_tools(agent, ctx("admin"))).functions) == ["secret"]
    assert list((await prepare_agent_tools(agent, ctx("guest"))).functions) == []


async def test_guardrail_decorator_run_and_feedback() -> None:
    @output_guardrail(policy_hint="no prices")
    def no_prices(
        c: RealtimeContext[object], agent: RealtimeAgent, text: str
    ) -> GuardrailFunctionOutput:
        return GuardrailFunctionOutput(output_info={"found": "$"}, tripwire_triggered="$" in text)

    agent = RealtimeAgent("a")
    result = await no_prices.run(ctx(), agent, "costs $5")
    assert result.output.tripwire_triggered and result.agent is agent
    message = guardrail_feedback_message(result)
    assert "blocked" in message and "no prices" in message and '{"found": "$"}' in message

    @output_guardrail
    async def bad(c: RealtimeContext[object], agent: RealtimeAgent, text: str) -> bool:
        return True

    with pytest.raises(TypeError, match="GuardrailFunctionOutput"):
        await bad.run(ctx(), agent, "x")


async def test_session_config_layers_agent_over_config_and_clears_tools() -> None:
    agent = RealtimeAgent("a", instructions="be brief", voice="marin", tools=[ping])
    config = {"audio": {"input": {"format": {"type": "audio/pcmu"}}}}
    first = await compute_initial_session_config(agent, config=config, model="gpt-realtime")
    assert first["instructions"] == "be brief"
    assert first["model"] == "gpt-realtime"
    assert first["audio"]["input"]["format"] == {"type": "audio/pcmu"}
    assert first["audio"]["output"]["voice"] == "marin"
    assert [t["name"] for t in first["tools"]] == ["ping"]
    assert first["tracing"] == "auto"
    # the next agent has no tools and no instructions: both are cleared, formats stay
    second = await compute_initial_session_config(
        RealtimeAgent("b"), config=config, last_config=first
    )
    assert second["tools"] == [] and second["instructions"] == ""
    assert second["audio"]["input"]["format"] == {"type": "audio/pcmu"}
    # a voice in the session config wins over the agent's
    voiced = await compute_initial_session_config(agent, config={"voice": "cedar"})
    assert voiced["audio"]["output"]["voice"] == "cedar"


def test_a_name_that_is_not_a_string_says_so() -> None:
    from realtime_transport import RealtimeAgent, UserError

    with pytest.raises(UserError, match=r"must be a string, got 123 \(int\)"):
        RealtimeAgent(123)  # type: ignore[arg-type]
    with pytest.raises(UserError, match="non-empty name"):
        RealtimeAgent("  ")
