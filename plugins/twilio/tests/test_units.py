"""Units with no socket: format pinning, mark bookkeeping, input padding (reference §9.6/9.7)."""

from __future__ import annotations

import asyncio
import base64
import json
import logging

import pytest
from realtime_transport.errors import UserError
from realtime_transport_twilio import TwilioRealtimeTransportLayer
from realtime_transport_twilio.input_timing import InputTiming
from realtime_transport_twilio.playback import TwilioPlayback


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Sink:
    """The smallest object the media-socket protocol accepts (no I/O happens in these tests)."""

    async def receive_text(self) -> str | None:
        return None

    async def send_text(self, text: str) -> None:
        return None

    async def close(self, code: int = 1000, reason: str = "") -> None:
        return None


def test_every_format_is_pinned_to_mulaw(caplog: pytest.LogCaptureFixture) -> None:
    transport = TwilioRealtimeTransportLayer(twilio_websocket=Sink())
    with caplog.at_level(logging.WARNING):
        default = transport.build_session_payload(
            {"audio": {"input": {"format": {"type": "audio/pcm", "rate": 24000}}}}
        )
    assert caplog.records == []  # the SDK default is replaced silently
    assert default["audio"]["input"]["format"] == {"type": "audio/pcmu"}
    assert default["audio"]["output"]["format"] == {"type": "audio/pcmu"}
    with caplog.at_level(logging.WARNING):
        alaw = transport.build_session_payload(
            {"audio": {"output": {"format": "g711_alaw", "voice": "marin"}}}
        )
    assert alaw["audio"]["output"]["format"] == {"type": "audio/pcmu"}
    assert alaw["audio"]["output"]["voice"] == "marin"  # the rest of the block is kept
    assert any("ignored" in r.getMessage() for r in caplog.records)  # coerced with a warning


def test_options_are_validated() -> None:
    with pytest.raises(UserError, match="twilio_websocket is required"):
        TwilioRealtimeTransportLayer(twilio_websocket=None)
    with pytest.raises(UserError, match="must be a Starlette"):
        TwilioRealtimeTransportLayer(twilio_websocket=object())
    for bad in (0, 2_147_483_648):
        with pytest.raises(UserError, match="2147483647"):
            TwilioRealtimeTransportLayer(
                twilio_websocket=Sink(), input_audio_inactivity_timeout_ms=bad
            )
    TwilioRealtimeTransportLayer(twilio_websocket=Sink(), input_audio_inactivity_timeout_ms=None)
    with pytest.raises(UserError, match="whole 20 ms frames"):
        TwilioRealtimeTransportLayer(twilio_websocket=Sink(), input_batch_ms=30)


def test_frames_are_exactly_160_bytes_and_the_tail_is_padded() -> None:
    playback = TwilioPlayback()
    key = ("resp", "item", 0)
    assert playback.frames(key, b"\x01" * 100) == []
    frames = playback.frames(key, b"\x02" * 300)
    assert [len(f) for f in frames] == [160, 160]
    tail = playback.frames(key, b"", final=True)
    assert tail == [b"\x02" * 80 + b"\xff" * 80]


def test_truncation_from_acknowledged_marks() -> None:
    clock = FakeClock()
    playback = TwilioPlayback(allowance_ms=20, clock=clock)
    a, b = ("r", "item-a", 0), ("r", "item-b", 0)
    names = [playback.mark_after_frame(a) for _ in range(10)]  # 200 ms of item-a sent
    playback.mark_after_frame(b)
    assert playback.acknowledge(names[4]) is True  # 100 ms heard
    clock.now += 0.005
    cuts = {item.item_id: end for item, end in playback.truncations()}
    assert cuts == {"item-a": 105, "item-b": 0}  # acked + time since (capped), later item at 0
    clock.now += 1.0
    assert {i.item_id: e for i, e in playback.truncations()}["item-a"] == 120  # cap: one frame
    old = names[5]
    playback.new_generation()  # clear: echoes of old marks are not playback
    assert playback.acknowledge(old) is False
    assert playback.acknowledge("not-ours") is None
    assert playback.truncations() == []


