"""Connect, talk and close leave nothing behind: no tasks, no threads (aiortc's per-receiver
decoder threads end), no file descriptors (ICE sockets closed)."""

from __future__ import annotations

import asyncio
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from realtime_transport_emulator import Emulator
from realtime_transport_webrtc import OpenAIRealtimeWebRTC


def fds() -> int:
    return len(os.listdir("/proc/self/fd"))


EXECUTOR_PREFIX = "rt-test-default-executor"


def threads() -> set[str]:
    # the loop's default executor (Opus encoding) is shared and reused, not per session; the
    # test installs its own so its threads are recognisable on every loop and uvloop version
    return {t.name for t in threading.enumerate() if not t.name.startswith(EXECUTOR_PREFIX)}


def tasks() -> set[asyncio.Task[Any]]:
    return {t for t in asyncio.all_tasks() if not t.done()} - {asyncio.current_task()}


async def one_session(emulator: Emulator) -> None:
    transport = OpenAIRealtimeWebRTC(base_url=emulator.base_url, audio_sink=lambda pcm: None)
    await asyncio.wait_for(transport.connect(api_key="sk-test"), 15)
    done = asyncio.get_running_loop().create_future()
    transport.on("turn_done", lambda e: done.done() or done.set_result(e))
    transport.send_message("hello")
    transport.send_audio(bytes(4800))
    await asyncio.wait_for(done, 10)
    await transport.close()


async def settle(check: Any, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check() and loop.time() < deadline:
        await asyncio.sleep(0.05)


async def test_no_leaked_tasks_threads_or_fds(emulator: Emulator) -> None:
    executor = ThreadPoolExecutor(thread_name_prefix=EXECUTOR_PREFIX)
    asyncio.get_running_loop().set_default_executor(executor)
    await one_session(emulator)  # warm-up: lazy imports, the executor's first threads
    await settle(lambda: not emulator.calls)
    base_tasks, base_threads, base_fds = tasks(), threads(), fds()
    for _ in range(2):
        await one_session(emulator)
    await settle(lambda: not emulator.calls and tasks() <= base_tasks and fds() <= base_fds)
    leftover = tasks() - base_tasks
    assert not leftover, f"tasks left: {[t.get_coro() for t in leftover]}"
    assert threads() <= base_threads, f"threads left: {threads() - base_threads}"
    assert fds() <= base_fds, f"{fds() - base_fds} file descriptors left open"
