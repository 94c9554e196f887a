"""A bare aiortc caller for the emulator's WebRTC tests: offer, POST, answer, oai-events, tracks."""

from __future__ import annotations

import asyncio
import fractions
import json
from typing import Any

import httpx
import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame

TIMEOUT = 10.0
RATE = 48000


class PcmTrack(MediaStreamTrack):  # type: ignore[misc]
    """Mono PCM16 48 kHz queued by the test, paced in real time; silence when empty."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self.buffer = bytearray()
        self._start: float | None = None
        self._pts = 0

    def say(self, pcm48: bytes) -> None:
        self.buffer += pcm48

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        wait = self._start + self._pts / RATE - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        data = bytes(self.buffer[:1920]).ljust(1920, b"\0")
        del self.buffer[:1920]
        frame = AudioFrame(format="s16", layout="mono", samples=960)
        frame.planes[0].update(data)
        frame.sample_rate, frame.pts = RATE, self._pts
        frame.time_base = fractions.Fraction(1, RATE)
        self._pts += 960
        return frame


def speech48(seconds: float) -> bytes:
    """Speech-like PCM16 48 kHz: harmonics with a syllable envelope (loud enough for the VAD)."""
    t = np.arange(int(seconds * RATE)) / RATE
    wave = sum(np.sin(2 * np.pi * f * t) / (i + 1) for i, f in enumerate((180, 360, 540, 720)))
    envelope = 0.6 + 0.4 * np.sin(2 * np.pi * 4 * t)
    return bytes((wave * envelope * 8000).astype("<i2").tobytes())


class Caller:
    """One peer connection to the emulator's /v1/realtime/calls."""

    def __init__(self) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.channel = self.pc.createDataChannel("oai-events")
        self.mic = PcmTrack()
        self.pc.addTrack(self.mic)
        self.events: list[dict[str, Any]] = []
        self.raw: list[str] = []
        self._changed = asyncio.Event()
        self.opened = asyncio.Event()
        self.received_audio: list[np.ndarray[Any, Any]] = []
        self.location: str | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.channel.on("open", self.opened.set)
        self.channel.on("message", self._on_message)
        self.pc.on("track", self._on_track)

    def _on_message(self, message: str) -> None:
        self.raw.append(message)
        try:
            self.events.append(json.loads(message))
        except ValueError:
            pass
        self._changed.set()

    def _on_track(self, track: Any) -> None:
        self._tasks.append(asyncio.get_running_loop().create_task(self._listen(track)))

    async def _listen(self, track: Any) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            self.received_audio.append(frame.to_ndarray().reshape(-1))

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return str(self.pc.localDescription.sdp)

    async def post(
        self, url: str, key: str, *, session: dict[str, Any] | None = None
    ) -> httpx.Response:
        sdp = await self.offer()
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(timeout=TIMEOUT) as http:
            if session is None:
                headers["Content-Type"] = "application/sdp"
                return await http.post(url, content=sdp, headers=headers)
            files = {
                "sdp": (None, sdp, "application/sdp"),
                "session": (None, json.dumps(session), "application/json"),
            }
            return await http.post(url, files=files, headers=headers)

    async def connect(
        self, url: str, key: str, *, session: dict[str, Any] | None = None
    ) -> httpx.Response:
        response = await self.post(url, key, session=session)
        assert response.status_code == 201, response.text
        self.location = response.headers["location"]
        answer = RTCSessionDescription(sdp=response.text, type="answer")
        await self.pc.setRemoteDescription(answer)
        await asyncio.wait_for(self.opened.wait(), TIMEOUT)
        return response

    def send(self, event: dict[str, Any]) -> None:
        self.channel.send(json.dumps(event))

    async def until(
        self, event_type: str, *, count: int = 1, timeout: float = TIMEOUT
    ) -> dict[str, Any]:
        async def wait() -> dict[str, Any]:
            while True:
                found = [e for e in self.events if e.get("type") == event_type]
                if len(found) >= count:
                    return found[count - 1]
                self._changed.clear()
                await self._changed.wait()

        try:
            return await asyncio.wait_for(wait(), timeout)
        except asyncio.TimeoutError:
            seen = [e.get("type") for e in self.events]
            raise AssertionError(
                f"no {event_type!r} (#{count}) in {timeout}s; got {seen}"
            ) from None

    def types(self) -> list[str]:
        return [str(e.get("type")) for e in self.events]

    async def close(self) -> None:
        self.mic.stop()
        await self.pc.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
