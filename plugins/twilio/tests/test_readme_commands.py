"""The README's two commands work: the example app under uvicorn, and the simulated call.

    python examples/app.py                                   (env: token, origin, emulator URL)
    realtime-transport emulator twilio-call http://127.0.0.1:PORT/voice --auth-token ...

The call asks about the weather (a tool call), then asks for a story and barges in.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "app.py"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port}")


@pytest.mark.timeout(120)
def test_two_terminal_commands_hold_a_call_with_a_tool_call_and_a_barge_in() -> None:
    cli = shutil.which("realtime-transport", path=str(Path(sys.executable).parent))
    assert cli, "the realtime-transport console script is not installed"
    app_port, emu_port = free_port(), free_port()
    env = {
        **os.environ,
        "TWILIO_AUTH_TOKEN": "test-token",
        "PUBLIC_ORIGIN": "https://voice.example.test",
        "OPENAI_REALTIME_URL": f"ws://127.0.0.1:{emu_port}/v1/realtime",
        "OPENAI_API_KEY": "sk-test",
        "PORT": str(app_port),
    }
    app = subprocess.Popen(
        [sys.executable, str(EXAMPLE)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        wait_for_port(app_port, time.monotonic() + 30)
        call = subprocess.run(
            [
                cli,
                "emulator",
                "twilio-call",
                f"http://127.0.0.1:{app_port}/voice",
                "--port",
                str(emu_port),
                "--pace",
                "fast",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=100,
            check=False,
        )
    finally:
        app.terminate()
        log = app.communicate(timeout=15)[0].decode(errors="replace")
    assert call.returncode == 0, call.stdout + call.stderr + log
    out = call.stdout
    assert "interrupted (clear)" in out and "truncate sent by the app: audio_end_ms=" in out
    assert "media frames received: 160 B x" in out and "ended by: stop" in out
    assert "tool result sent by the app: 'Paris: sunny, 22 degrees'" in out
    assert "Traceback" not in log
