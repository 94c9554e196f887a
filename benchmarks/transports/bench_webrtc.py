"""WebRTC: connect time and real-time audio sessions per core, ours vs bare aiortc.

    python transports/bench_webrtc.py            # full: writes transports/webrtc.md
    python transports/bench_webrtc.py --smoke    # tiny, no file, exit 0 when it worked

The emulator runs in its own process (its CPU is not counted); this process is the client.
ICE host candidates are pinned to 127.0.0.1 here, as in the tests (aioice leaves loopback out).

1. Connect: from the offer to ``connect()`` returning (ours: offer, POST, answer, ICE, DTLS,
   data channel open, initial ``session.update`` acknowledged by ``session.updated``) vs bare
   aiortc doing offer, POST, answer and waiting for the data channel to open. Sequential
   connects after a warm-up; median and p95. Target (issue 11): ours <= 1.2x bare.
2. Density: N sessions at once for a fixed window, each sending 24 kHz PCM caller audio
   (resampled to 48 kHz, 20 ms frames, Opus encoded) and receiving the server's track (decoded,
   downmixed, resampled to 24 kHz), turn detection off so both directions carry steady audio.
   Sessions per core = N x window / CPU seconds of this process (all its threads). Bare: the
   same media work written directly on aiortc with the same resampler. Target: ours >= 0.9x.
3. Threads per session: extra threads with N sessions open, divided by N.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
KEY = "sk-bench-webrtc"
NO_VAD = {"audio": {"input": {"turn_detection": None}}}

EMULATOR = """
import asyncio, sys
from realtime_transport_emulator import Emulator

