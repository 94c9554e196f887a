"""Entry point of the ``cloudflare`` transport (alias ``fetch-upgrade``): registration only."""

from __future__ import annotations

from realtime_transport import TransportCapabilities, TransportSpec, hookimpl


@hookimpl
def realtime_transport_register_transports() -> list[TransportSpec]:
    return [
        TransportSpec(
            name="cloudflare",
            aliases=("fetch-upgrade",),
            factory="realtime_transport_cloudflare.transport:CloudflareRealtimeTransportLayer",
            summary="OpenAI Realtime over a WebSocket opened through an HTTP client "
            "(httpx, or fetch() on Workers)",
            capabilities=TransportCapabilities(
                sends_audio=True,
                receives_audio_events=True,
                client_side_truncation=True,
                supports_call_id=True,
            ),
        )
    ]
