"""The ``cloudflare`` (``fetch-upgrade``) transport for realtime-transport.

The Realtime WebSocket is opened by an HTTP client's upgrade request (an ``httpx.AsyncClient`` on
CPython, the runtime's ``fetch()`` on Cloudflare Workers / Pyodide); everything after the
handshake is the websocket transport's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["CloudflareRealtimeTransportLayer", "UpgradeFailedError"]

if TYPE_CHECKING:
    from .errors import UpgradeFailedError
    from .transport import CloudflareRealtimeTransportLayer


def __getattr__(name: str) -> Any:
    if name == "CloudflareRealtimeTransportLayer":
        from .transport import CloudflareRealtimeTransportLayer

        return CloudflareRealtimeTransportLayer
    if name == "UpgradeFailedError":
        from .errors import UpgradeFailedError

        return UpgradeFailedError
    raise AttributeError(name)
