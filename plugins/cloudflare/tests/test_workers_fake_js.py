"""The Workers path on CPython, with a fake ``js`` module whose WebSocket is a real connection.

``sys.platform`` is set to ``emscripten`` so the transport takes the Pyodide path and calls
``js.fetch``. The fake's ``fetch`` opens a real ``websockets`` connection to the emulator and
returns a Fetch-API-shaped response (``status``, ``webSocket`` with ``accept``/``send``/``close``/
``addEventListener``), so the text turn crosses a real socket; edge cases (no ``webSocket``,
``accept()`` throwing) follow the JS SDK's tests (reference 9.5).
"""

from __future__ import annotations

import asyncio
import sys
import types
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from conftest import KEY, text_turn
from realtime_transport import RealtimeAgent, RealtimeSession
from realtime_transport.errors import TransportConnectionError
from realtime_transport_cloudflare import CloudflareRealtimeTransportLayer, UpgradeFailedError
from realtime_transport_cloudflare.fetch_upgrade import FetchedWebSocket
from realtime_transport_emulator import Emulator
from websockets.asyncio.client import ClientConnection, connect


class Event:
    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)


class BridgedWebSocket:
    """workerd's WebSocket shape over a real client connection (events only after accept())."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.listeners: dict[str, list[Callable[[Any], None]]] = {}
        self.accepted = False
        self.sent: list[str] = []
        self.pump: asyncio.Task[None] | None = None
        self.tasks: set[asyncio.Future[None]] = set()

    def addEventListener(self, name: str, listener: Callable[[Any], None]) -> None:
        self.listeners.setdefault(name, []).append(listener)

    def removeEventListener(self, name: str, listener: Callable[[Any], None]) -> None:
        self.listeners.get(name, []).remove(listener)

    def dispatch(self, name: str, event: Event) -> None:
        for listener in list(self.listeners.get(name, [])):
            listener(event)

    def accept(self) -> None:
        self.accepted = True
        self.pump = asyncio.ensure_future(self._pump())

    async def _pump(self) -> None:
        try:
            async for message in self.connection:
                self.dispatch("message", Event(data=message))
        except Exception:
            pass
        self.dispatch(
            "close",
            Event(code=self.connection.close_code or 1006, reason=self.connection.close_reason),
        )

    def send(self, text: str) -> None:
        self.sent.append(text)
        self.tasks.add(asyncio.ensure_future(self.connection.send(text)))

    def close(self, code: int = 1000, reason: str = "") -> None:
        self.tasks.add(asyncio.ensure_future(self.connection.close(code, reason)))


class FakeJs(types.ModuleType):
    """``js.fetch`` that performs the upgrade against the emulator and records the request."""

    def __init__(self) -> None:
        super().__init__("js")
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.sockets: list[BridgedWebSocket] = []
        self.refuse: tuple[int, str] | None = None
        self.accept_error: Exception | None = None

    async def fetch(self, url: str, init: dict[str, Any]) -> Any:
        self.requests.append((url, init))
        if self.refuse is not None:
            status, body = self.refuse

            async def text() -> str:
                return body

            return Event(status=status, webSocket=None, text=text)
        headers = {k: v for k, v in init["headers"].items() if k.lower() not in _HOP_HEADERS}
        connection = await connect(
            url.replace("http://", "ws://", 1), additional_headers=headers, subprotocols=None
        )
        socket = BridgedWebSocket(connection)
        if self.accept_error is not None:
            error = self.accept_error

            def failing_accept() -> None:
                raise error

            socket.accept = failing_accept  # type: ignore[method-assign]
        self.sockets.append(socket)
        return Event(status=101, webSocket=socket)


_HOP_HEADERS = {"connection", "upgrade", "sec-websocket-protocol"}


@pytest.fixture
def fake_js(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeJs]:
    module = FakeJs()
    monkeypatch.setitem(sys.modules, "js", module)
    monkeypatch.setitem(sys.modules, "workers", None)  # not Cloudflare's SDK: use js.fetch
    monkeypatch.setattr(sys, "platform", "emscripten")
    yield module
    for socket in module.sockets:
        if socket.pump is not None:
            socket.pump.cancel()


async def test_session_holds_a_turn_over_js_fetch(fake_js: FakeJs, emulator: Emulator) -> None:
    session = RealtimeSession(RealtimeAgent("a"), transport="cloudflare")
    statuses: list[str] = []
    session.transport.on("connection_change", statuses.append)
    await asyncio.wait_for(session.connect(api_key=KEY, url=emulator.ws_url), 10)
    try:
        assert isinstance(session.transport.connection_state["websocket"], FetchedWebSocket)
        assert await text_turn(session) == "Hi from the emulator."
    finally:
        await session.close()
    assert statuses == ["connecting", "connected", "disconnected"]  # no "open" wait
    ((url, init),) = fake_js.requests
    assert url.startswith(f"http://127.0.0.1:{emulator.port}/v1/realtime?model=")
    assert init["method"] == "GET"
    assert init["headers"]["Authorization"] == f"Bearer {KEY}"
    assert init["headers"]["Upgrade"] == "websocket"
    assert init["headers"]["Connection"] == "Upgrade"
    assert init["headers"]["Sec-WebSocket-Protocol"] == "realtime"
    (socket,) = fake_js.sockets
    assert socket.accepted
    assert socket.sent[0].startswith('{"type":"session.update"')
    assert not any(socket.listeners.values())  # listeners detached after close


async def test_wss_becomes_https(fake_js: FakeJs) -> None:
    fake_js.refuse = (400, "No upgrade")
    transport = CloudflareRealtimeTransportLayer()
    with pytest.raises(UpgradeFailedError):
        await transport.connect(api_key=KEY, url="wss://api.example.test/v1/realtime")
    assert fake_js.requests[0][0].startswith("https://api.example.test/v1/realtime?model=")


async def test_no_websocket_on_the_response_is_a_typed_error(fake_js: FakeJs) -> None:
    fake_js.refuse = (400, "No upgrade")
    transport = CloudflareRealtimeTransportLayer()
    statuses: list[str] = []
    transport.on("connection_change", statuses.append)
    with pytest.raises(
        UpgradeFailedError, match="Failed to upgrade websocket: HTTP 400: No upgrade"
    ):
        await transport.connect(api_key=KEY, url="wss://api.example.test/v1/realtime")
    assert statuses == ["connecting", "disconnected"]


async def test_refusal_body_never_carries_the_key(fake_js: FakeJs) -> None:
    fake_js.refuse = (401, f'{{"error": {{"message": "bad key {KEY}"}}}}')
    transport = CloudflareRealtimeTransportLayer()
    with pytest.raises(UpgradeFailedError) as caught:
        await transport.connect(api_key=KEY, url="wss://api.example.test/v1/realtime")
    assert caught.value.status == 401
    assert "bad key" in caught.value.body
    assert KEY not in str(caught.value) and KEY not in caught.value.body


async def test_accept_throwing_rejects_connect(fake_js: FakeJs, emulator: Emulator) -> None:
    fake_js.accept_error = RuntimeError("accept refused by the runtime")
    transport = CloudflareRealtimeTransportLayer()
    with pytest.raises(TransportConnectionError, match="accept refused by the runtime"):
        await transport.connect(api_key=KEY, url=emulator.ws_url)
    assert transport.status == "disconnected"
    ((_, init),) = fake_js.requests
    assert init["headers"]["User-Agent"].startswith("realtime-transport/")
    assert init["headers"]["Sec-WebSocket-Protocol"] == "realtime"
    (socket,) = fake_js.sockets
    assert not any(socket.listeners.values())
    await socket.connection.close()


async def test_server_drop_reports_connection_lost(fake_js: FakeJs, emulator: Emulator) -> None:
    transport = CloudflareRealtimeTransportLayer()
    errors: list[Any] = []
    transport.on("error", errors.append)
    await transport.connect(api_key=KEY, url=emulator.ws_url)
    (socket,) = fake_js.sockets
    socket.connection.transport.abort()  # the network goes away under the runtime
    for _ in range(200):
        if transport.status == "disconnected":
            break
        await asyncio.sleep(0.01)
    assert transport.status == "disconnected"
    assert any(getattr(e, "code", None) == "connection_lost" for e in errors)
    await transport.close()


async def test_fetch_option_works_on_any_runtime(emulator: Emulator) -> None:
    """``fetch=`` is used on CPython too (no js module, no emscripten)."""
    module = FakeJs()
    transport = CloudflareRealtimeTransportLayer(fetch=module.fetch)
    await transport.connect(api_key=KEY, url=emulator.ws_url)
    try:
        assert isinstance(transport.connection_state["websocket"], FetchedWebSocket)
        done = asyncio.get_running_loop().create_future()
        transport.on("turn_done", lambda event: None if done.done() else done.set_result(event))
        transport.send_message("hello there")
        await asyncio.wait_for(done, 10)
    finally:
        await transport.close()
        for socket in module.sockets:
            if socket.pump is not None:
                socket.pump.cancel()
    assert len(module.requests) == 1


async def test_workers_sdk_fetch_is_preferred(
    monkeypatch: pytest.MonkeyPatch, fake_js: FakeJs
) -> None:
    calls: list[tuple[str, dict[str, Any]]] = []

    async def workers_fetch(url: str, **init: Any) -> Any:
        calls.append((url, init))

        async def text() -> str:
            return "from workers"

        return Event(js_object=Event(status=426, webSocket=None, text=text))

    monkeypatch.setitem(sys.modules, "workers", types.SimpleNamespace(fetch=workers_fetch))
    transport = CloudflareRealtimeTransportLayer()
    with pytest.raises(UpgradeFailedError, match="HTTP 426: from workers"):
        await transport.connect(api_key=KEY, url="wss://api.example.test/v1/realtime")
    assert calls and not fake_js.requests
    assert calls[0][1]["headers"]["Upgrade"] == "websocket"
