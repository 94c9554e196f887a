"""Event-loop lag: how late a periodic timer fires. Every session on a worker waits that long.

One monitor per loop (a sleeping task, one histogram observation per ``interval``), started by
:class:`~realtime_transport.ops.OpsMiddleware` at startup or by hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from .metrics import get_metrics

__all__ = ["LoopLagMonitor"]


class LoopLagMonitor:
    """Observes ``realtime_event_loop_lag_seconds`` every ``interval`` seconds while started."""

    def __init__(self, interval: float = 0.25) -> None:
        if interval <= 0:
            raise ValueError("interval must be a positive number of seconds")
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None or self._task.done():
            get_metrics()
            self._task = asyncio.get_running_loop().create_task(self._run(), name="loop-lag")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        histogram = get_metrics().loop_lag
        interval = self.interval
        while True:
            due = time.perf_counter() + interval
            await asyncio.sleep(interval)
            histogram.observe(max(0.0, time.perf_counter() - due))
