"""Backpressure: a slow consumer keeps memory bounded over an hour of audio, and loses nothing
structural."""

from __future__ import annotations

import asyncio
import base64
import gc
import json
import os
import tracemalloc

import pytest
from realtime_transport.events import TransportEvent
from realtime_transport_websocket.transport import OpenAIRealtimeWebSocket

EQUIVALENT_SECONDS = float(os.environ.get("RT_MEMORY_SECONDS", "3600"))


def _frames() -> tuple[bytes, bytes, bytes]:
    delta = json.dumps(
        {
            "type": "response.output_audio.delta",
            "event_id": "e",
            "response_id": "resp_1",
            "item_id": "item_1",
            "output_index": 0,
            "content_index": 0,
            "delta": base64.b64encode(bytes(960)).decode(),
        }
    ).encode()
    transcript = json.dumps(
        {
            "type": "response.output_audio_transcript.delta",
            "event_id": "e",
            "response_id": "resp_1",
            "item_id": "item_1",
            "output_index": 0,
            "content_index": 0,
            "delta": "word ",
        }
    ).encode()
    marker = json.dumps(
        {"type": "input_audio_buffer.speech_started", "event_id": "e", "item_id": "item_2",
         "audio_start_ms": 0}
    ).encode()  # fmt: skip
    return delta, transcript, marker


def _is_marker(event: TransportEvent) -> bool:
    payload = event.payload
    return event.name == "*" and payload.get("type") == "input_audio_buffer.speech_started"


@pytest.mark.asyncio(loop_factories=["asyncio"])  # no sockets: one loop is enough
@pytest.mark.timeout(180)
async def test_slow_consumer_over_an_hour_of_audio_keeps_memory_bounded() -> None:
    """An hour of 20 ms deltas (time-accelerated) into ``events()`` read by a consumer that takes
    one event per 40 produced: audio is dropped and counted, every structural event arrives,
    and traced memory stops growing once the buffer is full."""
    transport = OpenAIRealtimeWebSocket()
    stream = transport.events(maxsize=256)
    delta, transcript, marker = _frames()
    frames = int(EQUIVALENT_SECONDS * 50)
    markers_sent = 0
    markers_seen = 0
    tracemalloc.start()
    try:
        baseline = None
        for index in range(frames):
            transport._handle_frame(delta)
            if index % 25 == 0:
                transport._handle_frame(transcript)
            if index % 500 == 0:
                transport._handle_frame(marker)
                markers_sent += 1
            if index % 40 == 0:  # the slow consumer: one event now and then
                event = await asyncio.wait_for(anext(stream), 1)
                markers_seen += _is_marker(event)
            if index == frames // 10:
                gc.collect()
                baseline = tracemalloc.get_traced_memory()[0]
        gc.collect()
        current = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert baseline is not None
    growth = current - baseline
    assert growth < 512 * 1024, f"memory grew {growth / 1024:.0f} KiB after the buffer filled"
    assert stream.dropped > frames // 2, "audio was dropped and counted, not queued"
    # drain: every structural event is still there (none dropped)
    while True:
        try:
            event = await asyncio.wait_for(anext(stream), 0.01)
        except (asyncio.TimeoutError, StopAsyncIteration):
            break
        markers_seen += _is_marker(event)
    assert markers_seen == markers_sent, f"{markers_sent - markers_seen} structural events lost"
