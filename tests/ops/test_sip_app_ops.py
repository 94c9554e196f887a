"""The SIP example app's admission control and drain: calls past the limit are rejected with
486, calls while draining with 503 (through the real call-control REST API of the emulator),
the live call is untouched, and the drain deadline hangs up a call still running."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import ModuleType
from typing import Any

import httpx
import pytest
import uvicorn
from conftest import ROOT, metric
from realtime_transport.ops import AdmissionController, GracefulDrain
from realtime_transport_emulator import Emulator, Script, SipSimulator

pytestmark = pytest.mark.timeout(60)
EXAMPLES = ROOT / "plugins" / "sip" / "examples"
KEY = "sk-ops-test"
LINES = ["What's the weather in Paris?", "And tomorrow?", "Thanks, and the day after?"]


def load_example() -> ModuleType:
    if "phone_agent" in sys.modules:
        return sys.modules["phone_agent"]
    spec = importlib.util.spec_from_file_location("phone_agent", EXAMPLES / "phone_agent.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["phone_agent"] = module
    spec.loader.exec_module(module)
    return module


@asynccontextmanager
async def serving(app: Any) -> AsyncIterator[str]:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    )
    task = asyncio.get_running_loop().create_task(server.serve())
    try:
        for _ in range(400):
            if server.started:
                break
            await asyncio.sleep(0.01)
        assert server.started, "uvicorn did not start"
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


@asynccontextmanager
async def phone_app(
    admission: AdmissionController, drain: GracefulDrain | None = None
) -> AsyncIterator[tuple[Any, SipSimulator, str]]:
    from realtime_transport_sip import IncomingCallVerifier, SipCallControl

    example = load_example()
    sip = SipSimulator()
    script = Script.load(EXAMPLES / "script.json")
    async with Emulator(script=script, api_keys={KEY}, surfaces=[sip.install]) as emulator:
        phone = example.PhoneAgent(
            example.receptionist(),
            calls=SipCallControl(api_key=KEY, base_url=emulator.base_url, max_retries=0),
            verifier=IncomingCallVerifier(sip.webhook_secret),
            admission=admission,
            drain=drain,
            metrics=True,
        )
        async with serving(phone.app) as base_url:
            yield phone, sip, base_url
            await phone.wait_idle(10)


async def wait_for(predicate: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def scrape(base_url: str) -> str:
    async with httpx.AsyncClient(timeout=5) as client:
        return (await client.get(base_url + "/metrics")).text


async def test_past_the_limit_486_while_draining_503_and_the_live_call_goes_on() -> None:
    admission = AdmissionController(1)
    async with phone_app(admission) as (_phone, sip, base_url):
        webhook = base_url + "/openai/webhook"
        before = await scrape(base_url)
        live = asyncio.ensure_future(sip.call(webhook, caller_says=LINES[:2], turn_timeout=15))
        await wait_for(lambda: admission.active == 1)
        busy = await sip.call(webhook, accept_timeout=3)
        assert busy.reject_status == 486 and busy.state == "rejected" and not busy.answered
        admission.start_draining()
        async with httpx.AsyncClient(timeout=5) as client:
            ready = await client.get(base_url + "/ready")
        assert ready.status_code == 503 and ready.json()["status"] == "draining"
        draining = await sip.call(webhook, accept_timeout=3)
        assert draining.reject_status == 503 and not draining.answered
        result = await live
        assert result.answered and result.ended_by == "caller"
        assert "It is sunny and 22 degrees in Paris. Goodbye!" in result.said
        after = await scrape(base_url)

    def delta(name: str, **labels: str) -> float:
        return metric(after, name, **labels) - metric(before, name, **labels)

    assert delta("realtime_sessions_refused_total", transport="sip", reason="limit") == 1
    assert delta("realtime_sessions_refused_total", transport="sip", reason="draining") == 1
    assert delta("realtime_sessions_started_total", transport="sip") == 1
    assert delta("realtime_tool_calls_total", transport="sip") == 1
    assert metric(after, "realtime_draining_workers") >= 1


async def test_the_drain_deadline_hangs_up_a_call_still_running() -> None:
    admission = AdmissionController(3)
    exited = asyncio.Event()
    drain = GracefulDrain(admission, deadline=0.5, on_exit=exited.set)
    async with phone_app(admission, drain) as (phone, sip, base_url):
        before = await scrape(base_url)
        live = asyncio.ensure_future(
            sip.call(base_url + "/openai/webhook", caller_says=LINES, turn_timeout=15)
        )
        await wait_for(lambda: admission.active == 1 and phone.log and phone.log[0].replies)
        started = time.monotonic()
        drain.begin()  # what SIGTERM does (the Twilio suite sends the real signal)
        await asyncio.wait_for(exited.wait(), 8)
        result = await asyncio.wait_for(live, 10)
        assert admission.active == 0 and 0.4 < time.monotonic() - started < 6
        after = await scrape(base_url)
    assert result.answered and result.state == "ended" and result.ended_by != "caller", result
    assert phone.log[0].ended_reason == "drain deadline"
    ended = metric(after, "realtime_sessions_ended_total", transport="sip", reason="drain_deadline")
    assert ended - metric(before, "realtime_sessions_ended_total", reason="drain_deadline") == 1
