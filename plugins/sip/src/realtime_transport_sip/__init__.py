"""The ``sip`` transport for realtime-transport: answer phone calls that reach OpenAI over SIP.

``IncomingCallVerifier`` turns the ``realtime.call.incoming`` webhook into a verified,
deduplicated :class:`IncomingCall`; ``SipCallControl`` accepts, rejects, transfers and hangs up
calls with the official ``openai`` client; ``OpenAIRealtimeSIP`` (``transport="sip"``) attaches
to an accepted call by ``call_id`` and ``OpenAIRealtimeSIP.build_initial_config`` gives the
accept body. Names load lazily.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__all__ = [
    "CallControlError",
    "CallGoneError",
    "IncomingCall",
    "IncomingCallVerifier",
    "OpenAIRealtimeSIP",
    "SipCallControl",
    "WebhookError",
    "WebhookEventTypeError",
    "WebhookHeadersError",
    "WebhookSecretError",
    "WebhookSignatureError",
    "WebhookTimestampError",
]

_EXPORTS = {
    "OpenAIRealtimeSIP": "transport",
    "SipCallControl": "calls",
    "IncomingCall": "webhooks",
    "IncomingCallVerifier": "webhooks",
    **{name: "errors" for name in __all__ if name.endswith("Error")},
}

if TYPE_CHECKING:
    from .calls import SipCallControl
    from .errors import (
        CallControlError,
        CallGoneError,
        WebhookError,
        WebhookEventTypeError,
        WebhookHeadersError,
        WebhookSecretError,
        WebhookSignatureError,
        WebhookTimestampError,
    )
    from .transport import OpenAIRealtimeSIP
    from .webhooks import IncomingCall, IncomingCallVerifier


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'realtime_transport_sip' has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)
