"""The client side of one trial: one contender, N sessions, one mode; JSON lines on stdout.

Run by the orchestrator in a fresh interpreter pinned to the client core. Every contender gets
the same harness around it: one pacing task per process sends one 20 ms chunk per session every
20 ms, and each contender's audio callback hands the decoded PCM to the same ``record`` function,
which reads the scheduled send time the server put in the first 8 bytes.

Modes:
  probe    exit 0 when the contender's libraries import (used to list contenders)
  import   print the RSS of a fresh interpreter after importing the contender
  paced    N duplex real-time sessions: lateness, delivery, client CPU over a window
  blast    one session, server sends deltas unpaced: events/s and CPU per received delta
  upblast  one session, client sends chunks as fast as it can: CPU per sent chunk
  memory   RSS per connected (idle) session
  smoke    all of the above, tiny and short, in this one interpreter (what CI runs)

``--loop`` picks the client's event loop (``asyncio``, the default loop, or ``uvloop``); every
contender runs unchanged on either.

``--url`` is the server's base (``ws://127.0.0.1:PORT``); the mode's path is added here, since
the server picks a connection's behaviour from its path (``/paced``, ``/blast``, ``/idle``).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import struct
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

CHUNK = bytes(960)
TICK_S = 0.020
_unpack = struct.Struct("<d").unpack_from
_monotonic = time.monotonic


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def emit(**message: Any) -> None:
    print(json.dumps(message), flush=True)


class Recorder:
    """What every contender's audio callback calls: count, and lateness while recording."""

    __slots__ = ("count", "lateness", "recording")

    def __init__(self) -> None:
        self.count = 0
        self.recording = False
        self.lateness: list[float] = []

    def __call__(self, audio: bytes) -> None:
        self.count += 1
        if self.recording:
            self.lateness.append(_monotonic() - _unpack(audio)[0])


class Session:
    """A contender's connected session: ``send`` (sync or async) and ``close``."""

    send: Callable[[bytes], Any]
    is_async_send = False

    async def close(self) -> None:
        raise NotImplementedError


# -- contenders ---------------------------------------------------------------------------------


def import_contender(name: str) -> Callable[[str, Recorder], Awaitable[Session]]:
    """Import what the contender needs and return its ``connect(url, recorder)``."""
    if name == "raw-websockets":
        return _raw_websockets()
    if name == "ours-transport":
        return _ours_transport()
    if name == "ours-session":
        return _ours_session()
    if name == "agents-model":
        return _agents_model()
    if name == "agents-session":
        return _agents_session()
    if name == "openai-client":
        return _openai_client()
    if name == "ours-cloudflare":
        return _ours_cloudflare(pump=False)
    if name == "ours-cloudflare-pump":
        return _ours_cloudflare(pump=True)
    if name == "httpx-ws":
        return _httpx_ws()
    raise SystemExit(f"unknown contender {name!r}")


def _raw_websockets() -> Callable[[str, Recorder], Awaitable[Session]]:
    import base64
    import json as jsonlib

    from websockets.asyncio.client import connect

    class Raw(Session):
        is_async_send = True

        def __init__(self, ws: Any, record: Recorder) -> None:
            self.ws = ws
            self.task = asyncio.ensure_future(self.reader(record))

        async def reader(self, record: Recorder) -> None:
            async for message in self.ws:
                event = jsonlib.loads(message)
                if event["type"] == "response.output_audio.delta":
                    record(base64.b64decode(event["delta"]))

        async def send(self, pcm: bytes) -> None:
            await self.ws.send(
                jsonlib.dumps(
                    {"type": "input_audio_buffer.append", "audio": base64.b64encode(pcm).decode()}
                )
            )

        async def close(self) -> None:
            await self.ws.close()
            self.task.cancel()

    async def open_(url: str, record: Recorder) -> Session:
        ws = await connect(
            url + "?model=gpt-realtime",
            additional_headers={"Authorization": "Bearer sk-bench"},
            max_size=None,
            compression=None,
        )
        await ws.send(jsonlib.dumps({"type": "session.update", "session": {"type": "realtime"}}))
        return Raw(ws, record)

    return open_


def _ours_transport() -> Callable[[str, Recorder], Awaitable[Session]]:
    from realtime_transport_websocket.transport import OpenAIRealtimeWebSocket

    class Ours(Session):
        def __init__(self, transport: OpenAIRealtimeWebSocket) -> None:
            self.transport = transport
            self.send = transport.send_audio

        async def close(self) -> None:
            await self.transport.close()

    async def open_(url: str, record: Recorder) -> Session:
        transport = OpenAIRealtimeWebSocket(url=url, typed_events="dict")
        transport.on("audio", lambda event: record(event.data))
        await transport.connect(api_key="sk-bench")
        return Ours(transport)

    return open_


