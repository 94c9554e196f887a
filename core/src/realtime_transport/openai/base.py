"""What every OpenAI-protocol transport shares: inbound mapping and outbound builders.

A subclass supplies the wire (``_send_bytes``), connection management and ``interrupt``; it feeds
every inbound text frame to :meth:`OpenAIRealtimeBase._handle_frame`.

The per-audio-chunk paths are kept flat on purpose: an inbound ``response.output_audio.delta`` is
one JSON parse, one base64 decode and one ``audio`` emit (no model validation unless a listener
asked for the typed event); an outbound chunk is one base64 encode and one write. Base64 is
pybase64's SIMD codec when the ``speedups`` extra is installed (``.._base64``).
"""

from __future__ import annotations

import binascii
import logging
from abc import abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from .._base64 import decode as b64decode
from .._base64 import encode as b64encode
from .._json import dumps, loads
from ..errors import UserError
from ..events import (
    AudioDoneEvent,
    AudioEvent,
    DtmfEvent,
    ErrorEvent,
    FunctionCallEvent,
    ItemDeletedEvent,
    McpToolsListedEvent,
    OutputTextDeltaEvent,
    RealtimeItem,
    SessionUpdateResult,
    TranscriptDeltaEvent,
    TurnDoneEvent,
    TurnStartedEvent,
    Usage,
)
from ..log_privacy import describe_error
from ..transport import ApiKey, RealtimeTransportLayer, SessionConfigLike
from .items import (
    answered_call_item,
    approval_request_item,
    history_sync_events,
    mcp_approval_response_event,
    message_item,
    tool_call_item,
    user_message_event,
)
from .sequencer import ResponseCreateSequencer

logger = logging.getLogger("realtime_transport")

DEFAULT_MODEL = "gpt-realtime"
_APPEND_PREFIX = b'{"type":"input_audio_buffer.append","audio":"'
_APPEND_SUFFIX = b'"}'
_COMMIT = b'{"type":"input_audio_buffer.commit"}'

TypedEvents = Literal["model", "dict"]

#: Server event type -> name of the method that derives transport events from it. Resolved per
#: class (so subclass overrides apply) instead of per instance: hundreds of sessions share it.
_HANDLER_NAMES: dict[str, str] = {
    "session.created": "_on_session_created",
    "session.updated": "_on_session_updated",
    "response.created": "_on_response_created",
    "response.done": "_on_response_done",
    "response.output_audio.done": "_on_audio_done",
    "conversation.item.deleted": "_on_item_deleted",
    "conversation.item.input_audio_transcription.completed": "_retrieve_item",
    "conversation.item.truncated": "_retrieve_item",
    "response.output_audio_transcript.delta": "_on_transcript_delta",
    "response.output_text.delta": "_on_text_delta",
    "conversation.item.added": "_on_conversation_item",
    "conversation.item.created": "_on_conversation_item",
    "conversation.item.done": "_on_conversation_item",
    "conversation.item.retrieved": "_on_conversation_item",
    "response.output_item.added": "_on_output_item",
    "response.output_item.done": "_on_output_item",
    "response.mcp_call.in_progress": "_retrieve_item",
    "mcp_list_tools.in_progress": "_retrieve_item",
    "input_audio_buffer.speech_started": "_on_speech_started",
    "input_audio_buffer.dtmf_event_received": "_on_dtmf",
}

Handler = Callable[[Any, dict[str, Any]], None]


