"""Entry point of the ``sip`` transport: registration only, no heavy imports."""

from __future__ import annotations

from realtime_transport import TransportCapabilities, TransportSpec, hookimpl

#: No send_audio and no audio events: the audio rides the phone call, not the socket.
CAPABILITIES = TransportCapabilities(
    sends_audio=False,
    receives_audio_events=False,
    client_side_truncation=False,
    supports_call_id=True,
)


@hookimpl
def realtime_transport_register_transports() -> list[TransportSpec]:
    return [
        TransportSpec(
            name="sip",
            factory="realtime_transport_sip.transport:OpenAIRealtimeSIP",
            summary="Attach to a SIP call by call_id; accept/reject/refer/hang up; webhooks",
            capabilities=CAPABILITIES,
        )
    ]
