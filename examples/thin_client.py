"""The websocket transport on its own, against the embedded emulator: send speech, get audio back.

Run: python examples/thin_client.py   (needs realtime-transport, -emulator and -websocket)
"""

from __future__ import annotations

import asyncio

from realtime_transport import get_transport
from realtime_transport.testing import speech_like_pcm16
from realtime_transport_emulator import Emulator


async def main() -> None:
    async with Emulator() as emulator:
        transport = get_transport("websocket")
        received = bytearray()
        done = asyncio.Event()
        transport.on("audio", lambda event: received.extend(event.data))  # PCM16 24 kHz
        transport.on("audio_transcript_delta", lambda event: print(event.delta, end=""))
        transport.on("turn_done", lambda event: done.set())
        transport.on("error", lambda event: print("\nerror:", event.message))

        await transport.connect(url=emulator.ws_url, api_key="sk-emulator")
        speech = speech_like_pcm16(0.8) + bytes(48 * 800)  # 0.8 s of voice, 0.8 s of silence
        for start in range(0, len(speech), 960):  # 20 ms chunks
            transport.send_audio(speech[start : start + 960])
        await asyncio.wait_for(done.wait(), 10)
        await transport.close()
        print(f"\nreceived {len(received) / 48:.0f} ms of reply audio")


if __name__ == "__main__":
    asyncio.run(main())