def _ours_cloudflare(*, pump: bool) -> Callable[[str, Recorder], Awaitable[Session]]:
    """The cloudflare transport: upgrade through httpx, then ours framing on the connection.

    ``pump``: frame through the network stream's read/write tasks (what TLS and tunnels use)
    instead of taking the asyncio transport over (plain TCP): websockets' sans-I/O parser via
    httpx's stream, the alternative the issue measured."""
    from realtime_transport_cloudflare import httpx_upgrade
    from realtime_transport_cloudflare.transport import CloudflareRealtimeTransportLayer

    if pump:
        httpx_upgrade.take_over_transport = lambda stream, socket: False  # type: ignore[assignment]

    class Ours(Session):
        def __init__(self, transport: CloudflareRealtimeTransportLayer) -> None:
            self.transport = transport
            self.send = transport.send_audio

        async def close(self) -> None:
            await self.transport.close()

    async def open_(url: str, record: Recorder) -> Session:
        transport = CloudflareRealtimeTransportLayer(url=url, typed_events="dict")
        transport.on("audio", lambda event: record(event.data))
        await transport.connect(api_key="sk-bench")
        return Ours(transport)

    return open_


def _httpx_ws() -> Callable[[str, Recorder], Awaitable[Session]]:
    """Naive httpx-ws (wsproto over httpx's stream, its own reader task and queue) + json."""
    import base64
    import json as jsonlib

    import httpx
    from httpx_ws import aconnect_ws

    client = httpx.AsyncClient(limits=httpx.Limits(max_connections=None))

    class HttpxWs(Session):
        is_async_send = True

        def __init__(self, context: Any, ws: Any, record: Recorder) -> None:
            self.context, self.ws = context, ws
            self.task = asyncio.ensure_future(self.reader(record))

        async def reader(self, record: Recorder) -> None:
            while True:
                event = jsonlib.loads(await self.ws.receive_text())
                if event["type"] == "response.output_audio.delta":
                    record(base64.b64decode(event["delta"]))

        async def send(self, pcm: bytes) -> None:
            await self.ws.send_text(
                jsonlib.dumps(
                    {"type": "input_audio_buffer.append", "audio": base64.b64encode(pcm).decode()}
                )
            )

        async def close(self) -> None:
            self.task.cancel()
            await self.context.__aexit__(None, None, None)

    async def open_(url: str, record: Recorder) -> Session:
        context = aconnect_ws(
            url.replace("ws://", "http://", 1) + "?model=gpt-realtime",
            client,
            headers={"Authorization": "Bearer sk-bench"},
            subprotocols=["realtime"],
            max_message_size_bytes=16 * 1024 * 1024,
        )
        ws = await context.__aenter__()
        update = {"type": "session.update", "session": {"type": "realtime"}}
        await ws.send_text(jsonlib.dumps(update))
        return HttpxWs(context, ws, record)

    return open_


def _ours_session() -> Callable[[str, Recorder], Awaitable[Session]]:
    from realtime_transport.agent import RealtimeAgent
    from realtime_transport.session import RealtimeSession
    from realtime_transport_websocket.transport import OpenAIRealtimeWebSocket

    agent = RealtimeAgent(name="bench", instructions="You are a benchmark.")

    class OursSession(Session):
        def __init__(self, session: RealtimeSession) -> None:
            self.session = session
            self.send = session.send_audio

        async def close(self) -> None:
            await self.session.close()

    async def open_(url: str, record: Recorder) -> Session:
        transport = OpenAIRealtimeWebSocket(url=url, typed_events="dict")
        session = RealtimeSession(agent, transport=transport)
        session.on("audio", lambda event: record(event.data))
        await session.connect(api_key="sk-bench")
        return OursSession(session)

    return open_


