"""The user's turns: input audio, server VAD, and what happens when a turn ends.

Appended audio goes into the :class:`~.input_buffer.InputBuffer` and through the VAD. Speech
starting sends ``input_audio_buffer.speech_started`` and, with ``interrupt_response``, cancels
the response in flight (barge-in); speech stopping, a manual ``input_audio_buffer.commit`` or an
``idle_timeout_ms`` after the model stopped talking commits the audio: a user item, its
transcription when enabled, and, with ``create_response``, a response to it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from realtime_transport_emulator.model.audio import (
    WireFormat,
    decode_pcm16,
    duration_ms,
    format_from_wire,
)
from realtime_transport_emulator.session import errors
from realtime_transport_emulator.session.content import word_deltas
from realtime_transport_emulator.session.conversation import Item
from realtime_transport_emulator.session.input_buffer import InputBuffer
from realtime_transport_emulator.session.items import announce
from realtime_transport_emulator.session.usage import transcription_usage
from realtime_transport_emulator.session.vad import (
    EnergyVad,
    SpeechStarted,
    SpeechStopped,
    VadSettings,
)

if TYPE_CHECKING:
    from realtime_transport_emulator.session.session import RealtimeSession


class TurnTaking:
    """The input buffer, the VAD built from ``turn_detection``, and the turn in progress."""

    def __init__(self, session: RealtimeSession) -> None:
        self.session = session
        self.buffer = InputBuffer(format_from_wire(session.input_config().get("format")))
        self.vad: EnergyVad | None = None
        self.speech_item_id: str | None = None
        self.speech_start_ms = 0
        self.idle_window: tuple[float, float] | None = None  # timeline span that ends a turn
        self.rebuild()

    def rebuild(self) -> None:
        """A fresh VAD for the session's ``turn_detection`` (None: manual commits only)."""
        detection = self.session.turn_detection()
        if detection is None:
            self.vad = None
        else:
            settings = VadSettings.from_turn_detection(detection)
            buffer = self.buffer
            self.vad = EnergyVad(settings, buffer.fmt.rate, origin_ms=buffer.timeline_ms)
        self.speech_item_id = None
        self.idle_window = None

    def set_format(self, fmt: WireFormat) -> None:
        """The input format changed: drop uncommitted audio and start the VAD afresh."""
        self.buffer.set_format(fmt)
        self.rebuild()

    # ------------------------------------------------------------------ client events

    async def feed(self, data: bytes) -> None:
        """Append input audio and act on what the VAD hears in it."""
        added = self.buffer.append(data)
        if not added:
            return
        if self.vad is not None:
            for event in self.vad.feed(decode_pcm16(added, self.buffer.fmt), self.buffer.start_ms):
                if isinstance(event, SpeechStarted):
                    await self._speech_started(event)
                elif isinstance(event, SpeechStopped):
                    await self._speech_stopped(event)
            await self._check_idle_timeout()
        self.buffer.trim(idle=self.vad is not None and not self.vad.speaking)

    async def commit(self) -> None:
        """``input_audio_buffer.commit``: the whole buffer becomes a user item, unanswered."""
        buffered = self.buffer.buffered_ms
        if buffered < 100:
            raise errors.commit_empty(buffered)
        item_id = self.speech_item_id or self.session.ids.new("item")
        self.speech_item_id = None
        if self.vad is not None and self.vad.speaking:
            self.vad.reset()
            await self.session.send(
                "input_audio_buffer.speech_stopped",
                audio_end_ms=int(self.buffer.timeline_ms),
                item_id=item_id,
            )
        await self._commit(item_id, self.buffer.take_all(), respond=False)

    async def clear(self) -> None:
        """``input_audio_buffer.clear``: forget the buffer and any speech in progress."""
        self.buffer.clear()
        self.speech_item_id = None
        if self.vad is not None:
            self.vad.reset()
        await self.session.send("input_audio_buffer.cleared")

    def response_played(self, audio_ms: float) -> None:
        """A response finished: with ``idle_timeout_ms``, silence after it ends the turn."""
        idle = (self.session.turn_detection() or {}).get("idle_timeout_ms")
        if idle:
            played = self.buffer.timeline_ms + audio_ms
            self.idle_window = (played, played + float(idle))

    # ------------------------------------------------------------------ VAD

    async def _speech_started(self, event: SpeechStarted) -> None:
        session = self.session
        self.speech_item_id = session.ids.new("item")
        self.speech_start_ms = event.audio_start_ms
        self.idle_window = None
        await session.send(
            "input_audio_buffer.speech_started",
            audio_start_ms=event.audio_start_ms,
            item_id=self.speech_item_id,
        )
        detection = session.turn_detection() or {}
        active = session.responder.active
        if detection.get("interrupt_response", True) and active is not None:
            await active.cancel("turn_detected")

    async def _speech_stopped(self, event: SpeechStopped) -> None:
        item_id = self.speech_item_id or self.session.ids.new("item")
        self.speech_item_id = None
        await self.session.send(
            "input_audio_buffer.speech_stopped", audio_end_ms=event.audio_end_ms, item_id=item_id
        )
        audio = self.buffer.take(self.speech_start_ms, event.audio_end_ms)
        detection = self.session.turn_detection() or {}
        await self._commit(item_id, audio, respond=bool(detection.get("create_response", True)))

    async def _check_idle_timeout(self) -> None:
        if self.idle_window is None or self.vad is None or self.vad.speaking:
            return
        start_ms, end_ms = self.idle_window
        if self.vad.position_ms < end_ms:
            return
        self.idle_window = None
        item_id = self.session.ids.new("item")
        await self.session.send(
            "input_audio_buffer.timeout_triggered",
            audio_start_ms=int(start_ms),
            audio_end_ms=int(end_ms),
            item_id=item_id,
        )
        audio = self.buffer.take(max(start_ms, self.buffer.start_ms), end_ms)
        await self._commit(item_id, audio, respond=True)

    # ------------------------------------------------------------------ committed turns

    async def _commit(self, item_id: str, audio: bytes, *, respond: bool) -> None:
        """Turn committed audio into a user item; maybe transcribe it and answer it."""
        session = self.session
        fmt = self.buffer.fmt
        audio_ms = duration_ms(len(audio), fmt)
        heard = session.runner.next_transcript(audio_ms)
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
        previous = session.conversation.insert(item)
        await session.send(
            "input_audio_buffer.committed", previous_item_id=previous, item_id=item_id
        )
        await announce(session, previous, item)

        async def transcribe() -> None:
            await self._transcribe(item, heard, audio_ms)

        if respond and session.responder.active is None:
            await session.responder.create({}, after_created=transcribe)
        else:  # no answer asked for, or one is still playing (interrupt_response false)
            await transcribe()

    async def _transcribe(self, item: Item, transcript: str, audio_ms: float) -> None:
        """Transcription events, when ``audio.input.transcription`` is set."""
        session = self.session
        settings = session.input_config().get("transcription")
        if not isinstance(settings, dict):
            return
        for delta in word_deltas(transcript):
            if delta:
                await session.send(
                    "conversation.item.input_audio_transcription.delta",
                    item_id=item.id,
                    content_index=0,
                    delta=delta,
                )
        item.wire["content"][0]["transcript"] = transcript
        await session.send(
            "conversation.item.input_audio_transcription.completed",
            item_id=item.id,
            content_index=0,
            transcript=transcript,
            usage=transcription_usage(settings.get("model"), audio_ms, transcript),
        )
