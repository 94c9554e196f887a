"""Tool calls, handoffs and approvals through a session (fake transport, exact ordering).

Reference 9.9 "Tool calls" and "Approvals"; 8.4-8.6.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from conftest import Recorder, settle
from realtime_transport import (
    ModelBehaviorError,
    RealtimeAgent,
    RealtimeContext,
    RealtimeSession,
    RealtimeToolCallItem,
    SessionErrorEvent,
    ToolApprovalItem,
    ToolApprovalRequestedEvent,
    ToolArgumentsError,
    ToolContext,
    ToolErrorFormatterArgs,
    UserError,
    background_result,
    function_tool,
    handoff,
)
from realtime_transport.testing.fake import FakeTransport

CUSTOM_FORMATS = {
    "audio": {
        "input": {"format": {"type": "audio/pcmu"}},
        "output": {"format": {"type": "audio/pcmu"}},
    }
}


@function_tool
def echo(text: str) -> str:
    """Echo the text back."""
    return f"echo:{text}"


def outputs(transport: FakeTransport) -> list[tuple[str, bool]]:
    return [
        (c.args[1], c.kwargs["start_response"])
        for c in transport.calls_named("send_function_call_output")
    ]


async def test_tool_round_trip(connected: Any, transport: FakeTransport) -> None:
    agent = RealtimeAgent("main", tools=[echo])
    session: RealtimeSession = await connected(agent)
    rec = Recorder(session, ("agent_tool_start", "agent_tool_end", "error"))
    agent_side: list[str] = []
    agent.on("agent_tool_start", lambda e: agent_side.append("start"))
    agent.on("agent_tool_end", lambda e: agent_side.append("end"))
    transport.emit_turn_started("resp_1")
    call = transport.emit_function_call("echo", '{"text": "hi"}', response_id="resp_1")
    await transport.wait_for_call("send_function_call_output")
    await settle()
    assert outputs(transport) == [("echo:hi", True)]
    start, end = rec.named("agent_tool_start")[0], rec.named("agent_tool_end")[0]
    assert start.tool is echo and start.call is call and start.arguments == '{"text": "hi"}'
    assert end.output == "echo:hi" and end.result == "echo:hi"
    assert rec.names == ["agent_tool_start", "agent_tool_end"]
    assert agent_side == ["start", "end"]
    (item,) = session.history
    assert isinstance(item, RealtimeToolCallItem) and item.output == "echo:hi"


async def test_tool_receives_context_and_a_history_copy(
    connected: Any, transport: FakeTransport
) -> None:
    seen: list[Any] = []

    @function_tool
    async def whoami(ctx: ToolContext[dict[str, str]]) -> str:
        seen.append((ctx.context, ctx.call_id, ctx.tool_name, len(ctx.history)))
        ctx.history.clear()  # a copy: the session's history is untouched
        return ctx.context["user"]

    session: RealtimeSession = await connected(
        RealtimeAgent("main", tools=[whoami]), context={"user": "ada"}
    )
    transport.emit_message("user", "who am I?")
    transport.emit_function_call("whoami", response_id="resp_1", call_id="call_9")
    await transport.wait_for_call("send_function_call_output")
    assert outputs(transport) == [("ada", True)]
    assert seen == [({"user": "ada"}, "call_9", "whoami", 2)]
    assert len(session.history) == 2


async def test_unknown_tool(connected: Any, transport: FakeTransport) -> None:
    session: RealtimeSession = await connected(RealtimeAgent("main", tools=[echo]))
    errors: list[SessionErrorEvent] = []
    session.on("error", errors.append)
    transport.emit_function_call("missing", response_id="resp_1")
    await transport.wait_for_call("send_function_call_output")
    assert outputs(transport) == [("Tool missing not found", False)]
    assert isinstance(errors[0].error, ModelBehaviorError) and errors[0].code == "tool_not_found"


async def test_missing_response_id_is_an_error(connected: Any, transport: FakeTransport) -> None:
    session: RealtimeSession = await connected(RealtimeAgent("main", tools=[echo]))
    errors: list[SessionErrorEvent] = []
    session.on("error", errors.append)
    transport.emit_function_call("echo", '{"text": "x"}', response_id="")
    await settle()
    assert outputs(transport) == []
    assert errors[0].code == "missing_response_id"


async def test_invalid_arguments_answer_the_model_and_report(
    connected: Any, transport: FakeTransport
) -> None:
    session: RealtimeSession = await connected(RealtimeAgent("main", tools=[echo]))
    errors: list[SessionErrorEvent] = []
    session.on("error", errors.append)
    transport.emit_function_call("echo", '{"txt": 1', response_id="resp_1")
    await transport.wait_for_call("send_function_call_output")
    ((output, start),) = outputs(transport)
    assert "not valid JSON" in output and start is True
    assert isinstance(errors[0].error, ToolArgumentsError)
    transport.emit_function_call("echo", '{"txt": 1}', response_id="resp_1")
    await transport.wait_for_call("send_function_call_output", count=2)
    assert "text: Field required" in outputs(transport)[1][0]


async def test_tool_exceptions(connected: Any, transport: FakeTransport) -> None:
    @function_tool
    def broken() -> str:
        raise ValueError("disk full")

    @function_tool(failure_error_function=None)
    def silent() -> str:
        raise ValueError("kaput")

    session: RealtimeSession = await connected(RealtimeAgent("main", tools=[broken, silent]))
    errors: list[SessionErrorEvent] = []
    session.on("error", errors.append)
    transport.emit_function_call("broken", response_id="resp_1")
    await transport.wait_for_call("send_function_call_output")
    assert outputs(transport) == [
        ("An error occurred while running the tool. Please try again. Error: disk full", True)
    ]
    transport.emit_function_call("silent", response_id="resp_1")
    await settle()
    assert len(outputs(transport)) == 1
    assert [e.source for e in errors] == ["tool", "tool"]
    assert "kaput" in errors[1].message


class _Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("__str__ itself fails")


async def test_a_tool_error_that_cannot_be_printed_is_still_answered(
    connected: Any, transport: FakeTransport
) -> None:
    """An exception whose ``__str__`` raises (and a formatter that raises) still answers."""

    @function_tool
    def weird() -> str:
        raise _Unprintable()

    def bad_formatter(ctx: ToolContext[Any], error: Exception) -> str:
        raise RuntimeError("formatter bug")

    @function_tool(failure_error_function=bad_formatter)
    def weirder() -> str:
        raise ValueError("x")

    session: RealtimeSession = await connected(RealtimeAgent("main", tools=[weird, weirder]))
    errors: list[SessionErrorEvent] = []
    session.on("error", errors.append)
    transport.emit_function_call("weird", response_id="resp_1")
    await transport.wait_for_call("send_function_call_output")
    assert outputs(transport) == [
        ("An error occurred while running the tool. Please try again. Error: _Unprintable", True)
    ]
    transport.emit_function_call("weirder", response_id="resp_1")
    await transport.wait_for_call("send_function_call_output", count=2)
    assert outputs(transport)[1] == (
        "An error occurred while running the tool weirder. Please try again.",
        True,
    )
    assert [e.code for e in errors] == ["tool_error", "tool_error", None]
    assert "internal error" not in " ".join(e.message for e in errors)


async def test_timeouts(connected: Any, transport: FakeTransport) -> None:
    @function_tool(timeout=0.005)
    async def timed_tool() -> str:
        await asyncio.sleep(5)
        return "late"

    @function_tool(timeout=0.005, timeout_behavior="raise_exception")
    async def strict_tool() -> str:
        await asyncio.sleep(5)
        return "late"

    session: RealtimeSession = await connected(
        RealtimeAgent("main", tools=[timed_tool, strict_tool])
    )
    errors: list[SessionErrorEvent] = []
    session.on("error", errors.append)
    transport.emit_function_call("timed_tool", response_id="resp_1")
    await transport.wait_for_call("send_function_call_output")
    assert outputs(transport) == [("Tool 'timed_tool' timed out after 5ms.", True)]
    transport.emit_function_call("strict_tool", response_id="resp_1")
    for _ in range(50):
        if errors:
            break
        await asyncio.sleep(0.005)
    assert errors[0].code == "tool_timeout" and len(outputs(transport)) == 1


async def test_background_result_does_not_start_a_response(
    connected: Any, transport: FakeTransport
) -> None:
    @function_tool
    def log_it(note: str) -> Any:
        return background_result({"logged": note})

    await connected(RealtimeAgent("main", tools=[log_it]))
    transport.emit_function_call("log_it", '{"note": "n"}', response_id="resp_1")
    await transport.wait_for_call("send_function_call_output")
    assert outputs(transport) == [('{"logged": "n"}', False)]


async def test_identical_repeat_replays_and_conflict_is_an_error(
    connected: Any, transport: FakeTransport
) -> None:
    runs: list[str] = []

    @function_tool
    async def once(text: str) -> str:
        runs.append(text)
        await asyncio.sleep(0.01)
        return f"ran {text}"

    session: RealtimeSession = await connected(RealtimeAgent("main", tools=[once]))
    errors: list[SessionErrorEvent] = []
    session.on("error", errors.append)
    transport.emit_function_call(
        "once", '{"text": "a"}', response_id="resp_1", call_id="c1", item_id="i1"
    )
    # the same call again while it runs (keys in another order): waits, then replays
    transport.emit_function_call(
        "once", '{ "text":"a" }', response_id="resp_1", call_id="c1", item_id="i1"
    )
    await transport.wait_for_call("send_function_call_output", count=2)
    assert runs == ["a"]
    assert outputs(transport) == [("ran a", True), ("ran a", True)]
    # the same call id with other arguments is a model error, nothing runs or is sent
    transport.emit_function_call("once", '{"text": "b"}', response_id="resp_1", call_id="c1")
    await settle()
    assert runs == ["a"] and len(outputs(transport)) == 2
    assert errors[0].code == "conflicting_tool_call"


async def test_unknown_tool_answers_are_replayed_too(
    connected: Any, transport: FakeTransport
) -> None:
    await connected(RealtimeAgent("main"))
    transport.emit_function_call("nope", response_id="resp_1", call_id="c1", item_id="i1")
    await transport.wait_for_call("send_function_call_output")
    transport.emit_function_call("nope", response_id="resp_1", call_id="c1", item_id="i1")
    await transport.wait_for_call("send_function_call_output", count=2)
    assert outputs(transport) == [("Tool nope not found", False)] * 2


async def test_reentrant_repeat_during_send_is_suppressed() -> None:
    class Reentrant(FakeTransport):
        def send_function_call_output(
            self, call: Any, output: str, *, start_response: bool = True
        ) -> None:
            super().send_function_call_output(call, output, start_response=start_response)
            if len(self.calls_named("send_function_call_output")) == 1:
                self.emit("function_call", call)  # a duplicate arrives while sending

    transport = Reentrant()
    session = RealtimeSession(RealtimeAgent("main", tools=[echo]), transport=transport)
    await session.connect()
    transport.emit_function_call("echo", '{"text": "x"}', response_id="resp_1")
    await transport.wait_for_call("send_function_call_output")
    await settle()
    assert len(outputs(transport)) == 1
    await session.close()


async def test_a_start_listener_that_closes_prevents_execution(
    connected: Any, transport: FakeTransport
) -> None:
    runs: list[str] = []

    @function_tool
    def effect() -> str:
        runs.append("ran")
        return "x"

    session: RealtimeSession = await connected(RealtimeAgent("main", tools=[effect]))
    session.on("agent_tool_start", lambda e: session.close())
    transport.emit_function_call("effect", response_id="resp_1")
    await settle()
    assert runs == [] and outputs(transport) == []


async def test_calls_after_close_and_stale_completions_are_dropped(
    transport: FakeTransport,
) -> None:
    gate = asyncio.Event()
    runs: list[str] = []

    @function_tool
    async def slow() -> str:
        runs.append("start")
        await gate.wait()
        return "done"

    session = RealtimeSession(RealtimeAgent("main", tools=[slow]), transport=transport)
    await session.connect()
    transport.emit_function_call("slow", response_id="resp_1")
    await settle()
    assert runs == ["start"]
    await session.close()
    transport.emit_function_call("slow", response_id="resp_2")  # after close: ignored
    await session.connect()
    gate.set()
    await settle()
    assert runs == ["start"] and outputs(transport) == []
    await session.close()


async def test_calls_run_against_the_response_snapshot_after_a_handoff(
    connected: Any, transport: FakeTransport
) -> None:
    specialist = RealtimeAgent("specialist")
    agent = RealtimeAgent("main", tools=[echo], handoffs=[specialist])
    session: RealtimeSession = await connected(agent)
    transport.emit_turn_started("resp_1")
    transport.emit_function_call("transfer_to_specialist", response_id="resp_1")
    await transport.wait_for_call("send_function_call_output")
    assert session.current_agent is specialist
    # a call from the response created before the handoff still uses main's tools
    transport.emit_function_call("echo", '{"text": "late"}', response_id="resp_1")
    await transport.wait_for_call("send_function_call_output", count=2)
    assert outputs(transport)[1] == ("echo:late", True)
    # a new response belongs to the specialist, who has no echo tool
    transport.emit_turn_done("resp_1")
    transport.emit_turn_started("resp_2")
    transport.emit_function_call("echo", '{"text": "new"}', response_id="resp_2")
    await transport.wait_for_call("send_function_call_output", count=3)
    assert outputs(transport)[2] == ("Tool echo not found", False)


# -- handoffs --------------------------------------------------------------------------------------


async def test_handoff_updates_session_keeps_formats_and_clears_tools(
    connected: Any, transport: FakeTransport
) -> None:
    billing = RealtimeAgent("billing", instructions="You handle billing.", voice="marin")
    main = RealtimeAgent(
        "main", instructions="You greet.", voice="marin", tools=[echo], handoffs=[billing]
    )
    session: RealtimeSession = await connected(main, config=CUSTOM_FORMATS)
    rec = Recorder(session, ("agent_handoff",))
    on_main: list[Any] = []
    main.on("agent_handoff", on_main.append)
    initial = transport.calls_named("connect")[0].kwargs["initial_session_config"]
    assert [t["name"] for t in initial["tools"]] == ["echo", "transfer_to_billing"]
    transport.emit_turn_started("resp_1")
    transport.emit_function_call("transfer_to_billing", response_id="resp_1")
    await transport.wait_for_call("send_function_call_output")
    (update,) = transport.calls_named("update_session_config")
    config = update.args[0]
    assert config["instructions"] == "You handle billing."
    assert config["tools"] == []  # cleared on the server, not left over
    assert config["audio"]["input"]["format"] == {"type": "audio/pcmu"}
    assert config["audio"]["output"]["format"] == {"type": "audio/pcmu"}
    assert config["audio"]["output"]["voice"] == "marin"
    # order: session.update, then the handoff events, then the tool output
    names = [c.name for c in transport.calls]
    assert names.index("update_session_config") < names.index("send_function_call_output")
    assert outputs(transport) == [(json.dumps({"assistant": "billing"}), True)]
    event = rec.named("agent_handoff")[0]
    assert (event.from_agent, event.to_agent) == (main, billing)
    assert on_main and on_main[0] is event
    assert session.current_agent is billing


async def test_handoff_through_the_real_payload_builder_keeps_formats(
    connected: Any, transport: FakeTransport
) -> None:
    from realtime_transport.config import build_session_payload

    billing = RealtimeAgent("billing")
    await connected(RealtimeAgent("main", handoffs=[billing]), config=CUSTOM_FORMATS)
    transport.emit_function_call("transfer_to_billing", response_id="resp_1")
    await transport.wait_for_call("send_function_call_output")
    payload = build_session_payload(transport.calls_named("update_session_config")[0].args[0])
    assert payload["audio"]["input"]["format"] == {"type": "audio/pcmu"}
    assert payload["audio"]["output"]["format"] == {"type": "audio/pcmu"}
    assert payload["tools"] == []
    assert "tracing" not in payload


async def test_stale_handoff_after_close_is_dropped(transport: FakeTransport) -> None:
    gate = asyncio.Event()

    async def on_handoff(ctx: RealtimeContext[Any]) -> None:
        await gate.wait()

    target = RealtimeAgent("target")
    main = RealtimeAgent("main", handoffs=[handoff(target, on_handoff=on_handoff)])
    session = RealtimeSession(main, transport=transport)
    await session.connect()
    transport.emit_function_call("transfer_to_target", response_id="resp_1")
    await settle()
    await session.close()
    gate.set()
    await settle()
    assert transport.calls_named("update_session_config") == []
    assert outputs(transport) == []
    assert session.current_agent is main


async def test_stale_handoff_across_reconnect_is_dropped(transport: FakeTransport) -> None:
    gate = asyncio.Event()

    async def on_handoff(ctx: RealtimeContext[Any]) -> None:
        await gate.wait()

    target = RealtimeAgent("target")
    main = RealtimeAgent("main", handoffs=[handoff(target, on_handoff=on_handoff)])
    session = RealtimeSession(main, transport=transport)
    await session.connect()
    transport.emit_function_call("transfer_to_target", response_id="resp_1")
    await settle()
    await session.close()
    await session.connect()
    gate.set()
    await settle()
    assert transport.calls_named("update_session_config") == []
    assert session.current_agent is main
    await session.close()


async def test_update_agent_keeps_custom_formats(connected: Any, transport: FakeTransport) -> None:
    main = RealtimeAgent("main")
    other = RealtimeAgent("other", instructions="Other.", tools=[echo])
    session: RealtimeSession = await connected(main, config=CUSTOM_FORMATS)
    rec = Recorder(session, ("agent_handoff",))
    await session.update_agent(other)
    (update,) = transport.calls_named("update_session_config")
    assert update.args[0]["audio"]["input"]["format"] == {"type": "audio/pcmu"}
    assert update.args[0]["instructions"] == "Other."
    assert [t["name"] for t in update.args[0]["tools"]] == ["echo"]
    assert session.current_agent is other
    assert rec.named("agent_handoff")[0].to_agent is other


async def test_update_agent_before_connect_sets_the_starting_agent(
    transport: FakeTransport,
) -> None:
    session = RealtimeSession(RealtimeAgent("a"), transport=transport)
    other = RealtimeAgent("b", instructions="B.")
    await session.update_agent(other)
    await session.connect()
    assert (
        transport.calls_named("connect")[0].kwargs["initial_session_config"]["instructions"] == "B."
    )
    await session.close()


# -- approvals -------------------------------------------------------------------------------------


def approvals(session: RealtimeSession) -> list[ToolApprovalRequestedEvent]:
    found: list[ToolApprovalRequestedEvent] = []
    session.on("tool_approval_requested", found.append)
    return found


async def test_approval_requested_then_approved(connected: Any, transport: FakeTransport) -> None:
    runs: list[str] = []

    @function_tool(needs_approval=True)
    def pay(amount: int) -> str:
        runs.append("paid")
        return f"paid {amount}"

    session: RealtimeSession = await connected(RealtimeAgent("main", tools=[pay]))
    requested = approvals(session)
    transport.emit_function_call("pay", '{"amount": 5}', response_id="resp_1", call_id="c1")
    await settle()
    assert runs == [] and outputs(transport) == []
    (event,) = requested
    item = event.approval_item
    assert isinstance(item, ToolApprovalItem) and item.tool_name == "pay" and item.call_id == "c1"
    # an identical repeat while pending does not ask twice
    transport.emit_function_call("pay", '{"amount": 5}', response_id="resp_1", call_id="c1")
    await settle()
    assert len(requested) == 1
    await session.approve(item)
    assert runs == ["paid"] and outputs(transport) == [("paid 5", True)]
    with pytest.raises(UserError, match="no pending approval"):
        session.approve(item)


async def test_reject_default_message_custom_message_and_always(
    connected: Any, transport: FakeTransport
) -> None:
    @function_tool(needs_approval=True)
    def pay(amount: int) -> str:
        return "paid"

    session: RealtimeSession = await connected(RealtimeAgent("main", tools=[pay]))
    requested = approvals(session)
    transport.emit_function_call("pay", '{"amount": 1}', response_id="resp_1", call_id="c1")
    await settle()
    await session.reject(requested[0].approval_item)
    transport.emit_function_call("pay", '{"amount": 2}', response_id="resp_1", call_id="c2")
    await settle()
    await session.reject(requested[1].approval_item, message="Not today.")
    transport.emit_function_call("pay", '{"amount": 3}', response_id="resp_1", call_id="c3")
    await settle()
    await session.reject(requested[2].approval_item, always_reject=True, message="Never.")
    transport.emit_function_call("pay", '{"amount": 4}', response_id="resp_1", call_id="c4")
    await transport.wait_for_call("send_function_call_output", count=4)
    assert len(requested) == 3  # the "always" decision answers the fourth call directly
    assert outputs(transport) == [
        ("Tool execution was not approved.", True),
        ("Not today.", True),
        ("Never.", True),
        ("Never.", True),
    ]


async def test_always_approve(connected: Any, transport: FakeTransport) -> None:
    @function_tool(needs_approval=True)
    def pay(amount: int) -> str:
        return f"paid {amount}"

    session: RealtimeSession = await connected(RealtimeAgent("main", tools=[pay]))
    requested = approvals(session)
    transport.emit_function_call("pay", '{"amount": 1}', response_id="resp_1")
    await settle()
    await session.approve(requested[0].approval_item, always_approve=True)
    transport.emit_function_call("pay", '{"amount": 2}', response_id="resp_1")
    await transport.wait_for_call("send_function_call_output", count=2)
    assert len(requested) == 1
    assert [o for o, _ in outputs(transport)] == ["paid 1", "paid 2"]


async def test_approving_synchronously_inside_the_event(
    connected: Any, transport: FakeTransport
) -> None:
    @function_tool(needs_approval=True)
    def pay(amount: int) -> str:
        return f"paid {amount}"

    session: RealtimeSession = await connected(RealtimeAgent("main", tools=[pay]))
    session.on("tool_approval_requested", lambda e: session.approve(e.approval_item))
    transport.emit_function_call("pay", '{"amount": 7}', response_id="resp_1")
    await transport.wait_for_call("send_function_call_output")
    assert outputs(transport) == [("paid 7", True)]


async def test_dynamic_policy_sees_parsed_arguments_and_fails_closed(
    connected: Any, transport: FakeTransport
) -> None:
    seen: list[Any] = []

    def over_ten(ctx: RealtimeContext[Any], args: dict[str, Any], call_id: str) -> bool:
        seen.append((args, call_id))
        return bool(args["amount"] > 10)

    @function_tool(needs_approval=over_ten)
    def pay(amount: int) -> str:
        return f"paid {amount}"

    session: RealtimeSession = await connected(RealtimeAgent("main", tools=[pay]))
    requested = approvals(session)
    transport.emit_function_call("pay", '{"amount": 3}', response_id="resp_1", call_id="small")
    await transport.wait_for_call("send_function_call_output")
    transport.emit_function_call("pay", '{"amount": 30}', response_id="resp_1", call_id="big")
    await settle()
    assert seen == [({"amount": 3}, "small"), ({"amount": 30}, "big")]
    assert len(requested) == 1 and outputs(transport) == [("paid 3", True)]
    # malformed arguments never reach the policy; approval is required, and once approved the
    # call is answered with the parse error instead of running the tool
    transport.emit_function_call("pay", '{"amount": ', response_id="resp_1", call_id="bad")
    await settle()
    assert len(seen) == 2 and len(requested) == 2
    await session.approve(requested[1].approval_item)
    assert "not valid JSON" in outputs(transport)[-1][0]


async def test_failing_policy_requires_approval(connected: Any, transport: FakeTransport) -> None:
    def broken(ctx: RealtimeContext[Any], args: dict[str, Any], call_id: str) -> bool:
        raise RuntimeError("policy bug")

    @function_tool(needs_approval=broken)
    def pay(amount: int) -> str:
        return "paid"

    session: RealtimeSession = await connected(RealtimeAgent("main", tools=[pay]))
    requested = approvals(session)
    errors: list[SessionErrorEvent] = []
    session.on("error", errors.append)
    transport.emit_function_call("pay", '{"amount": 1}', response_id="resp_1")
    await settle()
    assert len(requested) == 1 and errors[0].source == "approval"


async def test_stale_or_changed_approval_items_are_rejected(transport: FakeTransport) -> None:
    import dataclasses

    @function_tool(needs_approval=True)
    def pay(amount: int) -> str:
        return "paid"

    session = RealtimeSession(RealtimeAgent("main", tools=[pay]), transport=transport)
    requested = approvals(session)
    await session.connect()
    transport.emit_function_call("pay", '{"amount": 1}', response_id="resp_1", call_id="c1")
    await settle()
    item = requested[0].approval_item
    assert isinstance(item, ToolApprovalItem)
    forged = dataclasses.replace(item, arguments='{"amount": 1000}')
    with pytest.raises(UserError):
        session.approve(forged)
    await session.close()
    await session.connect()
    with pytest.raises(UserError, match="earlier connection"):
        session.approve(item)
    assert outputs(transport) == []
    await session.close()


async def test_tool_error_formatter_for_rejections(transport: FakeTransport) -> None:
    seen: list[ToolErrorFormatterArgs] = []

    def formatter(args: ToolErrorFormatterArgs) -> str:
        seen.append(args)
        return f"{args.tool_name} was declined by the user."

    @function_tool(needs_approval=True)
    def pay(amount: int) -> str:
        return "paid"

    session = RealtimeSession(
        RealtimeAgent("main", tools=[pay]), transport=transport, tool_error_formatter=formatter
    )
    requested = approvals(session)
    await session.connect()
    transport.emit_function_call("pay", '{"amount": 1}', response_id="resp_1", call_id="c1")
    await settle()
    await session.reject(requested[0].approval_item)
    assert outputs(transport) == [("pay was declined by the user.", True)]
    assert seen[0].kind == "approval_rejected" and seen[0].call_id == "c1"
    await session.close()


# -- hosted MCP ------------------------------------------------------------------------------------


async def test_mcp_approvals_and_completed_calls(connected: Any, transport: FakeTransport) -> None:
    from realtime_transport import HostedMcpTool, McpApprovalItem, RealtimeMcpApprovalRequestItem

    agent = RealtimeAgent(
        "main", tools=[HostedMcpTool(server_label="docs", server_url="https://x")]
    )
    session: RealtimeSession = await connected(agent)
    requested = approvals(session)
    rec = Recorder(session, ("mcp_tool_call_completed", "mcp_tools_changed"))
    request = RealtimeMcpApprovalRequestItem(
        item_id="mcpr_1", server_label="docs", name="search", arguments={"q": "x"}
    )
    transport.emit("mcp_approval_request", request)
    transport.emit("mcp_approval_request", request)  # exact repeat: suppressed
    assert len(requested) == 1
    item = requested[0].approval_item
    assert isinstance(item, McpApprovalItem) and item.tool_name == "search"
    await session.reject(item, message="no")
    assert transport.calls_named("send_mcp_response")[0].args == ("mcpr_1", False, "no")
    with pytest.raises(UserError):
        session.approve(item)

    transport.emit(
        "mcp_tool_call_completed",
        RealtimeToolCallItem(
            item_id="m1", name="search", arguments="{}", status="completed", type="mcp_call"
        ),
    )
    assert len(rec.named("mcp_tool_call_completed")) == 1
    assert transport.calls_named("request_response")

    from realtime_transport.events import McpToolsListedEvent

    transport.emit("mcp_tools_listed", McpToolsListedEvent("docs", [{"name": "search"}]))
    assert session.available_mcp_tools == [{"name": "search"}]
    assert rec.named("mcp_tools_changed")[0].tools == [{"name": "search"}]


async def test_a_throwing_send_still_commits_the_answer(transport: FakeTransport) -> None:
    runs: list[str] = []

    @function_tool
    def once() -> str:
        runs.append("ran")
        return "ok"

    class Flaky(FakeTransport):
        def send_function_call_output(
            self, call: Any, output: str, *, start_response: bool = True
        ) -> None:
            super().send_function_call_output(call, output, start_response=start_response)
            if len(self.calls_named("send_function_call_output")) == 1:
                raise ConnectionError("socket hiccup")

    flaky = Flaky()
    session = RealtimeSession(RealtimeAgent("main", tools=[once]), transport=flaky)
    errors: list[SessionErrorEvent] = []
    session.on("error", errors.append)
    await session.connect()
    flaky.emit_function_call("once", response_id="resp_1", call_id="c1", item_id="i1")
    await flaky.wait_for_call("send_function_call_output")
    await settle()
    assert errors and errors[0].source == "transport" and "socket hiccup" in errors[0].message
    flaky.emit_function_call("once", response_id="resp_1", call_id="c1", item_id="i1")
    await flaky.wait_for_call("send_function_call_output", count=2)
    assert runs == ["ran"]  # replayed, not re-run
    await session.close()


async def test_same_call_id_on_two_agents_stays_distinct(
    connected: Any, transport: FakeTransport
) -> None:
    other = RealtimeAgent("other", tools=[echo])
    main = RealtimeAgent("main", tools=[echo], handoffs=[other])
    session: RealtimeSession = await connected(main)
    transport.emit_turn_started("resp_1")
    transport.emit_function_call("echo", '{"text": "a"}', response_id="resp_1", call_id="same")
    await transport.wait_for_call("send_function_call_output")
    transport.emit_function_call("transfer_to_other", response_id="resp_1")
    await transport.wait_for_call("send_function_call_output", count=2)
    assert session.current_agent is other
    transport.emit_turn_done("resp_1")
    transport.emit_turn_started("resp_2")
    # the other agent's call reuses the id with other arguments: not a conflict, it runs
    transport.emit_function_call("echo", '{"text": "b"}', response_id="resp_2", call_id="same")
    await transport.wait_for_call("send_function_call_output", count=3)
    assert outputs(transport)[2] == ("echo:b", True)


async def test_pending_approvals_stay_distinct_without_call_ids(
    connected: Any, transport: FakeTransport
) -> None:
    @function_tool(needs_approval=True)
    def pay(amount: int) -> str:
        return f"paid {amount}"

    session: RealtimeSession = await connected(RealtimeAgent("main", tools=[pay]))
    requested = approvals(session)
    transport.emit_function_call("pay", '{"amount": 1}', response_id="resp_1", call_id="")
    transport.emit_function_call("pay", '{"amount": 2}', response_id="resp_1", call_id="")
    await settle()
    assert len(requested) == 2
    await session.approve(requested[1].approval_item)
    await session.approve(requested[0].approval_item)
    assert [o for o, _ in outputs(transport)] == ["paid 2", "paid 1"]


async def test_a_failing_formatter_falls_back_to_the_default(transport: FakeTransport) -> None:
    def formatter(args: ToolErrorFormatterArgs) -> str:
        raise RuntimeError("formatter bug")

    @function_tool(needs_approval=True)
    def pay(amount: int) -> str:
        return "paid"

    session = RealtimeSession(
        RealtimeAgent("main", tools=[pay]), transport=transport, tool_error_formatter=formatter
    )
    requested = approvals(session)
    await session.connect()
    transport.emit_function_call("pay", '{"amount": 1}', response_id="resp_1")
    await settle()
    await session.reject(requested[0].approval_item)
    assert outputs(transport) == [("Tool execution was not approved.", True)]
    await session.close()


async def test_mcp_request_id_after_a_handoff_is_a_new_request(
    connected: Any, transport: FakeTransport
) -> None:
    """Approvals are per agent: the same request id under the next agent is relayed again."""
    from realtime_transport import HostedMcpTool, RealtimeMcpApprovalRequestItem

    docs = HostedMcpTool(server_label="docs", server_url="https://x")
    sales = RealtimeAgent("sales", tools=[docs])
    session: RealtimeSession = await connected(RealtimeAgent("front", tools=[docs]))
    requested = approvals(session)
    request = RealtimeMcpApprovalRequestItem(
        item_id="mcpr_1", server_label="docs", name="search", arguments={"q": "x"}
    )
    transport.emit("mcp_approval_request", request)
    await session.update_agent(sales)
    transport.emit("mcp_approval_request", request)
    assert [r.agent.name for r in requested] == ["front", "sales"]
    await session.approve(requested[1].approval_item)
    assert transport.calls_named("send_mcp_response")[0].args == ("mcpr_1", True, None)


async def test_mcp_approve_re_entered_during_the_send_sends_once() -> None:
    from realtime_transport import HostedMcpTool, RealtimeMcpApprovalRequestItem

    class ReEntrant(FakeTransport):
        session: RealtimeSession | None = None
        item: Any = None

        def send_mcp_response(
            self, approval_item_id: str, approved: bool, reason: str | None = None
        ) -> None:
            super().send_mcp_response(approval_item_id, approved, reason)
            if self.session is not None and len(self.calls_named("send_mcp_response")) == 1:
                with pytest.raises(UserError, match="already decided"):
                    self.session.approve(self.item)  # e.g. a listener reacting to the send

    transport = ReEntrant()
    agent = RealtimeAgent(
        "main", tools=[HostedMcpTool(server_label="docs", server_url="https://x")]
    )
    session = RealtimeSession(agent, transport=transport)
    await session.connect()
    requested = approvals(session)
    transport.emit(
        "mcp_approval_request",
        RealtimeMcpApprovalRequestItem(
            item_id="mcpr_1", server_label="docs", name="search", arguments={}
        ),
    )
    transport.session, transport.item = session, requested[0].approval_item
    await session.approve(requested[0].approval_item)
    assert len(transport.calls_named("send_mcp_response")) == 1
    await session.close()
