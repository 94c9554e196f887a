"""``await`` with a deadline, without a task per call where Python allows it.

``asyncio.timeout`` (3.11+) wraps the await in place; ``asyncio.wait_for`` (3.10) runs it in a
new task and may swallow a cancellation that races with completion. The reader and writer call
this 50+ times a second per call, so the cheap form matters; they also re-check a stop flag after
every await, so a swallowed cancellation cannot keep them alive.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")

if sys.version_info >= (3, 11):

    async def within(awaitable: Awaitable[T], seconds: float) -> T:
        async with asyncio.timeout(seconds):
            return await awaitable

else:  # pragma: no cover - Python 3.10

    async def within(awaitable: Awaitable[T], seconds: float) -> T:
        return await asyncio.wait_for(awaitable, seconds)
