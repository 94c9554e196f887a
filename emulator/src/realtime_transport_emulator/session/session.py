"""One Realtime session: client events in, server events out, independent of the transport.

The WebSocket surface feeds parsed client events to :meth:`RealtimeSession.handle` one at a time
(the real server also processes a connection's events in order) and gives the session an async
``send`` callable for server events. Other surfaces (a WebRTC data channel, a SIP call's sideband
socket) can drive the same class.

This module holds the session's shared state, dispatches each client event to its handler and
applies ``session.update``. The parts live beside it: :mod:`.turns` (input audio, VAD, commits),
:mod:`.responses` and :mod:`.response_stream` (responses and their event sequence), :mod:`.items`
(conversation item operations), :mod:`.client_events` (validation), :mod:`.usage` (tokens).
"""

from __future__ import annotations

import logging
from typing import Any

from realtime_transport._base64 import encode as b64encode  # SIMD with the speedups extra

from realtime_transport_emulator.model.audio import WireFormat, format_from_wire
from realtime_transport_emulator.model.script import Script, ScriptRunner
from realtime_transport_emulator.session import errors, items
from realtime_transport_emulator.session.client_events import event_id_of, parse_client_event
from realtime_transport_emulator.session.config import merge_session, validate_session
from realtime_transport_emulator.session.conversation import Conversation, decode_audio
from realtime_transport_emulator.session.errors import ProtocolError
from realtime_transport_emulator.session.ids import IdFactory
from realtime_transport_emulator.session.input_buffer import (
    MAX_BUFFER_MS,
    MAX_IDLE_BUFFER_MS,
    TRIM_SLACK_MS,
)
from realtime_transport_emulator.session.options import Pace, Send, SessionOptions, SinkClosed
from realtime_transport_emulator.session.responses import Responder, Response
from realtime_transport_emulator.session.turns import TurnTaking

__all__ = [
    "MAX_BUFFER_MS",
    "MAX_IDLE_BUFFER_MS",
    "TRIM_SLACK_MS",
    "Pace",
    "RealtimeSession",
    "Response",
    "Send",
    "SessionOptions",
    "SinkClosed",
    "output_format",
]

logger = logging.getLogger("realtime_transport_emulator")


