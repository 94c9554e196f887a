"""examples/desktop_agent.py runs against the emulator with WAV files standing in for the
sound devices: it hears the speech and plays a reply."""

from __future__ import annotations

import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
from realtime_transport.testing.scenarios import speech_like_pcm16

EXAMPLE = Path(__file__).parents[1] / "examples" / "desktop_agent.py"
LOOPBACK = (
    "import aioice.ice, runpy, sys;"
    "aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ['127.0.0.1'];"
    "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
)


def test_desktop_agent_with_files(tmp_path: Path) -> None:
    source, played = tmp_path / "in.wav", tmp_path / "out.wav"
    with wave.open(str(source), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(24000)
        out.writeframes(speech_like_pcm16(0.6) + bytes(48 * 1500))
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            LOOPBACK,
            str(EXAMPLE),
            "--emulator",
            "--input",
            str(source),
            "--output",
            str(played),
            "--seconds",
            "6",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "connected" in result.stdout and "assistant:" in result.stdout, result.stdout
    with wave.open(str(played), "rb") as recorded:
        samples = np.frombuffer(recorded.readframes(recorded.getnframes()), dtype="<i2")
    assert samples.size and np.abs(samples.astype(np.int32)).max() > 1000
