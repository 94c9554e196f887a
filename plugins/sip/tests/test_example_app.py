"""The example app end to end, offline: emulator call -> webhook -> accept -> attach -> hang-up.

The app (examples/phone_agent.py) runs under uvicorn on 127.0.0.1; the emulator's simulated
call posts the signed webhook to it and plays the caller's speech into the call.
"""

from __future__ import annotations

import asyncio
import importlib.util
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import uvicorn
from conftest import KEY, SipEmulator
from realtime_transport_emulator import Emulator, Script, SipSimulator
from realtime_transport_sip import IncomingCallVerifier, OpenAIRealtimeSIP, SipCallControl

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load_example() -> ModuleType:
    if "phone_agent" in sys.modules:
        return sys.modules["phone_agent"]
    spec = importlib.util.spec_from_file_location("phone_agent", EXAMPLES / "phone_agent.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["phone_agent"] = module  # dataclasses look their module up
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
        yield f"http://127.0.0.1:{port}/openai/webhook"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


@pytest.fixture
async def example_emu() -> AsyncIterator[SipEmulator]:
    sip = SipSimulator()
    script = Script.load(EXAMPLES / "script.json")
    async with Emulator(script=script, api_keys={KEY}, surfaces=[sip.install]) as emulator:
        yield SipEmulator(emulator, sip)


async def test_a_call_through_the_example_app_from_webhook_to_hang_up(
    example_emu: SipEmulator,
) -> None:
    example = load_example()
    emu, sip = example_emu.emulator, example_emu.sip
    phone = example.PhoneAgent(
        example.receptionist(),
        calls=SipCallControl(api_key=KEY, base_url=emu.base_url, max_retries=0),
        verifier=IncomingCallVerifier(sip.webhook_secret),
    )
    async with serving(phone.app) as webhook_url:
        result = await sip.call(
            webhook_url,
            caller_says=["What's the weather in Paris?"],
            duplicate_delivery=True,
            dtmf="1",
            turn_timeout=15,
        )
        await phone.wait_idle(10)
    assert [d.status for d in result.deliveries] == [200, 200]  # the repeat is answered, not run
    assert [action for action, _, _ in sip.requests] == ["accept"]
    expected = await OpenAIRealtimeSIP.build_initial_config(
        example.receptionist(), example.SESSION_OPTIONS
    )
    assert result.accept_body == expected
    assert result.said == [
        "Hello, you have reached the weather line. How can I help?",
        "It is sunny and 22 degrees in Paris. Goodbye!",
    ]
    (record,) = phone.log
    assert record.accepted and record.caller == "sip:+15551234567@example.com"
    assert record.tools == ["get_weather"]
    assert record.dtmf == ["1"]
    assert record.replies[-1] == "It is sunny and 22 degrees in Paris. Goodbye!"
    assert "the call ended" in (record.ended_reason or "")
    assert result.state == "ended" and result.ended_by == "caller"
    (connection,) = emu.connections
    sent = [event["type"] for event in connection.client_events]
    assert sent[0] == "session.update" and "response.create" in sent  # greeted first
    outputs = [e for e in connection.client_events if e["type"] == "conversation.item.create"]
    assert outputs[0]["item"]["output"] == "Paris: sunny, 22 °C"  # the tool ran on the call
    assert phone.tasks == {}


async def test_a_badly_signed_call_is_refused_by_the_example_app(example_emu: SipEmulator) -> None:
    example = load_example()
    emu, sip = example_emu.emulator, example_emu.sip
    phone = example.PhoneAgent(
        example.receptionist(),
        calls=SipCallControl(api_key=KEY, base_url=emu.base_url, max_retries=0),
        verifier=IncomingCallVerifier(sip.webhook_secret),
    )
    async with serving(phone.app) as webhook_url:
        result = await sip.call(webhook_url, bad_signature=True, accept_timeout=0.5)
    assert [d.status for d in result.deliveries] == [400]
    assert not result.answered and list(sip.requests) == [] and phone.log == []


@pytest.mark.timeout(90)
def test_the_readme_demo_command_runs_the_whole_flow_offline() -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "phone_agent.py"), "--demo", "--fast"],
        capture_output=True,
        text=True,
        timeout=80,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "agent said: 'It is sunny and 22 degrees in Paris. Goodbye!'" in done.stdout
    assert "tools ['get_weather']" in done.stdout


@pytest.mark.timeout(90)
async def test_the_two_terminal_commands_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """`uvicorn --factory phone_agent:create_app` with the printed settings, rung by the CLI."""
    from realtime_transport_emulator.surfaces.sip import DEFAULT_WEBHOOK_SECRET

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_WEBHOOK_SECRET", DEFAULT_WEBHOOK_SECRET)
    monkeypatch.delenv("REALTIME_TRANSPORT_EMULATOR_WEBHOOK_SECRET", raising=False)
    cli = Path(sys.executable).parent / "realtime-transport"
    for _attempt in range(3):  # the free port we picked may be taken before the CLI binds it
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{port}/v1")
        app = load_example().create_app()
        async with serving(app) as webhook_url:
            process = await asyncio.create_subprocess_exec(
                str(cli),
                "emulator",
                "sip-call",
                webhook_url,
                "--port",
                str(port),
                "--pace",
                "fast",
                "--script",
                str(EXAMPLES / "script.json"),
                "--duplicate",
                "--dtmf",
                "1#",
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            out, _ = await asyncio.wait_for(process.communicate(), 80)
        if b"cannot listen" not in out:
            break
    text = out.decode()
    assert process.returncode == 0, text
    assert f"webhook secret : {DEFAULT_WEBHOOK_SECRET}" in text
    assert text.count("(signed): HTTP 200") == 2
    assert "agent said: 'It is sunny and 22 degrees in Paris. Goodbye!'" in text
    assert "caller presses '#'" in text and "(ended by caller)" in text
