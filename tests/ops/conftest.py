"""Shared parts of the ops suite: the Twilio example app under a real uvicorn (subprocess on
127.0.0.1, one or more workers), the emulator behind it, and the carrier simulator in front."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from realtime_transport_emulator import Emulator
from realtime_transport_emulator.model.script import FunctionCall, Reply, Rule, Script
from realtime_transport_emulator.surfaces.twilio_carrier import (
    Say,
    Silence,
    Step,
    TwilioCarrier,
    WaitForAgent,
    WaitForQuiet,
)

ROOT = Path(__file__).resolve().parents[2]
TWILIO_EXAMPLES = ROOT / "plugins" / "twilio" / "examples"
AUTH_TOKEN = "ops-test-token-0123456789"
PUBLIC_ORIGIN = "https://voice.example.test"


def model_script() -> Script:
    return Script(
        rules=[
            Rule(
                contains="weather",
                reply=Reply(
                    text="Let me check.",
                    function_calls=[FunctionCall("get_weather", {"city": "Paris"})],
                    then=Reply(text="It is sunny in Paris."),
                ),
            )
        ],
        default=Reply(text="Sure, happy to help you with that today."),
        transcripts=["what is the weather in paris"] * 64,
    )


def caller(hold_ms: float = 0) -> list[Step]:
    """Ask about the weather, hear the answer (a tool call runs), then stay on ``hold_ms``."""
    steps: list[Step] = [
        Say("what is the weather"),
        Silence(600),
        WaitForAgent(200, timeout=15),
        WaitForQuiet(400, timeout=15),
    ]
    if hold_ms:
        steps.append(Silence(hold_ms))
    return steps


def carrier() -> TwilioCarrier:
    return TwilioCarrier(auth_token=AUTH_TOKEN, public_origin=PUBLIC_ORIGIN)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class AppProcess:
    proc: asyncio.subprocess.Process
    base_url: str
    log_path: Path

    @property
    def voice_url(self) -> str:
        return f"{self.base_url}/voice"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def sigterm(self) -> None:
        self.proc.send_signal(signal.SIGTERM)

    async def wait_exit(self, timeout: float) -> int:
        try:
            return await asyncio.wait_for(self.proc.wait(), timeout)
        except asyncio.TimeoutError:
            raise AssertionError(
                f"uvicorn still running after {timeout} s:\n{self.log()}"
            ) from None

    def worker_pids(self) -> set[int]:
        """Worker pids from uvicorn's log ('Started server process [pid]')."""
        return {int(p) for p in re.findall(r"Started server process \[(\d+)\]", self.log())}


@contextlib.asynccontextmanager
async def app_process(
    emulator: Emulator,
    tmp_path: Path,
    *,
    workers: int = 1,
    max_sessions: int = 10,
    drain_deadline: float = 30,
    multiproc_dir: Path | None = None,
) -> AsyncIterator[AppProcess]:
    """``uvicorn --factory app:app_from_env`` in a subprocess, until it answers ``/live``."""
    port = free_port()
    env = {
        **os.environ,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "PUBLIC_ORIGIN": PUBLIC_ORIGIN,
        "OPENAI_REALTIME_URL": emulator.ws_url,
        "OPENAI_API_KEY": "sk-test",
        "MAX_SESSIONS": str(max_sessions),
        "DRAIN_DEADLINE_SECONDS": str(drain_deadline),
        "GREETING": "",
    }
    if multiproc_dir is not None:
        env["PROMETHEUS_MULTIPROC_DIR"] = str(multiproc_dir)
    else:
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log_path = tmp_path / f"uvicorn-{port}.log"
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--app-dir",
        str(TWILIO_EXAMPLES),
        "--factory",
        "app:app_from_env",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "info",
        "--no-access-log",
    ]
    with log_path.open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            *command,
            env=env,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # its own process group: the workers go with it
        )
    app = AppProcess(proc, f"http://127.0.0.1:{port}", log_path)
    try:
        await wait_live(app, workers)
        yield app
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)  # no call left: the workers drain at once
            try:
                await asyncio.wait_for(proc.wait(), 15)
            except asyncio.TimeoutError:
                pass
        with contextlib.suppress(ProcessLookupError):  # workers left by an exit or a crash
            os.killpg(proc.pid, signal.SIGKILL)
        await asyncio.wait_for(proc.wait(), 10)


async def wait_live(app: AppProcess, workers: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            if app.proc.returncode is not None:
                raise AssertionError(f"uvicorn exited early:\n{app.log()}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"{app.base_url}/live")).status_code == 200:
                    if len(re.findall("Application startup complete", app.log())) >= workers:
                        return
            await asyncio.sleep(0.1)
    raise AssertionError(f"uvicorn did not come up:\n{app.log()}")


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in a Prometheus text exposition (0 when absent)."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        head, _, value = line.rpartition(" ")
        sample, _, label_text = head.partition("{")
        if sample != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', label_text))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(value)
    return total
