"""The session of a WebRTC call: model audio rides the reply track, the server owns playback.

Differences from the WebSocket session, as the API behaves over WebRTC: no
``response.output_audio.delta`` events (the audio is on RTP); ``output_audio_buffer.started``
when a response's audio starts playing, ``output_audio_buffer.stopped`` when it has played out
(the response is done and the buffer drained), ``output_audio_buffer.cleared`` when the client
sends ``output_audio_buffer.clear`` or server VAD barges in (unplayed audio is dropped).
"""

from __future__ import annotations

import asyncio
from typing import Any

from realtime_transport_emulator.model.audio import WireFormat
from realtime_transport_emulator.session.session import RealtimeSession, SinkClosed
from realtime_transport_emulator.surfaces.webrtc.media import ReplyTrack, to_track_pcm


class WebRtcSession(RealtimeSession):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.track = ReplyTrack(self._drained)
        self.playing: str | None = None  # the response whose audio is buffered or playing
        self.last_response_id = ""
        self._generated: set[str] = set()  # responses whose audio is fully generated
        self._tasks: set[asyncio.Task[None]] = set()

    async def emit_audio(self, ids: dict[str, Any], chunk: bytes, fmt: WireFormat) -> None:
        response_id = str(ids.get("response_id") or "")
        if self.playing != response_id:
            if self.playing is not None:
                await self.send("output_audio_buffer.stopped", response_id=self.playing)
            self.playing = self.last_response_id = response_id
            await self.send("output_audio_buffer.started", response_id=response_id)
        self.track.push(to_track_pcm(chunk, fmt))

    async def send(self, event_type: str, **fields: Any) -> None:
        await super().send(event_type, **fields)
        if event_type == "response.done":
            response_id = str((fields.get("response") or {}).get("id") or "")
            self._generated.add(response_id)
            if response_id == self.playing and self.track.buffered_ms == 0:
                await self._stopped()
        elif event_type == "input_audio_buffer.speech_started" and self.playing is not None:
            detection = self.turn_detection() or {}
            if detection.get("interrupt_response", True):
                await self._clear()

    async def _on_output_audio_buffer_clear(
        self, event: dict[str, Any], event_id: str | None
    ) -> None:
        await self._clear()

    async def _clear(self) -> None:
        self.track.clear()
        response_id = self.playing or self.last_response_id
        self.playing = None
        await self.send("output_audio_buffer.cleared", response_id=response_id)

    async def _stopped(self) -> None:
        response_id, self.playing = self.playing, None
        if response_id is not None:
            self._generated.discard(response_id)
            await self.send("output_audio_buffer.stopped", response_id=response_id)

    def _drained(self) -> None:
        """The track played its last buffered frame (called from aiortc's sender task)."""
        if self.playing is None or self.playing not in self._generated:
            return  # more audio of this response is still being generated
        task = asyncio.get_running_loop().create_task(self._quietly(self._stopped()))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _quietly(coro: Any) -> None:
        try:
            await coro
        except SinkClosed:
            pass

    async def close(self) -> None:
        await super().close()
        for task in list(self._tasks):
            task.cancel()
        self.track.stop()
