"""``POST /v1/realtime/calls``: WebRTC calls answered with aiortc, one Realtime session each.

Modules: :mod:`.offer` (reading the request: both SDP flows, auth, the initial session),
:mod:`.call` (one peer connection: the ``oai-events`` data channel driving the shared session
state machine, faults, teardown), :mod:`.media` (caller audio to the VAD, reply audio on a paced
track, ``output_audio_buffer.*``), :mod:`.hosts` (ICE host candidates pinned to the emulator's
address). aiortc is imported only when a call arrives (``realtime-transport-emulator[webrtc]``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from realtime_transport_emulator.server import Emulator

__all__ = ["install"]


def install(emulator: Emulator) -> None:
    """Register ``POST /v1/realtime/calls`` and close every call when the emulator stops."""
    from realtime_transport_emulator.surfaces.webrtc.endpoint import CallsEndpoint

    endpoint = CallsEndpoint(emulator)
    emulator.router.add("POST", "/v1/realtime/calls", endpoint.create)
    emulator.add_stop_hook(endpoint.close_all)
