"""Media over real peer connections: caller audio on the Opus track triggers the emulator's VAD,
the reply reaches the sink at the configured rate, mute silences the track, interrupt clears the
server's buffer (no reply audio after the clear), local_audio wiring with files."""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from realtime_transport.testing.scenarios import speech_like_pcm16
from realtime_transport_emulator import Emulator
from realtime_transport_webrtc import LocalAudio, OpenAIRealtimeWebRTC

KEY = "sk-test"
VAD = {"audio": {"input": {"turn_detection": {"type": "server_vad", "silence_duration_ms": 300}}}}


class Sink:
    """Records what the transport plays, with arrival times."""

    def __init__(self) -> None:
        self.chunks: list[tuple[float, bytes]] = []

    def __call__(self, pcm: bytes) -> None:
        self.chunks.append((asyncio.get_running_loop().time(), pcm))

    def samples(self, since: float = 0.0) -> np.ndarray[Any, Any]:
        data = b"".join(pcm for at, pcm in self.chunks if at >= since)
        return np.frombuffer(data, dtype="<i2").astype(np.float64)

    def rms(self, since: float = 0.0) -> float:
        samples = self.samples(since)
        return float(np.sqrt(np.mean(samples**2))) if samples.size else 0.0


async def wait_event(transport: OpenAIRealtimeWebRTC, name: str, timeout: float = 10) -> Any:
    future = asyncio.get_running_loop().create_future()
    off = transport.on(name, lambda e: future.done() or future.set_result(e))
    try:
        return await asyncio.wait_for(future, timeout)
    finally:
        off()


def client_types(emulator: Emulator) -> list[str]:
    return emulator.connections[-1].client_types()


def server_types(emulator: Emulator) -> list[str]:
    return emulator.connections[-1].server_types()


async def speak(transport: OpenAIRealtimeWebRTC, seconds: float = 0.6) -> None:
    audio = speech_like_pcm16(seconds) + bytes(48 * 900)
    for start in range(0, len(audio), 4800):
        transport.send_audio(audio[start : start + 4800])


