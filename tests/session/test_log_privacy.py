"""Keeping model and tool data out of logs: ``log_model_data``/``log_tool_data`` and the
``REALTIME_TRANSPORT_DONT_LOG_*`` environment variables (the reference's dontLogModelData /
dontLogToolData).

One real turn against the emulator carries every kind of sensitive data: a spoken reply whose
transcript a listener chokes on (quoting it in its exception), a malformed server frame (emulator
fault), and a tool that fails with its arguments in the exception text. Nobody listens to
``error``, so the session and transport log those at WARNING. Logs are captured at DEBUG from
every logger; the emulator's own loggers are left out, since they are the server's.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from emulated import KEY
from realtime_transport import (
    DONT_LOG_MODEL_DATA_ENV,
    DONT_LOG_TOOL_DATA_ENV,
    AgentEndEvent,
    LogDataPolicy,
    RealtimeAgent,
    RealtimeSession,
    UserError,
    function_tool,
    log_data_policy,
)
from realtime_transport_emulator import Emulator, Faults, FunctionCall, Reply, Rule, Script

TRANSCRIPT = "PINEAPPLE-42"
ARGUMENT = "SSN-555-12"
TOOL_ERROR = "CUCUMBER-9"
FRAME = '"delta": "AAAA'  # the emulator's malformed frame

SCRIPT = Script(
    rules=(
        Rule(
            contains="record",
            reply=Reply(
                text=f"Your diagnosis is {TRANSCRIPT}.",
                function_calls=(FunctionCall("lookup", {"ssn": ARGUMENT}),),
                then=Reply(text="Done."),
            ),
        ),
    ),
)


@function_tool
def lookup(ssn: str) -> str:
    """Look a record up."""
    raise ValueError(f"bad record for {ssn}: {TOOL_ERROR}")


def client_logs(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(
        record.getMessage()
        for record in caplog.records
        if not record.name.startswith("realtime_transport_emulator")
    )


async def run_turn(caplog: pytest.LogCaptureFixture, **options: Any) -> str:
    caplog.set_level(logging.DEBUG)  # the root logger: every logger's records reach caplog
    async with Emulator(script=SCRIPT, faults=Faults(malformed_after=6)) as emulator:
        session = RealtimeSession(RealtimeAgent("clinic", tools=[lookup]), **options)
        done = asyncio.get_running_loop().create_future()

        def on_end(event: AgentEndEvent) -> None:
            if event.output == "Done.":
                done.set_result(None)
            elif TRANSCRIPT in event.output:
                raise RuntimeError(f"could not store {event.output!r}")

        session.on("agent_end", on_end)
        await asyncio.wait_for(session.connect(api_key=KEY, url=emulator.ws_url), 5)
        try:
            session.send_message("read my record please")
            await asyncio.wait_for(done, 5)
        finally:
            await asyncio.wait_for(session.close(), 5)
    return client_logs(caplog)


def assert_hidden(logs: str) -> None:
    for secret in (TRANSCRIPT, ARGUMENT, TOOL_ERROR, FRAME):
        assert secret not in logs, f"{secret!r} leaked into the logs:\n{logs}"
    # what happened is still there
    assert "not JSON" in logs and "54 bytes hidden" in logs
    assert "tool 'lookup' raised ValueError (details hidden" in logs
    assert "listener for 'agent_end' raised RuntimeError (details hidden" in logs


async def test_options_keep_model_and_tool_data_out_of_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert_hidden(await run_turn(caplog, log_model_data=False, log_tool_data=False))


async def test_environment_variables_keep_data_out_of_logs(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DONT_LOG_MODEL_DATA_ENV, "1")
    monkeypatch.setenv(DONT_LOG_TOOL_DATA_ENV, "true")
    assert_hidden(await run_turn(caplog))


async def test_by_default_the_data_is_logged_as_documented(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DONT_LOG_MODEL_DATA_ENV, raising=False)
    monkeypatch.delenv(DONT_LOG_TOOL_DATA_ENV, raising=False)
    logs = await run_turn(caplog)
    assert f'Start of frame: \'{{"type": "response.output_audio.delta", {FRAME}\'' in logs
    assert f"tool 'lookup' raised ValueError: bad record for {ARGUMENT}: {TOOL_ERROR}" in logs
    assert TRANSCRIPT in logs  # quoted by the failing listener's exception


async def test_only_tool_data_hidden(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DONT_LOG_MODEL_DATA_ENV, "1")  # an explicit option wins over the env
    logs = await run_turn(caplog, log_model_data=True, log_tool_data=False)
    assert FRAME in logs
    assert ARGUMENT not in logs and TOOL_ERROR not in logs
    assert TRANSCRIPT not in logs  # a listener error may hold either kind: hidden if either is


def test_policy_from_options_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DONT_LOG_MODEL_DATA_ENV, raising=False)
    monkeypatch.setenv(DONT_LOG_TOOL_DATA_ENV, "yes")
    assert log_data_policy() == LogDataPolicy(model_data=True, tool_data=False)
    assert log_data_policy(log_tool_data=True) == LogDataPolicy(True, True)
    monkeypatch.setenv(DONT_LOG_TOOL_DATA_ENV, "0")
    assert log_data_policy() == LogDataPolicy(True, True)
    session = RealtimeSession(RealtimeAgent("a"), log_model_data=False)
    assert session.transport.log_policy == LogDataPolicy(model_data=False, tool_data=True)


@pytest.mark.parametrize("option", ["log_model_data", "log_tool_data"])
def test_options_must_be_bools(option: str) -> None:
    with pytest.raises(UserError, match=option):
        RealtimeSession(RealtimeAgent("a"), **{option: "no"})


def test_a_transport_instance_keeps_its_own_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from realtime_transport import get_transport

    monkeypatch.delenv(DONT_LOG_MODEL_DATA_ENV, raising=False)
    transport = get_transport("websocket")
    transport.log_policy = LogDataPolicy(model_data=False, tool_data=False)
    RealtimeSession(RealtimeAgent("a"), transport=transport)
    assert transport.log_policy == LogDataPolicy(False, False)
    RealtimeSession(RealtimeAgent("a"), transport=transport, log_tool_data=True)
    assert transport.log_policy == LogDataPolicy(True, True)  # explicit options win
