"""``OpenAIRealtimeWebRTC``: the Realtime API over an aiortc peer connection.

Events ride the ``oai-events`` data channel (the same mapping as every OpenAI transport, from
:class:`OpenAIRealtimeBase`); caller audio is an Opus track and the model's voice comes back on
the answer's track, so the server owns playback: ``interrupt()`` sends ``response.cancel`` (when
a response is running) and always ``output_audio_buffer.clear``, and ``audio_interrupted`` is
emitted when the server reports ``output_audio_buffer.cleared``.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any

from realtime_transport.errors import (
    ConnectTimeoutError,
    RealtimeTransportError,
    TransportNotConnectedError,
    UserError,
    redact,
)
from realtime_transport.events import AudioEvent, AudioInterruptedEvent, ErrorEvent
from realtime_transport.openai import OpenAIRealtimeBase
from realtime_transport.openai.base import TypedEvents
from realtime_transport.transport import (
    ApiKey,
    SessionConfigLike,
    TransportCapabilities,
    config_as_dict,
    resolve_api_key,
)

from . import signaling
from .errors import ConnectStep, WebRTCConnectError
from .local import LocalAudio, LocalMedia, resolve
from .media import AudioSink, MuteGate, PcmInputTrack, RemoteAudioReader, sink_writer

logger = logging.getLogger("realtime_transport.webrtc")

DEFAULT_BASE_URL = "https://api.openai.com/v1"
CHANNEL_LABEL = "oai-events"
DISCONNECTED_GRACE_SECONDS = 5.0

#: ``change_peer_connection(pc)`` returns (an awaitable of) the connection to use, or None.
ChangePeerConnection = Callable[[Any], Any]


class OpenAIRealtimeWebRTC(OpenAIRealtimeBase):
    """OpenAI Realtime over WebRTC (aiortc): Opus media plus the ``oai-events`` data channel.

    ``connect()`` posts the SDP offer to ``{base_url}/realtime/calls`` (an ``ek_`` key as
    ``application/sdp``; a standard key in the unified multipart flow with the session), applies
    the answer, waits for the data channel, sends the initial ``session.update`` and returns
    once ``session.updated`` acknowledges it (or after ``session_updated_timeout`` with a
    warning). Caller audio: ``send_audio`` (PCM16 24 kHz) feeds the transport's own track,
    unless ``media_track`` or ``local_audio`` supplies one. Model audio: ``audio_sink`` (PCM16 at
    ``output_sample_rate``, a steady real-time stream), else ``audio`` events while the server
    plays a response.
    """

    __slots__ = (
        "_attempt",
        "_audio_sink",
        "_base_url",
        "_call_id",
        "_cancel_allowed",
        "_change_peer_connection",
        "_channel",
        "_connect_timeout",
        "_current_item",
        "_grace",
        "_headers",
        "_ice_servers",
        "_input",
        "_local",
        "_local_spec",
        "_media_track",
        "_muted",
        "_owned_track",
        "_pc",
        "_playing",
        "_playing_since",
        "_reader",
        "_request",
        "_secret",
        "_session_updated",
        "_session_updated_timeout",
        "_tasks",
        "_url",
        "output_sample_rate",
    )

    capabilities = TransportCapabilities(
        sends_audio=True,
        receives_audio_events=False,
        owns_media=True,
        client_side_truncation=False,
        supports_mute=True,
        supports_call_id=False,
    )

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _with_buffer_handlers(cls)

    def __init__(
        self,
        *,
        model: str | None = None,
        api_key: ApiKey | None = None,
        base_url: str | None = None,
        media_track: Any = None,
        audio_sink: AudioSink | None = None,
        output_sample_rate: int = 24000,
        change_peer_connection: ChangePeerConnection | None = None,
        ice_servers: Sequence[Any] | None = None,
        local_audio: bool | LocalAudio = False,
        connect_timeout: float = 20.0,
        session_updated_timeout: float = 5.0,
        headers: Mapping[str, str] | None = None,
        typed_events: TypedEvents = "model",
    ) -> None:
        super().__init__(model=model, api_key=api_key, typed_events=typed_events)
        if output_sample_rate not in (8000, 16000, 24000, 48000):
            raise UserError("output_sample_rate must be 8000, 16000, 24000 or 48000")
        if connect_timeout <= 0 or session_updated_timeout <= 0:
            raise UserError("connect_timeout and session_updated_timeout must be positive seconds")
        if change_peer_connection is not None and not callable(change_peer_connection):
            raise UserError("change_peer_connection must be a callable taking the peer connection")
        self._local_spec = resolve(local_audio)
        if self._local_spec is not None and (media_track is not None or audio_sink is not None):
            raise UserError("local_audio owns the devices: do not pass media_track or audio_sink")
        if media_track is not None and getattr(media_track, "kind", None) != "audio":
            raise UserError("media_track must be an aiortc audio track (kind == 'audio')")
        if audio_sink is not None:
            sink_writer(audio_sink)  # validates early
        self._base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self._url: str | None = None
        self._media_track = media_track
        self._audio_sink = audio_sink
        self.output_sample_rate = output_sample_rate
        self._change_peer_connection = change_peer_connection
        self._ice_servers = list(ice_servers) if ice_servers is not None else []
        self._connect_timeout = connect_timeout
        self._session_updated_timeout = session_updated_timeout
        self._headers = dict(headers or {})
        self._pc: Any = None
        self._channel: Any = None
        self._input: PcmInputTrack | MuteGate | None = None
        self._owned_track: Any = None
        self._local: LocalMedia | None = None
        self._reader: RemoteAudioReader | None = None
        self._request: asyncio.Future[signaling.Answer] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._attempt: object | None = None
        self._secret: str | None = None
        self._call_id: str | None = None
        self._session_updated: asyncio.Future[None] | None = None
        self._grace: asyncio.TimerHandle | None = None
        self._muted = False
        self._cancel_allowed = False
        self._playing: str | None = None
        self._playing_since = 0.0
        self._current_item = ""

    # -- state -------------------------------------------------------------------------------

    @property
    def call_id(self) -> str | None:
        """The call id from the answer's ``Location`` (None when not connected)."""
        return self._call_id

    @property
    def peer_connection(self) -> Any:
        return self._pc

    @property
    def connection_state(self) -> dict[str, Any]:
        return {
            "status": self._status,
            "peer_connection": self._pc,
            "data_channel": self._channel,
            "call_id": self._call_id,
        }

    @property
    def muted(self) -> bool:
        return self._muted

    # -- connect -----------------------------------------------------------------------------

    async def connect(
        self,
        *,
        api_key: ApiKey | None = None,
        model: str | None = None,
        url: str | None = None,
        call_id: str | None = None,
        initial_session_config: SessionConfigLike | None = None,
    ) -> None:
        """Connect; ``url`` overrides the calls endpoint (default ``{base_url}/realtime/calls``)."""
        if self._attempt is not None or self._status != "disconnected":
            raise UserError(
                "this transport is already connected or connecting; close() it first or use "
                "another transport instance"
            )
        if call_id is not None:
            raise UserError(
                "the webrtc transport starts its own call; to attach to a call, use the "
                "websocket transport with call_id"
            )
        attempt = object()
        self._attempt = attempt
        previous_model = self.current_model
        step: ConnectStep = "setup"
        try:
            self.current_model = model or self.current_model
            key = await resolve_api_key(api_key if api_key is not None else self._api_key)
            key = key or os.environ.get("OPENAI_API_KEY")
            if not key:
                raise UserError(
                    "no API key: pass api_key=... (an ek_ client secret or an API key, or a "
                    "callable returning one) or set OPENAI_API_KEY"
                )
            self._secret = key
            self._check_attempt(attempt)
            if url:
                self._url = url
            endpoint = self._url or f"{self._base_url}/realtime/calls"
            self._initial_config = config_as_dict(initial_session_config)
            self._set_status("connecting")
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self._connect_timeout
            await self._build_peer_connection(attempt)
            step = "offer"
            pc = self._pc
            await pc.setLocalDescription(await pc.createOffer())
            self._check_attempt(attempt)
            step = "call_request"
            session = None if signaling.is_ephemeral(key) else self._initial_payload()
            answer = await self._call_request(
                attempt,
                signaling.exchange(
                    endpoint,
                    key,
                    pc.localDescription.sdp,
                    session,
                    timeout=max(0.1, deadline - loop.time()),
                    headers=self._headers,
                ),
            )
            step = "answer"
            await self._apply_answer(answer.sdp)
            self._call_id = answer.call_id
            step = "ice"
            self._session_updated = loop.create_future()
            await self._wait_for_channel(attempt, deadline)
            await self._wait_for_ack(attempt)
            self._set_status("connected")
            await asyncio.sleep(0)  # a `connected` listener may have scheduled close()
            self._check_attempt(attempt)
        except BaseException as exc:
            if self._attempt is attempt:  # else close() already tore this attempt down
                await self._teardown(reason="connect failed")
                self.current_model = previous_model
            if isinstance(exc, asyncio.CancelledError):
                raise
            error = self._connect_error(exc, step)
            self.emit(
                "error",
                ErrorEvent(message=str(error), source="transport", code="connect_failed"),
            )
            raise error from None
        finally:
            if self._attempt is attempt:
                self._attempt = None

    async def _call_request(
        self, attempt: object, exchange: Coroutine[Any, Any, signaling.Answer]
    ) -> signaling.Answer:
        """The offer/answer POST, which :meth:`close` cancels (connect() fails at once instead
        of waiting for the endpoint until ``connect_timeout``)."""
        request = asyncio.ensure_future(exchange)
        self._request = request
        try:
            return await request
        except asyncio.CancelledError:
            if self._attempt is attempt:
                raise  # the caller cancelled connect()
        finally:
            if self._request is request:
                self._request = None
        self._check_attempt(attempt)  # close() cancelled the request: raises
        raise AssertionError("unreachable")

    def _initial_payload(self) -> dict[str, Any]:
        return self.build_session_payload(self._initial_config)

    def _check_attempt(self, attempt: object) -> None:
        if self._attempt is not attempt:
            raise WebRTCConnectError(
                "the transport was closed before setup completed; call connect() again",
                step="setup",
            )

    def _connect_error(self, exc: BaseException, step: ConnectStep) -> RealtimeTransportError:
        secret = self._secret
        if isinstance(exc, WebRTCConnectError):
            exc.args = (redact(str(exc), secret),)
            return exc
        if isinstance(exc, RealtimeTransportError):
            return type(exc)(redact(str(exc), secret))
        if isinstance(exc, asyncio.TimeoutError):
            return ConnectTimeoutError(redact(str(exc) or "connect timed out", secret))
        return WebRTCConnectError(
            f"connecting failed at step {step!r}: {type(exc).__name__}: {redact(str(exc), secret)}",
            step=step,
        )

    async def _build_peer_connection(self, attempt: object) -> None:
        from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection

        servers = [
            s if isinstance(s, RTCIceServer) else RTCIceServer(**dict(s)) for s in self._ice_servers
        ]
        pc: Any = RTCPeerConnection(RTCConfiguration(iceServers=servers))
        self._pc = pc
        if self._change_peer_connection is not None:
            changed = self._change_peer_connection(pc)
            if inspect.isawaitable(changed):
                changed = await changed
            if changed is not None and changed is not pc:
                await pc.close()
                pc = self._pc = changed
            self._check_attempt(attempt)
        channel = pc.createDataChannel(CHANNEL_LABEL)
        self._channel = channel
        channel.on("open", lambda: self._on_channel_open(channel))
        channel.on("message", self._on_channel_message)
        channel.on("close", lambda: self._on_transport_closed(pc, "the data channel closed"))
        pc.on("connectionstatechange", lambda: self._on_state(pc))
        pc.on("track", self._on_track)
        pc.addTrack(self._open_input())

    def _open_input(self) -> Any:
        if self._local_spec is not None:
            self._local = LocalMedia(self._local_spec)
            source = self._local.track
            if source is not None:
                self._owned_track = source
                gate = MuteGate(source)
                gate.muted = self._muted
                self._input = gate
                return gate
        if self._media_track is not None:
            gate = MuteGate(self._media_track)
            gate.muted = self._muted
            self._input = gate
            return gate
        track = PcmInputTrack()
        track.muted = self._muted
        self._input = self._owned_track = track
        return track

    async def _apply_answer(self, sdp: str) -> None:
        from aiortc import RTCSessionDescription

        try:
            await self._pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        except Exception as exc:
            raise WebRTCConnectError(
                f"the SDP answer could not be applied: {type(exc).__name__}: {exc}",
                step="answer",
            ) from None

    async def _wait_for_channel(self, attempt: object, deadline: float) -> None:
        """Until the data channel opens; ICE or DTLS failing (or the deadline) fails it."""
        loop = asyncio.get_running_loop()
        while True:
            self._check_attempt(attempt)  # first: close() clears the channel
            if self._channel.readyState == "open":
                return
            pc = self._pc
            if pc.iceConnectionState == "failed":
                raise WebRTCConnectError(
                    "ICE failed: no candidate pair connected to the server (check firewalls, or "
                    "pass ice_servers with a TURN server)",
                    step="ice",
                )
            if pc.connectionState == "failed":
                raise WebRTCConnectError(
                    "DTLS failed: the secure handshake did not complete", step="dtls"
                )
            if self._channel.readyState == "closed":
                raise WebRTCConnectError(
                    "the data channel closed before opening", step="data_channel"
                )
            if loop.time() >= deadline:
                raise ConnectTimeoutError(self._stuck_step_message())
            await asyncio.sleep(0.005)

    def _stuck_step_message(self) -> str:
        pc = self._pc
        if pc.iceConnectionState not in ("connected", "completed"):
            step = f"ICE never connected (state {pc.iceConnectionState!r})"
        elif pc.connectionState != "connected":
            step = f"DTLS never completed (state {pc.connectionState!r})"
        else:
            step = "the 'oai-events' data channel never opened"
        return f"WebRTC connect timed out after {self._connect_timeout:g} s: {step}"

    async def _wait_for_ack(self, attempt: object) -> None:
        future = self._session_updated
        assert future is not None
        try:
            await asyncio.wait_for(asyncio.shield(future), self._session_updated_timeout)
        except asyncio.TimeoutError:
            logger.warning(
                "no session.updated within %g s after the initial session.update; continuing",
                self._session_updated_timeout,
            )
        except asyncio.CancelledError:
            if self._attempt is attempt:
                raise  # the caller cancelled connect(); else close() cancelled the wait
        self._check_attempt(attempt)
        if self._channel is None or self._channel.readyState != "open":
            raise WebRTCConnectError(
                "the connection closed before the session config was acknowledged",
                step="data_channel",
            )

    # -- peer connection events --------------------------------------------------------------

    def _on_channel_open(self, channel: Any) -> None:
        """Send the initial ``session.update`` first, before any server event is handled."""
        if channel is self._channel:
            self._send_initial_session_update()

    def _on_state(self, pc: Any) -> None:
        if pc is not self._pc:
            return
        state = pc.connectionState
        if state == "connected" and self._grace is not None:
            self._grace.cancel()
            self._grace = None
        elif state == "disconnected" and self._grace is None and self._status == "connected":
            loop = asyncio.get_running_loop()
            self._grace = loop.call_later(
                DISCONNECTED_GRACE_SECONDS,
                lambda: self._on_transport_closed(pc, "the peer connection stayed disconnected"),
            )
        elif state in ("failed", "closed"):
            self._on_transport_closed(pc, f"the peer connection {state}")

    def _on_transport_closed(self, pc: Any, reason: str) -> None:
        """The channel or the peer connection went away after connect: tear down, report."""
        if self._status != "connected" or pc is not self._pc:
            return
        self.emit(
            "error",
            ErrorEvent(
                message=f"connection lost ({reason}); call connect() again to reconnect",
                source="transport",
                code="connection_lost",
            ),
        )
        self._spawn(self._teardown(reason=f"connection lost: {reason}"))

    def _on_track(self, track: Any) -> None:
        if track.kind != "audio" or self._reader is not None:
            return
        if self._local is not None and self._local.recorder is not None:
            self._spawn(self._local.play(track))
            return
        deliver = (
            sink_writer(self._audio_sink) if self._audio_sink is not None else self._emit_audio
        )
        self._reader = RemoteAudioReader(self.output_sample_rate, deliver)
        self._spawn(self._read(self._reader, track))

    async def _read(self, reader: RemoteAudioReader, track: Any) -> None:
        try:
            await reader.run(track)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.exception("the audio sink failed")
            self.emit(
                "error",
                ErrorEvent(
                    message=f"the audio sink raised {type(exc).__name__}: {exc}; model audio "
                    "stopped for this connection",
                    source="transport",
                    code="audio_sink_failed",
                    error=exc,
                ),
            )

    def _emit_audio(self, pcm: bytes) -> None:
        if self._playing is not None:
            self.emit("audio", AudioEvent(pcm, self._playing, self._current_item, 0))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- inbound -----------------------------------------------------------------------------

    def _on_channel_message(self, message: str | bytes) -> None:
        if isinstance(message, bytes):
            self._emit_parse_error("received a binary data-channel message", message)
            return
        self._handle_frame(message)

    def _on_output_buffer(self, data: dict[str, Any]) -> None:
        """WebRTC's playback signals: which response the server is playing, and barge-in."""
        kind = data.get("type")
        response_id = str(data.get("response_id") or "")
        now = asyncio.get_running_loop().time()
        if kind == "output_audio_buffer.started":
            self._playing, self._playing_since = response_id, now
        elif kind == "output_audio_buffer.stopped":
            self._playing = None
        elif kind == "output_audio_buffer.cleared":
            # The server knows exactly what played; the client's best estimate is the time
            # since playback started (0 when nothing was playing).
            played = int((now - self._playing_since) * 1000) if self._playing else 0
            self._playing = None
            if self._reader is not None:
                self._reader.reset()
            self.emit("audio_interrupted", AudioInterruptedEvent(self._current_item, played))

    def _on_session_updated(self, data: dict[str, Any]) -> None:
        super()._on_session_updated(data)
        future = self._session_updated
        if future is not None and not future.done():
            future.set_result(None)

    def _on_response_created(self, data: dict[str, Any]) -> None:
        self._cancel_allowed = True
        super()._on_response_created(data)

    def _on_response_done(self, data: dict[str, Any]) -> None:
        self._cancel_allowed = False
        super()._on_response_done(data)

    def _on_audio_done(self, data: dict[str, Any]) -> None:
        self._cancel_allowed = False
        super()._on_audio_done(data)

    def _on_output_item(self, data: dict[str, Any]) -> None:
        item = data.get("item")
        if isinstance(item, dict) and item.get("type") == "message":
            self._current_item = str(item.get("id") or "")
        super()._on_output_item(data)

    # -- outbound ----------------------------------------------------------------------------

    def _send_bytes(self, data: bytes) -> None:
        channel = self._channel
        if channel is None or channel.readyState != "open":
            raise TransportNotConnectedError(
                "the WebRTC transport is not connected (the data channel is not open); await "
                "connect() before sending"
            )
        channel.send(data.decode("utf-8"))

    def send_audio(self, data: bytes, *, commit: bool = False) -> None:
        """Caller audio (PCM16 24 kHz): onto the transport's own track; over the data channel
        when the app supplied the track (``media_track``/``local_audio``)."""
        if not self._audio_may_go():
            return
        track = self._input
        if isinstance(track, PcmInputTrack):
            if data:
                track.push(data)
            if commit:
                self._send_bytes(b'{"type":"input_audio_buffer.commit"}')
            return
        super().send_audio(data, commit=commit)

    def mute(self, muted: bool) -> None:
        """Silence the input track (it keeps sending silent frames, as a disabled track)."""
        self._muted = bool(muted)
        if self._input is not None:
            self._input.muted = self._muted

    def interrupt(self, *, cancel_ongoing_response: bool = True) -> None:
        """``response.cancel`` if a response is running, then always ``output_audio_buffer.clear``.

        The server owns playback over WebRTC: it drops the unplayed audio and answers
        ``output_audio_buffer.cleared`` (which emits ``audio_interrupted``). No truncate is sent.
        Silently does nothing when not connected (the JS SDK throws).
        """
        if self._status != "connected":
            return
        if cancel_ongoing_response and self._cancel_allowed and self._sequencer.begin_cancel():
            self._cancel_allowed = False
            self._send_json({"type": "response.cancel"})
        self._send_json({"type": "output_audio_buffer.clear"})

    # -- close -------------------------------------------------------------------------------

    async def close(self) -> None:
        """Tear down the call; async listeners still running are cancelled, ``events()`` ends."""
        self._mark_closed()
        running = self._running_listener_tasks()
        self._attempt = None
        request, self._request = self._request, None
        if request is not None:
            request.cancel()  # a call request in flight: connect() fails now
        await self._teardown(reason="closed by the client")
        await self._cancel_listener_tasks(running)

    async def _teardown(self, *, reason: str) -> None:
        """Every cleanup step runs even if one fails; the first failure is reported."""
        pc, channel = self._pc, self._channel
        self._pc = self._channel = None
        self._call_id = None
        if self._grace is not None:
            self._grace.cancel()
            self._grace = None
        future, self._session_updated = self._session_updated, None
        if future is not None and not future.done():
            future.cancel()
        self._reset_connection_state()
        self._playing = None
        self._cancel_allowed = False
        if self._status != "disconnected":
            self._set_status("disconnected", reason)
        failures: list[BaseException] = []
        owned, self._owned_track = self._owned_track, None
        local, self._local = self._local, None
        self._input = None
        self._reader = None
        current = asyncio.current_task()
        tasks = [t for t in self._tasks if t is not current]
        for resource, method in ((channel, "close"), (owned, "stop")):
            if resource is None:
                continue
            try:
                getattr(resource, method)()
            except Exception as exc:
                failures.append(exc)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        for closing in (
            local.close() if local is not None else None,
            pc.close() if pc is not None else None,
        ):
            if closing is None:
                continue
            try:
                await closing
            except Exception as exc:
                failures.append(exc)
        if failures:
            first = failures[0]
            self.emit(
                "error",
                ErrorEvent(
                    message=f"cleanup raised {type(first).__name__}: {first}",
                    source="transport",
                    code="cleanup_failed",
                    error=first,
                ),
            )


_BUFFER_EVENTS = (
    "output_audio_buffer.started",
    "output_audio_buffer.stopped",
    "output_audio_buffer.cleared",
)


def _with_buffer_handlers(cls: type[OpenAIRealtimeWebRTC]) -> None:
    cls._handler_table = {
        **cls._handler_table,
        **{kind: OpenAIRealtimeWebRTC._on_output_buffer for kind in _BUFFER_EVENTS},
    }


_with_buffer_handlers(OpenAIRealtimeWebRTC)
