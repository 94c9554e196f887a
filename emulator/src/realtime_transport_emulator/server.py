"""The :class:`Emulator`: wiring of the HTTP server, the surfaces and the per-connection records.

Surfaces are modules with an ``install(emulator)`` function that registers routes on
``emulator.router`` (and optionally a stop hook). Built in: the Realtime WebSocket
(``/v1/realtime``), client secrets (``/v1/realtime/client_secrets``) and a small info page
(``GET /`` and ``GET /healthz``). WebRTC calls, SIP call control and the Twilio simulator plug in
the same way through ``Emulator(surfaces=[...])``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeVar
from urllib.parse import urlencode

from realtime_transport_emulator.faults import Faults, FaultsSpec
from realtime_transport_emulator.faults import normalize as normalize_faults
from realtime_transport_emulator.model.script import Script
from realtime_transport_emulator.net.auth import Authenticator
from realtime_transport_emulator.net.httpserver import HttpRequest, HttpResponse, HttpServer, Router
from realtime_transport_emulator.records import ConnectionRecord
from realtime_transport_emulator.session.config import validate_session
from realtime_transport_emulator.session.errors import ProtocolError
from realtime_transport_emulator.session.session import SessionOptions
from realtime_transport_emulator.surfaces import client_secrets, realtime_ws, webrtc
from realtime_transport_emulator.surfaces.realtime_ws import CallMedia

__all__ = ["Emulator", "Surface"]

Surface = Callable[["Emulator"], None]
StopHook = Callable[[], Awaitable[None]]
T = TypeVar("T")

DEFAULT_SURFACES: tuple[Surface, ...] = (
    realtime_ws.install,
    client_secrets.install,
    webrtc.install,
)


class Emulator:
    """An offline Realtime API server on loopback, deterministic for a given script and input.

    ::

        async with Emulator(script=Script(...), faults=Faults(close_after=20)) as emu:
            async with websockets.connect(emu.realtime_url(), additional_headers={
                "Authorization": "Bearer sk-test"}) as ws:
                ...
            await emu.wait_for_client_event("response.cancel")
            emu.connections[0].server_events

    Args:
        script: replies and transcripts (a :class:`Script`, a mapping, or a JSON/YAML path).
        faults: :class:`Faults` for every connection, a list indexed by connection number, or a
            callable ``index -> Faults | None``. ``?fault=`` query parameters add to these.
        api_keys: accepted API keys; ``None`` (default) accepts any key starting with ``sk-``.
        pace: ``"fast"`` sends output as fast as possible; ``"realtime"`` paces audio deltas at
            playback speed (measured from the first delta on a monotonic clock, so no drift).
        chunk_ms: audio per ``response.output_audio.delta`` (default 100 ms).
        max_session_seconds: end each session after this long with the real ``session_expired``
            error (the real limit is 60 minutes); ``None`` for no limit.
        seed: ids are derived from it, so runs are reproducible.
        session_defaults: GA session fields merged into the server's default session.
        response_latency_ms: pause between ``response.created`` and the first output.
        response_done_delay_ms: pause between a response's last output event (for example
            ``response.output_audio.done``) and its ``response.done``: the window in which a
            client that frees its response line too early sends a colliding ``response.create``.
        surfaces: extra ``install(emulator)`` functions (WebRTC, SIP, Twilio…).
    """

    def __init__(
        self,
        *,
        script: Script | Mapping[str, Any] | str | Path | None = None,
        faults: FaultsSpec = None,
        api_keys: Iterable[str] | None = None,
        pace: Literal["fast", "realtime"] = "fast",
        chunk_ms: int = 100,
        max_session_seconds: float | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int | str = 0,
        session_defaults: Mapping[str, Any] | None = None,
        response_latency_ms: float = 0.0,
        response_done_delay_ms: float = 0.0,
        rate_limits: bool = True,
        record_audio: bool = True,
        max_recorded_events: int = 100_000,
        max_records: int = 1000,
        ping_interval: float | None = None,
        clock: Callable[[], float] = time.time,
        surfaces: Iterable[Surface] = (),
    ) -> None:
        if pace not in ("fast", "realtime"):
            raise ValueError(f"pace must be 'fast' or 'realtime', got {pace!r}.")
        if not 1 <= chunk_ms <= 10_000:
            raise ValueError(f"chunk_ms must be between 1 and 10000, got {chunk_ms!r}.")
        if max_session_seconds is not None and max_session_seconds <= 0:
            raise ValueError("max_session_seconds must be positive (or None for no limit).")
        self.script = Script.load(script)
        self.faults = normalize_faults(faults)
        self.pace = pace
        self.chunk_ms = chunk_ms
        self.max_session_seconds = max_session_seconds
        self.seed = str(seed)
        self.session_defaults = _check_defaults(session_defaults)
        self.response_latency_ms = response_latency_ms
        self.response_done_delay_ms = response_done_delay_ms
        self.rate_limits = rate_limits
        self.record_audio = record_audio
        self.max_recorded_events = max_recorded_events
        self.max_records = max_records
        self.clock = clock
        self.auth = Authenticator(api_keys, clock)
        self.router = Router()
        self.calls: dict[str, dict[str, Any]] = {}
        self.call_media: dict[str, CallMedia] = {}
        self.connections: list[ConnectionRecord] = []
        self._host = host
        self._port = port
        self._http = HttpServer(self.router, ping_interval=ping_interval)
        self._stop_hooks: list[StopHook] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._index = 0
        self._started = False
        self.router.add("GET", "/", self._info)
        self.router.add("GET", "/healthz", self._health)
        for install in (*DEFAULT_SURFACES, *surfaces):
            install(self)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> Emulator:
        """Bind and serve (fast: no subprocess, no threads). Returns ``self``."""
        if not self._started:
            await self._http.start(self._host, self._port)
            self._started = True
        return self

    async def stop(self) -> None:
        """Close every connection (1001) and the listening socket. Idempotent."""
        if not self._started:
            return
        self._started = False
        for hook in self._stop_hooks:
            await hook()
        await self._http.stop()

    async def __aenter__(self) -> Emulator:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def add_stop_hook(self, hook: StopHook) -> None:
        """Run ``hook`` at :meth:`stop`, before connections are closed (for surfaces)."""
        self._stop_hooks.append(hook)

    # ------------------------------------------------------------------ addresses

    @property
    def host(self) -> str:
        return self._http.host or self._host

    @property
    def port(self) -> int:
        if not self._started:
            raise RuntimeError("The emulator is not running; use 'async with' or start().")
        return self._http.port

    @property
    def http_url(self) -> str:
        """``http://127.0.0.1:PORT`` (REST paths are under ``/v1``)."""
        return f"http://{_url_host(self.host)}:{self.port}"

    @property
    def base_url(self) -> str:
        """The ``base_url`` for the official ``openai`` client: ``http://127.0.0.1:PORT/v1``."""
        return f"{self.http_url}/v1"

    @property
    def ws_url(self) -> str:
        """``ws://127.0.0.1:PORT/v1/realtime`` (add ``?model=`` or use :meth:`realtime_url`)."""
        return f"ws://{_url_host(self.host)}:{self.port}/v1/realtime"

    @property
    def url(self) -> str:
        return self.ws_url

    def realtime_url(
        self,
        model: str | None = "gpt-realtime",
        *,
        faults: str | Faults | None = None,
        **query: str,
    ) -> str:
        """The WebSocket URL with ``model`` (and optional faults or other query parameters)."""
        params: dict[str, str] = {}
        if model is not None:
            params["model"] = model
        if faults is not None:
            params["fault"] = faults if isinstance(faults, str) else _fault_spec(faults)
        params.update(query)
        return f"{self.ws_url}?{urlencode(params)}" if params else self.ws_url

    # ------------------------------------------------------------------ configuration

    def set_faults(self, faults: FaultsSpec) -> None:
        """Faults for connections opened from now on."""
        self.faults = normalize_faults(faults)

    def register_call(
        self, call_id: str, session: Mapping[str, Any], media: CallMedia | None = None
    ) -> None:
        """Make ``?call_id=`` attach to a call with this (full) session (for SIP/WebRTC);
        ``media`` builds the attached sessions when the call's audio rides elsewhere (SIP)."""
        self.calls[call_id] = dict(session)
        if media is not None:
            self.call_media[call_id] = media

    def end_call(self, call_id: str) -> None:
        """Forget a call: ``?call_id=`` gets 404 from now on."""
        self.calls.pop(call_id, None)
        self.call_media.pop(call_id, None)

    def session_options(self, faults: Faults) -> SessionOptions:
        return SessionOptions(
            pace=self.pace,
            chunk_ms=self.chunk_ms,
            response_latency_ms=self.response_latency_ms,
            response_done_delay_ms=self.response_done_delay_ms,
            rate_limits=self.rate_limits,
            error_mid_response=faults.error_mid_response,
        )

    # ------------------------------------------------------------------ records and waiting

    def _next_index(self) -> int:
        index = self._index
        self._index += 1
        return index

    def _add_record(self, record: ConnectionRecord) -> None:
        self.connections.append(record)
        self.connections.sort(key=lambda r: r.index)
        while len(self.connections) > self.max_records:
            oldest = next((r for r in self.connections if r.closed), self.connections[0])
            self.connections.remove(oldest)
        self._notify()

    def _notify(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def _wait(
        self, check: Callable[[], T | None], timeout: float, describe: Callable[[], str]
    ) -> T:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = check()
            if result is not None:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(describe())
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.append(waiter)
            try:
                await asyncio.wait_for(waiter, remaining)
            except asyncio.TimeoutError:
                pass

    def _record(self, connection: int | ConnectionRecord) -> ConnectionRecord | None:
        if isinstance(connection, ConnectionRecord):
            return connection
        for record in self.connections:
            if record.index == connection:
                return record
        return None

    async def wait_for_connection(
        self, index: int = 0, *, timeout: float = 5.0
    ) -> ConnectionRecord:
        """The record of connection number ``index`` (0-based), once it is open."""
        return await self._wait(
            lambda: self._record(index),
            timeout,
            lambda: (
                f"No connection #{index} within {timeout}s "
                f"({len(self.connections)} connection(s) so far)."
            ),
        )

    async def wait_for_client_event(
        self,
        event_type: str,
        *,
        connection: int | ConnectionRecord | None = None,
        count: int = 1,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
        timeout: float = 5.0,
    ) -> dict[str, Any]:
        """The ``count``-th client event of this type (already received or still to come)."""
        return await self._wait_event("client", event_type, connection, count, predicate, timeout)

    async def wait_for_server_event(
        self,
        event_type: str,
        *,
        connection: int | ConnectionRecord | None = None,
        count: int = 1,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
        timeout: float = 5.0,
    ) -> dict[str, Any]:
        """The ``count``-th server event of this type sent (already or still to come)."""
        return await self._wait_event("server", event_type, connection, count, predicate, timeout)

    async def _wait_event(
        self,
        side: Literal["client", "server"],
        event_type: str,
        connection: int | ConnectionRecord | None,
        count: int,
        predicate: Callable[[dict[str, Any]], bool] | None,
        timeout: float,
    ) -> dict[str, Any]:
        def records() -> list[ConnectionRecord]:
            if connection is None:
                return list(self.connections)
            record = self._record(connection)
            return [record] if record is not None else []

        def check() -> dict[str, Any] | None:
            seen = 0
            for record in records():
                events = record.client_events if side == "client" else record.server_events
                for event in events:
                    if event.get("type") == event_type and (predicate is None or predicate(event)):
                        seen += 1
                        if seen == count:
                            return event
            return None

        def describe() -> str:
            types = []
            for record in records():
                types.extend(record.client_types() if side == "client" else record.server_types())
            return (
                f"No {side} event {event_type!r} (#{count}) within {timeout}s; "
                f"{side} events so far: {types[-30:]}"
            )

        return await self._wait(check, timeout, describe)

    # ------------------------------------------------------------------ HTTP extras

    async def _info(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse.json(
            200,
            {
                "object": "realtime.emulator",
                "websocket_url": self.ws_url,
                "base_url": self.base_url,
                "endpoints": ["/v1/realtime", "/v1/realtime/client_secrets", "/v1/realtime/calls"],
            },
        )

    async def _health(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse(200, b"ok", "text/plain")


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _fault_spec(faults: Faults) -> str:
    base = Faults()
    parts = []
    for name in faults.__dataclass_fields__:
        value = getattr(faults, name)
        if value != getattr(base, name):
            parts.append(f"{name}:{value:g}" if isinstance(value, float) else f"{name}:{value}")
    return ",".join(parts)


def _check_defaults(defaults: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not defaults:
        return None
    try:
        checked = validate_session({"type": "realtime", **defaults})
    except ProtocolError as error:
        raise ValueError(f"Invalid session_defaults: {error.message}") from None
    checked.pop("type", None)
    return checked
