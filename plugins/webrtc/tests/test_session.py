"""RealtimeSession(agent, transport="webrtc"): a spoken turn over a real peer connection, with a
tool call, the reply played to the sink."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
from realtime_transport import AgentEndEvent, RealtimeAgent, RealtimeSession, function_tool
from realtime_transport_emulator import Emulator, FunctionCall, Reply, Rule, Script
from realtime_transport_emulator.model.synth import silence, speech

WEATHER = Script(
    rules=(
        Rule(
            contains="weather",
            reply=Reply(
                text="Let me check.",
                function_calls=(FunctionCall("get_weather", {"city": "Oslo"}),),
                then=Reply(text="It is snowy in Oslo."),
            ),
        ),
    ),
    transcripts=("What is the weather in Oslo?",),
)


@function_tool
def get_weather(city: str) -> str:
    """Get the weather for a city.

    Args:
        city: The city.
    """
    return f"{city}: snow, -3 °C"


async def test_spoken_conversation_with_a_tool_call() -> None:
    played: list[bytes] = []
    async with Emulator(script=WEATHER) as emu:
        agent = RealtimeAgent("main", instructions="Help.", tools=[get_weather])
        session = RealtimeSession(
            agent,
            transport="webrtc",
            transport_options={"audio_sink": played.append},
            config={"audio": {"input": {"turn_detection": {"type": "server_vad"}}}},
        )
        assert type(session.transport).__name__ == "OpenAIRealtimeWebRTC"
        ended: asyncio.Future[AgentEndEvent] = asyncio.get_running_loop().create_future()

        def on_end(event: AgentEndEvent) -> None:
            if event.output == "It is snowy in Oslo." and not ended.done():
                ended.set_result(event)

        session.on("agent_end", on_end)
        tools: list[Any] = []
        session.on("agent_tool_end", tools.append)
        await asyncio.wait_for(
            session.connect(api_key="sk-test", url=f"{emu.base_url}/realtime/calls"), 15
        )
        try:
            audio = speech("What is the weather in Oslo?") + silence(900)
            for start in range(0, len(audio), 4800):
                session.send_audio(audio[start : start + 4800])
            await asyncio.wait_for(ended, 20)
            assert [t.output for t in tools] == ["Oslo: snow, -3 °C"]
            record = emu.connections[0]
            outputs = [
                e["item"]["output"]
                for e in record.client_events
                if e["type"] == "conversation.item.create"
                and e["item"]["type"] == "function_call_output"
            ]
            assert outputs == ["Oslo: snow, -3 °C"]
            assert "input_audio_buffer.speech_started" in record.server_types()

            def loudest() -> float:
                samples = np.frombuffer(b"".join(played), dtype="<i2")
                return float(np.abs(samples.astype(np.int32)).max()) if samples.size else 0.0

            for _ in range(100):  # the reply plays in real time after response.done
                if loudest() > 1000:
                    break
                await asyncio.sleep(0.1)
            assert loudest() > 1000, "no reply audio was played"
            roles = [getattr(i, "role", None) for i in session.history if i.type == "message"]
            assert "user" in roles and "assistant" in roles
        finally:
            await session.close()
        assert session.transport.status == "disconnected"
