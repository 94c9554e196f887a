"""`realtime-transport demo` end to end: the installed command, the emulator, the WAV it writes."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import wave
from array import array
from pathlib import Path

import pytest
from realtime_transport.demo import main


def _command() -> list[str]:
    script = Path(sys.executable).with_name("realtime-transport")
    if script.exists():
        return [str(script)]
    found = shutil.which("realtime-transport")
    if found:
        return [found]
    return [
        sys.executable,
        "-c",
        "import sys; from realtime_transport.cli import main; sys.exit(main())",
    ]


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*_command(), "demo", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        check=False,
    )


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_demo_runs_a_spoken_exchange_with_a_tool_and_a_handoff(tmp_path: Path, loop: str) -> None:
    out = tmp_path / "reply.wav"
    result = _run("--fast", "--loop", loop, "--out", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    text = result.stdout
    for expected in (
        "caller said",
        "tool call     get_weather",
        'get_weather -> "Paris: sunny, 22 °C"',
        "handoff       Concierge -> Travel Agent",
        'Travel Agent: "Travel agent here. Where to?"',
        "1 tool call(s), 1 handoff(s)",
    ):
        assert expected in text, text

    with wave.open(str(out), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 24000)
        frames = wav.readframes(wav.getnframes())
        seconds = wav.getnframes() / wav.getframerate()
    samples = array("h", frames)
    rms = math.sqrt(sum(s * s for s in samples) / len(samples))
    assert seconds > 3  # three spoken replies
    assert rms > 1000, f"the reply audio is (nearly) silent: RMS {rms:.0f}"


def test_unknown_transport_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--fast", "--transport", "no-such-transport", "--out", str(tmp_path / "x.wav")])
    assert code == 2
    assert "no-such-transport" in capsys.readouterr().out
    assert not (tmp_path / "x.wav").exists()


def test_live_needs_a_key(tmp_path: Path) -> None:
    env = {"OPENAI_API_KEY": ""}
    result = _run("--live", "--out", str(tmp_path / "x.wav"), env=env)
    assert result.returncode == 2
    assert "OPENAI_API_KEY" in result.stdout


def test_demo_with_an_unwritable_out_path_stops_before_running(tmp_path: Path) -> None:
    """A missing folder is said at once (exit 2), not after the whole demo as a traceback."""
    missing = tmp_path / "no" / "such" / "dir" / "x.wav"
    result = _run("--fast", "--out", str(missing))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "does not exist" in result.stdout
    assert "Traceback" not in result.stderr and "caller said" not in result.stdout
    result = _run("--fast", "--out", str(tmp_path))  # a folder, not a file
    assert result.returncode == 2 and "it is a folder" in result.stdout
