"""The ``WS /v1/realtime`` surface: auth at the upgrade, one session per connection, faults.

Query parameters: ``model`` (default ``gpt-realtime``) or ``call_id`` (a call registered with
:meth:`Emulator.register_call`, e.g. by the SIP or WebRTC surfaces), never both;
``fault=…`` (see :mod:`.faults`); ``max_session_seconds=…`` (overrides the emulator's limit for
this connection). Beta clients (``OpenAI-Beta: realtime=v1`` header or the
``openai-beta.realtime-v1`` subprotocol) get the real "API version mismatch" ``error`` event
and the socket is closed with 1008.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import orjson
from websockets.exceptions import ConnectionClosed

from realtime_transport_emulator.faults import Faults, faults_for
from realtime_transport_emulator.net.auth import (
    BETA_SUBPROTOCOL,
    AuthFailure,
    Credentials,
    offered_subprotocols,
)
from realtime_transport_emulator.net.httpserver import (
    HttpRequest,
    HttpResponse,
    WebSocketPlan,
    set_linger_zero,
)
from realtime_transport_emulator.net.wsconn import WebSocket
from realtime_transport_emulator.records import ConnectionRecord
from realtime_transport_emulator.session import errors
from realtime_transport_emulator.session.config import DEFAULT_MODEL, default_session
from realtime_transport_emulator.session.errors import ProtocolError
from realtime_transport_emulator.session.ids import IdFactory
from realtime_transport_emulator.session.session import RealtimeSession, SinkClosed

if TYPE_CHECKING:
    from realtime_transport_emulator.server import Emulator

logger = logging.getLogger("realtime_transport_emulator")

MALFORMED_FRAME = '{"type": "response.output_audio.delta", "delta": "AAAA'
SESSION_EXPIRED_CLOSE = 1000
BETA_CLOSE = 1008


class CallMedia(Protocol):
    """A call whose audio rides outside the socket (SIP): it builds the session of each socket
    attached with ``?call_id=`` and learns when the socket comes and goes (``hang_up`` drops it
    without a close frame, as a real hang-up does)."""

    def new_session(self, **kwargs: Any) -> RealtimeSession: ...

    def attached(self, session: RealtimeSession, hang_up: Callable[[], None]) -> None: ...

    def detached(self, session: RealtimeSession) -> None: ...


@dataclass(frozen=True)
class _Plan:
    index: int
    credentials: Credentials
    model: str | None
    call_id: str | None
    faults: Faults
    max_session_seconds: float | None
    beta: bool
    subprotocol: str | None
    query: dict[str, str]
    path: str


def install(emulator: Emulator) -> None:
    """Register ``/v1/realtime`` on the emulator's router."""
    surface = RealtimeSurface(emulator)
    emulator.router.websocket("/v1/realtime", surface.accept)
    emulator.add_stop_hook(surface.abort_stuck)


