"""Input audio: server VAD timing in every input format, commits, transcription, barge-in, echo."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from emutest import audio_of, connect, session_update, types
from realtime_transport_emulator import (
    Emulator,
    Reply,
    Rule,
    Script,
    noise,
    silence,
    speech,
    synthesize,
)
from realtime_transport_emulator.model.audio import PCM24K, PCMA, PCMU, decode

PHRASE = "what is the weather like today"
FORMATS = {
    "pcm": (PCM24K, {"type": "audio/pcm", "rate": 24000}),
    "pcmu": (PCMU, {"type": "audio/pcmu"}),
    "pcma": (PCMA, {"type": "audio/pcma"}),
}


def voiced_end_ms(text: str) -> float:
    """Where the synthesized phrase's last syllable ends (before its trailing word gap)."""
    spoken = synthesize(text)
    return spoken.duration_ms - 70.0


@pytest.mark.parametrize("name", list(FORMATS))
async def test_server_vad_turn_in_each_input_format(emulator: Emulator, name: str) -> None:
    fmt, wire = FORMATS[name]
    audio = silence(500, fmt) + speech(PHRASE, fmt) + silence(1000, fmt)
    async with connect(emulator) as client:
        await client.send(session_update(input={"format": wire}))
        await client.until("session.updated")
        await client.append(audio, chunk=int(fmt.bytes_per_ms * 100))
        events = await client.until("response.done")
    started = next(e for e in events if e["type"] == "input_audio_buffer.speech_started")
    stopped = next(e for e in events if e["type"] == "input_audio_buffer.speech_stopped")
    assert started["audio_start_ms"] == 200  # 500 ms of silence, minus 300 ms prefix padding
    expected_stop = 500 + voiced_end_ms(PHRASE) + 500  # plus silence_duration_ms
    assert expected_stop - 60 <= stopped["audio_end_ms"] <= expected_stop + 10
    assert started["item_id"] == stopped["item_id"]
    order = types(events)
    assert order[:5] == [
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "conversation.item.added",
        "conversation.item.done",
    ]
    assert order[5] == "response.created"
    user_item = events[3]["item"]
    assert user_item["id"] == started["item_id"] and user_item["role"] == "user"
    assert user_item["content"] == [{"type": "input_audio", "transcript": None}]
    record = emulator.connections[0]
    # the committed item holds exactly [audio_start_ms, audio_end_ms)
    async with connect(emulator) as other:
        await other.send({"type": "conversation.item.retrieve", "item_id": user_item["id"]})
        missing = await other.recv()
    assert missing["type"] == "error"  # items belong to their own session
    assert record.server_types().count("response.done") == 1


async def test_committed_audio_spans_start_to_end(emulator: Emulator) -> None:
    audio = silence(800) + speech(PHRASE) + silence(900)
    async with connect(emulator) as client:
        await client.append(audio)
        events = await client.until("input_audio_buffer.committed")
        start = events[0]["audio_start_ms"]
        end = events[1]["audio_end_ms"]
        await client.until("response.done")
        await client.send({"type": "conversation.item.retrieve", "item_id": events[0]["item_id"]})
        retrieved = await client.until("conversation.item.retrieved")
    data = base64.b64decode(retrieved[-1]["item"]["content"][0]["audio"])
    assert len(data) == (end - start) * 48


async def test_transcription_and_scripted_match_on_spoken_input() -> None:
    script = Script(
        rules=[Rule(contains="weather", reply=Reply(text="Sunny all day."))],
        transcripts=[PHRASE],
    )
    async with Emulator(script=script) as emu, connect(emu) as client:
        await client.send(
            session_update(input={"transcription": {"model": "gpt-4o-mini-transcribe"}})
        )
        await client.until("session.updated")
        await client.append(silence(300) + speech(PHRASE) + silence(700))
        events = await client.until("response.done")
    order = types(events)
    created = order.index("response.created")
    completed = order.index("conversation.item.input_audio_transcription.completed")
    assert created < completed < order.index("response.output_item.added")
    deltas = [
        e["delta"]
        for e in events
        if e["type"] == "conversation.item.input_audio_transcription.delta"
    ]
    assert "".join(deltas) == PHRASE
    done = events[completed]
    assert done["transcript"] == PHRASE and done["usage"]["type"] == "tokens"
    transcript = next(e for e in events if e["type"] == "response.output_audio_transcript.done")
    assert transcript["transcript"] == "Sunny all day."
    assert len(audio_of(events)) == pytest.approx(
        synthesize("Sunny all day.").duration_ms * 48, abs=2
    )


