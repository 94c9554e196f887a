"""The CLI: a real subprocess serving a real client, Ctrl-C, and argument errors."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from realtime_transport_emulator.cli import main
from websockets.asyncio.client import connect as ws_connect

CLI = [sys.executable, "-m", "realtime_transport_emulator"]


async def read_banner(process: asyncio.subprocess.Process) -> list[str]:
    assert process.stdout is not None
    lines: list[str] = []
    while not any(line.startswith("Press Ctrl-C") for line in lines):
        raw = await asyncio.wait_for(process.stdout.readline(), 20)
        if not raw:
            break
        lines.append(raw.decode().strip())
    return lines


async def test_cli_serves_until_ctrl_c(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"default": "Scripted from a file."}))
    process = await asyncio.create_subprocess_exec(
        *CLI,
        "--port",
        "0",
        "--pace",
        "fast",
        "--script",
        str(script),
        "--log-level",
        "WARNING",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        lines = await read_banner(process)
        url = next(line.split(" : ", 1)[1] for line in lines if line.startswith("WebSocket"))
        assert url.startswith("ws://127.0.0.1:") and url.endswith("?model=gpt-realtime")
        assert any("base_url=" in line for line in lines)  # how to point the openai client
        assert any('transport="websocket"' in line for line in lines)
        async with ws_connect(
            url, additional_headers={"Authorization": "Bearer sk-test"}, open_timeout=5
        ) as ws:
            assert json.loads(await ws.recv())["type"] == "session.created"
            await ws.send(
                json.dumps({"type": "response.create", "response": {"output_modalities": ["text"]}})
            )
            while True:
                event = json.loads(await asyncio.wait_for(ws.recv(), 5))
                if event["type"] == "response.done":
                    break
        assert event["response"]["output"][0]["content"][0]["text"] == "Scripted from a file."
        process.send_signal(signal.SIGINT)
        out, _ = await asyncio.wait_for(process.communicate(), 10)
        assert process.returncode == 0
        assert b"Emulator stopped." in out
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def test_cli_argument_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--script", str(tmp_path / "missing.json")]) == 2
    assert "Cannot read script file" in capsys.readouterr().err
    assert main(["--fault", "explode:1"]) == 2
    assert "Unknown fault" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--pace", "slow"])


def test_cli_port_in_use_exits_1() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [*CLI, "--port", str(port)],
            capture_output=True,
            timeout=30,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
    assert result.returncode == 1
    assert b"Cannot listen on" in result.stderr
