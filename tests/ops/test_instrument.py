"""``instrument(session)`` on real sessions against the emulator: what each metric counts, the
spans and their attributes (no secrets, no arguments, no outputs), and no listener at all when a
session is not instrumented."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import Any

import pytest
from conftest import metric
from prometheus_client import REGISTRY, generate_latest
from realtime_transport import RealtimeAgent, RealtimeSession, ReconnectPolicy, function_tool
from realtime_transport.ops import instrument
from realtime_transport_emulator import Emulator, Reply, Rule, Script
from realtime_transport_emulator.model.script import FunctionCall

KEY = "sk-ops-instrument-secret"
SCRIPT = Script(
    rules=[
        Rule(
            contains="weather",
            reply=Reply(
                text="Let me check.",
                function_calls=[FunctionCall("get_weather", {"city": "Paris"})],
                then=Reply(text="Sunny."),
            ),
        )
    ],
    default=Reply(text="Noted."),
)


@function_tool
def get_weather(city: str) -> str:
    """The weather.

    Args:
        city: A city.
    """
    return f"{city}: sunny, 22 degrees"


def agent() -> RealtimeAgent:
    return RealtimeAgent("Forecaster", instructions="Use get_weather.", tools=[get_weather])


def scrape() -> str:
    return generate_latest(REGISTRY).decode()


async def until(predicate: Any, timeout: float = 10) -> None:
    async def wait() -> None:
        while not predicate():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(wait(), timeout)


@pytest.fixture(scope="module")
def spans() -> Any:
    """An OpenTelemetry SDK with an in-memory exporter, as an app would configure one."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return exporter


def test_a_session_nobody_instruments_has_no_listener_and_never_imports_prometheus() -> None:
    code = (
        "import sys\n"
        "from realtime_transport import RealtimeAgent, RealtimeSession\n"
        "import realtime_transport.ops\n"
        "s = RealtimeSession(RealtimeAgent('A'), transport='websocket')\n"
        "names = ('audio', 'agent_end', 'disconnected', 'error')\n"
        "print(any(s.has_listeners(n) for n in names))\n"
        "print(any(m.startswith(('prometheus_client', 'opentelemetry')) for m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
    )
    assert out.stdout.split() == ["False", "False"], out.stdout + out.stderr


async def test_metrics_and_spans_of_a_turn_with_a_tool_call(spans: Any) -> None:
    spans.clear()
    before = scrape()
    async with Emulator(script=SCRIPT, pace="fast") as emulator:
        session = RealtimeSession(agent(), transport="websocket", model="gpt-realtime")
        handle = instrument(session)
        assert session.has_listeners("audio")
        ends: list[Any] = []
        errors: list[Any] = []
        session.on("agent_end", ends.append)
        session.on("error", errors.append)
        await session.connect(api_key=KEY, url=emulator.ws_url)
        assert metric(scrape(), "realtime_active_sessions", transport="websocket") >= 1
        session.send_message("what's the weather?")
        await until(lambda: len(ends) >= 2)
        session.transport.send_event({"type": "no.such.event"})  # the server answers an error
        await until(lambda: errors, 5)
        await session.close()
        await asyncio.sleep(0.05)
    after = scrape()

    def delta(name: str, **labels: str) -> float:
        return metric(after, name, **labels) - metric(before, name, **labels)

    assert delta("realtime_sessions_started_total", transport="websocket") == 1
    assert delta("realtime_sessions_ended_total", transport="websocket", reason="closed") == 1
    assert delta("realtime_active_sessions", transport="websocket") == 0
    assert delta("realtime_turns_total", transport="websocket") == 2
    assert delta("realtime_tool_calls_total", transport="websocket") == 1
    assert delta("realtime_audio_delivery_lateness_seconds_count", transport="websocket") == 2
    assert delta("realtime_errors_total", transport="websocket") == 1
    assert not session.has_listeners("audio")  # detached when the session ended
    handle.detach()  # idempotent

    finished = spans.get_finished_spans()
    by_name: dict[str, list[Any]] = {}
    for span in finished:
        by_name.setdefault(span.name, []).append(span)
    (root,) = by_name["realtime.session"]
    assert len(by_name["realtime.turn"]) == 2
    (tool,) = by_name["realtime.tool_call"]
    assert root.attributes["realtime.transport"] == "websocket"
    assert root.attributes["gen_ai.request.model"] == "gpt-realtime"
    assert root.attributes["realtime.end_reason"] == "closed"
    assert tool.attributes["realtime.tool"] == "get_weather"
    for child in [*by_name["realtime.turn"], tool]:
        assert child.parent is not None and child.parent.span_id == root.context.span_id
    text = repr([dict(s.attributes or {}) for s in finished])
    for secret_or_data in (KEY, "Paris", "sunny", "Let me check"):
        assert secret_or_data not in text


async def test_a_reconnect_is_counted_and_the_session_stays_one_session() -> None:
    before = scrape()
    async with Emulator(script=SCRIPT, max_session_seconds=0.5) as emulator:
        session = RealtimeSession(
            agent(), reconnect=ReconnectPolicy(backoff=0.01, max_backoff=0.05)
        )
        instrument(session, tracing=False)
        reconnected: list[Any] = []
        session.on("reconnected", reconnected.append)
        await session.connect(api_key=KEY, url=emulator.ws_url)
        await until(lambda: reconnected)
        mid = scrape()
        await session.close()
        await asyncio.sleep(0.05)
    after = scrape()
    started = "realtime_sessions_started_total"
    assert metric(mid, started, transport="websocket") - metric(before, started) == 1
    assert metric(mid, "realtime_reconnects_total", outcome="attempt") > metric(
        before, "realtime_reconnects_total", outcome="attempt"
    )
    assert metric(mid, "realtime_reconnects_total", outcome="succeeded") == 1 + metric(
        before, "realtime_reconnects_total", outcome="succeeded"
    )
    ended = "realtime_sessions_ended_total"
    assert metric(mid, ended) == metric(before, ended)  # a reconnect does not end the session
    assert metric(after, ended, reason="closed") == 1 + metric(before, ended, reason="closed")
