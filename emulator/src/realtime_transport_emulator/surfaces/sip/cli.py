"""``realtime-transport emulator sip-call WEBHOOK_URL``: ring an application with a simulated call.

Starts the emulator (with the SIP surface) on ``--host``/``--port``, prints its URLs and the
webhook secret the application must verify with, posts a signed ``realtime.call.incoming`` to
``WEBHOOK_URL``, and runs the call (see :mod:`.simulator`). Exit codes: 0 the call went as asked
(answered; or, with ``--bad-signature``, refused), 1 it did not, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from typing import Any

from .simulator import DEFAULT_CALLER_LINES


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="realtime-transport emulator sip-call",
        description="Simulate an incoming SIP call: start the emulator, post a signed "
        "realtime.call.incoming webhook to WEBHOOK_URL, wait for the accept, play the caller's "
        "speech into the call and print what the agent said.",
    )
    parser.add_argument("webhook_url", metavar="WEBHOOK_URL", help="the application's webhook")
    parser.add_argument("--host", default="127.0.0.1", help="emulator interface (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="emulator port (default 8765)")
    parser.add_argument(
        "--webhook-secret",
        default=None,
        help="signing secret (default $REALTIME_TRANSPORT_EMULATOR_WEBHOOK_SECRET or the "
        "emulator's test secret, printed at start)",
    )
    parser.add_argument(
        "--say",
        action="append",
        default=None,
        help=f"a caller line, repeatable (default {DEFAULT_CALLER_LINES[0]!r})",
    )
    parser.add_argument("--dtmf", default="", help="keys the caller presses at the end, e.g. 1#")
    parser.add_argument("--duplicate", action="store_true", help="deliver the webhook twice")
    parser.add_argument(
        "--bad-signature", action="store_true", help="sign the webhook with a wrong secret"
    )
    parser.add_argument("--script", help="JSON or YAML script of the model's replies")
    parser.add_argument(
        "--pace", choices=("fast", "realtime"), default="realtime", help="default realtime"
    )
    parser.add_argument("--accept-timeout", type=float, default=10.0, help="seconds (10)")
    parser.add_argument("--turn-timeout", type=float, default=20.0, help="seconds (20)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON at the end")
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    from realtime_transport_emulator.model.script import Script, ScriptError

    try:
        script = Script.load(args.script)
    except ScriptError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from realtime_transport.loops import run

    return int(run(_run(args, script)))


async def _run(args: argparse.Namespace, script: Any) -> int:
    from realtime_transport_emulator.server import Emulator

    from .simulator import SipSimulator

    sip = SipSimulator(webhook_secret=args.webhook_secret)
    emulator = Emulator(
        script=script, pace=args.pace, host=args.host, port=args.port, surfaces=[sip.install]
    )
    try:
        await emulator.start()
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
        return 1
    try:
        print(
            "SIP call emulator is listening (offline; any 'sk-' API key works).\n"
            f"  REST base      : {emulator.base_url}   (POST /v1/realtime/calls/{{id}}/accept…)\n"
            f"  WebSocket      : {emulator.ws_url}?call_id=…\n"
            f"  webhook secret : {sip.webhook_secret}\n"
            "Configure the application with:\n"
            f"  OPENAI_BASE_URL={emulator.base_url} OPENAI_API_KEY=sk-test "
            f"OPENAI_WEBHOOK_SECRET={sip.webhook_secret}\n"
            f"Calling {args.webhook_url} …",
            flush=True,
        )
        result = await sip.call(
            args.webhook_url,
            caller_says=args.say or DEFAULT_CALLER_LINES,
            duplicate_delivery=args.duplicate,
            bad_signature=args.bad_signature,
            dtmf=args.dtmf,
            accept_timeout=args.accept_timeout,
            turn_timeout=args.turn_timeout,
            log=lambda line: print(f"  {line}", flush=True),
        )
    finally:
        await emulator.stop()
    print(
        f"call {result.call_id}: {result.state} (ended by {result.ended_by}); the agent spoke "
        f"{len(result.said)} time(s), {result.model_audio_ms / 1000:.1f} s of audio"
    )
    if args.json:
        print(json.dumps(asdict(result), indent=2, default=str))
    if args.bad_signature:
        refused = all(d.status is not None and 400 <= d.status < 500 for d in result.deliveries)
        return 0 if refused and not result.answered else 1
    return 0 if result.answered and result.said else 1
