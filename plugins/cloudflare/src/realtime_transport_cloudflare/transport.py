"""``CloudflareRealtimeTransportLayer``: the websocket transport, opened by an HTTP upgrade."""

from __future__ import annotations

import ssl as ssl_module
import sys
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from realtime_transport.errors import UserError
from realtime_transport.transport import ApiKey
from realtime_transport_websocket.socket import RealtimeSocket, wire_log_for
from realtime_transport_websocket.transport import OpenAIRealtimeWebSocket

from .fetch_upgrade import Fetch

if TYPE_CHECKING:
    import asyncio

    import httpx
    from realtime_transport.openai.base import TypedEvents

#: One shared client per event loop for transports given neither ``client`` nor client options.
_default_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
    weakref.WeakKeyDictionary()
)


class CloudflareRealtimeTransportLayer(OpenAIRealtimeWebSocket):
    """OpenAI Realtime over a WebSocket that an HTTP client's upgrade request opened.

    For runtimes and networks where a socket library cannot dial out: Cloudflare Workers (the
    runtime's ``fetch()`` and ``response.webSocket.accept()``), corporate proxies, and apps that
    route all HTTP through one configured ``httpx.AsyncClient``. ``wss://`` becomes
    ``https://``; the request carries ``Authorization: Bearer`` and ``Sec-WebSocket-Protocol:
    realtime``. After the handshake everything (events, audio, interruption, sequencing) is the
    websocket transport's.

    * ``client``: your ``httpx.AsyncClient``; its proxy, auth, mounts, transport and event hooks
      apply. Every live session holds one of its connections: give it
      ``limits=httpx.Limits(max_connections=None)`` for more than 100 at once.
    * ``proxy`` / ``ssl``: build a client of the transport's own with these (it is closed by
      :meth:`close`). With none of ``client``, ``proxy``, ``ssl``, one shared client per event
      loop with an unbounded pool is used (``HTTPS_PROXY`` and friends apply).
    * ``fetch``: ``fetch(url, {"method", "headers"})`` returning a Fetch API ``Response`` with
      ``webSocket``; the default on Pyodide (``workers.fetch``, else ``js.fetch``).
    """

    __slots__ = ("_client", "_fetch", "_http_proxy", "_http_ssl", "_owned_client")

    def __init__(
        self,
        *,
        model: str | None = None,
        api_key: ApiKey | None = None,
        url: str | None = None,
        headers: Mapping[str, str] | None = None,
        client: httpx.AsyncClient | None = None,
        proxy: str | None = None,
        ssl: ssl_module.SSLContext | None = None,
        fetch: Fetch | None = None,
        open_timeout: float = 10.0,
        close_timeout: float = 5.0,
        max_size: int | None = None,
        ping_interval: float | None = 20.0,
        ping_timeout: float | None = 20.0,
        max_write_buffer: int = 4 * 1024 * 1024,
        typed_events: TypedEvents = "model",
        pinned_audio_format: Mapping[str, Any] | None = None,
    ) -> None:
        if client is not None and (proxy is not None or ssl is not None):
            raise UserError(
                "pass client=... or proxy=/ssl=, not both: configure the proxy and TLS on your "
                "httpx.AsyncClient"
            )
        if fetch is not None and not callable(fetch):
            raise UserError("fetch must be a callable (url, init) -> Response")
        super().__init__(
            model=model,
            api_key=api_key,
            url=url,
            headers=headers,
            create_websocket=self._open_upgraded,
            skip_open_event_listeners=True,
            open_timeout=open_timeout,
            close_timeout=close_timeout,
            max_size=max_size,
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
            max_write_buffer=max_write_buffer,
            typed_events=typed_events,
            pinned_audio_format=pinned_audio_format,
        )
        self._client = client
        self._http_proxy = proxy
        self._http_ssl = ssl
        self._fetch = fetch
        self._owned_client: httpx.AsyncClient | None = None

    async def _open_upgraded(self, url: str, headers: dict[str, str]) -> RealtimeSocket:
        secret = self._secret or ""
        if self._fetch is not None or sys.platform == "emscripten":
            from .fetch_upgrade import open_fetched

            return await open_fetched(
                self._fetch,
                url,
                headers,
                self._handle_frame,
                self._socket_closed_callback(),
                close_timeout=self._close_timeout,
                secret=secret,
            )
        from .httpx_upgrade import open_upgraded

        return await open_upgraded(
            self._http_client(),
            url,
            headers,
            self._handle_frame,
            self._socket_closed_callback(),
            timeout=self._open_timeout,
            secret=secret,
            max_size=self._max_size,
            close_timeout=self._close_timeout,
            ping_interval=self._ping_interval,
            ping_timeout=self._ping_timeout,
            wire_log=wire_log_for(not self.log_policy.model_data),
        )

    def _http_client(self) -> httpx.AsyncClient:
        if self._client is not None:
            return self._client
        if self._http_proxy is None and self._http_ssl is None:
            import asyncio

            loop = asyncio.get_running_loop()
            client = _default_clients.get(loop)
            if client is None or client.is_closed:
                client = _default_clients[loop] = _build_client(None, None)
            return client
        if self._owned_client is None or self._owned_client.is_closed:
            self._owned_client = _build_client(self._http_proxy, self._http_ssl)
        return self._owned_client

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            owned, self._owned_client = self._owned_client, None
            if owned is not None:
                await owned.aclose()


def _build_client(proxy: str | None, ssl: ssl_module.SSLContext | None) -> httpx.AsyncClient:
    import httpx

    # Each live session keeps its upgraded connection checked out of the pool, so the pool must
    # not cap them (httpx's default of 100 would make the 101st connect wait and time out).
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
    return httpx.AsyncClient(proxy=proxy, verify=ssl if ssl is not None else True, limits=limits)