async def main():
    async with Emulator() as emu:
        print(emu.port, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

asyncio.run(main())
"""


def pin_loopback() -> None:
    import aioice.ice

    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]  # type: ignore[assignment]


def caller_pcm(seconds: float = 2.0) -> bytes:
    """A quiet speech-like tone at 24 kHz (real Opus work, no VAD needed: detection is off)."""
    import numpy as np

    t = np.arange(int(seconds * 24000)) / 24000
    wave = np.sin(2 * np.pi * 220 * t) + 0.5 * np.sin(2 * np.pi * 440 * t)
    return bytes((wave * 2000).astype("<i2").tobytes())


# -- ours ---------------------------------------------------------------------------------------


class Ours:
    name = "ours (OpenAIRealtimeWebRTC)"

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.transport: Any = None
        self.received = 0

    async def connect(self) -> None:
        from realtime_transport_webrtc import OpenAIRealtimeWebRTC

        self.transport = OpenAIRealtimeWebRTC(base_url=self.base_url, audio_sink=self._sink)
        await self.transport.connect(api_key=KEY, initial_session_config=NO_VAD)

    def _sink(self, pcm: bytes) -> None:
        self.received += len(pcm)

    def send(self, pcm: bytes) -> None:
        self.transport.send_audio(pcm)

    async def close(self) -> None:
        await self.transport.close()


# -- bare aiortc --------------------------------------------------------------------------------


class Bare:
    """The same work written directly on aiortc (+ the core's resampler), nothing else."""

    name = "bare aiortc"

    def __init__(self, base_url: str) -> None:
        self.url = f"{base_url}/realtime/calls"
        self.pc: Any = None
        self.track: Any = None
        self.received = 0
        self._reader: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        import httpx
        from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
        from realtime_transport_webrtc.media import PcmInputTrack

        pc = self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        channel = pc.createDataChannel("oai-events")
        opened = asyncio.get_running_loop().create_future()

        def on_open() -> None:
            channel.send(
                json.dumps({"type": "session.update", "session": {"type": "realtime", **NO_VAD}})
            )
            opened.done() or opened.set_result(None)

        channel.on("open", on_open)
        channel.on("message", lambda message: None)
        self.track = PcmInputTrack()  # 24 -> 48 kHz with the core resampler, paced 20 ms frames
        pc.addTrack(self.track)
        pc.on("track", self._on_track)
        await pc.setLocalDescription(await pc.createOffer())
        async with httpx.AsyncClient(timeout=10) as http:
            response = await http.post(
                self.url,
                content=pc.localDescription.sdp,
                headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/sdp"},
            )
        await pc.setRemoteDescription(RTCSessionDescription(sdp=response.text, type="answer"))
        await asyncio.wait_for(opened, 10)

    def _on_track(self, track: Any) -> None:
        self._reader = asyncio.get_running_loop().create_task(self._read(track))

    async def _read(self, track: Any) -> None:
        from aiortc.mediastreams import MediaStreamError
        from realtime_transport.audio.resample import StreamingResampler
        from realtime_transport_webrtc.media import downmix

        resampler = StreamingResampler(48000, 24000)
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            self.received += len(resampler.process_array(downmix(frame))) * 2

    def send(self, pcm: bytes) -> None:
        self.track.push(pcm)

    async def close(self) -> None:
        self.track.stop()
        if self._reader is not None:
            self._reader.cancel()
        await self.pc.close()


CONTENDERS = (Ours, Bare)


async def bench_connect(base_url: str, count: int) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {kind.name: [] for kind in CONTENDERS}
    for kind in CONTENDERS:  # warm-up: imports, codecs, certificates
        client = kind(base_url)
        await client.connect()
        await client.close()
    for _ in range(count):
        for kind in CONTENDERS:  # interleaved, so drift of the machine's load is shared
            client = kind(base_url)
            started = time.perf_counter()
            await client.connect()
            results[kind.name].append((time.perf_counter() - started) * 1000)
            await client.close()
            await asyncio.sleep(0.05)
    return results


async def density_once(kind: Any, base_url: str, sessions: int, window: float) -> dict[str, float]:
    pcm = caller_pcm(0.1)  # 100 ms chunks, as a microphone callback would hand them
    base_threads = session_threads()
    clients = [kind(base_url) for _ in range(sessions)]
    for client in clients:
        await client.connect()
    await asyncio.sleep(0.5)  # tracks running
    threads = session_threads() - base_threads
    received = [c.received for c in clients]
    cpu = time.process_time()
    loop = asyncio.get_running_loop()
    started = loop.time()
    ticks = 0
    while loop.time() - started < window:
        for client in clients:
            client.send(pcm)
        ticks += 1
        await asyncio.sleep(max(0.0, started + ticks * 0.1 - loop.time()))
    elapsed = loop.time() - started
    used = time.process_time() - cpu
    got = sum(c.received - r for c, r in zip(clients, received, strict=True)) / 2 / 24000
    for client in clients:
        await client.close()
    await asyncio.sleep(0.5)
    return {
        "sessions_per_core": sessions * elapsed / used,
        "cpu_pct": 100 * used / elapsed,
        "threads_per_session": threads / sessions,
        "received_audio_ratio": got / (sessions * elapsed),
    }


async def bench_density(
    base_url: str, sessions: int, window: float, rounds: int
) -> dict[str, dict[str, float]]:
    """Rounds alternate ours and bare, first one then the other going first (load drift and
    order effects are shared); the median round of each is reported."""
    trials: dict[str, list[dict[str, float]]] = {kind.name: [] for kind in CONTENDERS}
    for round_index in range(rounds):
        order = CONTENDERS if round_index % 2 == 0 else tuple(reversed(CONTENDERS))
        for kind in order:
            trials[kind.name].append(await density_once(kind, base_url, sessions, window))
    results = {}
    for name, runs in trials.items():
        runs.sort(key=lambda run: run["sessions_per_core"])
        results[name] = runs[len(runs) // 2]
    return results


def session_threads() -> int:
    """Threads that are not the loop's shared default executor (asyncio_N / uvloop_N)."""
    return sum(1 for t in threading.enumerate() if not t.name.startswith(("asyncio_", "uvloop_")))


def start_emulator() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-c", EMULATOR],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    port = int(process.stdout.readline())
    return process, f"http://127.0.0.1:{port}/v1"


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def report(connect: dict[str, list[float]], density: dict[str, dict[str, float]], args: Any) -> str:
    ours, bare = Ours.name, Bare.name
    c_ours, c_bare = statistics.median(connect[ours]), statistics.median(connect[bare])
    d_ours, d_bare = density[ours], density[bare]
    spc = d_ours["sessions_per_core"] / d_bare["sessions_per_core"]
    lines = [
        "### webrtc",
        "",
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; {platform.machine()}, "
        f"{os.cpu_count()} CPUs (shared), Python {platform.python_version()}, default loop.",
        "",
        "Method: `benchmarks/transports/bench_webrtc.py`; the emulator in its own process, this "
        "process is the client, ICE candidates pinned to 127.0.0.1. Connect: offer to "
        "`connect()` returning (ours includes the `session.updated` ack) vs bare aiortc offer, "
        f"POST, answer and data channel open; {args.connects} interleaved connects after a "
        f"warm-up. Density: {args.sessions} sessions for {args.window:g} s, {args.rounds} rounds "
        "alternating which goes first (median round reported), caller audio "
        "24 kHz to Opus and the server's track decoded to 24 kHz, steady in both directions; "
        "sessions per core = sessions x wall time / CPU seconds of this process (all threads). "
        "Bare does the same media work on aiortc with the same resampler.",
        "",
        "| Measure | ours | bare aiortc | ratio | target |",
        "|---|---:|---:|---:|---|",
        f"| connect, p50 (ms) | {c_ours:.1f} | {c_bare:.1f} | {c_ours / c_bare:.2f}x | <= 1.2x |",
        f"| connect, p95 (ms) | {p95(connect[ours]):.1f} | {p95(connect[bare]):.1f} | "
        f"{p95(connect[ours]) / p95(connect[bare]):.2f}x | |",
        f"| real-time audio sessions per core | {d_ours['sessions_per_core']:.1f} | "
        f"{d_bare['sessions_per_core']:.1f} | {spc:.2f}x | >= 0.9x |",
        f"| client CPU with {args.sessions} sessions (% of one core) | {d_ours['cpu_pct']:.0f} | "
        f"{d_bare['cpu_pct']:.0f} | | |",
        f"| threads per session | {d_ours['threads_per_session']:.2f} | "
        f"{d_bare['threads_per_session']:.2f} | | |",
        f"| model audio received (s per session-second) | {d_ours['received_audio_ratio']:.2f} | "
        f"{d_bare['received_audio_ratio']:.2f} | | |",
        "",
        "Threads per session counts threads beyond the loop's shared default executor: aiortc "
        "starts one decoder thread per receiver, in ours and in bare alike; Opus encoding runs "
        "in that shared executor (at most min(32, CPUs + 4) threads for the whole process).",
    ]
    return "\n".join(lines) + "\n"


async def main_async(args: Any) -> str:
    pin_loopback()
    process, base_url = start_emulator()
    try:
        connect = await bench_connect(base_url, args.connects)
        density = await bench_density(base_url, args.sessions, args.window, args.rounds)
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=15)
    return report(connect, density, args)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    args.connects, args.sessions, args.window, args.rounds = (
        (2, 2, 1.0, 1) if args.smoke else (30, 8, 6.0, 4)
    )
    text = asyncio.run(main_async(args))
    print(text)
    if not args.smoke:
        (HERE / "webrtc.md").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
