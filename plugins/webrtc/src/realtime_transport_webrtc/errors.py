"""Typed connect failures: each says which step of the WebRTC connect failed."""

from __future__ import annotations

from typing import Any, Literal

from realtime_transport.errors import (
    AuthenticationError,
    ConnectTimeoutError,
    TransportConnectionError,
)

ConnectStep = Literal["setup", "offer", "call_request", "answer", "ice", "dtls", "data_channel"]


class WebRTCConnectError(TransportConnectionError):
    """``connect()`` failed at ``step``; the peer connection is closed and status is
    ``disconnected``. ``status``/``error`` hold the HTTP status and the API's error body when
    the calls endpoint refused the offer."""

    def __init__(
        self,
        message: str,
        *,
        step: ConnectStep,
        status: int | None = None,
        error: Any = None,
    ) -> None:
        super().__init__(message)
        self.step: ConnectStep = step
        self.status = status
        self.error = error


class WebRTCAuthenticationError(WebRTCConnectError, AuthenticationError):
    """The calls endpoint refused the key (HTTP 401/403)."""


class WebRTCConnectTimeoutError(WebRTCConnectError, ConnectTimeoutError):
    """The calls endpoint did not answer within ``connect_timeout`` (a ``ConnectTimeoutError``,
    as on every transport)."""