class OpenAIRealtimeBase(RealtimeTransportLayer):
    """Shared behaviour of the OpenAI Realtime transports (WebSocket, WebRTC, SIP, Twilio…)."""

    __slots__ = (
        "_api_key",
        "_discarded_responses",
        "_initial_config",
        "_output_bytes_per_ms",
        "_pinned_audio_format",
        "_sequencer",
        "_server_session",
        "_session_update_count",
        "_session_updates",
        "_typed_events",
        "current_model",
    )

    _handler_table: dict[str, Handler] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._handler_table = {kind: getattr(cls, name) for kind, name in _HANDLER_NAMES.items()}

    def __init__(
        self,
        *,
        model: str | None = None,
        api_key: ApiKey | None = None,
        typed_events: TypedEvents = "model",
        pinned_audio_format: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if typed_events not in ("model", "dict"):
            raise UserError("typed_events must be 'model' (pydantic models) or 'dict'")
        self.current_model: str = model or DEFAULT_MODEL
        self._api_key = api_key
        self._typed_events = typed_events
        self._pinned_audio_format = dict(pinned_audio_format) if pinned_audio_format else None
        self._sequencer = ResponseCreateSequencer(self._send_json, self._report_send_error)
        # The echoed session as compact JSON, parsed on access: every connected session holds
        # one, and as a dict it was the largest object per connection (≈2 KiB).
        self._server_session = ""
        self._output_bytes_per_ms = 48.0
        self._initial_config: dict[str, Any] = {}
        # Late audio of interrupted responses is dropped (bounded memory of recent ids).
        self._discarded_responses: list[str] = []
        # event_ids of the session.update events the server has not answered yet, oldest first
        self._session_updates: list[str] = []
        self._session_update_count = 0

    # -- state -------------------------------------------------------------------------------

    @property
    def server_session(self) -> dict[str, Any]:
        """The session as the server last echoed it (``session.created``/``session.updated``).

        A fresh dict on each access (kept as compact JSON while connected)."""
        return loads(self._server_session) if self._server_session else {}

    def _reset_connection_state(self) -> None:
        self._sequencer.release()
        self._session_updates = []
        self._server_session = ""
        self._output_bytes_per_ms = 48.0
        self._discarded_responses = []

    # -- outbound ----------------------------------------------------------------------------

    @abstractmethod
    def _send_bytes(self, data: bytes) -> None:
        """Write one text frame. Raise TransportNotConnectedError when there is no socket."""

    def _send_json(self, event: Mapping[str, Any]) -> None:
        self._send_bytes(dumps(event))

    def send_event(self, event: Mapping[str, Any]) -> None:
        kind = event.get("type")
        if not isinstance(kind, str) or not kind:
            raise UserError(
                "a client event needs a string 'type', e.g. {'type': 'response.create'}"
            )
        self._require_connected(f"send_event({kind!r})")
        if kind == "response.create":
            self._sequencer.request_event(event)
            return
        if kind == "response.cancel":
            self._sequencer.note_raw_cancel()
        if kind == "session.update":
            if self._pinned_audio_format is not None:
                event = self._pin_formats(event)
            self._send_session_update_event(dict(event))
            return
        self._send_json(event)

    def _pin_formats(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """A raw ``session.update`` with the pinned audio format forced on both directions."""
        from ..config import normalize_audio_format

        session = event.get("session")
        if not isinstance(session, Mapping):
            return dict(event)
        pinned = normalize_audio_format(self._pinned_audio_format)
        audio = dict(session.get("audio") or {})
        for channel in ("input", "output"):
            given = dict(audio.get(channel) or {})
            if given.get("format") not in (None, pinned):
                logger.warning(
                    "audio.%s.format %r ignored: the transport pins %r",
                    channel,
                    given["format"],
                    pinned,
                )
            audio[channel] = {**given, "format": pinned}
        return {**event, "session": {**session, "audio": audio}}

    def send_audio(self, data: bytes, *, commit: bool = False) -> None:
        if self._status != "connected" and not self._audio_may_go():  # one compare when up
            return
        if data:
            self._send_bytes(_APPEND_PREFIX + b64encode(data) + _APPEND_SUFFIX)
        if commit:
            self._send_bytes(_COMMIT)

    def send_message(
        self,
        message: str | Sequence[Mapping[str, Any]],
        other_event_data: Mapping[str, Any] | None = None,
        *,
        trigger_response: bool = True,
    ) -> None:
        """Add a user message and, by default, ask for a response.

        Response requests are sequenced, and automatic requests made while one is in flight
        merge: three back-to-back ``send_message()`` calls give two responses (the first
        answers message one, the second answers messages two and three together). To get one
        response per message, wait for ``turn_done`` between them, or pass
        ``trigger_response=False`` and call ``request_response({...})`` (requests that carry a
        ``response`` body are never merged).
        """
        self._require_connected("send_message()")
        self._send_json(user_message_event(message, other_event_data))
        if trigger_response:
            self.request_response()

    def add_image(self, image: str, *, trigger_response: bool = True) -> None:
        self.send_message(
            [{"type": "input_image", "image": image}], trigger_response=trigger_response
        )

    def build_session_payload(self, config: SessionConfigLike | None) -> dict[str, Any]:
        """The ``session`` object this transport would send for ``config`` (nothing is sent)."""
        from ..config import build_session_payload

        return build_session_payload(
            config, model=self._session_model(), pinned_audio_format=self._pinned_audio_format
        )

    def _session_model(self) -> str | None:
        """The model a ``session.update`` names when the config does not (SIP: none, a call's
        model is fixed when it is accepted)."""
        return self.current_model

    def update_session_config(
        self, config: SessionConfigLike, *, event_id: str | None = None
    ) -> None:
        """Send a partial ``session.update``: only what ``config`` names changes.

        Unlike the initial update of ``connect()`` no defaults are filled in, so an update of
        the instructions keeps the audio formats and turn detection as they are (the JS SDK
        refills its defaults here). A pinned audio format is sent whatever ``config`` says.
        The server's answer is reported as ``session_update_done`` with ``event_id`` (one is
        made up when not given).
        """
        self._require_connected("update_session_config()")
        self._send_session_update(config, defaults=False, event_id=event_id)

    def _send_session_update(
        self, config: SessionConfigLike | None, *, defaults: bool, event_id: str | None = None
    ) -> None:
        from ..config import build_session_payload

        session = build_session_payload(
            config,
            model=self._session_model(),
            defaults=defaults,
            pinned_audio_format=self._pinned_audio_format,
        )
        event: dict[str, Any] = {"type": "session.update", "session": session}
        if event_id:
            event["event_id"] = event_id
        self._send_session_update_event(event)

    def _send_session_update_event(self, event: dict[str, Any]) -> None:
        """Send a ``session.update`` and remember its event_id until the server answers it
        (``session.updated`` answers the oldest one; an ``error`` names it)."""
        event_id = event.get("event_id")
        if not isinstance(event_id, str) or not event_id:
            self._session_update_count += 1
            event_id = f"rt_session_update_{self._session_update_count}"
            event = {**event, "event_id": event_id}
        self._send_json(event)
        updates = self._session_updates
        updates.append(event_id)
        if len(updates) > 64:  # a server that never answers must not grow memory
            del updates[0]

    def _send_initial_session_update(self) -> None:
        """The first ``session.update`` of a connection: the initial config with the defaults."""
        self._send_session_update(self._initial_config, defaults=True)

    def send_function_call_output(
        self, call: FunctionCallEvent, output: str, *, start_response: bool = True
    ) -> None:
        self._require_connected("send_function_call_output()")
        self._send_json(
            {
                "type": "conversation.item.create",
                "item": {"type": "function_call_output", "output": output, "call_id": call.call_id},
            }
        )
        self.emit("item_update", answered_call_item(call, output))
        if start_response:
            self.request_response()

    def request_response(self, response: Mapping[str, Any] | None = None) -> None:
        self._require_connected("request_response()")
        self._sequencer.request(response)

    def send_mcp_response(
        self, approval_item_id: str, approved: bool, reason: str | None = None
    ) -> None:
        self._require_connected("send_mcp_response()")
        self._send_json(mcp_approval_response_event(approval_item_id, approved, reason))

    def reset_history(
        self, old_history: Sequence[RealtimeItem], new_history: Sequence[RealtimeItem]
    ) -> None:
        self._require_connected("reset_history()")
        events, warnings = history_sync_events(old_history, new_history)
        for warning in warnings:
            logger.warning("reset_history: %s", warning)
        for event in events:
            self._send_json(event)

    def _report_send_error(self, exc: BaseException) -> None:
        self.emit(
            "error",
            ErrorEvent(
                message=f"could not send response.create: {exc}",
                source="sequencer",
                code="send_failed",
                error=exc,
            ),
        )

    # -- inbound -----------------------------------------------------------------------------

    def _handle_frame(self, raw: str | bytes) -> None:
        """Process one inbound text frame. Never raises."""
        try:
            data = loads(raw)
        except ValueError as exc:
            self._emit_parse_error(f"received a frame that is not JSON ({exc})", raw)
            return
        if type(data) is not dict:
            self._emit_parse_error("received JSON that is not an object", raw)
            return
        kind = data.get("type")
        if type(kind) is not str:
            self._emit_parse_error("received an event without a string 'type'", raw)
            return
        listeners = self._listeners
        if "*" in listeners:
            self.emit("*", loads(raw))  # a private copy: '*' listeners cannot affect the rest
        try:
            if kind == "response.output_audio.delta":
                if kind in listeners:
                    self._emit_typed(kind, data)
                self._on_audio_delta(data)
                return
            if kind == "error":
                self._on_server_error(data)
                return
            if kind in listeners:
                self._emit_typed(kind, data)
            handler = self._handler_table.get(kind)
            if handler is not None:
                handler(self, data)
        except Exception as exc:  # our own mapping must not stop the receive loop either
            shown = self.log_policy.model_data
            if shown:
                logger.exception("failed to process %s", kind)
            else:  # the traceback's message may quote the event's content
                logger.error("failed to process %s: %s", kind, describe_error(exc, False))
            self.emit(
                "error",
                ErrorEvent(
                    message=f"failed to process server event {kind!r}: "
                    f"{describe_error(exc, shown)}",
                    source="transport",
                    code="event_processing_failed",
                    error=exc,
                ),
            )

    def _emit_parse_error(self, message: str, raw: str | bytes) -> None:
        self.emit(
            "error",
            ErrorEvent(
                message=f"{message}; the frame was ignored and the connection stays open. "
                f"Start of frame: {self.log_policy.excerpt(raw)}",
                source="parse",
                code="malformed_server_event",
                error=raw if self.log_policy.model_data else None,
            ),
        )

    def _emit_typed(self, kind: str, data: dict[str, Any]) -> None:
        if self._typed_events == "dict":
            self.emit(kind, data)
            return
        from ..protocol import parse_server_event

        try:
            model = parse_server_event(data)
        except ValueError as exc:  # pydantic.ValidationError is a ValueError
            self.emit(
                "error",
                ErrorEvent(
                    message=f"server event {kind!r} does not match the protocol schema: "
                    f"{describe_error(exc, self.log_policy.model_data)}",
                    source="parse",
                    code="invalid_server_event",
                    error=data if self.log_policy.model_data else None,
                ),
            )
            return
        self.emit(kind, model)

    def _on_server_error(self, data: dict[str, Any]) -> None:
        error = data.get("error")
        error = error if isinstance(error, dict) else {}
        code = error.get("code")
        message = error.get("message") or "unknown error"
        label = f"server error ({code})" if code else "server error"
        failure = ErrorEvent(message=f"{label}: {message}", source="server", code=code, error=data)
        self.emit("error", failure)
        self._sequencer.on_error(data)
        event_id = error.get("event_id")
        if event_id and event_id in self._session_updates:
            self._session_updates.remove(event_id)
            self.emit("session_update_done", SessionUpdateResult(event_id, False, failure))

    def _on_audio_delta(self, data: dict[str, Any]) -> None:
        response_id = data.get("response_id") or ""
        if response_id and response_id in self._discarded_responses:
            return
        try:
            audio = b64decode(data["delta"])
        except (KeyError, TypeError, binascii.Error) as exc:
            self._emit_parse_error(f"audio delta without valid base64 'delta' ({exc})", "")
            return
        self._on_audio(
            audio, data.get("item_id") or "", data.get("content_index") or 0, response_id
        )

    def _on_audio(self, audio: bytes, item_id: str, content_index: int, response_id: str) -> None:
        """Hook: a chunk of model audio arrived. Subclasses track playback or forward it."""
        self.emit("audio", AudioEvent(audio, response_id, item_id, content_index))

    def _on_session_created(self, data: dict[str, Any]) -> None:
        self._remember_session(data)
        self._apply_tracing(data)

    def _on_session_updated(self, data: dict[str, Any]) -> None:
        self._remember_session(data)
        if self._session_updates:
            event_id = self._session_updates.pop(0)
            self.emit("session_update_done", SessionUpdateResult(event_id, True))

    def _remember_session(self, data: dict[str, Any]) -> None:
        session = data.get("session")
        if not isinstance(session, dict):
            return
        # str, not orjson's bytes: those keep its whole output buffer (8 KiB) allocated
        self._server_session = dumps(session).decode()
        from ..audio import bytes_per_ms

        audio = session.get("audio") or {}
        output = audio.get("output") or {} if isinstance(audio, dict) else {}
        self._output_bytes_per_ms = bytes_per_ms(output.get("format"))

    def _apply_tracing(self, data: dict[str, Any]) -> None:
        session = data.get("session") if isinstance(data.get("session"), dict) else {}
        desired = self._initial_config.get("tracing", "auto")
        from ..config import build_tracing_update

        update, warning = build_tracing_update(desired, (session or {}).get("tracing"))
        if warning:
            logger.warning("tracing: %s", warning)
        if update is not None:
            self._send_session_update_event(update)

    def _on_response_created(self, data: dict[str, Any]) -> None:
        response = data.get("response") or {}
        self.emit("turn_started", TurnStartedEvent(str(response.get("id") or ""), data))
        self._sequencer.on_response_created()

    def _on_response_done(self, data: dict[str, Any]) -> None:
        response = data.get("response") or {}
        usage = Usage.from_wire(response.get("usage"))
        self.emit("usage_update", usage)
        self.emit(
            "turn_done",
            TurnDoneEvent(
                response_id=str(response.get("id") or ""),
                status=str(response.get("status") or ""),
                output=list(response.get("output") or []),
                usage=usage,
                provider_data=data,
            ),
        )
        self._sequencer.on_response_done()

    def _on_audio_done(self, data: dict[str, Any]) -> None:
        self.emit(
            "audio_done",
            AudioDoneEvent(str(data.get("response_id") or ""), str(data.get("item_id") or "")),
        )

    def _on_item_deleted(self, data: dict[str, Any]) -> None:
        self.emit("item_deleted", ItemDeletedEvent(str(data.get("item_id") or "")))

    def _retrieve_item(self, data: dict[str, Any]) -> None:
        item_id = data.get("item_id")
        if item_id and self._status == "connected":
            self._send_json({"type": "conversation.item.retrieve", "item_id": item_id})

    def _on_transcript_delta(self, data: dict[str, Any]) -> None:
        self.emit(
            "audio_transcript_delta",
            TranscriptDeltaEvent(
                data.get("delta") or "", data.get("item_id") or "", data.get("response_id") or ""
            ),
        )

    def _on_text_delta(self, data: dict[str, Any]) -> None:
        self.emit(
            "output_text_delta",
            OutputTextDeltaEvent(
                data.get("delta") or "", data.get("item_id") or "", data.get("response_id") or ""
            ),
        )

    def _on_conversation_item(self, data: dict[str, Any]) -> None:
        item = data.get("item")
        if not isinstance(item, dict):
            return
        kind = data["type"]
        done = kind in ("conversation.item.done", "conversation.item.retrieved")
        previous = None if kind == "conversation.item.retrieved" else data.get("previous_item_id")
        if (
            previous is None
            and kind != "conversation.item.retrieved"
            and "previous_item_id" in data
        ):
            previous = "root"  # the server put it first (e.g. created with previous "root")
        item_type = item.get("type")
        if item_type == "message":
            status = "completed" if done else "in_progress"
            self.emit("item_update", message_item(item, previous, status))
        elif item_type == "mcp_list_tools":
            if kind == "conversation.item.done":
                tools = [tool for tool in item.get("tools") or () if isinstance(tool, dict)]
                self.emit(
                    "mcp_tools_listed", McpToolsListedEvent(str(item.get("server_label")), tools)
                )
        elif item_type == "mcp_approval_request":
            if kind == "conversation.item.done":
                request = approval_request_item(item, previous)
                self.emit("item_update", request)
                self.emit("mcp_approval_request", request)
        elif item_type in ("mcp_call", "mcp_tool_call"):
            call = tool_call_item(item, previous, "completed" if done else "in_progress")
            self.emit("item_update", call)
            if kind == "conversation.item.done":
                self.emit("mcp_tool_call_completed", call)

    def _on_output_item(self, data: dict[str, Any]) -> None:
        item = data.get("item")
        if not isinstance(item, dict):
            return
        done = data["type"] == "response.output_item.done"
        item_type = item.get("type")
        if item_type == "function_call":
            if item.get("status") != "completed":
                return
            self.emit("item_update", tool_call_item(item, None, "in_progress"))
            self.emit(
                "function_call",
                FunctionCallEvent(
                    item_id=str(item.get("id") or ""),
                    call_id=str(item.get("call_id") or ""),
                    name=str(item.get("name") or ""),
                    arguments=str(item.get("arguments") or ""),
                    response_id=str(data.get("response_id") or ""),
                ),
            )
        elif item_type in ("mcp_call", "mcp_tool_call"):
            self.emit(
                "item_update", tool_call_item(item, None, "completed" if done else "in_progress")
            )
        elif item_type == "message":
            self.emit(
                "item_update", message_item(item, None, "completed" if done else "in_progress")
            )

    def _on_dtmf(self, data: dict[str, Any]) -> None:
        key = data.get("event")
        if not isinstance(key, str) or not key:
            self._emit_parse_error("a DTMF event without a key in 'event'", dumps(data))
            return
        received_at = data.get("received_at")
        at = float(received_at) if isinstance(received_at, (int, float)) else None
        self.emit("dtmf", DtmfEvent(key, at, data))

    def _on_speech_started(self, data: dict[str, Any]) -> None:
        """Hook: the server heard the user start speaking (client-side barge-in transports)."""

    def _server_interrupts_itself(self) -> bool:
        """The echoed session says the server cancels responses itself on speech."""
        audio = self.server_session.get("audio") or {}
        turn = ((audio.get("input") or {}) if isinstance(audio, dict) else {}).get("turn_detection")
        return bool(isinstance(turn, dict) and turn.get("interrupt_response"))