def _agents_model() -> Callable[[str, Recorder], Awaitable[Session]]:
    from agents.realtime.model import RealtimeModelListener
    from agents.realtime.model_inputs import RealtimeModelSendAudio
    from agents.realtime.openai_realtime import OpenAIRealtimeWebSocketModel

    class Listener(RealtimeModelListener):
        def __init__(self, record: Recorder) -> None:
            self.record = record

        async def on_event(self, event: Any) -> None:
            if event.type == "audio":
                self.record(event.data)

    class AgentsModel(Session):
        is_async_send = True

        def __init__(self, model: OpenAIRealtimeWebSocketModel) -> None:
            self.model = model

        async def send(self, pcm: bytes) -> None:
            await self.model.send_event(RealtimeModelSendAudio(audio=pcm, commit=False))

        async def close(self) -> None:
            await self.model.close()

    async def open_(url: str, record: Recorder) -> Session:
        model = OpenAIRealtimeWebSocketModel()
        model.add_listener(Listener(record))
        await model.connect(
            {
                "url": url + "?model=gpt-realtime",
                "api_key": "sk-bench",
                "initial_model_settings": {},
            }
        )
        return AgentsModel(model)

    return open_


def _agents_session() -> Callable[[str, Recorder], Awaitable[Session]]:
    from agents.realtime import RealtimeAgent, RealtimeRunner

    agent = RealtimeAgent(name="bench", instructions="You are a benchmark.")

    class AgentsSession(Session):
        is_async_send = True

        def __init__(self, session: Any, record: Recorder) -> None:
            self.session = session
            self.task = asyncio.ensure_future(self.reader(record))

        async def reader(self, record: Recorder) -> None:
            async for event in self.session:
                if event.type == "audio":
                    record(event.audio.data)

        async def send(self, pcm: bytes) -> None:
            await self.session.send_audio(pcm)

        async def close(self) -> None:
            await self.session.close()
            self.task.cancel()

    async def open_(url: str, record: Recorder) -> Session:
        runner = RealtimeRunner(agent)
        session = await runner.run(
            model_config={"url": url + "?model=gpt-realtime", "api_key": "sk-bench"}
        )
        await session.enter()
        return AgentsSession(session, record)

    return open_


def _openai_client() -> Callable[[str, Recorder], Awaitable[Session]]:
    import base64

    from openai import AsyncOpenAI

    clients: dict[str, AsyncOpenAI] = {}

    class OpenAIConn(Session):
        is_async_send = True

        def __init__(self, connection: Any, record: Recorder) -> None:
            self.connection = connection
            self.task = asyncio.ensure_future(self.reader(record))

        async def reader(self, record: Recorder) -> None:
            async for event in self.connection:
                if event.type == "response.output_audio.delta":
                    record(base64.b64decode(event.delta))

        async def send(self, pcm: bytes) -> None:
            await self.connection.input_audio_buffer.append(audio=base64.b64encode(pcm).decode())

        async def close(self) -> None:
            await self.connection.close()
            self.task.cancel()

    async def open_(url: str, record: Recorder) -> Session:
        base = url.rsplit("/realtime", 1)[0]
        client = clients.get(base)
        if client is None:
            client = clients[base] = AsyncOpenAI(api_key="sk-bench", websocket_base_url=base)
        connection = await client.realtime.connect(model="gpt-realtime").enter()
        await connection.session.update(session={"type": "realtime"})
        return OpenAIConn(connection, record)

    return open_


# -- modes --------------------------------------------------------------------------------------


async def connect_all(
    connect: Callable[[str, Recorder], Awaitable[Session]], url: str, n: int, record: Recorder
) -> list[Session]:
    """Open n sessions, at most 32 handshakes in flight."""
    gate = asyncio.Semaphore(32)

    async def one() -> Session:
        async with gate:
            return await connect(url, record)

    return list(await asyncio.gather(*(one() for _ in range(n))))


async def close_all(sessions: list[Session]) -> None:
    """Close every session, 10 s at most in all: an overloaded contender may never finish."""

    async def one(session: Session) -> None:
        try:
            await asyncio.wait_for(session.close(), 5)
        except Exception:  # a slow or failed close does not change the measurement
            pass

    try:
        await asyncio.wait_for(asyncio.gather(*(one(s) for s in sessions)), 10)
    except asyncio.TimeoutError:
        pass


async def pace_uplink(sessions: list[Session], counter: list[int]) -> None:
    """One task paces every session's uplink: one 20 ms chunk each per tick."""
    loop = asyncio.get_running_loop()
    scheduled = loop.time()
    async_sends = sessions[0].is_async_send if sessions else False
    while True:
        scheduled += TICK_S
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        if async_sends:
            for session in sessions:
                await session.send(CHUNK)
        else:
            for session in sessions:
                session.send(CHUNK)
        counter[0] += len(sessions)