async def test_manual_commit_clear_and_push_to_talk(emulator: Emulator) -> None:
    async with connect(emulator) as client:
        await client.send(session_update(input={"turn_detection": None}))
        await client.until("session.updated")
        await client.append(silence(50))
        await client.send({"type": "input_audio_buffer.commit", "event_id": "c1"})
        too_short = await client.recv()
        await client.send({"type": "input_audio_buffer.clear"})
        cleared = await client.recv()
        await client.append(speech("hello"))
        await client.send({"type": "input_audio_buffer.commit"})
        committed = await client.until("conversation.item.done")
        await client.send({"type": "response.create"})
        events = await client.until("response.done")
    assert too_short["error"] == {
        "type": "invalid_request_error",
        "code": "input_audio_buffer_commit_empty",
        "message": "Error committing input audio buffer: buffer too small. Expected at least "
        "100ms of audio, but buffer only has 50.00ms of audio.",
        "param": None,
        "event_id": "c1",
    }
    assert cleared["type"] == "input_audio_buffer.cleared"
    assert types(committed) == [
        "input_audio_buffer.committed",
        "conversation.item.added",
        "conversation.item.done",
    ]
    assert "input_audio_buffer.speech_started" not in types(committed)
    assert events[-1]["response"]["status"] == "completed"
    assert len(audio_of(events)) > 0


async def test_semantic_vad_eagerness_sets_the_silence(emulator: Emulator) -> None:
    async with connect(emulator) as client:
        await client.send(
            session_update(input={"turn_detection": {"type": "semantic_vad", "eagerness": "high"}})
        )
        await client.until("session.updated")
        await client.append(silence(400) + speech("hi there") + silence(600))
        events = await client.until("input_audio_buffer.speech_stopped")
    stop = events[-1]["audio_end_ms"]
    expected = 400 + voiced_end_ms("hi there") + 300
    assert expected - 60 <= stop <= expected + 10


async def test_quiet_noise_is_not_speech_and_threshold_matters(emulator: Emulator) -> None:
    barrier = session_update()
    async with connect(emulator) as client:
        await client.append(noise(1500, level_dbfs=-45))  # score 0.3 < 0.5
        await client.send(barrier)
        quiet = await client.until("session.updated")
        await client.send(
            session_update(input={"turn_detection": {"type": "server_vad", "threshold": 0.99}})
        )
        await client.until("session.updated")
        await client.append(speech("hello again") + silence(700))  # about -17 dBFS: 0.86 < 0.99
        await client.send(barrier)
        strict = await client.until("session.updated")
        await client.send(
            session_update(input={"turn_detection": {"type": "server_vad", "threshold": 0.8}})
        )
        await client.until("session.updated")
        await client.append(speech("hello again") + silence(700))
        await client.send(barrier)
        loose = await client.until("session.updated")
    assert types(quiet) == ["session.updated"]
    assert types(strict) == ["session.updated"]
    assert types(loose)[:2] == [
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
    ]


async def test_barge_in_cancels_with_turn_detected() -> None:
    script = Script(
        rules=[Rule(reply=Reply(text="A long answer that keeps going.", audio_ms=3000), once=True)],
        default=Reply(text="Okay."),
    )
    async with Emulator(script=script, pace="realtime", chunk_ms=50) as emu, connect(emu) as client:
        await client.append(silence(200) + speech("tell me") + silence(600))
        await client.until("response.output_audio.delta")
        await client.append(silence(100) + speech("stop please") + silence(600))
        events = await client.until("response.done")
        assert events[-1]["response"]["status"] == "cancelled"
        follow = await client.until("response.done", timeout=8)
    order = types(events)
    assert order.index("input_audio_buffer.speech_started") < order.index("response.done")
    assert events[-1]["response"]["status_details"] == {
        "type": "cancelled",
        "reason": "turn_detected",
    }
    item_done = next(e for e in events if e["type"] == "response.output_item.done")
    assert item_done["item"]["status"] == "incomplete"
    for closing in (
        "response.output_audio.done",
        "response.output_audio_transcript.done",
        "response.content_part.done",
        "conversation.item.done",
    ):
        assert closing in order
    heard = audio_of(client.received[: len(client.received) - len(follow)])
    assert len(heard) < 3000 * 48  # the reply was cut short
    assert follow[-1]["response"]["status"] in ("completed", "cancelled")
    assert "input_audio_buffer.committed" in types(follow)


