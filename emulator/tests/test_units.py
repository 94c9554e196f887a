"""The parts on their own: synthesizer, VAD, scripts, validators, routing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from emutest import check_server_event
from realtime_transport_emulator import FunctionCall, Reply, Rule, Script, ScriptError
from realtime_transport_emulator.model.audio import (
    PCM24K,
    PCMA,
    PCMU,
    convert,
    decode,
    decode_pcm16,
)
from realtime_transport_emulator.model.script import ScriptRunner, placeholder_transcript
from realtime_transport_emulator.model.synth import noise, silence, speech, synthesize
from realtime_transport_emulator.net.httpserver import HttpRequest, HttpResponse, Router
from realtime_transport_emulator.session.config import default_session
from realtime_transport_emulator.session.conversation import Conversation, Item
from realtime_transport_emulator.session.errors import ProtocolError
from realtime_transport_emulator.session.ids import IdFactory
from realtime_transport_emulator.session.schema import integer, number, obj, string
from realtime_transport_emulator.session.session import RealtimeSession, SessionOptions
from realtime_transport_emulator.session.vad import (
    EnergyVad,
    SpeechStarted,
    SpeechStopped,
    VadSettings,
    speech_probability,
)


def test_synthesized_speech_is_deterministic_and_speech_shaped() -> None:
    spoken = synthesize("Hello there, general Kenobi.")
    assert spoken.audio == speech("Hello there, general Kenobi.")
    assert spoken.audio != speech("Hello there, general Grievous.")
    assert [w for w, _ in spoken.words] == ["Hello ", "there, ", "general ", "Kenobi."]
    starts = [s for _, s in spoken.words]
    assert starts == sorted(starts) and starts[0] == 0.0
    samples = decode(spoken.audio, PCM24K)
    assert 0.25 <= float(np.max(np.abs(samples))) <= 0.31
    frames = np.sqrt(np.mean(samples[: samples.size // 240 * 240].reshape(-1, 240) ** 2, axis=1))
    assert (frames < 1e-4).any() and (frames > 0.05).any()  # pauses and voiced parts
    assert len(synthesize("hi", PCMU).audio) * 6 == pytest.approx(
        len(synthesize("hi").audio), abs=6
    )
    assert len(synthesize("anything", duration_ms=750).audio) == 750 * 48
    assert synthesize("").audio == b""


def test_silence_noise_and_conversion() -> None:
    assert silence(20) == bytes(960)
    assert silence(20, "pcmu") == b"\xff" * 160 and silence(20, "g711_alaw") == b"\xd5" * 160
    assert noise(10, seed=1) == noise(10, seed=1) != noise(10, seed=2)
    loud = speech("convert me")
    for target in (PCMU, PCMA):
        down = convert(loud, PCM24K, target)
        assert len(down) == len(loud) // 6
        back = convert(down, target, PCM24K)
        assert len(back) == len(loud)


def test_audio_base64_is_as_strict_as_the_standard_library() -> None:
    """decode_audio uses pybase64 for speed; it must accept and refuse what
    ``base64.b64decode(validate=True)`` does (the real API refuses non-canonical base64)."""
    import base64
    import random

    from realtime_transport_emulator.session.conversation import decode_audio

    rng = random.Random(7)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\n -_é"
    cases = ["", "YQ==", "YQ=", "YQ", "ab c", "====", "YQ=a", "YQ==\n", "é"]
    cases += [base64.b64encode(rng.randbytes(rng.randrange(50))).decode() for _ in range(300)]
    cases += ["".join(rng.choices(alphabet, k=rng.randrange(12))) for _ in range(3000)]
    for text in cases:
        try:
            expected: bytes | None = base64.b64decode(text, validate=True)
        except ValueError:
            expected = None
        try:
            got: bytes | None = decode_audio(text, "audio")
        except ProtocolError as error:
            assert "base64" in error.message
            got = None
        assert got == expected, text


def test_speech_probability_map() -> None:
    assert speech_probability(0.0) == 0.0
    assert speech_probability(10 ** (-60 / 20)) == pytest.approx(0.0)
    assert speech_probability(10 ** (-35 / 20)) == pytest.approx(0.5)
    assert speech_probability(1.0) == 1.0


def run_vad(audio: bytes, chunk: int, settings: VadSettings) -> list[object]:
    vad = EnergyVad(settings, 24000)
    events: list[object] = []
    for offset in range(0, len(audio), chunk):
        events += vad.feed(decode_pcm16(audio[offset : offset + chunk], PCM24K), 0.0)
    return events


def reference_vad(audio: bytes, settings: VadSettings) -> list[object]:
    """The VAD's rule written out plainly: each 10 ms frame's RMS through speech_probability."""
    samples = decode(audio, PCM24K).astype(np.float64)
    events: list[object] = []
    speaking, silent_ms, floor = False, 0, 0.0
    for index in range(samples.size // 240):
        frame = samples[index * 240 : (index + 1) * 240]
        voiced = speech_probability(float(np.sqrt(np.mean(frame * frame)))) >= settings.threshold
        start, end = index * 10, (index + 1) * 10
        if not speaking and voiced:
            speaking, silent_ms = True, 0
            events.append(SpeechStarted(round(max(floor, start - settings.prefix_padding_ms))))
        elif speaking and voiced:
            silent_ms = 0
        elif speaking:
            silent_ms += 10
            if silent_ms >= settings.silence_duration_ms:
                speaking, silent_ms, floor = False, 0, end
                events.append(SpeechStopped(end))
    return events


@pytest.mark.parametrize("level", [-45.0, -36.0, -35.0, -34.0, -20.0])
def test_vad_matches_the_rms_rule_it_documents(level: float) -> None:
    """The int16 energy shortcut decides every frame as the documented RMS -> dBFS rule does,
    including levels right at the threshold (-35 dBFS for 0.5)."""
    turns = [silence(300), speech("a b c"), noise(700, level_dbfs=level, seed=3), speech("d e")]
    audio = b"".join(turns) + silence(800) + noise(400, level_dbfs=level, seed=4) + silence(600)
    settings = VadSettings("server_vad", 0.5, 300, 500)
    assert run_vad(audio, 960, settings) == reference_vad(audio, settings) != []


def test_vad_is_independent_of_chunking_and_honours_settings() -> None:
    audio = silence(600) + speech("one two three") + silence(900)
    settings = VadSettings("server_vad", 0.5, 300, 500)
    whole = run_vad(audio, len(audio), settings)
    assert whole == run_vad(audio, 962, settings) == run_vad(audio, 48 * 7, settings)
    assert isinstance(whole[0], SpeechStarted) and whole[0].audio_start_ms == 300
    assert isinstance(whole[1], SpeechStopped)
    padded = run_vad(audio, 4800, VadSettings("server_vad", 0.5, 1000, 500))
    assert padded[0] == SpeechStarted(0)  # prefix padding cannot reach before the buffer
    quick = run_vad(audio, 4800, VadSettings("server_vad", 0.5, 300, 200))
    assert isinstance(quick[1], SpeechStopped)
    assert quick[1].audio_end_ms == whole[1].audio_end_ms - 300
    semantic = VadSettings.from_turn_detection({"type": "semantic_vad", "eagerness": "low"})
    assert semantic.silence_duration_ms == 1000 and semantic.threshold == 0.5


def test_script_rules_once_then_and_placeholders() -> None:
    script = Script(
        rules=[
            Rule(
                contains="WEATHER",
                once=True,
                reply=Reply(
                    function_calls=[FunctionCall("w", {"a": 1}, call_id="c1")],
                    then=Reply(text="after"),
                ),
            ),
            Rule(regex=r"^hi\b", reply=Reply(text="hello")),
        ],
        default=Reply(text="default"),
        transcripts=["one"],
    )
    runner = ScriptRunner(script)

    def user(text: str) -> Item:
        return Item(
            wire={
                "id": "i",
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": text}],
            }
        )

    reply, text = runner.choose([user("what weather?")])
    assert reply.function_calls[0].arguments == '{"a":1}' and text == "what weather?"
    runner.expect_outputs(reply, ["c1"])
    again, _ = runner.choose([user("weather again")])
    assert again.text == "default"  # once
    output = Item(wire={"id": "o", "type": "function_call_output", "call_id": "c1", "output": "x"})
    follow, _ = runner.choose([user("weather"), output])
    assert follow.text == "after"
    assert runner.choose([user("Hi there")])[0].text == "hello"
    assert runner.next_transcript(1234) == "one"
    assert runner.next_transcript(1234) == placeholder_transcript(1234) == "[1.2 seconds of audio]"


def test_script_files(tmp_path: Path) -> None:
    data = {
        "rules": [
            {
                "contains": "weather",
                "reply": {
                    "text": "Checking.",
                    "function_call": {"name": "get_weather", "arguments": {"city": "Paris"}},
                    "then": "Sunny.",
                },
            },
            {"regex": "^bye", "reply": {"echo": True}},
        ],
        "default": "Default.",
        "transcripts": ["hello"],
    }
    json_file = tmp_path / "script.json"
    json_file.write_text(json.dumps(data))
    yaml_file = tmp_path / "script.yaml"
    yaml_file.write_text(
        "rules:\n"
        "  - contains: weather\n"
        "    reply:\n"
        "      text: Checking.\n"
        "      function_call: {name: get_weather, arguments: {city: Paris}}\n"
        "      then: Sunny.\n"
        "  - regex: ^bye\n"
        "    reply: {echo: true}\n"
        "default: Default.\n"
        "transcripts: [hello]\n"
    )
    from_json = Script.load(json_file)
    assert from_json == Script.load(str(yaml_file)) == Script.from_dict(data)
    assert from_json.rules[0].reply.then == Reply(text="Sunny.")
    assert from_json.default == Reply(text="Default.")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"rulez": []}, "Unknown key(s) 'rulez'"),
        ({"rules": [{"reply": "x", "regex": "("}]}, "does not compile"),
        ({"rules": [{"contains": "x"}]}, "has no 'reply'"),
        ({"default": {"then": "x", "text": "y"}}, "Reply.then needs function_calls"),
        ({"default": {}}, "needs text, function_calls or echo"),
        ({"default": {"function_call": {"arguments": {}}}}, "non-empty string"),
        ({"transcripts": [1]}, "list of strings"),
    ],
)
def test_script_errors(data: dict[str, object], message: str) -> None:
    with pytest.raises(ScriptError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Script.from_dict(data)


def test_script_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ScriptError, match="Cannot read"):
        Script.load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(ScriptError, match="not valid JSON"):
        Script.load(bad)


def test_validators_produce_api_messages() -> None:
    check = obj({"n": integer(1, 10), "x": number(0, 1), "s": string()}, required=("n",))
    with pytest.raises(ProtocolError) as caught:
        check({"n": 0}, "session")
    assert caught.value.message == (
        "Invalid 'session.n': integer below minimum value. Expected a value >= 1, "
        "but got 0 instead."
    )
    with pytest.raises(ProtocolError, match="expected a string, but got an integer"):
        check({"n": 1, "s": 3}, "session")
    with pytest.raises(ProtocolError, match=r"Missing required parameter: 'session\.n'"):
        check({}, "session")
    with pytest.raises(ProtocolError, match="decimal above maximum value"):
        check({"n": 1, "x": 1.5}, "session")
    assert check({"n": 2.0}, "session") == {"n": 2}


async def test_router_patterns_and_methods() -> None:
    router = Router()

    async def accept(request: HttpRequest) -> HttpResponse:
        return HttpResponse.json(200, {"id": request.params["call_id"]})

    router.add("POST", "/v1/realtime/calls/{call_id}/accept", accept)
    request = HttpRequest("POST", "/x", "/v1/realtime/calls/rtc_9/accept", {}, ())
    response = await router.dispatch(request)
    assert json.loads(response.body) == {"id": "rtc_9"}
    wrong = await router.dispatch(
        HttpRequest("GET", "/x", "/v1/realtime/calls/rtc_9/accept", {}, ())
    )
    assert wrong.status == 405
    assert (
        await router.dispatch(HttpRequest("POST", "/", "/v1/realtime/calls/a/b", {}, ()))
    ).status == 404


def test_ids_are_seeded() -> None:
    a, b, c = IdFactory("s"), IdFactory("s"), IdFactory("t")
    first = [a.new("item"), a.new("item"), a.new("resp")]
    assert first == [b.new("item"), b.new("item"), b.new("resp")]
    assert first[0] != first[1] and first[0] != c.new("item")
    assert first[0].startswith("item_") and len(first[0]) == len("item_") + 21


async def test_memory_stays_bounded_on_endless_streams() -> None:
    sent: list[dict[str, object]] = []

    async def send(event: dict[str, object]) -> None:
        sent.append(event)

    session = RealtimeSession(
        config=default_session(session_id="sess_x", model="m", expires_at=0),
        ids=IdFactory("bounded"),
        script=Script(),
        send=send,
        options=SessionOptions(),
    )
    second = silence(1000)
    for _ in range(130):  # over two minutes of phone-line silence
        await session.feed_audio(second)
    assert session.timeline_ms == 130_000
    assert len(session.buffer) <= 66_000 * 48
    assert session.buffer_start_ms + len(session.buffer) / 48 == 130_000
    assert sent == []
    conversation = Conversation("conv_x")
    for index in range(60):
        conversation.insert(
            Item(
                wire={"id": f"i{index}", "type": "message", "role": "user", "content": []},
                audio={0: bytearray(480)},
                audio_format={0: PCM24K},
            )
        )
    assert sum(1 for item in conversation.items if item.audio) == 50
    assert conversation.items[0].audio_ms(0) == 10.0 and not conversation.items[0].audio


def test_the_event_checker_catches_bad_events() -> None:
    good = {"type": "input_audio_buffer.cleared", "event_id": "event_1"}
    assert check_server_event(good) == []
    assert check_server_event(
        {
            "type": "response.audio.delta",
            "event_id": "e",
            "delta": "",
            "response_id": "r",
            "item_id": "i",
            "output_index": 0,
            "content_index": 0,
        }
    )
    assert check_server_event({**good, "surprise": 1})  # unknown field
    assert check_server_event({"type": "input_audio_buffer.committed", "event_id": "e"})
    session_created = {
        "type": "session.created",
        "event_id": "e",
        "session": {
            "type": "realtime",
            "id": "sess_1",
            "object": "realtime.session",
            "expires_at": 1,
            "modalities": ["text"],
        },
    }
    problems = check_server_event(session_created)
    assert any("modalities" in p for p in problems)
    assert not any("session.id" in p for p in problems)