class RealtimeSurface:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.connections: set[_Connection] = set()

    async def abort_stuck(self) -> None:
        """At shutdown, reset connections that stopped reading (they cannot close cleanly)."""
        for connection in list(self.connections):
            if connection.reading_paused:
                connection.ws.abort()

    async def accept(self, request: HttpRequest) -> WebSocketPlan | HttpResponse:
        emulator = self.emulator
        try:
            credentials = emulator.auth.authenticate(request.headers)
        except AuthFailure as failure:
            logger.info("refused a WebSocket upgrade (HTTP %s)", failure.status)
            return HttpResponse.json(failure.status, failure.body)
        model = request.query_value("model")
        call_id = request.query_value("call_id")
        if model and call_id:
            return HttpResponse.error(
                400,
                "Use either 'model' (new session) or 'call_id' (attach to a call), not both.",
                code="invalid_value",
                param="call_id",
            )
        if call_id is not None and call_id not in emulator.calls:
            return HttpResponse.error(
                404, f"Call '{call_id}' not found.", code="call_not_found", param="call_id"
            )
        if request.query_value("intent") == "transcription":
            return HttpResponse.error(
                400,
                "Transcription sessions (intent=transcription) are not emulated.",
                code="invalid_value",
                param="intent",
            )
        try:
            query_faults = Faults.parse(request.query.get("fault", []))
        except ValueError as exc:
            return HttpResponse.error(400, str(exc), code="invalid_value", param="fault")
        limit = emulator.max_session_seconds
        raw_limit = request.query_value("max_session_seconds")
        if raw_limit is not None:
            try:
                limit = float(raw_limit)
                if limit <= 0:
                    raise ValueError
            except ValueError:
                return HttpResponse.error(
                    400,
                    f"max_session_seconds must be a positive number, got {raw_limit!r}.",
                    code="invalid_value",
                    param="max_session_seconds",
                )
        offered = offered_subprotocols(request.headers)
        beta = BETA_SUBPROTOCOL in offered or "realtime=v1" in (request.header("OpenAI-Beta") or "")
        index = emulator._next_index()
        plan = _Plan(
            index=index,
            credentials=credentials,
            model=model,
            call_id=call_id,
            faults=faults_for(emulator.faults, index).merged(query_faults),
            max_session_seconds=limit,
            beta=beta,
            subprotocol="realtime" if "realtime" in offered else None,
            query={k: v[-1] for k, v in request.query.items() if k != "fault"},
            path=request.path,
        )

        async def handler(ws: WebSocket) -> None:
            await self.serve(ws, plan)

        return WebSocketPlan(handler, plan.subprotocol)

    def _initial_session(self, plan: _Plan, ids: IdFactory) -> dict[str, Any]:
        emulator = self.emulator
        session_id = ids.new("sess")
        limit = plan.max_session_seconds or 3600
        expires_at = int(emulator.clock() + limit)
        if plan.call_id is not None:
            base = dict(emulator.calls[plan.call_id])
            return {**base, "id": session_id, "expires_at": expires_at}
        if plan.credentials.ephemeral is not None:
            base = dict(plan.credentials.ephemeral.session)
            return {**base, "id": session_id, "expires_at": expires_at}
        return default_session(
            session_id=session_id,
            model=plan.model or DEFAULT_MODEL,
            expires_at=expires_at,
            overrides=emulator.session_defaults,
        )

    async def serve(self, ws: WebSocket, plan: _Plan) -> None:
        emulator = self.emulator
        ids = IdFactory(f"{emulator.seed}/{plan.index}")
        config = self._initial_session(plan, ids)
        record = ConnectionRecord(
            index=plan.index,
            path=plan.path,
            query=plan.query,
            model=str(config.get("model")),
            call_id=plan.call_id,
            auth=plan.credentials.kind,
            auth_via=plan.credentials.via,
            subprotocol=ws.subprotocol,
            faults=plan.faults,
            session_id=str(config["id"]),
            max_events=emulator.max_recorded_events,
            record_audio=emulator.record_audio,
            on_change=emulator._notify,
        )
        emulator._add_record(record)
        connection = _Connection(ws, record, plan.faults)
        media = emulator.call_media.get(plan.call_id) if plan.call_id else None
        session = (media.new_session if media is not None else RealtimeSession)(
            config=config,
            ids=ids,
            script=emulator.script,
            send=connection.send_event,
            options=emulator.session_options(plan.faults),
        )
        self.connections.add(connection)
        logger.info("connection %d opened (model %s)", plan.index, record.model)
        timer: asyncio.Task[None] | None = None
        try:
            await connection.after_sent()
            if plan.beta:
                await session.send_error(errors.api_version_mismatch())
                await ws.close(BETA_CLOSE, "API version mismatch")
                return
            await session.start()
            if media is not None:
                media.attached(session, ws.transport.close)  # no close frame: a hang-up
            if plan.max_session_seconds:
                timer = asyncio.get_running_loop().create_task(
                    self._expire(ws, session, plan.max_session_seconds)
                )
            await connection.read_loop(session)
        except SinkClosed:
            pass
        finally:
            if timer is not None:
                timer.cancel()
            await session.close()
            if media is not None:
                media.detached(session)
            if connection.reading_paused:
                await ws.wait_closed()
            self.connections.discard(connection)
            record.mark_closed(ws.close_code, ws.close_reason)
            logger.info("connection %d closed (code %s)", plan.index, ws.close_code)

    async def _expire(self, ws: WebSocket, session: RealtimeSession, limit: float) -> None:
        await asyncio.sleep(limit)
        try:
            await session.expire(limit)
        except SinkClosed:
            return
        await ws.close(SESSION_EXPIRED_CLOSE, "session expired")