async def test_interrupt_and_create_response_can_be_turned_off() -> None:
    script = Script(default=Reply(text="Long enough to talk over.", audio_ms=800))
    async with Emulator(script=script, pace="realtime", chunk_ms=50) as emu, connect(emu) as client:
        await client.send(
            session_update(
                input={
                    "turn_detection": {
                        "type": "server_vad",
                        "interrupt_response": False,
                        "create_response": False,
                    }
                }
            )
        )
        await client.until("session.updated")
        await client.ask("go")
        await client.until("response.output_audio.delta")
        await client.append(silence(100) + speech("talking over it") + silence(600))
        events = await client.until("response.done", timeout=5)
    assert events[-1]["response"]["status"] == "completed"
    kinds = types(events)
    assert "input_audio_buffer.committed" in kinds
    assert kinds.count("response.created") == 0  # create_response false: no new response


async def test_idle_timeout_triggers_a_response(emulator: Emulator) -> None:
    async with connect(emulator) as client:
        await client.send(
            session_update(
                input={"turn_detection": {"type": "server_vad", "idle_timeout_ms": 5000}}
            )
        )
        await client.until("session.updated")
        await client.ask("hi")
        first = await client.until("response.done")
        played = len(audio_of(first)) / 48
        await client.append(silence(played + 5200))
        events = await client.until("response.done")
    triggered = events[0]
    assert triggered["type"] == "input_audio_buffer.timeout_triggered"
    assert triggered["audio_start_ms"] == int(played)
    assert triggered["audio_end_ms"] == int(played + 5000)
    assert types(events)[1:4] == [
        "input_audio_buffer.committed",
        "conversation.item.added",
        "conversation.item.done",
    ]
    assert events[-1]["response"]["status"] == "completed"


@pytest.mark.parametrize("name", ["pcm", "pcmu"])
async def test_echo_speaks_the_users_audio_back(name: str) -> None:
    fmt, wire = FORMATS[name]
    script = Script(default=Reply(echo=True), transcripts=["echo this"])
    user = speech("echo this please", fmt)
    async with Emulator(script=script) as emu, connect(emu) as client:
        await client.send(session_update(input={"format": wire, "turn_detection": None}))
        await client.until("session.updated")
        await client.append(user, chunk=int(fmt.bytes_per_ms * 100))
        await client.send({"type": "input_audio_buffer.commit"})
        await client.send({"type": "response.create"})
        events = await client.until("response.done")
    reply = audio_of(events)
    if name == "pcm":
        assert reply == user
    else:  # μ-law in, PCM 24 kHz out: same length, same envelope
        assert len(reply) == len(user) * 6
        ours = np.abs(decode(reply, PCM24K)).reshape(-1, 240).mean(axis=1)
        theirs = np.abs(decode(user, fmt)).reshape(-1, 80).mean(axis=1)
        assert np.corrcoef(ours, theirs)[0, 1] > 0.95
    transcript = next(e for e in events if e["type"] == "response.output_audio_transcript.done")
    assert transcript["transcript"] == "echo this"


async def test_output_format_pcmu_streams_mulaw(emulator: Emulator) -> None:
    async with connect(emulator) as client:
        await client.send(session_update(output={"format": {"type": "audio/pcmu"}}))
        await client.until("session.updated")
        events = await client.say("hi", output="audio")
    reply = audio_of(events)
    text = events[-1]["response"]["output"][0]["content"][0]["transcript"]
    assert len(reply) == pytest.approx(synthesize(text, PCMU).duration_ms * 8, abs=1)
    deltas = [e for e in events if e["type"] == "response.output_audio.delta"]
    assert all(len(base64.b64decode(e["delta"])) == 800 for e in deltas[:-1])  # 100 ms chunks
    assert events[-1]["response"]["audio"]["output"]["format"] == {"type": "audio/pcmu"}
