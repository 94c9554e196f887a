"""Entry point of the ``twilio`` transport: registration only, no heavy imports."""

from __future__ import annotations

from realtime_transport import TransportCapabilities, TransportSpec, hookimpl


@hookimpl
def realtime_transport_register_transports() -> list[TransportSpec]:
    return [
        TransportSpec(
            name="twilio",
            factory="realtime_transport_twilio.transport:TwilioRealtimeTransportLayer",
            summary="Phone calls through Twilio Media Streams bridged to OpenAI Realtime "
            "(G.711 mu-law pinned, mark-acknowledged barge-in)",
            capabilities=TransportCapabilities(
                sends_audio=False,
                receives_audio_events=True,
                client_side_truncation=True,
            ),
        )
    ]
