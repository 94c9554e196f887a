"""``realtime-transport emulator twilio-call VOICE_URL``: phone an app the way Twilio does.

Starts the emulator (the model the app's Realtime session talks to) on ``--host``/``--port``,
then places one simulated call: signed voice webhook, TwiML, signed stream upgrade, and a caller
who asks about the weather (the model calls the app's ``get_weather`` tool), then asks for a
story and interrupts it. Prints what the caller heard, every ``clear`` and the truncation the
app sent. Exit codes: 0 the agent answered every turn, 1 it did not, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import Any

from .call import CarrierError, TwilioCarrier
from .ear import CallRecord
from .script import Dtmf, Say, Silence, Step, WaitForAgent, WaitForQuiet

STORY = (
    "Once upon a time, in a small town by the sea, there lived an old fisherman who told long "
    "stories to anyone who would listen, and this is one of them, told slowly and with care."
)


def default_model_script() -> Any:
    from realtime_transport_emulator.model.script import FunctionCall, Reply, Rule, Script

    return Script(
        rules=[
            Rule(
                contains="weather",
                reply=Reply(
                    text="Let me check.",
                    function_calls=[FunctionCall("get_weather", {"city": "Paris"})],
                    then=Reply(text="It is sunny in Paris, twenty two degrees."),
                ),
            ),
            Rule(contains="story", reply=Reply(text=STORY)),
        ],
        default=Reply(text="Sure, happy to help."),
        transcripts=["what's the weather in Paris?", "tell me a story", "stop, thank you"],
    )


def default_caller() -> list[Step]:
    return [
        Say("what is the weather in paris"),
        Silence(800),
        WaitForAgent(200, timeout=15),
        WaitForQuiet(600, timeout=20),
        Say("tell me a story"),
        Silence(800),
        WaitForAgent(1500, timeout=15),
        Say("stop thank you"),  # barge in
        Silence(800),
        WaitForAgent(200, timeout=15),
        WaitForQuiet(600, timeout=20),
    ]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="realtime-transport emulator twilio-call",
        description="Simulate a Twilio phone call into your app: start the emulator (the "
        "model), post the signed voice webhook to VOICE_URL, open the <Stream> with a signed "
        "upgrade and talk: a tool call, then a barge-in. Prints what the caller heard.",
    )
    parser.add_argument("voice_url", metavar="VOICE_URL", help="the app's voice webhook URL")
    parser.add_argument(
        "--auth-token",
        default=os.environ.get("TWILIO_AUTH_TOKEN"),
        help="Twilio auth token the app validates with (default $TWILIO_AUTH_TOKEN)",
    )
    parser.add_argument(
        "--public-origin",
        default=os.environ.get("PUBLIC_ORIGIN"),
        help="origin Twilio uses for the app, e.g. https://voice.example.com (signatures are "
        "computed over it; default $PUBLIC_ORIGIN, else the URLs as given)",
    )
    parser.add_argument("--say", action="append", default=None, help="caller lines (repeatable)")
    parser.add_argument("--dtmf", default="", help="keys pressed at the end, e.g. 12#")
    parser.add_argument("--host", default="127.0.0.1", help="emulator interface (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="emulator port (default 8765)")
    parser.add_argument(
        "--no-emulator", action="store_true", help="an emulator (or the real API) already runs"
    )
    parser.add_argument("--script", help="JSON or YAML script of the model's replies")
    parser.add_argument("--pace", choices=("fast", "realtime"), default="realtime")
    parser.add_argument("--timeout", type=float, default=90.0, help="whole call, seconds (90)")
    parser.add_argument("--json", action="store_true", help="print the record as JSON")
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if not args.auth_token:
        print("error: pass --auth-token or set TWILIO_AUTH_TOKEN", file=sys.stderr)
        return 2
    caller: list[Step]
    if args.say:
        caller = []
        for line in args.say:
            caller += [Say(line), Silence(800), WaitForAgent(200), WaitForQuiet(600)]
    else:
        caller = default_caller()
    caller += [Dtmf(d) for d in args.dtmf]
    try:
        from realtime_transport_emulator.model.script import Script, ScriptError

        script = Script.load(args.script) if args.script else default_model_script()
        if args.say and not args.script:
            script = Script(rules=script.rules, default=script.default, transcripts=args.say)
    except ScriptError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from realtime_transport.loops import run as run_on_loop

    return run_on_loop(_run(args, script, caller))


async def _run(args: argparse.Namespace, script: Any, caller: list[Step]) -> int:
    from realtime_transport_emulator.server import Emulator

    emulator = None
    if not args.no_emulator:
        emulator = Emulator(script=script, pace=args.pace, host=args.host, port=args.port)
        try:
            await emulator.start()
        except OSError as exc:
            print(f"error: the emulator could not listen: {exc.strerror or exc}", file=sys.stderr)
            return 1
        print(f"emulator listening: {emulator.ws_url} (point the app's Realtime URL here)")
    carrier = TwilioCarrier(auth_token=args.auth_token, public_origin=args.public_origin)
    try:
        print(f"calling {args.voice_url} ...", flush=True)
        record = await carrier.place_call(args.voice_url, caller, timeout=args.timeout)
    except (CarrierError, asyncio.TimeoutError, OSError) as exc:
        print(f"call failed: {exc or type(exc).__name__}", file=sys.stderr)
        return 1
    finally:
        truncates = _truncates(emulator)
        if emulator is not None:
            await emulator.stop()
    _report(record, truncates, as_json=args.json)
    spoken = [u for u in record.utterances if u.heard_ms > 0]
    return 0 if spoken else 1


def _truncates(emulator: Any) -> list[dict[str, Any]]:
    """The app's truncations and tool results, as the emulator received them."""
    if emulator is None:
        return []
    return [
        e
        for connection in emulator.connections
        for e in connection.client_events
        if e.get("type") == "conversation.item.truncate"
        or (
            e.get("type") == "conversation.item.create"
            and (e.get("item") or {}).get("type") == "function_call_output"
        )
    ]


