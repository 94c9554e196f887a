"""Creating the Twilio transport imports neither the twilio package nor starlette (helpers only)."""

from __future__ import annotations

import subprocess
import sys

CODE = """
import sys
from realtime_transport import get_transport

class Sink:
    async def receive_text(self): return None
    async def send_text(self, text): return None
    async def close(self, code=1000, reason=""): return None

transport = get_transport("twilio", twilio_websocket=Sink())
transport.build_session_payload({"instructions": "x"})
heavy = sorted({m.split('.')[0] for m in sys.modules} & {"twilio", "starlette", "numpy", "rich"})
print(",".join(heavy))
"""


def test_transport_needs_no_twilio_package() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CODE], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "", f"heavy modules imported: {result.stdout.strip()}"
