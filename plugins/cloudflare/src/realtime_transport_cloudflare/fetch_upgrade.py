"""The Workers path: the upgrade through ``fetch()`` and the socket from ``response.webSocket``.

On Pyodide (Cloudflare Python Workers, or a JS worker hosting Pyodide) the runtime's ``fetch``
does the upgrade: the ``workers`` module of ``workers-runtime-sdk`` when it is importable, else
``js.fetch``. Any runtime can pass its own ``fetch(url, init)`` instead. The answer carries an
accepted-on-demand WebSocket (``response.webSocket``); ``accept()`` starts delivery and no
``open`` event follows (the transport is told to skip waiting for one).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from realtime_transport.errors import TransportConnectionError, TransportNotConnectedError
from realtime_transport_websocket.socket import OnClose, OnMessage, RealtimeSocket

from .errors import http_url, upgrade_refused

logger = logging.getLogger("realtime_transport.cloudflare")

#: ``fetch(url, init)`` -> (an awaitable of) a Fetch API ``Response``; ``init`` is a plain dict
#: ``{"method": "GET", "headers": {...}}`` (convert it if your runtime needs a JS object).
Fetch = Callable[[str, dict[str, Any]], Awaitable[Any]]


def runtime_fetch() -> Fetch:
    """The runtime's fetch: ``workers.fetch`` (Cloudflare's Python Workers SDK) or ``js.fetch``."""
    try:
        from workers import fetch as workers_fetch  # type: ignore[import-not-found]
    except ImportError:
        workers_fetch = None
    if workers_fetch is not None:

        async def via_workers(url: str, init: dict[str, Any]) -> Any:
            return await workers_fetch(url, method=init["method"], headers=init["headers"])

        return via_workers

    import js  # type: ignore[import-not-found]

    try:
        from pyodide.ffi import to_js  # type: ignore[import-not-found]
    except ImportError:  # a js module without Pyodide (tests): hand the dict over as it is
        to_js = None

    async def via_js(url: str, init: dict[str, Any]) -> Any:
        js_init = init if to_js is None else to_js(init, dict_converter=js.Object.fromEntries)
        return await js.fetch(url, js_init)

    return via_js


async def open_fetched(
    fetch: Fetch | None,
    url: str,
    headers: dict[str, str],
    on_message: OnMessage,
    on_close: OnClose,
    *,
    close_timeout: float,
    secret: str,
) -> FetchedWebSocket:
    """Upgrade with ``fetch`` (rewriting ``wss://`` to ``https://``), accept and wrap the socket."""
    init = {
        "method": "GET",
        "headers": {
            **headers,
            "Connection": "Upgrade",
            "Upgrade": "websocket",
            "Sec-WebSocket-Protocol": "realtime",
        },
    }
    response = await (fetch or runtime_fetch())(http_url(url), init)
    # workers' FetchResponse and pyodide's pyfetch wrap the JS Response; fetch=... may not
    js_response = (
        getattr(response, "js_object", None) or getattr(response, "js_response", None) or response
    )
    websocket = getattr(js_response, "webSocket", None)
    if websocket is None:
        status = int(getattr(js_response, "status", 0) or 0)
        raise upgrade_refused(status, await _text(js_response), secret)
    socket = FetchedWebSocket(websocket, on_message, on_close, close_timeout=close_timeout)
    try:
        websocket.accept()
    except Exception as exc:
        socket.release()
        raise TransportConnectionError(
            f"accepting the upgraded WebSocket failed: {type(exc).__name__}: {exc}"
        ) from None
    return socket


async def _text(response: Any) -> str:
    try:
        text = response.text()
        if asyncio.iscoroutine(text) or hasattr(text, "__await__"):
            text = await text
        return str(text)
    except Exception:  # the refusal matters more than its body
        return ""


def _proxy(function: Callable[[Any], None]) -> Any:
    """A JS-callable handle for ``function`` (Pyodide needs a proxy that outlives the call)."""
    try:
        from pyodide.ffi import create_proxy
    except ImportError:
        return function
    return create_proxy(function)


class FetchedWebSocket(RealtimeSocket):
    """A Fetch API ``WebSocket`` (workerd's, or any object with its shape) as a RealtimeSocket.

    Listeners are attached before ``accept()``; messages that arrive before the transport calls
    ``start()`` are kept in order and delivered then.
    """

    def __init__(
        self, websocket: Any, on_message: OnMessage, on_close: OnClose, *, close_timeout: float
    ) -> None:
        self._websocket = websocket
        self._on_message = on_message
        self._on_close = on_close
        self._close_timeout = close_timeout
        self._started = False
        self._early: list[str | bytes] = []
        self._finished = False
        self._closing = False
        self._closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._listeners = [
            ("message", _proxy(self._message)),
            ("close", _proxy(self._close_event)),
            ("error", _proxy(self._error_event)),
        ]
        for name, listener in self._listeners:
            websocket.addEventListener(name, listener)

    def _message(self, event: Any) -> None:
        data = event.data
        if not isinstance(data, str):
            to_bytes = getattr(data, "to_bytes", None)
            data = to_bytes() if to_bytes is not None else bytes(data)
        if not self._started:
            self._early.append(data)
            return
        self._deliver(data)

    def _deliver(self, data: str | bytes) -> None:
        try:
            self._on_message(data)
        except Exception:  # the transport never raises here; a listener must not die of it
            logger.exception("message handler failed")

    def _close_event(self, event: Any) -> None:
        code = getattr(event, "code", None)
        self._finish(int(code) if code is not None else 1006, str(getattr(event, "reason", "")))

    def _error_event(self, event: Any) -> None:
        message = getattr(event, "message", None) or "the WebSocket reported an error"
        self._finish(1006, "", TransportConnectionError(str(message)))

    def _finish(self, code: int, reason: str, exc: BaseException | None = None) -> None:
        if self._finished:
            return
        self._finished = True
        if not self._closed.done():
            self._closed.set_result(None)
        asyncio.get_running_loop().call_soon(self.release)  # not from inside the listener
        if not self._closing:
            self._on_close(code, reason, exc)

    def start(self) -> None:
        self._started = True
        early, self._early = self._early, []
        for data in early:
            self._deliver(data)

    def send_text(self, data: bytes) -> None:
        if self._finished or self._closing:
            raise TransportNotConnectedError("the WebSocket is closed; connect() again")
        try:
            self._websocket.send(data.decode())
        except Exception as exc:
            raise TransportNotConnectedError(
                f"the WebSocket refused the message ({type(exc).__name__}: {exc}); connect() again"
            ) from None

    def buffered_amount(self) -> int:
        # Browsers report bufferedAmount; workerd's WebSocket does not (0 then).
        return int(getattr(self._websocket, "bufferedAmount", 0) or 0)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self._closing = True
        if not self._finished:
            try:
                self._websocket.close(code, reason)
                await asyncio.wait_for(asyncio.shield(self._closed), self._close_timeout)
            except Exception:  # closed already, or the peer never answered: let it go
                pass
        self.release()

    def abort(self) -> None:
        self._closing = True
        if not self._finished:
            try:
                self._websocket.close(1011, "aborted")
            except Exception:
                pass
        self.release()

    def release(self) -> None:
        """Detach the listeners (and free their Pyodide proxies)."""
        listeners, self._listeners = self._listeners, []
        for name, listener in listeners:
            try:
                self._websocket.removeEventListener(name, listener)
            except Exception:
                pass
            destroy = getattr(listener, "destroy", None)
            if destroy is not None:
                destroy()
