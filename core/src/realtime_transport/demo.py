"""``realtime-transport demo``: a voice agent with a tool and a handoff, on the emulator.

Starts the offline emulator on loopback (no API key, nothing leaves the machine), connects a
:class:`~realtime_transport.RealtimeSession` to it over a transport (``websocket`` unless
``--transport`` names another), streams synthesized speech-like caller audio in real time, and
prints a live timeline while the agent checks the weather with a tool, hands the caller to a
second agent, and that agent answers. The reply audio is written to a WAV file.

``--live`` runs the same agents against the real Realtime API (``OPENAI_API_KEY``); the caller's
request is then sent as a text message, because synthesized hum is not speech a real model can
understand.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import wave
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .agent import RealtimeAgent
from .errors import RealtimeTransportError
from .tools import function_tool

if TYPE_CHECKING:
    from rich.console import Console

    from .session import RealtimeSession

__all__ = ["DEMO_USER_TEXT", "build_agents", "demo_script", "main"]

DEMO_USER_TEXT = "Paris weather, then travel help?"
SAMPLE_RATE = 24_000  # PCM16 mono, the session's default output format
CHUNK_MS = 40
TRAILING_SILENCE_MS = 800  # lets the server's VAD hear the end of the turn

_FORECASTS = {"paris": "sunny, 22 °C", "london": "light rain, 15 °C", "tokyo": "clear, 26 °C"}


@function_tool
def get_weather(city: str) -> str:
    """Get the current weather for a city.

    Args:
        city: The city name, for example "Paris".
    """
    return f"{city}: {_FORECASTS.get(city.strip().lower(), 'mild and cloudy, 18 °C')}"


def build_agents() -> tuple[RealtimeAgent, RealtimeAgent]:
    """(concierge, travel agent): the concierge has ``get_weather`` and hands off to the other."""
    travel = RealtimeAgent(
        "Travel Agent",
        instructions="You are a travel agent. Greet the caller briefly and offer to plan the "
        "trip they mention. Keep every answer to one or two short sentences.",
        handoff_description="Plans trips and books hotels.",
        voice="marin",
    )
    concierge = RealtimeAgent(
        "Concierge",
        instructions="You are a phone concierge. Answer weather questions with get_weather, "
        "then hand anything about travel plans to the travel agent. Be brief.",
        tools=[get_weather],
        handoffs=[travel],
        voice="marin",
    )
    return concierge, travel


def demo_script() -> Any:
    """The emulator script: the model checks the weather, hands off, and the new agent speaks."""
    from realtime_transport_emulator.model.script import FunctionCall, Reply, Rule, Script

    return Script(
        rules=(
            Rule(
                contains="weather",
                reply=Reply(
                    text="Checking.",
                    function_calls=(FunctionCall("get_weather", {"city": "Paris"}),),
                    then=Reply(
                        text="Sunny, 22 degrees. Transferring you.",
                        function_calls=(FunctionCall("transfer_to_travel_agent", {}),),
                        then=Reply(text="Travel agent here. Where to?"),
                    ),
                ),
            ),
        ),
        transcripts=(DEMO_USER_TEXT,),
    )


def _unwritable(path: Path) -> str | None:
    """Why ``path`` cannot be written (a missing folder, a folder, no permission), or None."""
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        return "it is a folder; give a file name such as reply.wav"
    if not folder.is_dir():
        return f"the folder {str(folder)!r} does not exist"
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        return "permission denied"
    return None


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="realtime-transport demo",
        description="Watch a voice agent call a tool and hand off to another agent, on the "
        "offline emulator (no API key needed). The reply audio is saved as a WAV file.",
    )
    parser.add_argument(
        "--transport",
        default="websocket",
        metavar="NAME",
        help="transport to use (default: websocket; see `realtime-transport plugins`)",
    )
    parser.add_argument(
        "--live",
        action="store_true",
        help="use the real OpenAI Realtime API instead of the emulator (needs OPENAI_API_KEY)",
    )
    parser.add_argument(
        "--out",
        default="reply.wav",
        type=Path,
        metavar="FILE",
        help="where to write the agents' reply audio (default: reply.wav)",
    )
    parser.add_argument("--model", default=None, help="model name (default: the transport's)")
    parser.add_argument(
        "--loop",
        choices=("auto", "asyncio", "uvloop"),
        default=None,
        help="event loop (default auto: uvloop when installed; env REALTIME_TRANSPORT_LOOP)",
    )
    parser.add_argument(
        "--fast",
        action="store_true",
        help="stream audio as fast as possible instead of in real time (for tests and CI)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="give up if the exchange has not finished after this long (default: 60)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; returns the process exit code (0 when the whole exchange happened)."""
    args = _parser().parse_args(list(argv) if argv is not None else None)
    from rich.console import Console

    console = Console(highlight=False)
    if args.live and not os.environ.get("OPENAI_API_KEY"):
        console.print(
            "[red]--live needs OPENAI_API_KEY in the environment.[/] Run without --live to use "
            "the offline emulator."
        )
        return 2
    problem = _unwritable(args.out)
    if problem:  # say so now, not after the whole exchange
        console.print(f"[red]cannot write --out {args.out}: {problem}[/]", soft_wrap=True)
        return 2
    from .errors import UserError
    from .loops import run as run_on_loop

    progress = _Progress()
    try:
        code = run_on_loop(_run(args, console, progress), loop=args.loop)
    except UserError as exc:
        console.print(f"[red]{exc}[/]")
        return 2
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]")
        return 130
    if progress.audio or code == 0:
        _write_wav(args.out, progress.audio)  # after the loop: file I/O never blocks it
        seconds = len(progress.audio) / 2 / SAMPLE_RATE
        console.print(f"wrote [bold]{args.out}[/] ({seconds:.1f} s of reply audio)")
    return code


