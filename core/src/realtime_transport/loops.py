"""Event loop choice: the default asyncio loop or uvloop, for the CLI, the demo and the tests.

The library itself never picks a loop (it codes to the asyncio transport interface and runs on
whichever loop the application runs); this module only serves the entry points we own.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Coroutine
from typing import Any, Literal, TypeVar

from .errors import UserError

__all__ = ["LOOP_CHOICES", "LoopName", "available_loops", "loop_factory", "run"]

LoopName = Literal["auto", "asyncio", "uvloop"]
LOOP_CHOICES: tuple[str, ...] = ("auto", "asyncio", "uvloop")
_T = TypeVar("_T")


def _uvloop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop  # type: ignore[no-any-return]


def available_loops() -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    """The loops this interpreter can run: always ``asyncio``, plus ``uvloop`` when installed."""
    loops: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {"asyncio": asyncio.new_event_loop}
    uv = _uvloop_factory()
    if uv is not None and sys.platform != "win32":
        loops["uvloop"] = uv
    return loops


def loop_factory(name: str = "auto") -> Callable[[], asyncio.AbstractEventLoop]:
    """The factory for ``name``: ``auto`` is uvloop when installed, else the default loop."""
    loops = available_loops()
    if name == "auto":
        return loops.get("uvloop", loops["asyncio"])
    if name not in LOOP_CHOICES:
        raise UserError(f"unknown event loop {name!r}; choose one of {', '.join(LOOP_CHOICES)}")
    if name not in loops:
        raise UserError(
            f"event loop {name!r} is not installed: pip install 'realtime-transport[speedups]'"
        )
    return loops[name]


def run(main: Coroutine[Any, Any, _T], *, loop: str | None = None) -> _T:
    """``asyncio.run`` on the chosen loop (``REALTIME_TRANSPORT_LOOP`` when ``loop`` is None)."""
    name = loop or os.environ.get("REALTIME_TRANSPORT_LOOP", "auto") or "auto"
    try:
        factory = loop_factory(name)
    except UserError:
        main.close()
        raise
    if sys.version_info >= (3, 11):
        with asyncio.Runner(loop_factory=factory) as runner:
            return runner.run(main)
    new_loop = factory()  # pragma: no cover - Python 3.10
    try:  # pragma: no cover
        asyncio.set_event_loop(new_loop)
        return new_loop.run_until_complete(main)
    finally:  # pragma: no cover
        asyncio.set_event_loop(None)
        new_loop.close()
