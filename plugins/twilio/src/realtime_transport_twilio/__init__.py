"""The ``twilio`` transport for realtime-transport: phone calls through Twilio Media Streams.

The transport needs no ``twilio`` package; the TwiML and signature helpers (``stream_twiml``,
``TwilioSignatureValidator``) import it on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = [
    "InvalidTwilioSignatureError",
    "StarletteMediaSocket",
    "TwilioMediaSocket",
    "TwilioRealtimeTransportLayer",
    "TwilioSignatureValidator",
    "WebsocketsMediaSocket",
    "adapt_media_socket",
    "public_url",
    "stream_twiml",
]

_EXPORTS = {
    "TwilioRealtimeTransportLayer": "transport",
    "TwilioMediaSocket": "media_socket",
    "StarletteMediaSocket": "media_socket",
    "WebsocketsMediaSocket": "media_socket",
    "adapt_media_socket": "media_socket",
    "stream_twiml": "twiml",
    "TwilioSignatureValidator": "signature",
    "InvalidTwilioSignatureError": "signature",
    "public_url": "signature",
}

if TYPE_CHECKING:
    from .media_socket import (
        StarletteMediaSocket,
        TwilioMediaSocket,
        WebsocketsMediaSocket,
        adapt_media_socket,
    )
    from .signature import InvalidTwilioSignatureError, TwilioSignatureValidator, public_url
    from .transport import TwilioRealtimeTransportLayer
    from .twiml import stream_twiml


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(name)
    from importlib import import_module

    return getattr(import_module(f"{__name__}.{module}"), name)
