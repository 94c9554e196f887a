"""``TwilioRealtimeTransportLayer``: a Twilio Media Streams call bridged to the Realtime API.

The caller's side is the media stream WebSocket the app's server accepted (``twilio_websocket``);
the model's side is the ``websocket`` transport this class extends. Audio is G.711 mu-law end to
end, so caller bytes are forwarded untouched and model bytes go to Twilio untouched:

* every ``session.update`` pins ``audio/pcmu`` both ways (after handoffs and ``update_agent``
  too); another format in the config is replaced, with a warning;
* model audio goes out as ``media`` frames of exactly 160 bytes (20 ms), each followed by a
  ``mark`` whose echo says the caller heard it (:mod:`.playback`);
* barge-in sends ``clear``, cancels the response only when the server will not, truncates each
  unfinished item at what the caller heard, and drops late audio of the interrupted response;
* DTMF digits become ``dtmf`` events; every Twilio message reaches ``*`` as
  ``{"type": "twilio_message", "message": ...}``.

The Twilio socket belongs to the app: :meth:`close` stops using it but leaves it open (so the
model side can reconnect); the stream's ``stop`` or the caller hanging up closes the model side,
and :meth:`wait_stream_end` returns.
"""

from __future__ import annotations

import asyncio
import binascii
import logging
import time
from collections.abc import Mapping
from typing import Any

from realtime_transport._json import loads
from realtime_transport.errors import TransportNotConnectedError, UserError
from realtime_transport.events import (
    AudioEvent,
    AudioInterruptedEvent,
    DtmfEvent,
    ErrorEvent,
)
from realtime_transport.transport import ApiKey, SessionConfigLike, TransportCapabilities
from realtime_transport_websocket.transport import OpenAIRealtimeWebSocket

from .input_timing import BYTES_PER_MS, INACTIVITY_SILENCE_MS, InputTiming
from .media_socket import ReceivesByCallback, TwilioMediaSocket, adapt_media_socket
from .playback import TwilioPlayback
from .sender import TwilioSender

logger = logging.getLogger("realtime_transport.twilio")

PCMU: dict[str, Any] = {"type": "audio/pcmu"}
_G711 = ("audio/pcmu", "audio/pcma", "g711_ulaw", "g711_alaw")
_KNOWN_EVENTS = frozenset({"connected", "start", "media", "mark", "dtmf", "stop"})
_MAX_TIMEOUT_MS = 2_147_483_647
_background: set[asyncio.Task[None]] = set()  # end-of-call tasks started from callbacks


