"""Admission control: a per-process limit on concurrent sessions, and the draining switch.

Past the limit (or while draining) a new call is refused the way its channel expects, by the
app: TwiML ``<Reject reason="busy"/>`` for a Twilio voice webhook, ``reject`` with SIP 486 (at
the limit) or 503 (draining) for a SIP call, HTTP 503 for a WebSocket upgrade. Calls already
admitted are never touched by the limit. Derive the limit from the benchmark's real-time
sessions per core (``docs/deploying.md``): about 70 % of it per worker, one worker per core.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, Literal, TypeVar

__all__ = ["AdmissionController", "AdmissionSlot", "RefusalReason"]

T = TypeVar("T")
RefusalReason = Literal["limit", "draining"]


class AdmissionSlot:
    """One admitted call. Release it when the call ends (``async with`` does that)."""

    __slots__ = ("_controller", "_released", "session", "transport")

    def __init__(self, controller: AdmissionController, transport: str) -> None:
        self._controller = controller
        self._released = False
        self.transport = transport
        self.session: Any = None  # the call's RealtimeSession, if the app attaches it

    def attach(self, session: Any) -> None:
        """The session of this call: the drain deadline records its end reason."""
        self.session = session

    @property
    def deadline_reached(self) -> bool:
        return self._controller._deadline.is_set()

    async def until_deadline(self, call: Awaitable[T]) -> T | None:
        """Run ``call`` (the call's natural end) unless the drain deadline comes first (None)."""
        controller = self._controller
        work = asyncio.ensure_future(call)
        stop = asyncio.ensure_future(controller._deadline.wait())
        try:
            await asyncio.wait({work, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if work.done():
            return work.result()
        work.cancel()
        if self.session is not None:
            from .instrument import set_end_reason

            set_end_reason(self.session, "drain_deadline")
        return None

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._controller._release(self)

    async def __aenter__(self) -> AdmissionSlot:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.release()


class AdmissionController:
    """At most ``max_sessions`` concurrent calls in this process, none while draining.

    ``metrics=True`` (default) counts refusals in ``realtime_sessions_refused_total`` and
    exports the limit and the draining state (imports prometheus_client).
    """

    def __init__(self, max_sessions: int, *, metrics: bool = True) -> None:
        if not isinstance(max_sessions, int) or isinstance(max_sessions, bool) or max_sessions < 1:
            raise ValueError("max_sessions must be a positive number of concurrent sessions")
        self.max_sessions = max_sessions
        self.metrics = metrics
        self.draining = False
        self._slots: set[AdmissionSlot] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._deadline = asyncio.Event()
        if metrics:
            from .metrics import get_metrics

            get_metrics().admission_limit.set(max_sessions)

    @property
    def active(self) -> int:
        return len(self._slots)

    def refusal(self) -> RefusalReason | None:
        """Why a new call would be refused now (None: it would be admitted)."""
        if self.draining:
            return "draining"
        if len(self._slots) >= self.max_sessions:
            return "limit"
        return None

    def has_capacity(self) -> bool:
        return self.refusal() is None

    def try_acquire(self, transport: str = "unknown") -> AdmissionSlot | None:
        """A slot for a new call, or None (counted as refused) past the limit or draining."""
        reason = self.refusal()
        if reason is not None:
            self.count_refusal(transport, reason)
            return None
        slot = AdmissionSlot(self, transport)
        self._slots.add(slot)
        self._idle.clear()
        return slot

    def count_refusal(self, transport: str, reason: RefusalReason) -> None:
        if self.metrics:
            from .metrics import get_metrics

            get_metrics().sessions_refused.labels(transport, reason).inc()

    def _release(self, slot: AdmissionSlot) -> None:
        self._slots.discard(slot)
        if not self._slots:
            self._idle.set()

    # -- draining (GracefulDrain drives these) -----------------------------------------------

    def start_draining(self) -> None:
        """Refuse every new call from now on; live calls continue."""
        if not self.draining:
            self.draining = True
            if self.metrics:
                from .metrics import get_metrics

                get_metrics().draining.set(1)

    async def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no call holds a slot; False if ``timeout`` passed first."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    def reach_deadline(self) -> None:
        """The drain deadline: every call waiting in ``until_deadline`` ends now."""
        self._deadline.set()
