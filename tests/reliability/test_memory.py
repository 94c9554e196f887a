"""Memory: many connect/close cycles leave memory and file descriptors flat (the slow-consumer
case is in test_backpressure.py)."""

from __future__ import annotations

import asyncio
import ctypes
import gc
import os

import psutil
import pytest
from _census import open_fds
from conftest import Factory
from realtime_transport_emulator import Emulator


@pytest.mark.timeout(300)
async def test_many_connect_close_cycles_leave_memory_and_fds_flat(make_transport: Factory) -> None:
    cycles = int(os.environ.get("RT_CONNECT_CYCLES", "1000"))
    process = psutil.Process()
    async with Emulator(record_audio=False, max_records=50) as emulator:
        transport = make_transport()

        async def cycle() -> None:
            await transport.connect(url=emulator.ws_url, api_key="sk-cycles")
            await transport.close()

        # Warm up until RSS stops climbing: caches, pools, lazy imports and the allocator's high
        # water mark (the httpx-based cloudflare transport climbs for ~1,300 cycles, ~18 MiB,
        # then stays flat: a plateau, not a leak; tracemalloc shows no growing Python objects).
        # Two quiet batches in a row, so one lucky batch on a noisy machine does not end it.
        quiet = 0
        for _ in range(16):
            before = _rss(process)
            for _ in range(250):
                await cycle()
            quiet = quiet + 1 if _rss(process) - before < 512 * 1024 else 0
            if quiet == 2:
                break
        fds, rss = open_fds(), _rss(process)
        for _ in range(cycles):
            await cycle()
        await asyncio.sleep(0.05)
        gc.collect()
        assert open_fds() <= fds, "file descriptors leaked"
        growth = _rss(process) - rss
        assert growth < 8 * 1024 * 1024, f"RSS grew {growth / 2**20:.1f} MiB over {cycles} cycles"


def _rss(process: psutil.Process) -> int:
    """Resident memory after a collection, with glibc's free lists returned to the system (so
    freed-but-cached pages do not count as growth)."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: RSS as it is
        pass
    return int(process.memory_info().rss)
