"""One WebRTC call: an aiortc peer connection whose ``oai-events`` channel drives a session.

Client events arrive as data-channel messages and are handled one at a time, in order (a
bounded queue; overflow is reported as an ``error`` event); server events go back on the same
channel. The caller's audio track feeds the session's VAD; the reply track carries the model's
voice. Faults apply as on the WebSocket: ``malformed_after``/``unknown_after`` inject frames,
``close_after``/``reset_after`` end the call (the peer connection closes), ``delay_ms`` delays
events, ``stop_reading_after`` stops handling client events.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any, cast

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from realtime_transport_emulator.faults import Faults
from realtime_transport_emulator.model.script import Script
from realtime_transport_emulator.records import ConnectionRecord
from realtime_transport_emulator.session.errors import ProtocolError
from realtime_transport_emulator.session.ids import IdFactory
from realtime_transport_emulator.session.session import RealtimeSession, SessionOptions, SinkClosed
from realtime_transport_emulator.surfaces.webrtc.hosts import pinned_host_addresses
from realtime_transport_emulator.surfaces.webrtc.media import pump_input, to_session_input
from realtime_transport_emulator.surfaces.webrtc.playback import WebRtcSession
from realtime_transport_emulator.surfaces.webrtc.sideband import Sidebands, SidebandSession

logger = logging.getLogger("realtime_transport_emulator.webrtc")

CHANNEL_LABEL = "oai-events"
MAX_PENDING_EVENTS = 1024
MALFORMED_FRAME = '{"type": "response.output_audio.delta", "delta": "AAAA'
CHANNEL_WAIT_SECONDS = 20.0  # a call whose data channel never opens is ended


class WebRtcCall:
    def __init__(
        self,
        *,
        record: ConnectionRecord,
        config: dict[str, Any],
        ids: IdFactory,
        script: Script,
        options: SessionOptions,
        faults: Faults,
        host: str,
    ) -> None:
        self.record = record
        self.faults = faults
        self.host = host
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.session = WebRtcSession(
            config=config, ids=ids, script=script, send=self.send_event, options=options
        )
        self.channel: Any = None
        self.sidebands = Sidebands()
        self.sent = 0
        self.received = 0
        self.dead = False
        self._queue: asyncio.Queue[str | bytes] = asyncio.Queue(MAX_PENDING_EVENTS)
        self._started = asyncio.Event()
        self._stopped = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing: asyncio.Task[None] | None = None
        self.done = asyncio.Event()
        self.on_closed: Callable[[], None] | None = None  # the endpoint forgets the call

    # ------------------------------------------------------------------ setup

    async def answer(self, offer: str) -> str:
        """Apply the offer and return the answer (ICE candidates on the emulator's host)."""
        pc = self.pc
        pc.on("datachannel", self._on_channel)
        pc.on("track", self._on_track)
        pc.on("connectionstatechange", self._on_state)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        if not any(t.kind == "audio" for t in pc.getTransceivers()):
            raise ValueError("the offer has no audio m-line; add an audio track or transceiver")
        pc.addTrack(self.session.track)
        answer = await pc.createAnswer()
        with pinned_host_addresses(self.host):
            await pc.setLocalDescription(answer)
        self._spawn(self._watch_channel())
        return str(pc.localDescription.sdp)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _watch_channel(self) -> None:
        try:
            await asyncio.wait_for(self._started.wait(), CHANNEL_WAIT_SECONDS)
        except asyncio.TimeoutError:
            logger.info(
                "call %s: no data channel within %gs", self.record.call_id, CHANNEL_WAIT_SECONDS
            )
            self.close_soon()

    def _on_channel(self, channel: Any) -> None:
        if channel.label != CHANNEL_LABEL or self.channel is not None:
            return
        self.channel = channel
        channel.on("message", self._on_message)
        channel.on("close", self.close_soon)
        self._spawn(self._run())

    def _on_track(self, track: Any) -> None:
        if track.kind == "audio":
            self._spawn(self._pump(track))

    def _on_state(self) -> None:
        if self.pc.connectionState in ("failed", "closed"):
            self.close_soon()

    # ------------------------------------------------------------------ session

    async def _run(self) -> None:
        try:
            await self._after_sent()
            await self.session.start()
            self._started.set()
            await self._read_loop()
        except SinkClosed:
            pass
        finally:
            self.close_soon()

    async def _pump(self, track: Any) -> None:
        await self._started.wait()

        async def feed(pcm24: bytes) -> None:
            await self.session.feed_audio(to_session_input(pcm24, self.session.input_format))

        try:
            await pump_input(track, feed, self._stopped)
        except SinkClosed:
            pass

    def _on_message(self, message: str | bytes) -> None:
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            self.record.add_invalid("<client event dropped: queue full>")

    async def _read_loop(self) -> None:
        stop_after = self.faults.stop_reading_after
        while True:
            if stop_after is not None and self.received >= stop_after:
                await self._stopped.wait()
                return
            message = await self._queue.get()
            if isinstance(message, bytes):
                self.record.add_invalid(f"<binary message of {len(message)} bytes>")
                await self.session.send_error(
                    ProtocolError(
                        "Binary messages are not supported; send each client event as a JSON "
                        "text message on the oai-events channel.",
                        code="invalid_value",
                    )
                )
                continue
            try:
                event = json.loads(message)
            except json.JSONDecodeError as exc:
                self.record.add_invalid(message)
                await self.session.send_error(
                    ProtocolError(
                        f"We could not parse the JSON of your event: {exc.msg} at position "
                        f"{exc.pos}. Send one JSON object per message.",
                        code="invalid_json",
                    )
                )
                continue
            self.received += 1
            self.record.add_client(event if isinstance(event, dict) else {"type": None})
            await self.session.handle(event)

    async def send_event(self, event: dict[str, Any]) -> None:
        if self.dead or self.channel is None or self.channel.readyState != "open":
            self.dead = True
            raise SinkClosed()
        if self.faults.delay_ms:
            await asyncio.sleep(self.faults.delay_ms / 1000)
        self.channel.send(json.dumps(event))
        self.sent += 1
        self.record.add_server(event)
        await self.sidebands.mirror(event)
        await self._after_sent()

    async def _after_sent(self) -> None:
        faults, count = self.faults, self.sent
        if faults.malformed_after == count:
            self._inject(MALFORMED_FRAME)
        if faults.unknown_after == count:
            self._inject(
                json.dumps(
                    {
                        "type": "emulator.fault.unknown_event",
                        "event_id": f"event_fault_unknown_{count}",
                        "detail": "An event type this client does not know (fault injection).",
                    }
                )
            )
        if count in (faults.close_after, faults.reset_after):
            self.dead = True
            self.close_soon()
            raise SinkClosed()

    def _inject(self, frame: str) -> None:
        if self.channel is not None and self.channel.readyState == "open":
            self.channel.send(frame)
            self.record.injected_frames.append(frame)
            self.record.on_change()

    # ------------------------------------------------------------------ sideband (CallMedia)

    def new_session(self, **kwargs: Any) -> RealtimeSession:
        """The session of a socket attached with ``?call_id=``: this call's own session."""
        return cast(RealtimeSession, SidebandSession(self, kwargs["send"]))

    def attached(self, session: RealtimeSession, hang_up: Callable[[], None]) -> None:
        self.sidebands.add(cast(SidebandSession, session), hang_up)

    def detached(self, session: RealtimeSession) -> None:
        self.sidebands.remove(cast(SidebandSession, session))

    # ------------------------------------------------------------------ teardown

    def close_soon(self) -> None:
        if self._closing is None:
            self._closing = asyncio.get_running_loop().create_task(self.close())

    async def close(self) -> None:
        """End the call: stop the session and its tasks, close the peer connection."""
        if self._stopped.is_set():
            await self.done.wait()
            return
        self._stopped.set()
        self.dead = True
        current = asyncio.current_task()
        self.sidebands.hang_up_all()
        try:
            await self.session.close()
            for task in list(self._tasks):
                if task is not current:
                    task.cancel()
            await asyncio.gather(
                *(t for t in self._tasks if t is not current), return_exceptions=True
            )
            await self.pc.close()
        finally:
            if self.on_closed is not None:
                self.on_closed()
            self.record.mark_closed(1000, "call ended")
            self.done.set()
