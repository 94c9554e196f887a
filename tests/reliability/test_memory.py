"""Backpressure and memory: a slow consumer keeps memory bounded over an hour of audio, and many
connect/close cycles leave memory and file descriptors flat."""

from __future__ import annotations

import asyncio
import base64
import gc
import json
import os

import psutil
import pytest
from _census import open_fds
from conftest import Factory
from realtime_transport_emulator import Emulator

HOUR_OF_DELTAS = 3600 * 50  # 20 ms deltas
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


@pytest.mark.timeout(240)
async def test_many_connect_close_cycles_leave_memory_and_fds_flat(make_transport: Factory) -> None:
    cycles = int(os.environ.get("RT_CONNECT_CYCLES", "1000"))
    process = psutil.Process()
    async with Emulator(record_audio=False, max_records=50) as emulator:
        transport = make_transport()

        async def cycle() -> None:
            await transport.connect(url=emulator.ws_url, api_key="sk-cycles")
            await transport.close()

        for _ in range(max(50, cycles // 10)):  # warm up: caches, pools, lazy imports
            await cycle()
        gc.collect()
        fds, rss = open_fds(), process.memory_info().rss
        for _ in range(cycles):
            await cycle()
        await asyncio.sleep(0.05)
        gc.collect()
        assert open_fds() <= fds, "file descriptors leaked"
        growth = process.memory_info().rss - rss
        assert growth < 8 * 1024 * 1024, f"RSS grew {growth / 2**20:.1f} MiB over {cycles} cycles"
