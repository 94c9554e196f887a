"""Typed errors of the SIP plugin. Messages never carry an API key or a webhook secret."""

from __future__ import annotations

from realtime_transport.errors import CallEndedError, RealtimeTransportError, UserError


class WebhookError(RealtimeTransportError, ValueError):
    """A webhook request that must not be trusted; answer it with HTTP 400."""


class WebhookHeadersError(WebhookError):
    """The ``webhook-id``/``webhook-timestamp``/``webhook-signature`` headers are missing or bad."""


class WebhookSignatureError(WebhookError):
    """No signature matches: the body was altered, or it was signed with another secret."""


class WebhookTimestampError(WebhookError):
    """The delivery is older (``stale``) or newer (``future``) than the tolerance allows."""

    def __init__(self, message: str, *, kind: str) -> None:
        super().__init__(message)
        self.kind = kind  # "stale" or "future"


class WebhookSecretError(UserError):
    """No webhook secret is configured, or it is not a valid ``whsec_…`` secret."""


class WebhookEventTypeError(WebhookError):
    """A correctly signed event other than ``realtime.call.incoming`` (answer 200, ignore it)."""

    def __init__(self, message: str, *, event_type: str) -> None:
        super().__init__(message)
        self.event_type = event_type


class CallControlError(RealtimeTransportError):
    """A call-control request (accept/reject/refer/hangup) failed; ``status`` is the HTTP status."""

    def __init__(self, message: str, *, call_id: str, status: int | None = None) -> None:
        super().__init__(message)
        self.call_id = call_id
        self.status = status


class CallGoneError(CallControlError, CallEndedError):
    """The call no longer exists (HTTP 404 on accept/reject/refer/hangup, or on attaching the
    socket): the caller hung up, or another worker handled it. Nothing more to do for it; a
    session's reconnect stops at it."""
