"""Entry point of the ``websocket`` transport: registration only, no heavy imports."""

from __future__ import annotations

from realtime_transport import TransportCapabilities, TransportSpec, hookimpl


@hookimpl
def realtime_transport_register_transports() -> list[TransportSpec]:
    return [
        TransportSpec(
            name="websocket",
            factory="realtime_transport_websocket.transport:OpenAIRealtimeWebSocket",
            summary="OpenAI Realtime over a WebSocket; PCM16 audio as events",
            capabilities=TransportCapabilities(
                sends_audio=True,
                receives_audio_events=True,
                client_side_truncation=True,
                supports_call_id=True,
            ),
        )
    ]
