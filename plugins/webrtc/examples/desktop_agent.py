"""A desktop voice agent: the default microphone and speaker over WebRTC.

    OPENAI_API_KEY=sk-... python desktop_agent.py
    python desktop_agent.py --emulator                      # offline, against the emulator
    python desktop_agent.py --emulator --input in.wav --output out.wav --seconds 8

``--input``/``--output`` replace the sound devices with files (what the tests do: CI machines
have no sound card). Tools run in the session as on any transport.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
from collections.abc import AsyncIterator

from realtime_transport import RealtimeAgent, RealtimeSession, function_tool
from realtime_transport_webrtc import LocalAudio


@function_tool
def get_weather(city: str) -> str:
    """Get the weather for a city.

    Args:
        city: The city.
    """
    return f"{city}: sunny, 21 °C"


@contextlib.asynccontextmanager
async def endpoint(offline: bool) -> AsyncIterator[tuple[str, str | None]]:
    """(calls URL, key): the emulator's when offline, else the API's with $OPENAI_API_KEY."""
    if not offline:
        yield "https://api.openai.com/v1/realtime/calls", os.environ.get("OPENAI_API_KEY")
        return
    from realtime_transport_emulator import Emulator

    async with Emulator() as emu:
        yield f"{emu.base_url}/realtime/calls", "sk-emulator"


async def main(args: argparse.Namespace) -> None:
    local = (
        LocalAudio(input=args.input, output=args.output)
        if args.input or args.output
        else True  # the default devices
    )
    agent = RealtimeAgent("assistant", instructions="Be brief.", tools=[get_weather])
    async with endpoint(args.emulator) as (url, key):
        session = RealtimeSession(
            agent, transport="webrtc", transport_options={"local_audio": local}
        )
        session.on("agent_end", lambda event: print(f"assistant: {event.output}"))
        await session.connect(api_key=key, url=url)
        print("connected; talk (Ctrl-C to stop)")
        try:
            await asyncio.sleep(args.seconds)
        finally:
            await session.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emulator", action="store_true", help="use the offline emulator")
    parser.add_argument("--input", help="a WAV file instead of the microphone")
    parser.add_argument("--output", help="a WAV file instead of the speaker")
    parser.add_argument("--seconds", type=float, default=3600, help="how long to run")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(parser.parse_args()))
