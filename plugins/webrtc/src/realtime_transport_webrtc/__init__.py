"""The ``webrtc`` transport for realtime-transport (aiortc is imported on first use)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = [
    "LocalAudio",
    "OpenAIRealtimeWebRTC",
    "WebRTCAuthenticationError",
    "WebRTCConnectError",
    "WebRTCConnectTimeoutError",
]

if TYPE_CHECKING:
    from .errors import WebRTCAuthenticationError, WebRTCConnectError, WebRTCConnectTimeoutError
    from .local import LocalAudio
    from .transport import OpenAIRealtimeWebRTC


def __getattr__(name: str) -> Any:
    if name == "OpenAIRealtimeWebRTC":
        from .transport import OpenAIRealtimeWebRTC

        return OpenAIRealtimeWebRTC
    if name == "LocalAudio":
        from .local import LocalAudio

        return LocalAudio
    if name in ("WebRTCConnectError", "WebRTCAuthenticationError", "WebRTCConnectTimeoutError"):
        from . import errors

        return getattr(errors, name)
    raise AttributeError(name)
