"""Graceful drain: on SIGTERM stop admitting, let live calls finish, then let the server exit.

An ASGI server stops listening and closes every WebSocket as soon as it gets SIGTERM (uvicorn
closes them with 1012), which would cut every live call. :meth:`GracefulDrain.install` takes
SIGTERM over instead (at the app's startup, after the server installed its handler): the
worker refuses new calls and reports not-ready, live calls go on until the last one ends or
``deadline`` seconds pass (then each call in ``AdmissionSlot.until_deadline`` ends, with the end
reason ``drain_deadline``), and the server's own handler gets the signal, so it exits as usual.
A second SIGTERM skips the wait.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable
from typing import Any, Literal

from .admission import AdmissionController

__all__ = ["DrainState", "GracefulDrain"]

logger = logging.getLogger("realtime_transport.ops")
DrainState = Literal["serving", "draining", "exiting"]


class GracefulDrain:
    """Drains ``admission``'s calls for at most ``deadline`` seconds after SIGTERM.

    ``grace`` bounds how long calls get to close after the deadline. ``on_exit`` replaces the
    default exit (hand SIGTERM back to the handler that was there before, i.e. the server's).
    """

    def __init__(
        self,
        admission: AdmissionController,
        deadline: float = 30.0,
        *,
        grace: float = 5.0,
        on_exit: Callable[[], Any] | None = None,
    ) -> None:
        if deadline < 0 or grace < 0:
            raise ValueError("deadline and grace are seconds (0 or more)")
        self.admission = admission
        self.deadline = deadline
        self.grace = grace
        self.state: DrainState = "serving"
        self._on_exit = on_exit
        self._loop: asyncio.AbstractEventLoop | None = None
        self._previous: Any = None
        self._installed = False
        self._task: asyncio.Task[None] | None = None

    def install(self) -> bool:
        """Handle SIGTERM on the running loop (main thread only; False elsewhere)."""
        if threading.current_thread() is not threading.main_thread():
            logger.warning("graceful drain not installed: signals need the main thread")
            return False
        self._loop = asyncio.get_running_loop()
        self._previous = signal.signal(signal.SIGTERM, self._on_signal)
        self._installed = True
        return True

    def _on_signal(self, signum: int, frame: Any) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.begin)

    def begin(self) -> None:
        """Start draining now (what SIGTERM does); a second call ends the calls at once."""
        if self._task is not None:
            logger.warning("second SIGTERM while draining: ending live calls now")
            self.admission.reach_deadline()
            return
        self._task = asyncio.get_running_loop().create_task(self._drain(), name="drain")

    async def wait_done(self) -> None:
        if self._task is not None:
            await self._task

    async def _drain(self) -> None:
        admission = self.admission
        self.state = "draining"
        admission.start_draining()
        logger.warning(
            "SIGTERM: draining: refusing new calls, %d live, deadline %.1f s",
            admission.active,
            self.deadline,
        )
        if not await admission.wait_idle(self.deadline):
            logger.warning("drain deadline: ending %d live call(s)", admission.active)
            admission.reach_deadline()
            if not await admission.wait_idle(self.grace):
                logger.warning("%d call(s) did not end within the grace period", admission.active)
        self.state = "exiting"
        logger.info("drained; exiting")
        self._exit()

    def _exit(self) -> None:
        if self._on_exit is not None:
            self._on_exit()
            return
        if self._installed:
            previous = self._previous if self._previous is not None else signal.SIG_DFL
            signal.signal(signal.SIGTERM, previous)
            self._installed = False
        signal.raise_signal(signal.SIGTERM)  # the server's handler: a normal shutdown