# ---------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------


@dataclass
class _Progress:
    """What happened so far, filled in by the session listeners."""

    started: float = 0.0
    audio: bytearray = field(default_factory=bytearray)
    response_bytes: dict[str, int] = field(default_factory=dict)
    printed_transcripts: set[str] = field(default_factory=set)
    tool_calls: int = 0
    handoffs: int = 0
    errors: int = 0
    finished: asyncio.Event = field(default_factory=asyncio.Event)

    def elapsed(self) -> float:
        return time.monotonic() - self.started


async def _run(args: argparse.Namespace, console: Console, progress: _Progress) -> int:
    from contextlib import AsyncExitStack

    from rich.markup import escape

    from .session import RealtimeSession

    concierge, travel = build_agents()
    progress.started = time.monotonic()

    def line(label: str, text: str, style: str = "cyan") -> None:
        console.print(f"[dim]{progress.elapsed():6.2f}s[/]  [bold {style}]{label:<13}[/] {text}")

    async with AsyncExitStack() as stack:
        url: str | None = None
        api_key: str | None = os.environ.get("OPENAI_API_KEY") if args.live else None
        if not args.live:
            try:
                from realtime_transport_emulator import Emulator
            except ImportError:
                console.print(
                    "[red]The emulator is not installed.[/] Install it with: "
                    "pip install realtime-transport-emulator  (or use --live with an API key)"
                )
                return 2
            emulator = await stack.enter_async_context(
                Emulator(script=demo_script(), pace="fast" if args.fast else "realtime")
            )
            url = emulator.ws_url
            api_key = "sk-emulator-demo"
        try:
            session = RealtimeSession(concierge, transport=args.transport, model=args.model)
        except RealtimeTransportError as exc:
            console.print(f"[red]{escape(str(exc))}[/]")
            return 2
        if not session.transport.capabilities.receives_audio_events:
            console.print(
                f"[yellow]The {escape(args.transport)} transport plays audio itself; no reply "
                "audio will be written.[/]"
            )
        _attach_timeline(session, progress, line, escape, travel)

        where = "the OpenAI Realtime API" if args.live else f"the emulator at {url}"
        console.rule("[bold]realtime-transport demo[/]")
        line("connecting", f"{escape(args.transport)} transport to {escape(where)}", "blue")
        try:
            await asyncio.wait_for(session.connect(api_key=api_key, url=url), args.timeout)
        except (RealtimeTransportError, OSError, asyncio.TimeoutError) as exc:
            console.print(f"[red]could not connect: {escape(str(exc) or type(exc).__name__)}[/]")
            return 1
        stack.push_async_callback(_close, session)
        line("connected", f"agent [bold]{concierge.name}[/] is listening", "blue")

        if args.live:
            line("caller says", f'"{DEMO_USER_TEXT}" (as a text message)', "magenta")
            session.send_message(DEMO_USER_TEXT)
        else:
            await _speak(session, DEMO_USER_TEXT, fast=args.fast, line=line)

        try:
            await asyncio.wait_for(progress.finished.wait(), args.timeout)
        except asyncio.TimeoutError:
            console.print(
                f"[red]the exchange did not finish within {args.timeout:g} s "
                f"({progress.tool_calls} tool calls, {progress.handoffs} handoffs so far)[/]"
            )
            return 1

    usage = session.usage
    console.rule()
    ok = progress.errors == 0 and progress.tool_calls >= 1 and progress.handoffs >= 1
    console.print(
        f"[{'green' if ok else 'red'}]{'done' if ok else 'finished with problems'}[/]: "
        f"{progress.tool_calls} tool call(s), {progress.handoffs} handoff(s), "
        f"{usage.requests} responses, {usage.total_tokens} tokens"
    )
    return 0 if ok else 1


