"""The installed distribution registers `webrtc`; listing transports or importing the package
imports no aiortc/av (they load when a transport is created)."""

from __future__ import annotations

import subprocess
import sys

CODE = """
import sys
import realtime_transport_webrtc
from realtime_transport import list_transports
spec = next(s for s in list_transports() if s.name == "webrtc")
assert spec.distribution == "realtime-transport-webrtc", spec.distribution
assert spec.capabilities.owns_media and spec.capabilities.supports_mute
heavy = sorted({m.split('.')[0] for m in sys.modules} & {"aiortc", "av", "aioice", "httpx"})
print("heavy:" + ",".join(heavy))
from realtime_transport import get_transport
transport = get_transport("webrtc", output_sample_rate=48000)
print(type(transport).__name__)
"""


def test_entry_point_registers_without_importing_aiortc() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CODE], capture_output=True, text=True, timeout=60, check=True
    )
    heavy, name = result.stdout.strip().splitlines()
    assert heavy == "heavy:", f"listing transports imported: {heavy}"
    assert name == "OpenAIRealtimeWebRTC"