async def mode_paced(connect: Any, args: argparse.Namespace) -> dict[str, Any]:
    record = Recorder()
    t_connect = time.monotonic()
    sessions = await connect_all(connect, _path(args, "paced"), args.sessions, record)
    connect_s = time.monotonic() - t_connect
    sent = [0]
    pacer = asyncio.ensure_future(pace_uplink(sessions, sent))
    await asyncio.sleep(args.warmup)
    gc.collect()
    await asyncio.sleep(0.2)  # what queued up during the collection is not counted as late
    emit(event="window_start")
    count0, sent0 = record.count, sent[0]
    record.recording = True
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    cpu0, t0 = time.process_time(), time.monotonic()
    await asyncio.sleep(args.window)
    cpu1, t1 = time.process_time(), time.monotonic()
    usage1 = resource.getrusage(resource.RUSAGE_SELF)
    preempted = usage1.ru_nivcsw - usage0.ru_nivcsw
    system_s = usage1.ru_stime - usage0.ru_stime
    record.recording = False
    emit(event="window_end")
    received, sent_n = record.count - count0, sent[0] - sent0
    pacer.cancel()
    lateness = record.lateness
    q = max(1, len(lateness) // 4)
    first = sorted(lateness[:q])
    last = sorted(lateness[-q:])
    ordered = sorted(lateness)
    elapsed = t1 - t0
    expected = args.sessions * elapsed / TICK_S
    cpu = cpu1 - cpu0
    result = {
        "sessions": args.sessions,
        "connect_s": connect_s,
        "window_s": elapsed,
        "received": received,
        "expected": expected,
        "delivered": received / expected if expected else 0.0,
        "sent": sent_n,
        "sent_rate": sent_n / (args.sessions * elapsed / TICK_S) if args.sessions else 0.0,
        "p50_ms": 1000 * _pct(ordered, 50),
        "p99_ms": 1000 * _pct(ordered, 99),
        "max_ms": 1000 * ordered[-1] if ordered else float("nan"),
        "drift_ms": 1000 * (_pct(last, 50) - _pct(first, 50)),
        "cpu_pct": 100 * cpu / elapsed,
        "cpu_us_per_session_s": 1e6 * cpu / elapsed / max(1, args.sessions),
        "cpu_us_per_event": 1e6 * cpu / max(1, received + sent_n),
        # the kernel's share: loopback TCP (send, recv, epoll) runs in the client's syscalls
        "system_share": system_s / cpu if cpu > 0 else float("nan"),
        "rss_mib": rss_mib(),
        # involuntary context switches: other processes on the client core (machine noise)
        "preempted": preempted,
    }
    emit(event="measured", **result)  # kept even if closing an overloaded contender hangs
    await close_all(sessions)
    return result


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, round(q / 100 * (len(values) - 1)))]


async def mode_blast(connect: Any, args: argparse.Namespace) -> dict[str, Any]:
    record = Recorder()
    (session,) = await connect_all(connect, _path(args, "blast"), 1, record)
    await asyncio.sleep(args.warmup)
    gc.collect()
    await asyncio.sleep(0.2)  # what queued up during the collection is not counted as late
    emit(event="window_start")
    count0 = record.count
    cpu0, t0 = time.process_time(), time.monotonic()
    await asyncio.sleep(args.window)
    cpu1, t1 = time.process_time(), time.monotonic()
    emit(event="window_end")
    received = record.count - count0
    await close_all([session])
    return {
        "received": received,
        "events_per_s": received / (t1 - t0),
        "cpu_us_per_delta": 1e6 * (cpu1 - cpu0) / max(1, received),
        "cpu_pct": 100 * (cpu1 - cpu0) / (t1 - t0),
    }


async def mode_upblast(connect: Any, args: argparse.Namespace) -> dict[str, Any]:
    record = Recorder()
    (session,) = await connect_all(connect, _path(args, "idle"), 1, record)
    buffered = _buffered_amount(session)

    async def burst(seconds: float) -> int:
        sent = 0
        stop = time.monotonic() + seconds
        send = session.send
        while time.monotonic() < stop:
            if session.is_async_send:
                for _ in range(64):
                    await send(CHUNK)
            else:
                for _ in range(64):
                    send(CHUNK)
            sent += 64
            await asyncio.sleep(0)
            while buffered() > 1 << 20:  # let the socket drain; never drop or grow without bound
                await asyncio.sleep(0.0005)
        return sent

    await burst(args.warmup)
    gc.collect()
    await asyncio.sleep(0.2)  # what queued up during the collection is not counted as late
    emit(event="window_start")
    cpu0, t0 = time.process_time(), time.monotonic()
    sent = await burst(args.window)
    while buffered() > 0:
        await asyncio.sleep(0.0005)
    cpu1, t1 = time.process_time(), time.monotonic()
    emit(event="window_end")
    dropped = getattr(getattr(session, "transport", None), "dropped_audio_chunks", 0)
    await close_all([session])
    return {
        "sent": sent,
        "chunks_per_s": sent / (t1 - t0),
        "cpu_us_per_chunk": 1e6 * (cpu1 - cpu0) / max(1, sent),
        "dropped": dropped,
    }


