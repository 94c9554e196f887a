"""A minimal, fast Realtime-protocol server for the benchmarks (one process, one core).

It must never be the bottleneck, so it does as little as the protocol allows:

* the HTTP upgrade is parsed by hand and answered with a pre-built 101 response;
* every server event is pre-serialised; downlink frames are unmasked, so one audio-delta frame is
  built once per tick and the same bytes are written to every connection;
* uplink frames are parsed with a tiny header parser and unmasked with websockets' C
  ``apply_mask``; appends are only counted (a substring test), anything else is JSON-parsed
  (``session.update`` gets a ``session.updated``);
* one ticker task drives all connections.

The first path segment of the WebSocket URL picks the connection's mode: ``/paced/v1/realtime``
(one 20 ms ``response.output_audio.delta`` every 20 ms; the first 8 bytes of the PCM carry the
tick's scheduled ``time.monotonic()`` so the client measures its lateness), ``/blast/...``
(deltas as fast as the socket drains, for throughput), ``/idle/...`` (no audio), ``/paced8k/...``
(as paced, but 160-byte deltas: 20 ms of G.711, for the Twilio bridge benchmark).

Prints ``READY <port>``; on stdin EOF prints one JSON line of stats and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import hashlib
import json
import os
import resource
import struct
import sys
from typing import Any, cast

import orjson
from websockets.speedups import apply_mask

CHUNK_BYTES = 960
TICK_S = 0.020
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

SESSION = {
    "type": "realtime",
    "object": "realtime.session",
    "id": "sess_bench",
    "model": "gpt-realtime",
    "output_modalities": ["audio"],
    "instructions": "",
    "tools": [],
    "tool_choice": "auto",
    "max_output_tokens": "inf",
    "tracing": None,
    "prompt": None,
    "expires_at": 0,
    "audio": {
        "input": {
            "format": {"type": "audio/pcm", "rate": 24000},
            "transcription": None,
            "noise_reduction": None,
            "turn_detection": None,
        },
        "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "alloy", "speed": 1.0},
    },
    "include": None,
}


def frame(payload: bytes, opcode: int = 1) -> bytes:
    """One unmasked (server-to-client) frame."""
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", 0x80 | opcode, n)
    elif n < 65536:
        header = struct.pack("!BBH", 0x80 | opcode, 126, n)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 127, n)
    return header + payload


SESSION_CREATED = frame(
    orjson.dumps({"type": "session.created", "event_id": "evt_c", "session": SESSION})
)
SESSION_UPDATED = frame(
    orjson.dumps({"type": "session.updated", "event_id": "evt_u", "session": SESSION})
)

# The delta's PCM: 8-byte timestamp + 1 zero byte (12 base64 chars, rebuilt per tick) + a fixed
# tail whose base64 is computed once (951 bytes = 317 whole 3-byte groups).
_TAIL = base64.b64encode(bytes(range(256)) * 3 + bytes(CHUNK_BYTES - 9 - 768))
_DELTA_PREFIX = (
    b'{"type":"response.output_audio.delta","event_id":"evt_bench","response_id":"resp_bench",'
    b'"item_id":"item_bench","output_index":0,"content_index":0,"delta":"'
)
_DELTA_SUFFIX = b'"}'
_TAIL_8K = base64.b64encode(bytes(range(151)))  # 9 + 151 = 160 bytes: 20 ms of G.711
# Uplink appends are counted, not parsed: the event type within a frame's first bytes.
_APPEND = b'"input_audio_buffer.append"'
_HEAD = 64


def delta_frame(scheduled: float, tail: bytes = _TAIL) -> bytes:
    head = binascii.b2a_base64(struct.pack("<dx", scheduled), newline=False)
    return frame(_DELTA_PREFIX + head + tail + _DELTA_SUFFIX)


class Stats:
    def __init__(self) -> None:
        self.appends = 0
        self.other_events = 0
        self.connections = 0
        self.peak_connections = 0
        self.ticks = 0
        self.frames_sent = 0
        self.max_tick_lag_ms = 0.0
        self.late_ticks = 0  # ticks that began more than one tick late


class Conn(asyncio.Protocol):
    def __init__(self, server: Server) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.open = False
        self.paused = False
        self.resumed: asyncio.Future[None] | None = None
        self.mode = "paced"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement the interface without subclassing asyncio.Transport:
        # never check the concrete class (issue 10).
        transport = cast("asyncio.Transport", transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        if not self.open:
            buf += data
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            self.handshake(bytes(buf[:end]))
            data = bytes(buf[end + 4 :])
            buf.clear()
            if not self.open:
                return
        elif buf:  # the rest of a frame that arrived in pieces (rare: one chunk is one frame)
            buf += data
            data = bytes(buf)
            buf.clear()
        used = self.parse_frames(data)
        if used < len(data):
            buf += memoryview(data)[used:]

    def handshake(self, request: bytes) -> None:
        assert self.transport is not None
        lines = request.split(b"\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        key = headers.get(b"sec-websocket-key")
        if key is None:  # plain HTTP: stats
            body = json.dumps(self.server.stats.__dict__).encode()
            self.transport.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                + str(len(body)).encode()
                + b"\r\nConnection: close\r\n\r\n"
                + body
            )
            self.transport.close()
            return
        path = lines[0].split(b" ")[1] if len(lines[0].split(b" ")) > 1 else b"/"
        self.mode = path.split(b"/")[1].decode() if path.count(b"/") > 1 else "paced"
        accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
        self.transport.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n" + SESSION_CREATED
        )
        self.open = True
        self.server.add(self)

    def parse_frames(self, data: bytes) -> int:
        """Handle every whole frame in ``data``; return how many bytes were used."""
        size = len(data)
        pos = 0
        stats = self.server.stats
        while size - pos >= 2:
            b0 = data[pos]
            b1 = data[pos + 1]
            length = b1 & 0x7F
            header = 2
            if length == 126:
                if size - pos < 4:
                    break
                length = (data[pos + 2] << 8) | data[pos + 3]
                header = 4
            elif length == 127:
                if size - pos < 10:
                    break
                length = int.from_bytes(data[pos + 2 : pos + 10], "big")
                header = 10
            masked = b1 & 0x80
            start = pos + header + (4 if masked else 0)
            end = start + length
            if end > size:
                break
            mask = data[start - 4 : start] if masked else b""
            pos = end
            opcode = b0 & 0x0F
            if opcode in (0, 1, 2):
                # An append is recognised from its first bytes (every contender puts "type"
                # first), so the 1.3 KB payload is neither copied nor unmasked.
                head = data[start : min(end, start + _HEAD)]
                if masked:
                    head = apply_mask(head, mask)
                if _APPEND in head:
                    stats.appends += 1
                    continue
                payload = data[start:end]
                self.on_event(apply_mask(payload, mask) if masked else payload)
            elif opcode == 9 and self.transport is not None:  # ping
                payload = data[start:end]
                self.transport.write(frame(apply_mask(payload, mask) if masked else payload, 0xA))
            elif opcode == 8 and self.transport is not None:  # close: echo the code
                payload = data[start:end]
                payload = apply_mask(payload, mask) if masked else payload
                self.transport.write(frame(payload[:2], 0x8))
                self.transport.close()
                return size
        return pos

    def on_event(self, payload: bytes) -> None:
        if _APPEND in payload:  # a contender that does not put "type" first
            self.server.stats.appends += 1
            return
        self.server.stats.other_events += 1
        try:
            kind = orjson.loads(payload).get("type")
        except (orjson.JSONDecodeError, AttributeError):
            return
        if kind == "session.update" and self.transport is not None:
            self.transport.write(SESSION_UPDATED)

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        if self.resumed is not None and not self.resumed.done():
            self.resumed.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.open:
            self.server.remove(self)
        self.open = False
        if self.resumed is not None and not self.resumed.done():
            self.resumed.set_result(None)


class Server:
    def __init__(self) -> None:
        self.stats = Stats()
        self.live = 0
        self.tasks: set[asyncio.Task[None]] = set()
        self.conns: list[Conn] = []  # paced ones; a list: the ticker walks it 50 times a second

    def add(self, conn: Conn) -> None:
        self.live += 1
        self.stats.connections += 1
        self.stats.peak_connections = max(self.stats.peak_connections, self.live)
        if conn.mode == "blast":
            task = asyncio.get_running_loop().create_task(self.blast(conn))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        elif conn.mode != "idle":
            self.conns.append(conn)

    def remove(self, conn: Conn) -> None:
        self.live -= 1
        if conn in self.conns:
            self.conns.remove(conn)

    async def ticker(self) -> None:
        """One task paces every connection: one delta each per 20 ms, scheduled on a grid."""
        loop = asyncio.get_running_loop()
        stats = self.stats
        scheduled = loop.time()
        while True:
            scheduled += TICK_S
            delay = scheduled - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            lag = loop.time() - scheduled
            if lag > TICK_S:
                stats.late_ticks += 1
            stats.max_tick_lag_ms = max(stats.max_tick_lag_ms, lag * 1000)
            data = delta_frame(scheduled)  # loop.time() is time.monotonic() on Linux
            data8k = delta_frame(scheduled, _TAIL_8K)
            for conn in self.conns:
                transport = conn.transport
                if transport is not None and not conn.paused:
                    transport.write(data8k if conn.mode == "paced8k" else data)
            stats.frames_sent += len(self.conns)
            stats.ticks += 1

    async def blast(self, conn: Conn) -> None:
        """Deltas as fast as the client drains them (flow control via pause_writing)."""
        batch = delta_frame(0.0) * 64
        loop = asyncio.get_running_loop()
        if conn.transport is not None:  # keep the kernel buffer full: the client must never wait
            conn.transport.set_write_buffer_limits(high=4 << 20)
        while conn.open and conn.transport is not None:
            if conn.paused:
                conn.resumed = loop.create_future()
                await conn.resumed
                continue
            conn.transport.write(batch)
            self.stats.frames_sent += 64
            await asyncio.sleep(0)


async def main(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = Server()
    listener = await loop.create_server(
        lambda: Conn(server), "127.0.0.1", port, backlog=4096, reuse_address=True
    )
    bound = listener.sockets[0].getsockname()[1]
    ticker = loop.create_task(server.ticker())
    print(f"READY {bound}", flush=True)
    done = loop.create_future()
    loop.add_reader(sys.stdin.fileno(), _stdin_ready, done)
    await done
    listener.close()
    ticker.cancel()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result: dict[str, Any] = dict(server.stats.__dict__)
    result["cpu_s"] = usage.ru_utime + usage.ru_stime
    result["pid"] = os.getpid()
    result["loop"] = type(loop).__module__.split(".")[0]
    print(json.dumps(result), flush=True)


def _stdin_ready(done: asyncio.Future[None]) -> None:
    if not os.read(sys.stdin.fileno(), 4096) and not done.done():
        done.set_result(None)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--loop", default="uvloop", choices=("asyncio", "uvloop"), help="uvloop when installed"
    )
    args = parser.parse_args()
    factory = asyncio.new_event_loop
    if args.loop == "uvloop":
        try:
            import uvloop

            factory = uvloop.new_event_loop
        except ImportError:
            print("uvloop is not installed; the bench server runs on asyncio", file=sys.stderr)
    try:
        with asyncio.Runner(loop_factory=factory) as runner:
            runner.run(main(args.port))
    except KeyboardInterrupt:
        pass