def _attach_timeline(
    session: RealtimeSession,
    progress: _Progress,
    line: Any,
    escape: Any,
    final_agent: RealtimeAgent,
) -> None:
    """Print one line per interesting session event; collect the reply audio."""

    def on_audio(event: Any) -> None:
        progress.audio += event.data
        rid = event.response_id
        progress.response_bytes[rid] = progress.response_bytes.get(rid, 0) + len(event.data)

    def on_audio_start(event: Any) -> None:
        line("speaking", f"{escape(event.agent.name)} starts talking (audio streaming in)", "green")

    def on_agent_end(event: Any) -> None:
        seconds = progress.response_bytes.get(event.response_id, 0) / 2 / SAMPLE_RATE
        said = f'"{escape(event.output)}"' if event.output else "(no speech)"
        line(
            "agent said",
            f"{escape(event.agent.name)}: {said}  [dim]{seconds:.1f} s audio[/]",
            "green",
        )
        if event.agent is final_agent and event.output and event.status == "completed":
            progress.finished.set()

    def on_tool_start(event: Any) -> None:
        progress.tool_calls += 1
        line("tool call", f"{escape(event.tool.name)}({escape(event.arguments)})", "yellow")

    def on_tool_end(event: Any) -> None:
        line("tool result", f'{escape(event.tool.name)} -> "{escape(event.output)}"', "yellow")

    def on_handoff(event: Any) -> None:
        progress.handoffs += 1
        line(
            "handoff",
            f"{escape(event.from_agent.name)} -> [bold]{escape(event.to_agent.name)}[/] "
            "(new instructions and tools, same audio format)",
            "magenta",
        )

    def on_history(event: Any) -> None:
        for item in event.history:
            if (
                getattr(item, "role", None) != "user"
                or item.item_id in progress.printed_transcripts
            ):
                continue
            for part in item.content:
                transcript = part.get("transcript")
                if part.get("type") == "input_audio" and transcript:
                    progress.printed_transcripts.add(item.item_id)
                    line("caller said", f'"{escape(transcript)}" (transcribed)', "magenta")

    def on_error(event: Any) -> None:
        progress.errors += 1
        line("error", escape(event.message), "red")

    def on_disconnected(event: Any) -> None:
        if not progress.finished.is_set():
            line("disconnected", escape(event.reason or "the connection closed"), "red")
            progress.errors += 1
            progress.finished.set()

    session.on("audio", on_audio)
    session.on("audio_start", on_audio_start)
    session.on("agent_end", on_agent_end)
    session.on("agent_tool_start", on_tool_start)
    session.on("agent_tool_end", on_tool_end)
    session.on("agent_handoff", on_handoff)
    session.on("history_updated", on_history)
    session.on("error", on_error)
    session.on("disconnected", on_disconnected)
    transport = session.transport
    transport.on(
        "input_audio_buffer.speech_started", lambda e: line("vad", "speech started", "blue")
    )
    transport.on(
        "input_audio_buffer.speech_stopped", lambda e: line("vad", "speech stopped", "blue")
    )


async def _speak(session: RealtimeSession, text: str, *, fast: bool, line: Any) -> None:
    """Stream synthesized speech for ``text`` plus trailing silence, paced like a microphone."""
    from realtime_transport_emulator.model.synth import silence, speech

    audio = speech(text) + silence(TRAILING_SILENCE_MS)
    chunk = SAMPLE_RATE * 2 * CHUNK_MS // 1000
    seconds = len(audio) / 2 / SAMPLE_RATE
    line("caller", f'speaks for {seconds:.1f} s ("{text}", synthesized)', "magenta")
    start = time.monotonic()
    for index, offset in enumerate(range(0, len(audio), chunk)):
        session.send_audio(audio[offset : offset + chunk])
        if fast:
            if index % 25 == 24:
                await asyncio.sleep(0)
            continue
        delay = start + (index + 1) * CHUNK_MS / 1000 - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)


async def _close(session: RealtimeSession) -> None:
    await session.close()


def _write_wav(path: Path, pcm: bytes | bytearray) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(bytes(pcm))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
