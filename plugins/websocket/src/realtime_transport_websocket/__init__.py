"""The ``websocket`` transport for realtime-transport."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["OpenAIRealtimeWebSocket", "RealtimeSocket"]

if TYPE_CHECKING:
    from .socket import RealtimeSocket
    from .transport import OpenAIRealtimeWebSocket


def __getattr__(name: str) -> Any:
    if name == "OpenAIRealtimeWebSocket":
        from .transport import OpenAIRealtimeWebSocket

        return OpenAIRealtimeWebSocket
    if name == "RealtimeSocket":
        from .socket import RealtimeSocket

        return RealtimeSocket
    raise AttributeError(name)
