"""The README's thin-client example runs as printed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "thin_client.py"


@pytest.mark.skipif(not EXAMPLE.exists(), reason="runs from a source checkout")
def test_thin_client_example_receives_audio() -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=60, check=True
    )
    assert "You said:" in result.stdout
    milliseconds = int(result.stdout.rsplit("received ", 1)[1].split(" ms")[0])
    assert milliseconds > 500