class RealtimeSession:
    """The emulated model and its state for one connection (or one call)."""

    def __init__(
        self,
        *,
        config: dict[str, Any],
        ids: IdFactory,
        script: Script,
        send: Send,
        options: SessionOptions,
    ) -> None:
        self.config = config
        self.ids = ids
        self.options = options
        self.runner = ScriptRunner(script)
        self.conversation = Conversation(ids.new("conv"))
        self._send_raw = send
        self.assistant_audio_sent = False  # the voice is fixed once the model has spoken
        self.responder = Responder(self)
        self.turns = TurnTaking(self)

    # ------------------------------------------------------------------ state

    def input_config(self) -> dict[str, Any]:
        audio: dict[str, Any] = self.config.get("audio") or {}
        return dict(audio.get("input") or {})

    def output_config(self) -> dict[str, Any]:
        audio: dict[str, Any] = self.config.get("audio") or {}
        return dict(audio.get("output") or {})

    def turn_detection(self) -> dict[str, Any] | None:
        value = self.input_config().get("turn_detection")
        return dict(value) if isinstance(value, dict) else None

    @property
    def active(self) -> Response | None:
        """The default-conversation response in flight."""
        return self.responder.active

    @property
    def input_format(self) -> WireFormat:
        return self.turns.buffer.fmt

    @property
    def buffer(self) -> bytearray:
        """The uncommitted input audio."""
        return self.turns.buffer.data

    @property
    def buffer_start_ms(self) -> float:
        return self.turns.buffer.start_ms

    @property
    def timeline_ms(self) -> float:
        """Milliseconds of input audio appended since the session started."""
        return self.turns.buffer.timeline_ms

    # ------------------------------------------------------------------ output

    async def send(self, event_type: str, **fields: Any) -> None:
        event = {"type": event_type, "event_id": self.ids.new("event"), **fields}
        await self._send_raw(event)

    async def send_error(self, error: ProtocolError, event_id: str | None = None) -> None:
        await self.send("error", error=error.to_error(event_id))

    async def emit_audio(self, ids: dict[str, Any], chunk: bytes, fmt: WireFormat) -> None:
        """Deliver one chunk of model audio: a ``response.output_audio.delta`` event.

        Media surfaces (WebRTC, SIP), where audio rides RTP instead, override this (and
        ``_on_output_audio_buffer_clear``) in a subclass; ``ids`` holds ``response_id``,
        ``item_id`` and ``output_index``.
        """
        delta = b64encode(chunk).decode("ascii")
        await self.send("response.output_audio.delta", **ids, content_index=0, delta=delta)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        await self.send("session.created", session=self.config)

    async def close(self) -> None:
        """Stop every response task (the connection is gone)."""
        await self.responder.close()

    async def expire(self, limit_seconds: float) -> None:
        """The session hit its maximum duration: stop responses, send ``session_expired``."""
        await self.close()
        await self.send_error(errors.session_expired(limit_seconds))

    # ------------------------------------------------------------------ input

    async def handle(self, event: Any) -> None:
        """Process one client event; protocol errors become ``error`` events."""
        event_id = event_id_of(event)
        try:
            kind, checked = parse_client_event(event)
            handler = getattr(self, "_on_" + kind.replace(".", "_"))
            await handler(checked, event_id)
        except ProtocolError as error:
            await self.send_error(error, event_id)
        except SinkClosed:
            raise
        except Exception:  # a bug in the emulator: report it, keep the session going
            logger.exception("emulator failed to handle a client event")
            await self.send_error(
                ProtocolError(
                    "The emulator failed to handle this event (see its log).",
                    code="server_error",
                    type="server_error",
                ),
                event_id,
            )

    async def feed_audio(self, data: bytes) -> None:
        """Append input audio in the session's input format (also used by media surfaces)."""
        await self.turns.feed(data)

    # ------------------------------------------------------------------ client events
    # One handler per client event type, named after it (``_on_`` + dots as underscores).

    async def _on_session_update(self, event: dict[str, Any], event_id: str | None) -> None:
        update = validate_session(event["session"])
        self._check_update(update)
        before_input = self.input_config()
        self.config = merge_session(self.config, update)
        after_input = self.input_config()
        if after_input.get("format") != before_input.get("format"):
            self.turns.set_format(format_from_wire(after_input.get("format")))
        elif after_input.get("turn_detection") != before_input.get("turn_detection"):
            self.turns.rebuild()
        await self.send("session.updated", session=self.config)

    def _check_update(self, update: dict[str, Any]) -> None:
        """What a running session refuses to change: model, voice once spoken, tracing."""
        model = update.get("model")
        if model is not None and model != self.config.get("model"):
            raise errors.ProtocolError(
                "Cannot update a session's model after it has started "
                f"(session model is '{self.config.get('model')}').",
                code="invalid_value",
                param="session.model",
            )
        voice = (update.get("audio") or {}).get("output", {}).get("voice")
        if voice is not None and self.assistant_audio_sent:
            if voice != self.output_config().get("voice"):
                raise errors.ProtocolError(
                    "Cannot update a conversation's voice if assistant audio is present.",
                    code="cannot_update_voice",
                    param="session.audio.output.voice",
                )
        if "tracing" in update and self.config.get("tracing") is not None:
            if update["tracing"] != self.config.get("tracing"):
                raise errors.ProtocolError(
                    "Tracing cannot be modified once it has been enabled for a session.",
                    code="invalid_value",
                    param="session.tracing",
                )

    async def _on_input_audio_buffer_append(
        self, event: dict[str, Any], event_id: str | None
    ) -> None:
        await self.feed_audio(decode_audio(event["audio"], "audio"))

    async def _on_input_audio_buffer_commit(
        self, event: dict[str, Any], event_id: str | None
    ) -> None:
        await self.turns.commit()

    async def _on_input_audio_buffer_clear(
        self, event: dict[str, Any], event_id: str | None
    ) -> None:
        await self.turns.clear()

    async def _on_output_audio_buffer_clear(
        self, event: dict[str, Any], event_id: str | None
    ) -> None:
        raise errors.ProtocolError(
            "output_audio_buffer.clear is only supported for WebRTC and SIP connections; "
            "on a WebSocket the client owns playback (use conversation.item.truncate).",
            code="invalid_value",
            param="type",
        )

    async def _on_conversation_item_create(
        self, event: dict[str, Any], event_id: str | None
    ) -> None:
        await items.create(self, event)

    async def _on_conversation_item_retrieve(
        self, event: dict[str, Any], event_id: str | None
    ) -> None:
        await items.retrieve(self, event)

    async def _on_conversation_item_delete(
        self, event: dict[str, Any], event_id: str | None
    ) -> None:
        await items.delete(self, event)

    async def _on_conversation_item_truncate(
        self, event: dict[str, Any], event_id: str | None
    ) -> None:
        await items.truncate(self, event)

    async def _on_response_create(self, event: dict[str, Any], event_id: str | None) -> None:
        await self.responder.create(event.get("response") or {})

    async def _on_response_cancel(self, event: dict[str, Any], event_id: str | None) -> None:
        await self.responder.cancel_requested(event.get("response_id"))


def output_format(session: dict[str, Any]) -> WireFormat:
    """The session's output audio format (for surfaces that play audio themselves)."""
    audio = session.get("audio") or {}
    return format_from_wire((audio.get("output") or {}).get("format"))