@pytest.mark.parametrize("rate", [24000, 48000])
async def test_audio_turn_reply_reaches_the_sink_at_its_rate(emulator: Emulator, rate: int) -> None:
    sink = Sink()
    transport = OpenAIRealtimeWebRTC(
        base_url=emulator.base_url, audio_sink=sink, output_sample_rate=rate
    )
    await asyncio.wait_for(transport.connect(api_key=KEY, initial_session_config=VAD), 15)
    try:
        await speak(transport)
        started_at = 0.0
        started = await wait_event(transport, "output_audio_buffer.started")
        started_at = asyncio.get_running_loop().time()
        stopped = await wait_event(transport, "output_audio_buffer.stopped", timeout=15)
        stopped_at = asyncio.get_running_loop().time()
        assert started.response_id == stopped.response_id
        types = server_types(emulator)
        assert "input_audio_buffer.speech_started" in types
        assert "response.output_audio.delta" not in types  # the reply rode RTP
        reply = sink.samples(started_at)[: int((stopped_at - started_at) * rate)]
        assert np.sqrt(np.mean(reply**2)) > 100, "no reply audio reached the sink"
        # a steady real-time stream at the configured rate (20 ms frames)
        span = sink.chunks[-1][0] - sink.chunks[0][0]
        produced = sum(len(pcm) for _, pcm in sink.chunks[:-1]) / 2
        assert produced == pytest.approx(span * rate, rel=0.25)
        assert all(len(pcm) == rate // 50 * 2 for _, pcm in sink.chunks[5:-5])
    finally:
        await transport.close()


async def test_without_a_sink_audio_events_carry_the_playing_response(emulator: Emulator) -> None:
    transport = OpenAIRealtimeWebRTC(base_url=emulator.base_url)
    chunks: list[Any] = []
    transport.on("audio", chunks.append)
    await asyncio.wait_for(transport.connect(api_key=KEY), 15)
    try:
        transport.send_message("hello")
        started = await wait_event(transport, "output_audio_buffer.started")
        await wait_event(transport, "output_audio_buffer.stopped", timeout=15)
        assert chunks and {c.response_id for c in chunks} == {started.response_id}
        assert all(c.item_id for c in chunks)
    finally:
        await transport.close()


async def test_mute_silences_the_track(emulator: Emulator) -> None:
    transport = OpenAIRealtimeWebRTC(base_url=emulator.base_url, audio_sink=lambda pcm: None)
    await asyncio.wait_for(transport.connect(api_key=KEY, initial_session_config=VAD), 15)
    try:
        transport.mute(True)
        assert transport.muted is True
        await speak(transport)
        await asyncio.sleep(1.8)  # the whole utterance played out, silenced
        assert "input_audio_buffer.speech_started" not in server_types(emulator)
        transport.mute(False)
        await speak(transport)
        await wait_event(transport, "input_audio_buffer.speech_started", timeout=5)
    finally:
        await transport.close()
    assert transport.muted is False


async def test_interrupt_mid_reply_clears_the_server_buffer(emulator: Emulator) -> None:
    sink = Sink()
    transport = OpenAIRealtimeWebRTC(base_url=emulator.base_url, audio_sink=sink)
    interrupted: list[Any] = []
    transport.on("audio_interrupted", interrupted.append)
    await asyncio.wait_for(transport.connect(api_key=KEY), 15)
    try:
        transport.send_message("tell me a long story")
        await wait_event(transport, "output_audio_buffer.started")
        await asyncio.sleep(0.3)
        transport.interrupt()
        await wait_event(transport, "output_audio_buffer.cleared")
        assert interrupted, "audio_interrupted comes from output_audio_buffer.cleared"
        assert 200 <= interrupted[0].audio_end_ms <= 2000  # about the 0.3 s that played
        sent = client_types(emulator)
        assert sent[-2:] == ["response.cancel", "output_audio_buffer.clear"] or sent[-1] == (
            "output_audio_buffer.clear"
        )
        await asyncio.sleep(0.3)  # frames already in flight
        quiet_from = asyncio.get_running_loop().time()
        await asyncio.sleep(0.5)
        assert sink.rms(quiet_from) < 30, "reply audio kept playing after the clear"
        assert "output_audio_buffer.stopped" not in server_types(emulator)
        transport.interrupt()  # idle: only the clear goes out
        await asyncio.sleep(0.1)
        assert client_types(emulator)[-1] == "output_audio_buffer.clear"
        assert client_types(emulator).count("response.cancel") <= 1
    finally:
        await transport.close()


def write_wav(path: Path, pcm: bytes, rate: int = 24000) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm)


async def test_local_audio_with_files(emulator: Emulator, tmp_path: Path) -> None:
    """The local_audio wiring (aiortc's MediaPlayer/MediaRecorder), with files for devices:
    this machine has no sound card."""
    source, played = tmp_path / "mic.wav", tmp_path / "speaker.wav"
    write_wav(source, speech_like_pcm16(0.6) + bytes(48 * 1200))
    transport = OpenAIRealtimeWebRTC(
        base_url=emulator.base_url,
        local_audio=LocalAudio(input=str(source), output=str(played)),
    )
    await asyncio.wait_for(transport.connect(api_key=KEY, initial_session_config=VAD), 15)
    try:
        await wait_event(transport, "input_audio_buffer.speech_started", timeout=5)
        await wait_event(transport, "output_audio_buffer.stopped", timeout=15)
    finally:
        await transport.close()
    with wave.open(str(played), "rb") as recorded:
        frames = recorded.readframes(recorded.getnframes())
        assert recorded.getframerate() == 48000
    samples = np.frombuffer(frames, dtype="<i2").astype(np.float64)
    assert samples.size > 48000 * 0.5 and np.abs(samples).max() > 1000