class TwilioRealtimeTransportLayer(OpenAIRealtimeWebSocket):
    """OpenAI Realtime for a phone call arriving through Twilio Media Streams.

    Args:
        twilio_websocket: the accepted media stream socket: a Starlette/FastAPI ``WebSocket``, a
            ``websockets`` server connection, or any :class:`TwilioMediaSocket`.
        input_audio_inactivity_timeout_ms: silence padding while the caller speaks and Twilio
            sends nothing (default 750; ``None`` disables).
        playback_allowance_ms: how far past the last acknowledged mark the caller may have heard
            (default 40 ms, two frames; capped by the time since that acknowledgement).
        twilio_idle_timeout: seconds without any Twilio message before the stream is treated as
            dead (Twilio sends media every 20 ms while a call is up).
        max_queued_messages: bound of the outbound queue to Twilio (audio beyond it is dropped).
        input_batch_ms: caller audio per ``input_audio_buffer.append`` (default 40 ms: two
            Twilio frames, half the writes to the model for 20 ms of added latency; 20 sends
            every frame as it comes). The bytes are forwarded unchanged either way.
        **options: everything :class:`OpenAIRealtimeWebSocket` takes (``model``, ``api_key``,
            ``url``, ``headers``...).
    """

    __slots__ = (
        "_active_response",
        "_ended",
        "_finished",
        "_idle_expired",
        "_inactivity_handle",
        "_inactivity_timeout_ms",
        "_input",
        "_input_batch_bytes",
        "_last_heard",
        "_media_before_start_reported",
        "_out",
        "_pending_input",
        "_reader",
        "_send_failed",
        "_stream_sid",
        "_twilio",
        "_twilio_idle_timeout",
        "_twilio_playback",
        "_unknown_reported",
        "_watchdog",
        "call_sid",
        "custom_parameters",
        "forwarded_media",
    )

    capabilities = TransportCapabilities(
        sends_audio=False,  # caller audio arrives on the Twilio stream, not through send_audio
        receives_audio_events=True,
        client_side_truncation=True,
        supports_call_id=False,
        supports_images=True,
    )

    def __init__(
        self,
        *,
        twilio_websocket: Any,
        input_audio_inactivity_timeout_ms: float | None = 750,
        playback_allowance_ms: float = 40.0,
        twilio_idle_timeout: float = 30.0,
        twilio_send_timeout: float = 10.0,
        max_queued_messages: int = 60_000,
        input_batch_ms: int = 40,
        model: str | None = None,
        api_key: ApiKey | None = None,
        pinned_audio_format: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> None:
        if twilio_websocket is None:
            raise UserError(
                "twilio_websocket is required: pass the media stream WebSocket your server "
                "accepted (Starlette/FastAPI WebSocket or a websockets connection)"
            )
        if input_audio_inactivity_timeout_ms is not None and not (
            0 < float(input_audio_inactivity_timeout_ms) <= _MAX_TIMEOUT_MS
        ):
            raise UserError(
                "input_audio_inactivity_timeout_ms must be > 0 and <= 2147483647, or None to "
                f"disable inactivity padding (got {input_audio_inactivity_timeout_ms!r})"
            )
        if playback_allowance_ms < 0 or twilio_idle_timeout <= 0 or twilio_send_timeout <= 0:
            raise UserError(
                "playback_allowance_ms must be >= 0 and the Twilio timeouts positive seconds"
            )
        if input_batch_ms not in (20, 40, 60, 80, 100):
            raise UserError("input_batch_ms must be 20, 40, 60, 80 or 100 (whole 20 ms frames)")
        if max_queued_messages < 10:
            raise UserError("max_queued_messages must be at least 10")
        if pinned_audio_format is not None and _format_type(pinned_audio_format) != "audio/pcmu":
            logger.warning(
                "pinned_audio_format %r ignored: a Twilio call is G.711 mu-law, so the session "
                "is pinned to audio/pcmu",
                dict(pinned_audio_format),
            )
        super().__init__(model=model, api_key=api_key, pinned_audio_format=PCMU, **options)
        self._twilio: TwilioMediaSocket = adapt_media_socket(twilio_websocket)
        self._inactivity_timeout_ms = (
            None
            if input_audio_inactivity_timeout_ms is None
            else float(input_audio_inactivity_timeout_ms)
        )
        self._twilio_idle_timeout = twilio_idle_timeout
        self._twilio_playback = TwilioPlayback(allowance_ms=float(playback_allowance_ms))
        self._input = InputTiming()
        self._inactivity_handle: asyncio.TimerHandle | None = None
        self._out = TwilioSender(
            self._twilio,
            on_failure=self._twilio_send_failed,
            on_overflow=self._twilio_overflow,
            max_messages=max_queued_messages,
            send_timeout=twilio_send_timeout,
        )
        self._reader: asyncio.Task[None] | None = None
        self._watchdog: asyncio.TimerHandle | None = None
        self._last_heard = 0.0
        self._idle_expired = False
        self._send_failed = False  # a write to Twilio failed or stalled: the reader ends the call
        self._ended = False  # Twilio sent stop or the caller hung up: the call is over
        self._finished: asyncio.Event | None = None  # wakes wait_stream_end (end or close())
        self._stream_sid: str | None = None
        self._active_response: str | None = None
        self._media_before_start_reported = False
        self._unknown_reported: set[str] = set()
        self.call_sid: str | None = None
        self.custom_parameters: dict[str, str] = {}
        self.forwarded_media = 0  # caller frames passed to the model (diagnostics, benchmarks)
        self._pending_input = bytearray()
        self._input_batch_bytes = int(input_batch_ms) * BYTES_PER_MS
        self._output_bytes_per_ms = 8.0

    # -- connection --------------------------------------------------------------------------

    @property
    def twilio_websocket(self) -> TwilioMediaSocket:
        return self._twilio

    @property
    def stream_sid(self) -> str | None:
        return self._stream_sid

    async def connect(
        self,
        *,
        api_key: ApiKey | None = None,
        model: str | None = None,
        url: str | None = None,
        call_id: str | None = None,
        initial_session_config: SessionConfigLike | None = None,
    ) -> None:
        if self._ended:
            raise UserError("the Twilio call has ended; accept a new media stream for a new call")
        await super().connect(
            api_key=api_key,
            model=model,
            url=url,
            call_id=call_id,
            initial_session_config=initial_session_config,
        )
        self._input.reset()
        if self._finished is None or self._finished.is_set():
            self._finished = asyncio.Event()
        self._out.start()
        if self._reader is None or self._reader.done():
            self._reader = asyncio.get_running_loop().create_task(
                self._read_twilio(), name="twilio-reader"
            )

    async def close(self) -> None:
        """Close the model side and stop reading the Twilio stream (the socket stays open)."""
        await super().close()
        await self._stop_twilio_tasks()
        if self._finished is not None:
            self._finished.set()

    @property
    def stream_ended(self) -> bool:
        """True once Twilio sent ``stop`` or the caller hung up."""
        return self._ended

    @property
    def dropped_output_audio_chunks(self) -> int:
        """Model audio frames dropped because Twilio was not draining (read by ops metrics)."""
        return self._out.dropped

    async def wait_stream_end(self, timeout: float | None = None) -> bool:
        """Wait until the call ends (Twilio's ``stop`` or a hang-up) or :meth:`close` stops
        using the stream; False on timeout. :attr:`stream_ended` tells which."""
        if self._ended:
            return True
        if self._finished is None:
            self._finished = asyncio.Event()
        try:
            await asyncio.wait_for(self._finished.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    async def _stop_twilio_tasks(self) -> None:
        self._cancel_inactivity()
        reader, self._reader = self._reader, None
        if reader is not None and reader is not asyncio.current_task():
            reader.cancel()
            try:
                await reader
            except BaseException:
                pass
        await self._out.stop()

    async def _end_stream(self, why: str) -> None:
        """The call is over (``stop`` or hang-up): close the model side and the Twilio socket."""
        logger.info("twilio stream ended: %s", why)
        self._out.forget_stream()
        try:
            await super().close()
            await self._out.stop()
            self._cancel_inactivity()
            await self._twilio.close(1000, "stream ended")
        finally:
            self._ended = True
            if self._finished is not None:
                self._finished.set()

    def _reset_connection_state(self) -> None:
        super()._reset_connection_state()
        self._output_bytes_per_ms = 8.0
        self._twilio_playback.new_generation()
        self._active_response = None
        self._out.drop_audio()
        self._input.speech_active = False
        self._input.next_ts = None
        self._pending_input.clear()
        self._cancel_inactivity()

    # -- session config ----------------------------------------------------------------------

    def build_session_payload(self, config: SessionConfigLike | None) -> dict[str, Any]:
        """Any config, with both audio formats pinned to ``audio/pcmu`` (coerced with a warning)."""
        return super().build_session_payload(_without_default_formats(config))

    def _send_session_update(
        self, config: SessionConfigLike | None, *, defaults: bool, event_id: str | None = None
    ) -> None:
        super()._send_session_update(
            _without_default_formats(config), defaults=defaults, event_id=event_id
        )

    # -- Twilio inbound ----------------------------------------------------------------------

    async def _read_twilio(self) -> None:
        why = "the caller hung up (the Twilio socket closed)"
        self._last_heard = time.monotonic()
        self._idle_expired = self._send_failed = False
        self._arm_watchdog()
        try:
            stopped = await self._receive_twilio()
            if stopped is None:
                return  # close() stopped reading (its cancellation may have been swallowed)
            if stopped:
                why = "Twilio sent stop"
        except asyncio.CancelledError:
            if self._idle_expired:
                why = f"no message from Twilio for {self._twilio_idle_timeout:g} s"
                self._error(f"{why}; the call is treated as ended", "twilio_stream_timeout")
            elif self._send_failed:
                why = "sending to Twilio failed"  # reported by _twilio_send_failed
            else:
                raise
        except Exception as exc:  # the socket failed under us
            why = f"the Twilio socket failed ({type(exc).__name__})"
            self._error(f"{why}; the call is treated as ended", "twilio_socket_error", exc)
        finally:
            self._disarm_watchdog()
        self._reader = None
        await self._end_stream(why)

    async def _receive_twilio(self) -> bool | None:
        """Handle Twilio messages until ``stop`` (True) or the socket closing (False); None
        when :meth:`close` stopped reading meanwhile.

        Sockets that can (the ``websockets`` adapter) call back with each message as it is
        parsed, so this task wakes once per call, not once per message; messages the socket
        queued before that (``connected``, ``start``) are read first, in order. Other sockets
        are read in a loop."""
        socket = self._twilio
        receiver = socket if isinstance(socket, ReceivesByCallback) else None
        ended: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

        def on_message(raw: bytes) -> None:
            self._last_heard = time.monotonic()
            if self._handle_twilio(raw) and not ended.done():
                if receiver is not None:
                    receiver.stop_receiving()  # what follows stop waits in the socket
                ended.set_result(True)

        def on_closed() -> None:
            if not ended.done():
                ended.set_result(False)

        while True:
            if receiver is not None and receiver.start_receiving(on_message, on_closed):
                try:
                    stopped = await ended
                finally:
                    receiver.stop_receiving()
                return stopped if self._reader is asyncio.current_task() else None
            raw = await socket.receive_text()
            if self._reader is not asyncio.current_task():
                return None
            self._last_heard = time.monotonic()
            if raw is None:
                return False
            if self._handle_twilio(raw):
                return True

    def _arm_watchdog(self) -> None:
        self._watchdog = asyncio.get_running_loop().call_later(1.0, self._watch)

    def _disarm_watchdog(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None

    def _watch(self) -> None:
        """Once a second: a silent Twilio stream or a stuck write ends the call (no per-message
        timeouts on the 50-messages-a-second paths)."""
        self._watchdog = None
        reader = self._reader
        if reader is None or reader.done():
            return
        now = time.monotonic()
        if now - self._last_heard > self._twilio_idle_timeout:
            self._idle_expired = True
            reader.cancel()
            return
        if self._out.stalled(now):
            self._out.fail(asyncio.TimeoutError())
        self._arm_watchdog()

    def _handle_twilio(self, raw: str | bytes) -> bool:
        """Process one Twilio message; True when it was ``stop``. Never raises."""
        try:
            message = loads(raw)
        except ValueError:
            self._bad_twilio("a Twilio message that is not JSON", raw)
            return False
        if type(message) is not dict or type(message.get("event")) is not str:
            self._bad_twilio("a Twilio message without a string 'event'", raw)
            return False
        if "*" in self._listeners:
            self.emit("*", {"type": "twilio_message", "message": message})
        event = message["event"]
        try:
            if event == "media":
                self._on_twilio_media(message)
            elif event == "mark":
                self._on_twilio_mark(message)
            elif event == "start":
                self._on_twilio_start(message)
            elif event == "dtmf":
                self._on_twilio_dtmf(message)
            elif event == "stop":
                return True
            elif event not in _KNOWN_EVENTS and event not in self._unknown_reported:
                if len(self._unknown_reported) < 32:
                    self._unknown_reported.add(event)
                self._error(
                    f"ignored an unknown Twilio event {event[:40]!r} (known: connected, start, "
                    "media, mark, dtmf, stop); it was passed to '*' listeners",
                    "twilio_unknown_event",
                )
        except (KeyError, TypeError, ValueError, binascii.Error) as exc:
            self._bad_twilio(
                f"a malformed Twilio {event[:20]!r} message ({type(exc).__name__})", raw
            )
        return False

    def _on_twilio_start(self, message: dict[str, Any]) -> None:
        start = message.get("start")
        start = start if isinstance(start, dict) else {}
        sid = start.get("streamSid") or message.get("streamSid")
        if not isinstance(sid, str) or not sid:
            raise ValueError("start without a streamSid")
        self._stream_sid = sid
        self.call_sid = start.get("callSid") if isinstance(start.get("callSid"), str) else None
        params = start.get("customParameters")
        self.custom_parameters = (
            {str(k): str(v) for k, v in params.items()} if isinstance(params, dict) else {}
        )
        fmt = start.get("mediaFormat")
        fmt = fmt if isinstance(fmt, dict) else {}
        mulaw = (
            fmt.get("encoding") == "audio/x-mulaw"
            and fmt.get("sampleRate") == 8000
            and fmt.get("channels") == 1
        )
        if not mulaw:
            self._error(
                f"the Twilio stream's media format is {fmt!r}, not audio/x-mulaw 8000 Hz mono; "
                "audio is forwarded unchanged but silence padding is off",
                "twilio_unexpected_media_format",
            )
        self._input.reset(enabled=mulaw)
        self._cancel_inactivity()
        self._twilio_playback.new_generation()
        self._out.set_stream_sid(sid)

    def _on_twilio_media(self, message: dict[str, Any]) -> None:
        if self._stream_sid is None:
            if not self._media_before_start_reported:
                self._media_before_start_reported = True
                self._error(
                    "Twilio sent media before 'start'; caller audio is dropped until the stream "
                    "starts",
                    "twilio_media_before_start",
                )
            return
        media = message["media"]
        if media.get("track", "inbound") not in ("inbound", "inbound_track"):
            return
        audio = binascii.a2b_base64(media["payload"])
        if self._status != "connected":
            return
        gap = self._input.gap_ms(media.get("timestamp"), len(audio))
        pending = self._pending_input
        if gap:
            pending += b"\xff" * (gap * BYTES_PER_MS)
        pending += audio
        self.forwarded_media += 1
        if len(pending) >= self._input_batch_bytes:
            self._flush_input()
        self._arm_inactivity()

    def _flush_input(self) -> None:
        """Append the caller audio gathered so far (bytes unchanged, only batched)."""
        pending = self._pending_input
        if not pending:
            return
        data = bytes(pending)
        pending.clear()
        try:
            self.send_audio(data)
        except TransportNotConnectedError:
            pass  # the model side is closing; its close is reported on its own

    def _on_twilio_mark(self, message: dict[str, Any]) -> None:
        mark = message.get("mark")
        name = mark.get("name") if isinstance(mark, dict) else None
        if not isinstance(name, str):
            logger.warning("Twilio mark without a string name ignored")
            return
        if self._twilio_playback.acknowledge(name) is None:
            logger.warning("ignored a Twilio mark this transport did not send: %r", name[:60])

    def _on_twilio_dtmf(self, message: dict[str, Any]) -> None:
        dtmf = message.get("dtmf")
        digit = dtmf.get("digit") if isinstance(dtmf, dict) else None
        if not isinstance(digit, str) or not digit:
            raise ValueError("dtmf without a digit")
        self.emit("dtmf", DtmfEvent(digit, provider_data=message))

    def _bad_twilio(self, what: str, raw: str | bytes) -> None:
        if isinstance(raw, bytes):
            raw = raw[:80].decode("utf-8", "replace")
        excerpt = raw[:80] if isinstance(raw, str) else repr(raw)[:80]
        self._error(
            f"received {what}; it was ignored and the call continues. Start: {excerpt!r}",
            "malformed_twilio_message",
        )

    def _error(self, message: str, code: str, exc: BaseException | None = None) -> None:
        logger.warning("%s", message)
        self.emit("error", ErrorEvent(message=message, source="transport", code=code, error=exc))

    def _twilio_send_failed(self, exc: BaseException) -> None:
        """The writer could not send: the reader ends the call (a peer that stopped reading may
        never let the socket's close complete, so the call does not wait for it)."""
        if isinstance(exc, ConnectionError):
            logger.info("the Twilio socket closed while sending (the caller hung up)")
        else:
            text = "timed out" if isinstance(exc, asyncio.TimeoutError) else f"failed ({exc!r})"
            self._error(
                f"sending to Twilio {text}; the call is treated as ended", "twilio_send_failed", exc
            )
        reader = self._reader
        if not isinstance(exc, ConnectionError) and reader is not None and not reader.done():
            self._send_failed = True
            reader.cancel()
            return
        task = asyncio.get_running_loop().create_task(
            self._twilio.close(1011, "send failed"), name="twilio-close"
        )
        _background.add(task)
        task.add_done_callback(_background.discard)

    def _twilio_overflow(self) -> None:
        self._error(
            "the Twilio stream is not draining; model audio is being dropped",
            "twilio_send_backpressure",
        )

    # -- inactivity padding ------------------------------------------------------------------

    def _arm_inactivity(self) -> None:
        """Make sure a padding check is scheduled. A timer already set stays: when it fires
        early (media kept coming) it re-arms for the rest, so a frame costs no timer churn."""
        if self._inactivity_handle is not None:
            return
        due = self._input.inactivity_due_in(self._inactivity_timeout_ms)
        if due is None:
            return
        self._inactivity_handle = asyncio.get_running_loop().call_later(due, self._pad_inactivity)

    def _cancel_inactivity(self) -> None:
        if self._inactivity_handle is not None:
            self._inactivity_handle.cancel()
            self._inactivity_handle = None

    def _pad_inactivity(self) -> None:
        self._inactivity_handle = None
        due = self._input.inactivity_due_in(self._inactivity_timeout_ms)
        if due is None:
            return
        if due > 0:  # media arrived since the timer was set: check again when it would be due
            self._arm_inactivity()
            return
        if self._status == "connected" and self._input.speech_active:
            self._flush_input()
            self.send_audio(b"\xff" * (INACTIVITY_SILENCE_MS * BYTES_PER_MS))
            self._input.padded_for_inactivity()

    # -- model audio out ---------------------------------------------------------------------

    def _on_audio(self, audio: bytes, item_id: str, content_index: int, response_id: str) -> None:
        playback = self._twilio_playback
        key = (response_id, item_id, content_index)
        out = self._out
        for frame in playback.frames(key, audio):
            out.media(binascii.b2a_base64(frame, newline=False).decode("ascii"))
            out.mark(playback.mark_after_frame(key))
        out.flush()
        if "audio" in self._listeners:  # no per-chunk event object nobody asked for
            self.emit("audio", AudioEvent(audio, response_id, item_id, content_index))

    def _on_audio_done(self, data: dict[str, Any]) -> None:
        response_id = str(data.get("response_id") or "")
        if response_id not in self._discarded_responses:
            key = (response_id, str(data.get("item_id") or ""), int(data.get("content_index") or 0))
            playback = self._twilio_playback
            if key in playback.items:
                for frame in playback.frames(key, b"", final=True):
                    self._out.media(binascii.b2a_base64(frame, newline=False).decode("ascii"))
                    self._out.mark(playback.mark_after_frame(key))
                self._out.mark(playback.done_mark(key))
                self._out.flush()
        super()._on_audio_done(data)

    def _on_response_created(self, data: dict[str, Any]) -> None:
        response = data.get("response") or {}
        self._active_response = str(response.get("id") or "") or None
        super()._on_response_created(data)

    def _on_response_done(self, data: dict[str, Any]) -> None:
        response = data.get("response") or {}
        if self._active_response == response.get("id"):
            self._active_response = None
        super()._on_response_done(data)

    def _on_speech_started(self, data: dict[str, Any]) -> None:
        self._input.speech_active = True
        self._arm_inactivity()
        super()._on_speech_started(data)

    def _on_speech_stopped(self, data: dict[str, Any]) -> None:
        self._input.speech_active = False
        self._cancel_inactivity()

    # -- barge-in ----------------------------------------------------------------------------

    def interrupt(self, *, cancel_ongoing_response: bool = True) -> None:
        """Stop what the caller hears and cut the model's items at what was heard.

        Sends Twilio ``clear``; ``response.cancel`` when asked (on the server's
        ``speech_started`` only when the server does not cancel by itself); then
        ``audio_interrupted`` and one ``conversation.item.truncate`` per unfinished item. Late
        audio of the interrupted responses is dropped. A second call is a no-op.
        """
        playback = self._twilio_playback
        if self._status != "connected" or not (self._active_response or playback.active):
            return
        cuts = playback.truncations()
        discarded = [
            *playback.response_ids(),
            *([self._active_response] if self._active_response else []),
        ]
        known = self._discarded_responses
        for response_id in discarded:
            if response_id not in known:
                known.append(response_id)
        del known[:-16]
        self._active_response = None
        playback.new_generation()
        self._out.clear()
        if cancel_ongoing_response and self._sequencer.begin_cancel():
            self._send_json({"type": "response.cancel"})
        if cuts:
            first, end = cuts[0]
            self.emit("audio_interrupted", AudioInterruptedEvent(first.item_id, end))
            for item, audio_end_ms in cuts:
                self._send_json(
                    {
                        "type": "conversation.item.truncate",
                        "item_id": item.item_id,
                        "content_index": item.content_index,
                        "audio_end_ms": audio_end_ms,
                    }
                )

    @property
    def twilio_playback(self) -> TwilioPlayback:
        """Playback bookkeeping (read-only use: tests and diagnostics)."""
        return self._twilio_playback


TwilioRealtimeTransportLayer._handler_table = {
    **TwilioRealtimeTransportLayer._handler_table,
    "input_audio_buffer.speech_stopped": TwilioRealtimeTransportLayer._on_speech_stopped,
}


def _without_default_formats(config: SessionConfigLike | None) -> dict[str, Any] | None:
    """``config`` without formats equal to the SDK default (PCM 24 kHz).

    A ``RealtimeSession`` seeds every config with the default format, which nobody chose for a
    phone call; it is replaced by mu-law silently. Any other non-mu-law format is replaced with
    a warning (by the core's pinning). An explicit PCM 24 kHz cannot be told from the default.
    """
    if config is None:
        return None
    from realtime_transport.config import DEFAULT_AUDIO_FORMAT, normalize_audio_format, to_ga_config

    ga = to_ga_config(config)
    audio = ga.get("audio")
    if not isinstance(audio, dict):
        return ga
    cleaned = dict(audio)
    for channel in ("input", "output"):
        part = cleaned.get(channel)
        if isinstance(part, dict) and "format" in part:
            if normalize_audio_format(part["format"]) == dict(DEFAULT_AUDIO_FORMAT):
                cleaned[channel] = {k: v for k, v in part.items() if k != "format"}
    return {**ga, "audio": cleaned}


def _format_type(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        kind = value.get("type")
        return kind if isinstance(kind, str) else None
    return None