class _Connection:
    """The server side of one socket: ordered sends, recording, fault injection."""

    def __init__(self, ws: WebSocket, record: ConnectionRecord, faults: Faults) -> None:
        self.ws = ws
        self.record = record
        self.faults = faults
        self.sent = 0
        self.received = 0
        self.dead = False
        self.reading_paused = False
        self._lock = asyncio.Lock()

    async def send_event(self, event: dict[str, Any]) -> None:
        async with self._lock:
            if self.dead:
                raise SinkClosed()
            if self.faults.delay_ms:
                await asyncio.sleep(self.faults.delay_ms / 1000)
            await self._send_text(orjson.dumps(event))
            self.sent += 1
            self.record.add_server(event)
            await self.after_sent()

    async def _send_text(self, text: str | bytes) -> None:
        try:
            await self.ws.send(text)
        except ConnectionClosed:
            self.dead = True
            raise SinkClosed() from None

    async def after_sent(self) -> None:
        """Apply the faults due after ``self.sent`` server events (also called with 0)."""
        faults, count = self.faults, self.sent
        if faults.malformed_after == count:
            await self._inject(MALFORMED_FRAME)
        if faults.unknown_after == count:
            frame = {
                "type": "emulator.fault.unknown_event",
                "event_id": f"event_fault_unknown_{count}",
                "detail": "An event type this client does not know (fault injection).",
            }
            await self._inject(json.dumps(frame))
        if faults.reset_after == count:
            await self._reset()
        if faults.close_after == count:
            self.dead = True
            await self.ws.close(faults.close_code, "emulator fault: close_after")
            raise SinkClosed()

    async def _inject(self, frame: str) -> None:
        if self.faults.delay_ms:
            await asyncio.sleep(self.faults.delay_ms / 1000)
        await self._send_text(frame)
        self.record.injected_frames.append(frame)
        self.record.on_change()

    async def _reset(self) -> None:
        self.dead = True
        transport = self.ws.transport
        deadline = time.monotonic() + 1.0
        while transport.get_write_buffer_size() and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        set_linger_zero(transport)
        transport.abort()
        raise SinkClosed()

    async def read_loop(self, session: RealtimeSession) -> None:
        stop_after = self.faults.stop_reading_after
        while True:
            if stop_after is not None and self.received >= stop_after:
                self.reading_paused = True
                self.ws.stop_reading()
                await self.ws.wait_closed()
                return
            try:
                message = await self.ws.recv()
            except ConnectionClosed:
                return
            if isinstance(message, bytes):
                self.record.add_invalid(f"<binary frame of {len(message)} bytes>")
                await session.send_error(
                    ProtocolError(
                        "Binary frames are not supported; send each client event as a JSON "
                        "text frame.",
                        code="invalid_value",
                    )
                )
                continue
            try:
                event = orjson.loads(message)
            except orjson.JSONDecodeError as exc:  # a json.JSONDecodeError (msg, pos)
                self.record.add_invalid(message)
                await session.send_error(
                    ProtocolError(
                        f"We could not parse the JSON of your event: {exc.msg} at position "
                        f"{exc.pos}. Send one JSON object per text frame.",
                        code="invalid_json",
                    )
                )
                continue
            self.received += 1
            self.record.add_client(event if isinstance(event, dict) else {"type": None})
            await session.handle(event)
