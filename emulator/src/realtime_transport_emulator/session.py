"""One Realtime session: client events in, server events out, independent of the transport.

The WebSocket surface feeds parsed client events to :meth:`RealtimeSession.handle` one at a time
(the real server also processes a connection's events in order) and gives the session an async
``send`` callable for server events. Responses stream from their own task so that
``response.cancel``, barge-in and new audio are handled while a response is playing out.
Other surfaces (a WebRTC data channel, a SIP call's sideband socket) can drive the same class.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from . import errors, items
from .audio import WireFormat, bytes_for, decode, duration_ms, format_from_wire
from .client_events import event_id_of, parse_client_event
from .config import merge_session, validate_session
from .content import compose_message, fit_to_budget, word_deltas
from .conversation import Conversation, Item, decode_audio
from .errors import ProtocolError
from .ids import IdFactory
from .options import Pace, Send, SessionOptions, SinkClosed
from .script import FunctionCall, Reply, Script, ScriptRunner
from .synth import Speech
from .usage import input_usage, rate_limits, response_usage, tokens, transcription_usage
from .vad import EnergyVad, SpeechStarted, SpeechStopped, VadSettings

__all__ = [
    "MAX_BUFFER_MS",
    "MAX_IDLE_BUFFER_MS",
    "TRIM_SLACK_MS",
    "Pace",
    "RealtimeSession",
    "Send",
    "SessionOptions",
    "SinkClosed",
    "output_format",
]

logger = logging.getLogger("realtime_transport_emulator")

MAX_IDLE_BUFFER_MS = 60_000  # uncommitted audio kept while VAD hears no speech
MAX_BUFFER_MS = 15 * 60_000  # uncommitted audio kept in any case
TRIM_SLACK_MS = 5_000  # trim in steps, not on every chunk


@dataclass
class _Response:
    id: str
    number: int
    default_conversation: bool
    modalities: list[str]
    output_format: dict[str, Any]
    voice: Any
    max_output_tokens: Any
    metadata: dict[str, Any] | None
    context: list[Item]
    instructions: str
    output: list[Item] = field(default_factory=list)
    cancel_reason: str | None = None
    failure: dict[str, Any] | None = None
    incomplete_reason: str | None = None
    audio_ms: float = 0.0
    output_text_tokens: int = 0
    deltas: int = 0
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    @property
    def stopped(self) -> bool:
        return self.cancel_reason is not None or self.failure is not None

    async def sleep(self, seconds: float) -> None:
        """Sleep, but wake up at once if the response is cancelled."""
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        try:
            await asyncio.wait_for(self.wake.wait(), seconds)
        except asyncio.TimeoutError:
            pass


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
        self.active: _Response | None = None  # the default-conversation response in flight
        self.responses: dict[str, _Response] = {}
        self.response_count = 0
        self.previous_input_tokens = 0
        self.assistant_audio_sent = False
        # input audio: the uncommitted buffer and the session's audio timeline
        self.input_format = format_from_wire(self._input_config().get("format"))
        self.buffer = bytearray()
        self.buffer_start_ms = 0.0
        self.timeline_ms = 0.0
        self._carry = b""  # odd trailing byte of PCM16 input
        self.vad: EnergyVad | None = None
        self.speech_item_id: str | None = None
        self.speech_start_ms = 0
        self.idle_window: tuple[float, float] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._rebuild_vad()

    # ------------------------------------------------------------------ plumbing

    def _input_config(self) -> dict[str, Any]:
        audio: dict[str, Any] = self.config.get("audio") or {}
        return dict(audio.get("input") or {})

    def _output_config(self) -> dict[str, Any]:
        audio: dict[str, Any] = self.config.get("audio") or {}
        return dict(audio.get("output") or {})

    def _turn_detection(self) -> dict[str, Any] | None:
        value = self._input_config().get("turn_detection")
        return dict(value) if isinstance(value, dict) else None

    def _rebuild_vad(self) -> None:
        detection = self._turn_detection()
        if detection is None:
            self.vad = None
        else:
            settings = VadSettings.from_turn_detection(detection)
            self.vad = EnergyVad(settings, self.input_format.rate, origin_ms=self.timeline_ms)
        self.speech_item_id = None
        self.idle_window = None

    async def send(self, event_type: str, **fields: Any) -> None:
        event = {"type": event_type, "event_id": self.ids.new("event"), **fields}
        await self._send_raw(event)

    async def send_error(self, error: ProtocolError, event_id: str | None = None) -> None:
        await self.send("error", error=error.to_error(event_id))

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        await self.send("session.created", session=self.config)

    async def close(self) -> None:
        """Stop every response task (the connection is gone)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            try:
                await task
            except (asyncio.CancelledError, SinkClosed):
                pass
            except Exception:  # pragma: no cover - a bug in a response task
                logger.exception("response task failed")
        self.responses.clear()
        self.active = None

    async def expire(self, limit_seconds: float) -> None:
        """The session hit its maximum duration: stop responses, send ``session_expired``."""
        await self.close()
        await self.send_error(errors.session_expired(limit_seconds))

    # ------------------------------------------------------------------ dispatch

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

    # ------------------------------------------------------------------ session.update

    async def _on_session_update(self, event: dict[str, Any], event_id: str | None) -> None:
        update = validate_session(event["session"])
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
            if voice != self._output_config().get("voice"):
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
        before_input = self._input_config()
        self.config = merge_session(self.config, update)
        after_input = self._input_config()
        if after_input.get("format") != before_input.get("format"):
            self.input_format = format_from_wire(after_input.get("format"))
            self.buffer.clear()
            self._carry = b""
            self.buffer_start_ms = self.timeline_ms
            self._rebuild_vad()
        elif after_input.get("turn_detection") != before_input.get("turn_detection"):
            self._rebuild_vad()
        await self.send("session.updated", session=self.config)

    # ------------------------------------------------------------------ input audio

    async def _on_input_audio_buffer_append(
        self, event: dict[str, Any], event_id: str | None
    ) -> None:
        await self.feed_audio(decode_audio(event["audio"], "audio"))

    async def feed_audio(self, data: bytes) -> None:
        """Append input audio in the session's input format (also used by media surfaces)."""
        fmt = self.input_format
        if fmt.encoding == "pcm":
            data = self._carry + data
            if len(data) % 2:
                self._carry, data = data[-1:], data[:-1]
            else:
                self._carry = b""
        if not data:
            return
        self.buffer += data
        self.timeline_ms += duration_ms(len(data), fmt)
        if self.vad is not None:
            events = self.vad.feed(decode(data, fmt), self.buffer_start_ms)
            for vad_event in events:
                if isinstance(vad_event, SpeechStarted):
                    await self._speech_started(vad_event)
                elif isinstance(vad_event, SpeechStopped):
                    await self._speech_stopped(vad_event)
            await self._check_idle_timeout()
        self._trim_buffer()

    def _trim_buffer(self) -> None:
        """Bound the uncommitted buffer (clients stream silence for hours on phone lines)."""
        fmt = self.input_format
        idle = self.vad is not None and not self.vad.speaking
        limit = MAX_IDLE_BUFFER_MS if idle else MAX_BUFFER_MS
        excess = duration_ms(len(self.buffer), fmt) - limit
        if excess > 0:
            cut = min(len(self.buffer), bytes_for(excess + TRIM_SLACK_MS, fmt))
            del self.buffer[:cut]
            self.buffer_start_ms += duration_ms(cut, fmt)

    def _take_buffer(self, start_ms: float, end_ms: float) -> bytes:
        """Cut [start, end) (timeline ms) out of the buffer; everything before end is dropped."""
        fmt = self.input_format
        start = max(0, bytes_for(start_ms - self.buffer_start_ms, fmt))
        end = min(len(self.buffer), max(start, bytes_for(end_ms - self.buffer_start_ms, fmt)))
        audio = bytes(self.buffer[start:end])
        del self.buffer[:end]
        self.buffer_start_ms += duration_ms(end, fmt)
        return audio

    async def _speech_started(self, event: SpeechStarted) -> None:
        self.speech_item_id = self.ids.new("item")
        self.speech_start_ms = event.audio_start_ms
        self.idle_window = None
        await self.send(
            "input_audio_buffer.speech_started",
            audio_start_ms=event.audio_start_ms,
            item_id=self.speech_item_id,
        )
        detection = self._turn_detection() or {}
        if detection.get("interrupt_response", True) and self.active is not None:
            await self._cancel(self.active, "turn_detected")

    async def _speech_stopped(self, event: SpeechStopped) -> None:
        item_id = self.speech_item_id or self.ids.new("item")
        self.speech_item_id = None
        await self.send(
            "input_audio_buffer.speech_stopped", audio_end_ms=event.audio_end_ms, item_id=item_id
        )
        audio = self._take_buffer(self.speech_start_ms, event.audio_end_ms)
        detection = self._turn_detection() or {}
        await self._commit(item_id, audio, respond=bool(detection.get("create_response", True)))

    async def _check_idle_timeout(self) -> None:
        if self.idle_window is None or self.vad is None or self.vad.speaking:
            return
        start_ms, end_ms = self.idle_window
        if self.vad.position_ms < end_ms:
            return
        self.idle_window = None
        item_id = self.ids.new("item")
        await self.send(
            "input_audio_buffer.timeout_triggered",
            audio_start_ms=int(start_ms),
            audio_end_ms=int(end_ms),
            item_id=item_id,
        )
        audio = self._take_buffer(max(start_ms, self.buffer_start_ms), end_ms)
        await self._commit(item_id, audio, respond=True)

    async def _on_input_audio_buffer_commit(
        self, event: dict[str, Any], event_id: str | None
    ) -> None:
        buffered = duration_ms(len(self.buffer), self.input_format)
        if buffered < 100:
            raise errors.commit_empty(buffered)
        item_id = self.speech_item_id or self.ids.new("item")
        self.speech_item_id = None
        if self.vad is not None and self.vad.speaking:
            self.vad.reset()
            await self.send(
                "input_audio_buffer.speech_stopped",
                audio_end_ms=int(self.timeline_ms),
                item_id=item_id,
            )
        audio = bytes(self.buffer)
        self.buffer.clear()
        self.buffer_start_ms = self.timeline_ms
        await self._commit(item_id, audio, respond=False)

    async def _on_input_audio_buffer_clear(
        self, event: dict[str, Any], event_id: str | None
    ) -> None:
        self.buffer.clear()
        self._carry = b""
        self.buffer_start_ms = self.timeline_ms
        self.speech_item_id = None
        if self.vad is not None:
            self.vad.reset()
        await self.send("input_audio_buffer.cleared")

    async def _on_output_audio_buffer_clear(
        self, event: dict[str, Any], event_id: str | None
    ) -> None:
        raise errors.ProtocolError(
            "output_audio_buffer.clear is only supported for WebRTC and SIP connections; "
            "on a WebSocket the client owns playback (use conversation.item.truncate).",
            code="invalid_value",
            param="type",
        )

    async def _commit(self, item_id: str, audio: bytes, *, respond: bool) -> None:
        """Turn committed audio into a user item; maybe transcribe it and answer it."""
        fmt = self.input_format
        audio_ms = duration_ms(len(audio), fmt)
        heard = self.runner.next_transcript(audio_ms)
        item = Item(
            wire={
                "id": item_id,
                "object": "realtime.item",
                "type": "message",
                "status": "completed",
                "role": "user",
                "content": [{"type": "input_audio", "transcript": None}],
            },
            audio={0: bytearray(audio)},
            audio_format={0: fmt},
            heard=heard,
        )
        previous = self.conversation.insert(item)
        await self.send("input_audio_buffer.committed", previous_item_id=previous, item_id=item_id)
        await items.announce(self, previous, item)

        async def transcribe() -> None:
            await self._transcribe(item, heard, audio_ms)

        if respond and self.active is None:
            await self._create_response({}, after_created=transcribe)
        else:  # no answer asked for, or one is still playing (interrupt_response false)
            await transcribe()

    async def _transcribe(self, item: Item, transcript: str, audio_ms: float) -> None:
        settings = self._input_config().get("transcription")
        if not isinstance(settings, dict):
            return
        for delta in word_deltas(transcript):
            if delta:
                await self.send(
                    "conversation.item.input_audio_transcription.delta",
                    item_id=item.id,
                    content_index=0,
                    delta=delta,
                )
        item.wire["content"][0]["transcript"] = transcript
        await self.send(
            "conversation.item.input_audio_transcription.completed",
            item_id=item.id,
            content_index=0,
            transcript=transcript,
            usage=transcription_usage(settings.get("model"), audio_ms, transcript),
        )

    # ------------------------------------------------------------------ conversation items

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

    # ------------------------------------------------------------------ responses

    async def _on_response_create(self, event: dict[str, Any], event_id: str | None) -> None:
        await self._create_response(event.get("response") or {})

    async def _on_response_cancel(self, event: dict[str, Any], event_id: str | None) -> None:
        response_id = event.get("response_id")
        target = self.responses.get(response_id) if response_id else self.active
        if target is None or target.stopped:
            raise errors.cancel_not_active()
        await self._cancel(target, "client_cancelled")

    async def _cancel(self, response: _Response, reason: str) -> None:
        """Stop a response and wait until its closing events are out (as the server does)."""
        if response.cancel_reason is None and response.failure is None:
            response.cancel_reason = reason
        response.wake.set()
        if response.task is not None and response.task is not asyncio.current_task():
            await asyncio.shield(response.task)

    def _context(self, params: dict[str, Any]) -> list[Item]:
        if "input" not in params:
            return list(self.conversation.items)
        context = []
        for index, raw in enumerate(params["input"]):
            if raw["type"] == "item_reference":
                context.append(self.conversation.get(raw["id"], f"response.input[{index}].id"))
            else:
                context.append(items.build_item(self, raw, f"response.input[{index}]"))
        return context

    async def _create_response(
        self,
        params: dict[str, Any],
        *,
        after_created: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        default_conversation = params.get("conversation", "auto") != "none"
        if default_conversation and self.active is not None:
            raise errors.active_response(self.active.id)
        output = self._output_config()
        override = (params.get("audio") or {}).get("output") or {}
        self.response_count += 1
        response = _Response(
            id=self.ids.new("resp"),
            number=self.response_count,
            default_conversation=default_conversation,
            modalities=list(params.get("output_modalities") or self.config["output_modalities"]),
            output_format=dict(override.get("format") or output.get("format") or {}),
            voice=override.get("voice", output.get("voice")),
            max_output_tokens=params.get("max_output_tokens", self.config["max_output_tokens"]),
            metadata=params.get("metadata"),
            context=self._context(params),
            instructions=str(params.get("instructions", self.config.get("instructions") or "")),
        )
        reply, user_text = self.runner.choose(response.context)
        if default_conversation:
            self.active = response
        self.responses[response.id] = response
        await self.send("response.created", response=self._snapshot(response, "in_progress"))
        if self.options.rate_limits:
            inputs = input_usage(response.instructions, response.context)["input_tokens"]
            await self.send("rate_limits.updated", rate_limits=rate_limits(inputs))
        if after_created is not None:
            await after_created()
        task = asyncio.get_running_loop().create_task(
            self._run_response(response, reply, user_text), name=f"emulator-{response.id}"
        )
        response.task = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _snapshot(
        self,
        response: _Response,
        status: str,
        status_details: dict[str, Any] | None = None,
        usage: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return {
            "object": "realtime.response",
            "id": response.id,
            "status": status,
            "status_details": status_details,
            "output": [item.public() for item in response.output],
            "conversation_id": self.conversation.id if response.default_conversation else None,
            "output_modalities": response.modalities,
            "max_output_tokens": response.max_output_tokens,
            "audio": {"output": {"format": response.output_format, "voice": response.voice}},
            "usage": usage,
            "metadata": response.metadata,
        }

    async def _run_response(self, response: _Response, reply: Reply, user_text: str) -> None:
        try:
            await self._produce(response, reply, user_text)
        except SinkClosed:
            self._forget(response)
        except asyncio.CancelledError:
            self._forget(response)
            raise
        except Exception as exc:  # pragma: no cover - a bug; report it like the server would
            logger.exception("emulator response failed")
            response.failure = {"type": "server_error", "code": "server_error", "message": str(exc)}
            await self._finish(response, reply, [])

    def _forget(self, response: _Response) -> None:
        self.responses.pop(response.id, None)
        if self.active is response:
            self.active = None

    async def _produce(self, response: _Response, reply: Reply, user_text: str) -> None:
        await response.sleep(self.options.response_latency_ms / 1000)
        budget = response.max_output_tokens if isinstance(response.max_output_tokens, int) else None
        output_index = 0
        if reply.echo or reply.text is not None:
            audio_format = response.output_format if "audio" in response.modalities else None
            text, speech = compose_message(reply, user_text, response.context, audio_format)
            if budget is not None:
                text, speech, budget, cut = fit_to_budget(text, speech, budget)
                if cut:
                    response.incomplete_reason = "max_output_tokens"
            if not response.stopped:
                await self._stream_message(response, output_index, text, speech)
                output_index += 1
        call_ids: list[str] = []
        for call in reply.function_calls:
            if response.stopped:
                break
            if budget is not None:
                cost = tokens(str(call.arguments))
                if cost > budget:
                    response.incomplete_reason = "max_output_tokens"
                    break
                budget -= cost
            call_ids.append(await self._stream_call(response, output_index, call))
            output_index += 1
        await self._finish(response, reply, call_ids)

    async def _pace(self, response: _Response, start: float, offset_s: float) -> None:
        if self.options.pace == "realtime":
            loop = asyncio.get_running_loop()
            await response.sleep(start + offset_s - loop.time())
        else:
            await asyncio.sleep(0)

    async def _maybe_fail(self, response: _Response) -> None:
        """Fault ``error_mid_response``: an ``error`` event after the first delta, then fail."""
        response.deltas += 1
        if response.deltas == 1 and response.number == self.options.error_mid_response:
            error = errors.server_error()
            await self.send_error(error)
            response.failure = {"type": error.type, "code": error.code, "message": error.message}
            response.wake.set()

    async def _open_item(self, response: _Response, output_index: int, item: Item) -> str | None:
        previous = None
        if response.default_conversation:
            previous = self.conversation.insert(item)
        response.output.append(item)
        await self.send(
            "response.output_item.added",
            response_id=response.id,
            output_index=output_index,
            item=item.public(),
        )
        if response.default_conversation:
            await self.send(
                "conversation.item.added", previous_item_id=previous, item=item.public()
            )
        return previous

    async def _close_item(
        self, response: _Response, output_index: int, item: Item, previous: str | None
    ) -> None:
        item.wire["status"] = "incomplete" if response.stopped else "completed"
        await self.send(
            "response.output_item.done",
            response_id=response.id,
            output_index=output_index,
            item=item.public(),
        )
        if response.default_conversation:
            await self.send("conversation.item.done", previous_item_id=previous, item=item.public())

    async def _stream_message(
        self, response: _Response, output_index: int, text: str, speech: Speech | None
    ) -> None:
        item = Item(
            wire={
                "id": self.ids.new("item"),
                "object": "realtime.item",
                "type": "message",
                "status": "in_progress",
                "role": "assistant",
                "content": [],
            }
        )
        previous = await self._open_item(response, output_index, item)
        ids = {"response_id": response.id, "item_id": item.id, "output_index": output_index}
        if speech is not None:
            part: dict[str, Any] = {"type": "audio", "transcript": ""}
        else:
            part = {"type": "text", "text": ""}
        await self.send("response.content_part.added", **ids, content_index=0, part=part)
        loop = asyncio.get_running_loop()
        start = loop.time()
        said = ""
        if speech is not None:
            fmt = speech.fmt
            content: dict[str, Any] = {"type": "output_audio", "transcript": ""}
            item.wire["content"] = [content]
            item.audio[0] = bytearray()
            item.audio_format[0] = fmt
            chunk = max(fmt.sample_width, bytes_for(self.options.chunk_ms, fmt))
            words = list(speech.words)
            next_word = 0
            for offset in range(0, len(speech.audio), chunk):
                await self._pace(response, start, duration_ms(offset, fmt) / 1000)
                if response.stopped:
                    break
                piece = speech.audio[offset : offset + chunk]
                end_ms = duration_ms(offset + len(piece), fmt)
                while next_word < len(words) and words[next_word][1] < end_ms:
                    word = words[next_word][0]
                    next_word += 1
                    said += word
                    content["transcript"] = said
                    await self.send(
                        "response.output_audio_transcript.delta", **ids, content_index=0, delta=word
                    )
                await self.emit_audio(ids, piece, fmt)
                item.audio[0] += piece
                response.audio_ms += duration_ms(len(piece), fmt)
                self.assistant_audio_sent = True
                await self._maybe_fail(response)
            if not response.stopped:
                for word, _ in words[next_word:]:
                    said += word
                    await self.send(
                        "response.output_audio_transcript.delta", **ids, content_index=0, delta=word
                    )
            content["transcript"] = said
            await self.send("response.output_audio.done", **ids, content_index=0)
            await self.send(
                "response.output_audio_transcript.done", **ids, content_index=0, transcript=said
            )
            part = {"type": "audio", "transcript": said}
        else:
            content = {"type": "output_text", "text": ""}
            item.wire["content"] = [content]
            for index, delta in enumerate(word_deltas(text)):
                await self._pace(response, start, index * self.options.text_delta_ms / 1000)
                if response.stopped:
                    break
                if not delta:
                    continue
                said += delta
                content["text"] = said
                await self.send("response.output_text.delta", **ids, content_index=0, delta=delta)
                await self._maybe_fail(response)
            await self.send("response.output_text.done", **ids, content_index=0, text=said)
            part = {"type": "text", "text": said}
        response.output_text_tokens += tokens(said)
        await self.send("response.content_part.done", **ids, content_index=0, part=part)
        await self._close_item(response, output_index, item, previous)

    async def emit_audio(self, ids: dict[str, Any], chunk: bytes, fmt: WireFormat) -> None:
        """Deliver one chunk of model audio: a ``response.output_audio.delta`` event.

        Media surfaces (WebRTC, SIP), where audio rides RTP instead, override this (and
        ``_on_output_audio_buffer_clear``) in a subclass; ``ids`` holds ``response_id``,
        ``item_id`` and ``output_index``.
        """
        await self.send(
            "response.output_audio.delta",
            **ids,
            content_index=0,
            delta=base64.b64encode(chunk).decode("ascii"),
        )

    async def _stream_call(self, response: _Response, output_index: int, call: FunctionCall) -> str:
        call_id = call.call_id or self.ids.new("call")
        arguments = str(call.arguments)
        item = Item(
            wire={
                "id": self.ids.new("item"),
                "object": "realtime.item",
                "type": "function_call",
                "status": "in_progress",
                "name": call.name,
                "call_id": call_id,
                "arguments": "",
            }
        )
        previous = await self._open_item(response, output_index, item)
        ids = {"response_id": response.id, "item_id": item.id, "output_index": output_index}
        loop = asyncio.get_running_loop()
        start = loop.time()
        sent = ""
        for index, offset in enumerate(range(0, len(arguments), 16)):
            await self._pace(response, start, index * self.options.text_delta_ms / 1000)
            if response.stopped:
                break
            delta = arguments[offset : offset + 16]
            sent += delta
            item.wire["arguments"] = sent
            await self.send(
                "response.function_call_arguments.delta", **ids, call_id=call_id, delta=delta
            )
            await self._maybe_fail(response)
        if not response.stopped:
            item.wire["arguments"] = arguments
            await self.send(
                "response.function_call_arguments.done",
                **ids,
                call_id=call_id,
                name=call.name,
                arguments=arguments,
            )
        response.output_text_tokens += tokens(str(item.wire["arguments"]))
        await self._close_item(response, output_index, item, previous)
        return call_id

    def _usage(self, response: _Response) -> dict[str, Any]:
        inputs = input_usage(response.instructions, response.context)
        usage = response_usage(
            inputs, self.previous_input_tokens, response.audio_ms, response.output_text_tokens
        )
        self.previous_input_tokens = inputs["input_tokens"]
        return usage

    async def _finish(self, response: _Response, reply: Reply, call_ids: list[str]) -> None:
        if response.failure is not None:
            status, details = "failed", {"type": "failed", "error": response.failure}
        elif response.cancel_reason is not None:
            status = "cancelled"
            details = {"type": "cancelled", "reason": response.cancel_reason}
        elif response.incomplete_reason is not None:
            status = "incomplete"
            details = {"type": "incomplete", "reason": response.incomplete_reason}
        else:
            status, details = "completed", {"type": "completed"}
        if status == "completed":
            self.runner.expect_outputs(reply, call_ids)
        usage = self._usage(response)
        if self.active is response:
            self.active = None
        self.responses.pop(response.id, None)
        await self.send("response.done", response=self._snapshot(response, status, details, usage))
        detection = self._turn_detection() or {}
        idle = detection.get("idle_timeout_ms")
        if status == "completed" and response.default_conversation and idle:
            played = self.timeline_ms + response.audio_ms
            self.idle_window = (played, played + float(idle))


def output_format(session: dict[str, Any]) -> WireFormat:
    """The session's output audio format (for surfaces that play audio themselves)."""
    audio = session.get("audio") or {}
    return format_from_wire((audio.get("output") or {}).get("format"))