def _buffered_amount(session: Session) -> Callable[[], int]:
    transport = getattr(session, "transport", None) or getattr(
        getattr(session, "session", None), "transport", None
    )
    if transport is not None and hasattr(transport, "_socket"):

        def ours() -> int:
            socket = transport._socket
            return socket.buffered_amount() if socket is not None else 0

        return ours
    return lambda: 0  # websockets-based contenders await the drain inside send()


async def mode_memory(connect: Any, args: argparse.Namespace) -> dict[str, Any]:
    record = Recorder()
    url = _path(args, "idle")
    warm = await connect_all(connect, url, 2, record)  # lazy imports, first-use caches
    await asyncio.sleep(0.2)
    gc.collect()
    base = rss_mib()
    sessions = await connect_all(connect, url, args.sessions, record)
    await asyncio.sleep(max(0.5, args.warmup))
    gc.collect()
    loaded = rss_mib()
    await close_all(sessions + warm)
    return {
        "sessions": args.sessions,
        "base_rss_mib": base,
        "rss_mib": loaded,
        "kib_per_session": (loaded - base) * 1024 / max(1, args.sessions),
    }


async def mode_smoke(connect: Any, args: argparse.Namespace) -> dict[str, Any]:
    """Every mode, tiny and short: proves the contender and the harness still work."""
    results: dict[str, Any] = {"import_rss_mib": args.import_rss}
    tiny = argparse.Namespace(**{**vars(args), "warmup": 0.1, "window": 0.3})
    for name, sessions in (("paced", 4), ("blast", 1), ("upblast", 1), ("memory", 4)):
        tiny.sessions = sessions
        results[name] = await MODES[name](connect, tiny)
    return results


def _session_landed() -> bool:
    import importlib.util

    return importlib.util.find_spec("realtime_transport.session") is not None


def _path(args: argparse.Namespace, mode: str) -> str:
    return f"{args.url}/{mode}/v1/realtime"


MODES = {
    "paced": mode_paced,
    "blast": mode_blast,
    "upblast": mode_upblast,
    "memory": mode_memory,
    "smoke": mode_smoke,
}


LOOPS = ("asyncio", "uvloop")


def run_on(loop: str, main: Coroutine[Any, Any, Any]) -> Any:
    """``asyncio.run`` on the default loop or on uvloop (imported only when asked for)."""
    factory: Callable[[], asyncio.AbstractEventLoop] = asyncio.new_event_loop
    if loop == "uvloop":
        import uvloop

        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contender", required=True)
    parser.add_argument("--mode", required=True, choices=("probe", "import", *MODES))
    parser.add_argument("--url", default="")
    parser.add_argument("--sessions", type=int, default=1)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--window", type=float, default=3.0)
    parser.add_argument("--profile", default="", help="write a cProfile of the run here")
    parser.add_argument("--loop", default="asyncio", choices=LOOPS, help="the client's event loop")
    args = parser.parse_args()
    if args.mode == "probe":
        if args.contender == "ours-session" and not _session_landed():
            sys.exit(3)  # not written yet: listed as n/a, not a failure
        import_contender(args.contender)
        return
    if args.mode == "import":
        import_contender(args.contender)
        emit(rss_mib=rss_mib())
        return
    connect = import_contender(args.contender)
    args.import_rss = rss_mib()

    async def run() -> dict[str, Any]:
        return await MODES[args.mode](connect, args)

    try:
        if args.profile:
            import cProfile

            # CPU time, not wall time: on a shared machine a preempted syscall must not look slow
            profiler = cProfile.Profile(time.process_time)
            result = profiler.runcall(run_on, args.loop, run())
            profiler.dump_stats(args.profile)
        else:
            result = run_on(args.loop, run())
    except Exception as exc:
        emit(event="result", error=f"{type(exc).__name__}: {exc}")
        sys.exit(1)
    emit(event="result", contender=args.contender, mode=args.mode, pid=os.getpid(), **result)
    os._exit(0)  # an overloaded contender's leftovers must not hang interpreter shutdown


if __name__ == "__main__":
    main()