def _report(record: CallRecord, truncates: list[dict[str, Any]], *, as_json: bool) -> None:
    if as_json:
        print(
            json.dumps(
                {
                    "call_sid": record.call_sid,
                    "stream_url": record.stream_url,
                    "parameters": record.parameters,
                    "utterances": [
                        {"heard_ms": u.heard_ms, "cleared": u.cleared} for u in record.utterances
                    ],
                    "clears": [
                        {"heard_ms": c.heard_ms, "dropped_bytes": c.dropped_bytes}
                        for c in record.clears
                    ],
                    "app_events": truncates,
                    "marks_echoed": record.marks_echoed,
                    "frame_sizes": dict(record.frame_sizes),
                    "bad_messages": record.bad_messages,
                    "ended_by": record.ended_by,
                },
                indent=2,
            )
        )
        return
    print(f"call {record.call_sid}: stream {record.stream_url} parameters {record.parameters}")
    for index, utterance in enumerate(record.utterances):
        state = "interrupted (clear)" if utterance.cleared else "played to the end"
        print(f"  agent utterance {index + 1}: heard {utterance.heard_ms:.0f} ms, {state}")
    for clear in record.clears:
        print(f"  clear: caller had heard {clear.heard_ms:.0f} ms, {clear.dropped_bytes} B dropped")
    for event in truncates:
        if event["type"] == "conversation.item.truncate":
            print(f"  truncate sent by the app: audio_end_ms={event['audio_end_ms']}")
        else:
            print(f"  tool result sent by the app: {event['item'].get('output')!r}")
    sizes = ", ".join(f"{size} B x{count}" for size, count in sorted(record.frame_sizes.items()))
    print(f"  media frames received: {sizes or 'none'}; marks echoed: {record.marks_echoed}")
    if record.bad_messages:
        print(f"  messages Twilio would reject (31924): {len(record.bad_messages)}")
    print(f"  ended by: {record.ended_by or 'the app'}")
