"""``realtime-transport emulator`` (also ``realtime-transport-emulator``): run the emulator.

Prints the URLs and how to point this library and the official ``openai`` client at it, then
serves until Ctrl-C (or SIGTERM). Exit codes: 0 stopped normally, 1 could not listen,
2 bad arguments or script.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from typing import TextIO

DEFAULT_PORT = 8765


def build_parser(prog: str = "realtime-transport emulator") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run an offline, deterministic Realtime API server (GA wire protocol) "
        "on this machine: no OpenAI account or network needed. "
        "`sip-call WEBHOOK_URL` simulates an incoming SIP call instead, `twilio-call VOICE_URL` "
        "a Twilio phone call (see their --help).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port to listen on (default {DEFAULT_PORT}; 0 picks a free one)",
    )
    parser.add_argument("--script", help="JSON or YAML script of replies (default: a greeting)")
    parser.add_argument(
        "--pace",
        choices=("fast", "realtime"),
        default="realtime",
        help="stream audio as fast as possible or at playback speed (default realtime)",
    )
    parser.add_argument("--chunk-ms", type=int, default=100, help="audio per delta (default 100)")
    parser.add_argument(
        "--api-key",
        action="append",
        default=None,
        help="accept only this key (repeatable); by default any key starting with 'sk-'",
    )
    parser.add_argument(
        "--max-session-seconds",
        type=float,
        default=None,
        help="end sessions after this long with 'session_expired' (the real cap is 3600)",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=None,
        help="fault for every connection, e.g. close_after:20 or delay_ms:50 (repeatable)",
    )
    parser.add_argument("--latency-ms", type=float, default=0.0, help="pause before each reply")
    parser.add_argument(
        "--loop",
        choices=("auto", "asyncio", "uvloop"),
        default=None,
        help="event loop (default auto: uvloop when installed; env REALTIME_TRANSPORT_LOOP)",
    )
    parser.add_argument("--seed", default="0", help="seed for deterministic ids (default 0)")
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        help="log level for connection logs (default INFO)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; ``argv`` excludes the program name (None reads ``sys.argv``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["sip-call"]:
        from realtime_transport_emulator.surfaces.sip.cli import main as sip_call

        return sip_call(argv[1:])
    if argv[:1] == ["twilio-call"]:
        from realtime_transport_emulator.surfaces.twilio_carrier.cli import main as twilio_call

        return twilio_call(argv[1:])
    args = build_parser().parse_args(argv)
    from realtime_transport_emulator.faults import Faults
    from realtime_transport_emulator.model.script import Script, ScriptError

    try:
        script = Script.load(args.script)
    except ScriptError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        faults = Faults.parse(args.fault) if args.fault else None
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=getattr(logging, args.log_level),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        from realtime_transport.errors import UserError
        from realtime_transport.loops import run as run_on_loop

        try:
            return run_on_loop(_serve(args, script, faults), loop=args.loop)
        except UserError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    except KeyboardInterrupt:
        return 0


async def _serve(args: argparse.Namespace, script: object, faults: object) -> int:
    from realtime_transport_emulator.faults import Faults
    from realtime_transport_emulator.model.script import Script
    from realtime_transport_emulator.server import Emulator

    assert isinstance(script, Script)
    assert faults is None or isinstance(faults, Faults)
    try:
        emulator = Emulator(
            script=script,
            faults=faults,
            api_keys=args.api_key,
            pace=args.pace,
            chunk_ms=args.chunk_ms,
            max_session_seconds=args.max_session_seconds,
            host=args.host,
            port=args.port,
            seed=args.seed,
            response_latency_ms=args.latency_ms,
            # Nothing reads per-event records in a served emulator (tests use the Python API),
            # and at hundreds of sessions they grew into millions of dicts that every full
            # garbage collection walked: pauses of seconds in the audio. Connections are still
            # recorded (session, close code), just not each event.
            record_audio=False,
            max_recorded_events=0,
            max_records=100,
            ping_interval=20.0,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        await emulator.start()
    except OSError as exc:
        print(f"error: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print_banner(emulator, sys.stdout, custom_keys=args.api_key is not None)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await emulator.stop()
    print("Emulator stopped.", flush=True)
    return 0


def print_banner(emulator: object, out: TextIO, *, custom_keys: bool = False) -> None:
    from realtime_transport_emulator.server import Emulator

    assert isinstance(emulator, Emulator)
    key = "<one of your --api-key values>" if custom_keys else "sk-test"
    accepted = "the keys given with --api-key" if custom_keys else "any key starting with 'sk-'"
    text = f"""\
Realtime API emulator (GA protocol, offline, deterministic) is listening.

  WebSocket : {emulator.realtime_url()}
  REST base : {emulator.base_url}   (POST /v1/realtime/client_secrets)
  API keys  : {accepted}
  Pace      : {emulator.pace}, {emulator.chunk_ms} ms audio chunks

Point realtime-transport at it:
    session = RealtimeSession(agent, transport="websocket", model="gpt-realtime")
    await session.connect(api_key="{key}", url="{emulator.ws_url}")

Point the official openai client at it:
    client = AsyncOpenAI(api_key="{key}", base_url="{emulator.base_url}")
    async with client.realtime.connect(model="gpt-realtime") as connection: ...
  (or set OPENAI_BASE_URL={emulator.base_url})

Faults per connection: add ?fault=close_after:5,delay_ms:20 to the WebSocket URL.
Press Ctrl-C to stop.
"""
    out.write(text)
    out.flush()
