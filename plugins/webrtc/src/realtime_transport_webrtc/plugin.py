"""Entry point of the ``webrtc`` transport: registration only, no heavy imports (aiortc, av)."""

from __future__ import annotations

from realtime_transport import TransportCapabilities, TransportSpec, hookimpl


@hookimpl
def realtime_transport_register_transports() -> list[TransportSpec]:
    return [
        TransportSpec(
            name="webrtc",
            factory="realtime_transport_webrtc.transport:OpenAIRealtimeWebRTC",
            summary="OpenAI Realtime over WebRTC (aiortc): Opus media, oai-events data channel",
            capabilities=TransportCapabilities(
                sends_audio=True,
                receives_audio_events=False,
                owns_media=True,
                client_side_truncation=False,
                supports_mute=True,
                supports_call_id=False,
            ),
        )
    ]
