"""Loopback load: N concurrent sessions streaming audio both ways in real time for a fixed time,
against the emulator in another process. Used by ``test_load.py`` (small N in CI) and runnable
on its own for the documented long run::

    python tests/reliability/load.py --sessions 300 --seconds 30 [--transport websocket]
        [--loop uvloop] [--emulators 2] [--url ws://other-host:port/v1/realtime]

Each session connects, asks for a long spoken reply (the emulator streams it in real time as
100 ms deltas) and sends 20 ms of caller audio (silence, so the server's VAD stays quiet) every
20 ms. Delivery lateness of a delta is its arrival time minus when it was due: the session's
first delta plus the audio received before it, so a client that falls behind shows up as
growing lateness. Sending lateness is how late each 20 ms send tick ran (caller audio is sent
from four shared tickers, see ``Ticker``). It prints a JSON report, CPU of both sides included,
and exits 1 when the run was not held (see ``--max-p99-ms``).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

CHUNK_MS = 20  # caller audio: one 20 ms append per tick, as a telephony or WebRTC leg sends it
REPLY_CHUNK_MS = 100  # model audio per delta (the real API sends deltas of this order)
PCM_BYTES_PER_MS = 48
TICKER_PHASES = 4  # shared send timers, 5 ms apart, so calls do not all send in the same instant


@dataclass
class SessionResult:
    lateness_ms: list[float] = field(default_factory=list)
    lateness_at: list[float] = field(default_factory=list)  # loop time of each lateness sample
    first_delta_at: float | None = None
    send_lateness_ms: list[float] = field(default_factory=list)
    received_ms: float = 0.0
    sent_chunks: int = 0
    error: str | None = None


EMULATOR_PIDS: dict[str, int] = {}  # URL -> process, to report the emulators' CPU


def cpu_seconds(pids: list[int], kind: str = "both") -> float:
    """User + system CPU time of these processes so far (0 without psutil)."""
    try:
        import psutil
    except ImportError:
        return 0.0
    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        total += {"both": times.user + times.system, "system": times.system}[kind]
    return total


@contextmanager
def emulator_process(seconds: float) -> Iterator[str]:
    """The emulator in its own process (real-time pace, 100 ms deltas); yields its WebSocket URL."""
    script = {"rules": [{"reply": {"text": "a long answer", "audio_ms": (seconds + 10) * 1000}}]}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(script, handle)
    command = [
        sys.executable, "-c", "from realtime_transport_emulator.cli import main; main()",
        "--port", "0", "--pace", "realtime", "--chunk-ms", str(REPLY_CHUNK_MS),
        "--script", handle.name, "--log-level", "WARNING",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 20
        for line in process.stdout:
            match = re.search(r"WebSocket : (ws://\S+?)\?", line)
            if match:
                EMULATOR_PIDS[match.group(1)] = process.pid
                yield match.group(1)
                break
            if time.monotonic() > deadline:
                raise RuntimeError("the emulator did not start within 20 s")
        else:
            raise RuntimeError(f"the emulator exited with {process.wait()}")
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        os.unlink(handle.name)


class Ticker:
    """Sends caller audio for many sessions from one timer, as a media server paces its calls.

    A timer per session would make the load client spend its CPU on 50 wake-ups a second per
    call (15,000 a second at 300 calls) instead of on the library under test. Each tick calls
    every member with the tick's due time; a late tick is not skipped (the next runs at once),
    so a client that falls behind shows up as send lateness.
    """

    def __init__(self, offset_ms: float) -> None:
        self.offset = offset_ms / 1000
        self.members: set[Callable[[float], None]] = set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time() + self.offset
        for tick in itertools.count():
            due = start + tick * CHUNK_MS / 1000
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            for member in list(self.members):
                member(due)


async def one_session(
    url: str, transport_name: str, seconds: float, ticker: Ticker, warmup: float = 0.0
) -> SessionResult:
    from realtime_transport import get_transport

    result = SessionResult()
    transport = get_transport(transport_name)
    loop = asyncio.get_running_loop()

    def on_audio(event: Any) -> None:
        now = loop.time()
        if result.first_delta_at is None:
            result.first_delta_at = now
        if result.received_ms >= warmup * 1000:  # steady state only (see run_load)
            due = result.first_delta_at + result.received_ms / 1000
            result.lateness_ms.append(max(0.0, (now - due) * 1000))
            result.lateness_at.append(now)
        result.received_ms += len(event.data) / PCM_BYTES_PER_MS

    transport.on("audio", on_audio)
    transport.on(
        "error",
        lambda event: (
            setattr(result, "error", result.error or event.message)
            if event.source == "transport"
            else None
        ),
    )
    chunk = bytes(CHUNK_MS * PCM_BYTES_PER_MS)
    ticks = int((warmup + seconds) * 1000 / CHUNK_MS)
    finished: asyncio.Future[None] = loop.create_future()

    def send(due: float) -> None:
        try:
            result.send_lateness_ms.append(max(0.0, (loop.time() - due) * 1000))
            transport.send_audio(chunk)
        except Exception as exc:
            ticker.members.discard(send)
            finished.set_exception(exc)
            return
        result.sent_chunks += 1
        if result.sent_chunks >= ticks:
            ticker.members.discard(send)
            finished.set_result(None)

    try:
        await asyncio.wait_for(transport.connect(url=url, api_key="sk-load"), 30)
        transport.send_message("talk to me")
        ticker.members.add(send)
        await asyncio.wait_for(finished, warmup + seconds + 30)
        if transport.status != "connected":
            result.error = result.error or f"disconnected ({transport.status})"
    except Exception as exc:
        result.error = f"{type(exc).__name__}: {exc}"
    finally:
        ticker.members.discard(send)
        await transport.close()
    return result


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


async def run_load(
    url: str | list[str],
    *,
    sessions: int,
    seconds: float,
    transport: str,
    warmup: float = 2.0,
    arrival_ms: float = 10.0,
) -> dict[str, Any]:
    """Sessions arrive ``arrival_ms`` apart (calls do not all start in the same millisecond);
    each one's first ``warmup`` seconds of reply audio are not counted: they overlap the other
    sessions' handshakes and reply starts, a burst a server spreads over minutes in practice."""
    urls = [url] if isinstance(url, str) else url
    pids = [EMULATOR_PIDS[u] for u in urls if u in EMULATOR_PIDS]
    started = time.monotonic()
    cpu = time.process_time()
    emulator_cpu = cpu_seconds(pids)
    emulator_sys = cpu_seconds(pids, "system")
    client_sys = os.times().system
    tickers = [Ticker(CHUNK_MS * phase / TICKER_PHASES) for phase in range(TICKER_PHASES)]
    ticking = [asyncio.ensure_future(ticker.run()) for ticker in tickers]
    tasks = []
    for index in range(sessions):  # round-robin over the emulator processes and tick phases
        target = urls[index % len(urls)]
        ticker = tickers[index % len(tickers)]
        session = one_session(target, transport, seconds, ticker, warmup)
        tasks.append(asyncio.ensure_future(session))
        await asyncio.sleep(arrival_ms / 1000)
    try:
        results = await asyncio.gather(*tasks)
    finally:
        for task in ticking:
            task.cancel()
        await asyncio.gather(*ticking, return_exceptions=True)
    lateness = [value for r in results for value in r.lateness_ms]
    # Once every session is in its steady state (the last one's warm-up is over), no
    # connection handshakes or reply starts compete with the audio any more.
    starts = [r.first_delta_at for r in results if r.first_delta_at is not None]
    steady_from = max(starts, default=0.0) + warmup
    steady = [
        value
        for r in results
        for value, at in zip(r.lateness_ms, r.lateness_at, strict=True)
        if at >= steady_from
    ]
    sending = [value for r in results for value in r.send_lateness_ms]
    expected_ms = (warmup + seconds) * 1000
    return {
        "transport": transport,
        "sessions": sessions,
        "emulator_processes": len(urls),
        "seconds": seconds,
        "warmup_s": warmup,
        "failed": [r.error for r in results if r.error],
        "p50_lateness_ms": round(percentile(lateness, 50), 2),
        "p99_lateness_ms": round(percentile(lateness, 99), 2),
        "max_lateness_ms": round(max(lateness, default=float("nan")), 2),
        "p99_lateness_all_arrived_ms": round(percentile(steady, 99), 2),
        "p99_send_lateness_ms": round(percentile(sending, 99), 2),
        "min_received_share": round(
            min((r.received_ms for r in results), default=0) / expected_ms, 3
        ),
        "median_received_share": round(
            statistics.median(r.received_ms for r in results) / expected_ms, 3
        ),
        "client_cpu_pct": round(
            100 * (time.process_time() - cpu) / (time.monotonic() - started), 1
        ),
        "emulator_cpu_pct": round(
            100 * (cpu_seconds(pids) - emulator_cpu) / (time.monotonic() - started), 1
        ),
        "emulator_system_cpu_pct": round(
            100 * (cpu_seconds(pids, "system") - emulator_sys) / (time.monotonic() - started), 1
        ),
        "client_system_cpu_pct": round(
            100 * (os.times().system - client_sys) / (time.monotonic() - started), 1
        ),
        "wall_s": round(time.monotonic() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--transport", default="websocket")
    parser.add_argument("--loop", default="auto", choices=("auto", "asyncio", "uvloop"))
    parser.add_argument(
        "--emulators",
        type=int,
        default=1,
        help="emulator processes to spread the sessions over (one Python emulator serves about "
        "150 such sessions per core; the client is what this test measures)",
    )
    parser.add_argument(
        "--max-p99-ms",
        type=float,
        default=200.0,
        help="the run is held when no session failed, every session received at least 99 %% of "
        "the audio and p99 delivery lateness is at most this (default 200 ms: one jitter buffer)",
    )
    parser.add_argument(
        "--url",
        action="append",
        help="an emulator already running (e.g. on another machine) instead of starting one; "
        "repeat for several. Start it with a reply long enough for the run: see emulator_process",
    )
    args = parser.parse_args()
    from contextlib import ExitStack

    from realtime_transport.loops import run

    with ExitStack() as stack:
        urls = args.url or [
            stack.enter_context(emulator_process(args.seconds)) for _ in range(args.emulators)
        ]
        report = run(
            run_load(urls, sessions=args.sessions, seconds=args.seconds, transport=args.transport),
            loop=args.loop,
        )
    report["held"] = (
        not report["failed"]
        and report["min_received_share"] >= 0.99
        and report["p99_lateness_ms"] <= args.max_p99_ms
    )
    print(json.dumps(report, indent=2))
    sys.exit(0 if report["held"] else 1)


if __name__ == "__main__":
    main()
