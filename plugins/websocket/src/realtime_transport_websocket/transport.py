"""``OpenAIRealtimeWebSocket``: the Realtime API over one WebSocket, audio as events."""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import ssl as ssl_module
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from realtime_transport import __version__
from realtime_transport.errors import (
    ConnectTimeoutError,
    RealtimeTransportError,
    TransportConnectionError,
    UserError,
    redact,
    redacted_cause,
)
from realtime_transport.events import AudioEvent, AudioInterruptedEvent, ErrorEvent
from realtime_transport.openai import OpenAIRealtimeBase, PlaybackTracker
from realtime_transport.openai.base import TypedEvents
from realtime_transport.transport import (
    ApiKey,
    SessionConfigLike,
    TransportCapabilities,
    config_as_dict,
    resolve_api_key,
)

from .socket import AdaptedWebSocket, FastWebSocket, RealtimeSocket, wire_log_for

logger = logging.getLogger("realtime_transport.websocket")

DEFAULT_URL = "wss://api.openai.com/v1/realtime"

#: ``create_websocket(url, headers)`` returns (an awaitable of) any websockets-style socket.
CreateWebSocket = Callable[[str, dict[str, str]], Awaitable[Any]]


class OpenAIRealtimeWebSocket(OpenAIRealtimeBase):
    """OpenAI Realtime over a WebSocket.

    ``connect()`` returns once the socket is open and the initial ``session.update`` is sent (the
    ``session.updated`` echo may come later). Caller audio goes in with ``send_audio`` (PCM16
    24 kHz unless the session says otherwise); model audio comes out as ``audio`` events.
    ``interrupt()`` cancels the response and truncates the assistant item at what was heard:
    the wall-clock time since its first chunk, or what the app reported with
    :meth:`report_playback_position`, clamped to the audio received.
    """

    __slots__ = (
        "_attempt",
        "_audio_done_item",
        "_backpressure_reported",
        "_close_timeout",
        "_connection_token",
        "_create_websocket",
        "_extra_headers",
        "_max_size",
        "_max_write_buffer",
        "_open_task",
        "_open_timeout",
        "_opening",
        "_ping_interval",
        "_ping_timeout",
        "_playback",
        "_proxy",
        "_secret",
        "_setup_failure",
        "_skip_open",
        "_socket",
        "_ssl",
        "_url",
    )

    capabilities = TransportCapabilities(
        sends_audio=True,
        receives_audio_events=True,
        client_side_truncation=True,
        supports_call_id=True,
    )

    def __init__(
        self,
        *,
        model: str | None = None,
        api_key: ApiKey | None = None,
        url: str | None = None,
        headers: Mapping[str, str] | None = None,
        create_websocket: CreateWebSocket | None = None,
        skip_open_event_listeners: bool = False,
        proxy: str | bool | None = None,
        ssl: ssl_module.SSLContext | None = None,
        open_timeout: float = 10.0,
        close_timeout: float = 5.0,
        max_size: int | None = None,
        ping_interval: float | None = 20.0,
        ping_timeout: float | None = 20.0,
        max_write_buffer: int = 4 * 1024 * 1024,
        typed_events: TypedEvents = "model",
        pinned_audio_format: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(
            model=model,
            api_key=api_key,
            typed_events=typed_events,
            pinned_audio_format=pinned_audio_format,
        )
        _check_numbers(
            open_timeout=(open_timeout, False),
            close_timeout=(close_timeout, False),
            ping_interval=(ping_interval, True),
            ping_timeout=(ping_timeout, True),
            max_size=(max_size, True),
            max_write_buffer=(max_write_buffer, False),
        )
        if open_timeout <= 0 or close_timeout <= 0:
            raise UserError("open_timeout and close_timeout must be positive numbers of seconds")
        if create_websocket is not None and not callable(create_websocket):
            raise UserError("create_websocket must be a callable (url, headers) -> socket")
        self._url = url
        self._extra_headers = dict(headers or {})
        self._create_websocket = create_websocket
        self._skip_open = skip_open_event_listeners
        self._proxy = proxy
        self._ssl = ssl
        self._open_timeout = open_timeout
        self._close_timeout = close_timeout
        self._max_size = max_size
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout
        self._max_write_buffer = max_write_buffer
        self._socket: RealtimeSocket | None = None
        self._opening: RealtimeSocket | None = None
        self._open_task: asyncio.Future[RealtimeSocket] | None = None
        self._attempt: object | None = None
        self._secret: str | None = None
        self._connection_token: object | None = None
        self._playback = PlaybackTracker()
        self._audio_done_item: str | None = None
        self._setup_failure: tuple[int | None, str, BaseException | None] | None = None
        self._backpressure_reported = False

    # -- connection --------------------------------------------------------------------------

    @property
    def connection_state(self) -> dict[str, Any]:
        return {"status": self._status, "websocket": self._socket}

    async def connect(
        self,
        *,
        api_key: ApiKey | None = None,
        model: str | None = None,
        url: str | None = None,
        call_id: str | None = None,
        initial_session_config: SessionConfigLike | None = None,
    ) -> None:
        """Open the socket and send the initial ``session.update``.

        Raises a :class:`TransportConnectionError` (or a subclass) whenever the transport is
        not connected when it would return: ``close()`` called meanwhile (also from a
        ``connected`` listener), or the socket lost while the initial update was written.
        The error chains the original exception (``__cause__``) with any secret redacted.
        """
        if self._attempt is not None or self._status != "disconnected":
            raise UserError(
                "this transport is already connected or connecting; close() it first or use "
                "another transport instance"
            )
        if model and call_id:
            raise UserError("pass model or call_id, not both: an attached call keeps its model")
        attempt = object()
        self._attempt = attempt
        self._setup_failure = None
        snapshot = (self.current_model, self._url)
        try:
            await self._connect_attempt(
                attempt, api_key, model, url, call_id, initial_session_config
            )
            return
        except asyncio.CancelledError:
            await self._abandon(attempt, snapshot)
            raise
        except Exception as exc:
            await self._abandon(attempt, snapshot)
            error, cause = self._connect_error(exc)
        except BaseException:
            await self._abandon(attempt, snapshot)
            raise
        finally:
            if self._attempt is attempt:
                self._attempt = None
        # Raised outside the except block so the unredacted original is not __context__ either.
        if error is cause:
            raise error
        raise error from cause

    async def _connect_attempt(
        self,
        attempt: object,
        api_key: ApiKey | None,
        model: str | None,
        url: str | None,
        call_id: str | None,
        initial_session_config: SessionConfigLike | None,
    ) -> None:
        self.current_model = model or self.current_model
        key = await resolve_api_key(api_key if api_key is not None else self._api_key)
        key = key or os.environ.get("OPENAI_API_KEY")
        if not key:
            raise UserError(
                "no API key: pass api_key=... (a string or a callable returning one) or set "
                "OPENAI_API_KEY. Run `realtime-transport emulator` to work without one."
            )
        self._secret = key
        self._check_attempt(attempt)
        if url:
            self._url = url
        target = _endpoint(self._url or DEFAULT_URL, self.current_model, call_id)
        self._initial_config = config_as_dict(initial_session_config)
        self._set_status("connecting")
        socket = await self._open(target, key)
        if self._attempt is not attempt:
            await socket.close()
            raise TransportConnectionError(
                "the transport was closed before the connection was ready"
            )
        self._socket = socket
        self._opening = None
        self._set_status("connected")
        self._check_attempt(attempt)
        self._send_initial_session_update()
        socket.start()
        # Let the initial update reach the network (and listeners of 'connected' run), then
        # make sure the connection is still there before reporting success.
        await asyncio.wait_for(socket.drain(), self._open_timeout)
        self._check_attempt(attempt)
        failure = self._setup_failure
        if failure is not None or self._socket is not socket:
            code, reason, exc = failure or (None, "", None)
            detail = f"code {code}" if code is not None else "no close code"
            if reason:
                detail += f", {reason}"
            if exc is not None:
                detail += f", {type(exc).__name__}: {exc}"
            error = TransportConnectionError(
                f"the connection was lost while the session was being set up ({detail}); "
                "call connect() again"
            )
            raise error from exc

    def _connect_error(self, exc: Exception) -> tuple[Exception, BaseException]:
        """The typed, redacted error ``connect()`` raises for ``exc``, and the cause to chain."""
        secret = self._secret
        if isinstance(exc, asyncio.TimeoutError) and not isinstance(exc, RealtimeTransportError):
            return (
                ConnectTimeoutError(
                    f"the WebSocket did not open within {self._open_timeout:g} s; check the URL "
                    "and the network, or raise open_timeout"
                ),
                exc,
            )
        if isinstance(exc, RealtimeTransportError):
            message = redact(str(exc), secret)
            if message == str(exc):
                return exc, exc
            cause = exc.__cause__
            redacted = type(exc)(message)
            redacted.__dict__.update(exc.__dict__)  # typed details (e.g. an HTTP status) stay
            return redacted, redacted_cause(cause, secret) if cause is not None else redacted
        return (
            TransportConnectionError(
                f"connecting failed: {type(exc).__name__}: {redact(str(exc), secret)}"
            ),
            redacted_cause(exc, secret),
        )

    def _check_attempt(self, attempt: object) -> None:
        if self._attempt is not attempt:
            raise TransportConnectionError(
                "the transport was closed before setup completed; call connect() again"
            )

    async def _open(self, url: str, key: str) -> RealtimeSocket:
        headers = {
            "Authorization": f"Bearer {key}",
            "User-Agent": f"realtime-transport/{__version__} (Python)",
            "X-Realtime-Transport": __version__,
            **self._extra_headers,
        }
        if self._create_websocket is not None:
            return await self._opening_step(self._open_custom(url, headers))
        if self._proxy:
            return await self._opening_step(self._open_via_proxy(url, headers))

        def register(socket: FastWebSocket) -> None:
            self._opening = socket

        return await asyncio.wait_for(
            FastWebSocket.open(
                url,
                headers,
                self._handle_frame,
                self._socket_closed_callback(),
                ssl=self._ssl,
                register=register,
                max_size=self._max_size,
                close_timeout=self._close_timeout,
                ping_interval=self._ping_interval,
                ping_timeout=self._ping_timeout,
                wire_log=wire_log_for(not self.log_policy.model_data),
            ),
            self._open_timeout,
        )

    async def _opening_step(self, opening: Coroutine[Any, Any, RealtimeSocket]) -> RealtimeSocket:
        """Run a hook or proxy open under ``open_timeout``, cancellable by :meth:`close`.

        Before the hook returns there is no socket for ``close()`` to close, so ``close()``
        cancels this step instead and ``connect()`` fails at once rather than at the timeout.
        """
        task = asyncio.ensure_future(asyncio.wait_for(opening, self._open_timeout))
        self._open_task = task
        try:
            return await task
        except asyncio.CancelledError:
            if task.cancelled() and self._open_task is None:  # close() cancelled it
                raise TransportConnectionError(
                    "the transport was closed before the connection was ready"
                ) from None
            task.cancel()
            raise
        finally:
            if self._open_task is task:
                self._open_task = None

    async def _open_custom(self, url: str, headers: dict[str, str]) -> RealtimeSocket:
        assert self._create_websocket is not None
        raw = self._create_websocket(url, dict(headers))
        if inspect.isawaitable(raw):
            raw = await raw
        if isinstance(raw, RealtimeSocket):
            return raw
        opened = getattr(raw, "opened", None)
        if not self._skip_open and opened is not None and inspect.isawaitable(opened):
            await opened  # a socket that signals "open" later: wait for it
        socket = AdaptedWebSocket(
            raw,
            self._handle_frame,
            self._socket_closed_callback(),
            close_timeout=self._close_timeout,
        )
        self._opening = socket
        return socket

    async def _open_via_proxy(self, url: str, headers: dict[str, str]) -> RealtimeSocket:
        from websockets.asyncio.client import connect

        proxy: str | Literal[True] = True if self._proxy is True else str(self._proxy)
        raw = await connect(
            url,
            additional_headers=headers,
            proxy=proxy,
            max_size=self._max_size,
            ping_interval=self._ping_interval,
            ping_timeout=self._ping_timeout,
            close_timeout=self._close_timeout,
            ssl=self._ssl if url.startswith("wss:") else None,
            compression=None,
            logger=wire_log_for(not self.log_policy.model_data),
        )
        socket = AdaptedWebSocket(
            raw,
            self._handle_frame,
            self._socket_closed_callback(),
            close_timeout=self._close_timeout,
        )
        self._opening = socket
        return socket

    def _socket_closed_callback(self) -> Callable[[int | None, str, BaseException | None], None]:
        token = object()
        self._connection_token = token

        def closed(code: int | None, reason: str, exc: BaseException | None) -> None:
            # A socket still opening reports through connect(); a socket of an older
            # connection is ignored.
            if self._socket is None or self._connection_token is not token:
                return
            if self._attempt is not None:  # lost during setup: connect() raises instead
                self._setup_failure = (code, reason, exc)
                return
            self._connection_lost(code, reason, exc)

        return closed

    def _connection_lost(self, code: int | None, reason: str, exc: BaseException | None) -> None:
        if self._status == "disconnected":
            return
        self._socket = None
        self._opening = None
        self._reset_connection_state()
        error, message = self._describe_loss(code, reason, exc)
        if error is not None:
            self.emit(
                "error",
                ErrorEvent(
                    message=redact(error, self._secret),
                    source="transport",
                    code="connection_lost",
                    error=exc,
                ),
            )
        self._set_status(
            "disconnected",
            redact(message, self._secret),
            call_ended=self._call_ended(code, exc),
        )

    def _call_ended(self, code: int | None, exc: BaseException | None) -> bool | None:
        """Whether the loss means the attached call ended (``ConnectionEvent.call_ended``).

        None here: a plain socket cannot tell a hang-up from a drop (SIP overrides it)."""
        return None

    def _describe_loss(
        self, code: int | None, reason: str, exc: BaseException | None
    ) -> tuple[str | None, str]:
        """The ``error`` message (None for a normal close) and the ``disconnected`` reason.

        A hook for transports where a dropped socket means something else (SIP: a hang-up).
        """
        description = f"code {code}" if code is not None else "no close code"
        if reason:
            description += f", reason {reason!r}"
        if exc is not None:
            description += f", {type(exc).__name__}: {exc}"
        message = f"the server closed the connection ({description})"
        if code in (1000, 1001) and exc is None:
            return None, message
        if code == 1009:
            description += (
                f"; the server sent a message over max_size={self._max_size} bytes: raise "
                "max_size (None for no limit)"
            )
        return f"connection lost ({description}); call connect() again to reconnect", message

    async def _abandon(self, attempt: object, snapshot: tuple[str, str | None]) -> None:
        """Undo a failed attempt: its model and URL do not stick (also when ``close()`` ended
        it), its socket is closed. A newer attempt started meanwhile is left alone."""
        if self._attempt is not attempt and self._attempt is not None:
            return
        self.current_model, self._url = snapshot
        socket = self._socket or self._opening
        self._socket = None
        self._opening = None
        self._reset_connection_state()
        if socket is not None:
            try:
                await socket.close()
            except Exception as exc:
                self._report_close_failure(exc)
        if self._attempt is attempt or self._attempt is None:
            self._set_status("disconnected", "connect failed")

    async def close(self) -> None:
        """Close the socket; async listeners still running are cancelled, ``events()`` ends.

        A socket whose own close fails is reported as an ``error`` event (``close_failed``);
        ``close()`` itself does not raise for it."""
        self._mark_closed()
        running = self._running_listener_tasks()
        self._attempt = None
        opening, self._open_task = self._open_task, None
        if opening is not None and not opening.done():
            opening.cancel()  # a create_websocket hook or proxy still opening: stop it now
        socket = self._socket or self._opening
        self._socket = None
        self._opening = None
        self._reset_connection_state()
        if self._status != "disconnected":
            self._set_status("disconnected", "closed by the client")
        if socket is not None:
            try:
                await socket.close()
            except Exception as exc:
                self._report_close_failure(exc)
        await self._cancel_listener_tasks(running)

    def _report_close_failure(self, exc: Exception) -> None:
        self.emit(
            "error",
            ErrorEvent(
                message=redact(
                    f"closing the socket failed: {type(exc).__name__}: {exc}; the connection "
                    "was dropped",
                    self._secret,
                ),
                source="transport",
                code="close_failed",
                error=redacted_cause(exc, self._secret),
            ),
        )

    def _reset_connection_state(self) -> None:
        super()._reset_connection_state()
        self._playback.reset()
        self._audio_done_item = None

    # -- outbound ----------------------------------------------------------------------------

    def _send_bytes(self, data: bytes) -> None:
        socket = self._socket
        if socket is None:
            from realtime_transport.errors import TransportNotConnectedError

            raise TransportNotConnectedError(
                "the WebSocket is not connected; await connect() before sending"
            )
        socket.send_text(data)

    def send_audio(self, data: bytes, *, commit: bool = False) -> None:
        if self._status != "connected" and not self._audio_may_go():
            return
        socket = self._socket
        if socket is not None and socket.buffered_amount() > self._max_write_buffer:
            # The network cannot keep up: drop caller audio rather than grow memory.
            self.dropped_audio_chunks += 1
            if not self._backpressure_reported:
                self._backpressure_reported = True
                self.emit(
                    "error",
                    ErrorEvent(
                        message=f"the connection is not draining (over {self._max_write_buffer} "
                        "bytes buffered); dropping caller audio until it catches up",
                        source="transport",
                        code="send_backpressure",
                    ),
                )
            return
        self._backpressure_reported = False
        super().send_audio(data, commit=commit)

    # -- audio and interruption --------------------------------------------------------------

    def report_playback_position(self, played_ms: float) -> None:
        """Tell the transport how much of the current assistant item was really played.

        Apps with their own audio output call this (e.g. from the output callback) so that an
        interruption truncates at what the user heard instead of the wall clock.
        """
        self._playback.report(played_ms)

    @property
    def playback(self) -> PlaybackTracker:
        """Current playback bookkeeping (read-only use)."""
        return self._playback

    def _on_audio(self, audio: bytes, item_id: str, content_index: int, response_id: str) -> None:
        playback = self._playback
        if item_id != playback.item_id:
            self._audio_done_item = None
        playback.on_audio(
            item_id, content_index, response_id, len(audio) / self._output_bytes_per_ms
        )
        if "audio" in self._listeners:  # no per-chunk event object nobody asked for
            self.emit("audio", AudioEvent(audio, response_id, item_id, content_index))

    def _on_audio_done(self, data: dict[str, Any]) -> None:
        super()._on_audio_done(data)
        self._audio_done_item = data.get("item_id") or self._playback.item_id

    def _on_speech_started(self, data: dict[str, Any]) -> None:
        self.interrupt(cancel_ongoing_response=not self._server_interrupts_itself())

    def interrupt(self, *, cancel_ongoing_response: bool = True) -> None:
        """Cancel the response (if one is running) and truncate what was not heard.

        Wire order: ``response.cancel`` then ``conversation.item.truncate``; ``audio_interrupted``
        is emitted before the truncate goes out. A second call is a no-op. Differs from the JS
        SDK: an interrupt before the first audio chunk still cancels the response, and after
        ``output_audio.done`` it still truncates while received audio is left unplayed.
        """
        if self._status != "connected":
            return
        if cancel_ongoing_response and self._sequencer.begin_cancel():
            self._send_json({"type": "response.cancel"})
        playback = self._playback
        if not playback.active:
            return
        still_streaming = self._audio_done_item != playback.item_id
        if not (still_streaming or playback.has_unheard_audio()):
            playback.reset()
            return
        audio_end_ms = playback.position_ms()
        item_id = playback.item_id or ""
        if playback.response_id:
            self._discarded_responses = [*self._discarded_responses[-15:], playback.response_id]
        self.emit("audio_interrupted", AudioInterruptedEvent(item_id, audio_end_ms))
        self._send_json(
            {
                "type": "conversation.item.truncate",
                "item_id": item_id,
                "content_index": playback.content_index,
                "audio_end_ms": audio_end_ms,
            }
        )
        playback.reset()
        self._audio_done_item = None


def _check_numbers(**options: tuple[object, bool]) -> None:
    """Each option must be a real number (or None where that is allowed): ``"5"`` is a typo
    for ``5``, said as a :class:`UserError` instead of a ``TypeError`` deep inside."""
    for name, (value, optional) in options.items():
        if value is None and optional:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            expected = "a number" + (" or None" if optional else "")
            raise UserError(f"{name} must be {expected}, got {value!r} ({type(value).__name__})")


def _endpoint(base: str, model: str, call_id: str | None) -> str:
    """Add ``model=`` (or ``call_id=``) to a base URL that has neither."""
    scheme, netloc, path, query, fragment = urlsplit(base)
    if scheme in ("http", "https"):
        scheme = "ws" if scheme == "http" else "wss"
    if scheme not in ("ws", "wss"):
        raise UserError(f"the URL must start with wss:// or ws:// (got {scheme or 'nothing'}://)")
    params = dict(parse_qsl(query))
    if call_id:
        params.pop("model", None)
        params["call_id"] = call_id
    elif "model" not in params and "call_id" not in params:
        params["model"] = model
    return urlunsplit((scheme, netloc, path, urlencode(params), fragment))
