"""The thin client stays thin: creating a websocket transport imports no heavy library."""

from __future__ import annotations

import subprocess
import sys

CODE = """
import sys
from realtime_transport import get_transport
transport = get_transport("websocket")
transport.build_session_payload({"instructions": "x", "voice": "marin"})
heavy = sorted({m.split('.')[0] for m in sys.modules} & {"pydantic", "numpy", "soxr", "rich"})
print(",".join(heavy))
"""


def test_transport_and_payload_need_no_pydantic_numpy_or_rich() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CODE], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "", f"heavy modules imported: {result.stdout.strip()}"
