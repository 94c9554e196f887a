"""The registry finds the installed distribution by name, with SIP's capabilities."""

from __future__ import annotations

from realtime_transport import get_transport, list_transports
from realtime_transport.registry import reset_registry
from realtime_transport_sip import OpenAIRealtimeSIP


def test_the_installed_plugin_provides_sip_without_send_audio() -> None:
    reset_registry()
    spec = next(spec for spec in list_transports() if spec.name == "sip")
    assert spec.distribution == "realtime-transport-sip"
    assert spec.capabilities.supports_call_id and not spec.capabilities.sends_audio
    assert not spec.capabilities.receives_audio_events
    transport = get_transport("sip")
    assert isinstance(transport, OpenAIRealtimeSIP)
    assert transport.capabilities == spec.capabilities