def test_done_mark_retires_a_fully_heard_item() -> None:
    playback = TwilioPlayback()
    key = ("r", "item", 0)
    last = [playback.mark_after_frame(key) for _ in range(3)][-1]
    done = playback.done_mark(key)
    assert playback.acknowledge(last) is True
    assert playback.truncations() == []  # fully heard: nothing to cut
    assert playback.acknowledge(done) is True and not playback.active


def test_gap_padding_and_timestamps() -> None:
    timing = InputTiming()
    timing.reset(enabled=True)
    assert timing.gap_ms("100", 160) == 0
    assert timing.gap_ms("140", 160) == 20  # 100 -> 140 with 20 ms frames: 20 ms missing
    assert timing.gap_ms("50", 160) == 0  # backwards: re-sync, no padding
    assert timing.gap_ms("999999", 160) == 10_000  # capped at 10 s
    for bad in (None, "", " ", "abc", "-5"):
        assert timing.gap_ms(bad, 160) == 0
    timing.reset(enabled=False)  # not mu-law 8 kHz mono: no padding at all
    timing.gap_ms("0", 160)
    assert timing.gap_ms("5000", 160) == 0


class ModelSide:
    """Stands in for the Realtime socket: records the caller audio each append carries."""

    def __init__(self) -> None:
        self.appends: list[bytes] = []

    def send_text(self, data: bytes) -> None:
        event = json.loads(data)
        if event["type"] == "input_audio_buffer.append":
            self.appends.append(base64.b64decode(event["audio"]))

    def buffered_amount(self) -> int:
        return 0


async def test_inactivity_padding_fires_once_when_media_stops_not_while_it_flows() -> None:
    """One timer per call (re-armed when it fires early), not one per frame: padding still
    comes exactly once, ``timeout`` after the last frame, and never while frames flow."""
    transport = TwilioRealtimeTransportLayer(
        twilio_websocket=Sink(), input_audio_inactivity_timeout_ms=150, input_batch_ms=20
    )
    model = ModelSide()
    transport._status = "connected"
    transport._socket = model  # type: ignore[assignment]
    fmt = {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}
    start = {"streamSid": "MZ1", "callSid": "CA1", "mediaFormat": fmt}
    assert not transport._handle_twilio(json.dumps({"event": "start", "start": start}))
    transport._on_speech_started({})
    frame = base64.b64encode(b"\x01" * 160).decode()
    try:
        for index in range(25):  # 500 ms of media, longer than the timeout
            media = {"payload": frame, "timestamp": str(index * 20)}
            transport._handle_twilio(json.dumps({"event": "media", "media": media}))
            await asyncio.sleep(0.02)
        assert [len(a) for a in model.appends] == [160] * 25  # no padding while media flows
        await asyncio.sleep(0.4)
        assert [len(a) for a in model.appends] == [160] * 25 + [8000]  # once, 1000 ms
        assert model.appends[-1] == b"\xff" * 8000
    finally:
        transport._cancel_inactivity()


def test_inactivity_padding_schedule() -> None:
    clock = FakeClock()
    timing = InputTiming(clock=clock)
    timing.reset(enabled=True)
    timing.gap_ms("0", 160)
    assert timing.inactivity_due_in(750) is None  # only while the caller speaks
    timing.speech_active = True
    assert timing.inactivity_due_in(750) == pytest.approx(0.75)
    clock.now += 1.0
    assert timing.inactivity_due_in(750) == 0.0  # overdue: pad now
    assert timing.inactivity_due_in(None) is None  # disabled
    timing.padded_for_inactivity()
    assert timing.gap_ms("5000", 160) == 0  # the gap was already covered by the padding
