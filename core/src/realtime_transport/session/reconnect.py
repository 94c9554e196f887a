"""Opt-in reconnection after a transient drop or the provider's session-duration limit.

Off by default (``RealtimeSession(reconnect=None)``): a session that silently reconnects can
hide that the model lost audio in flight, so the app asks for it. With a
:class:`ReconnectPolicy` the session, on an unexpected ``disconnected``:

1. emits ``reconnecting`` (attempt, delay, why) and waits the backoff;
2. reconnects the same transport with the *current* agent's config (not the initial agent's);
3. re-seeds the conversation as text (the caller's and the assistant's words; audio content is
   replaced by its transcript, tool calls cannot be recreated);
4. emits ``reconnected`` with the list of what could not survive.

A session attached to a call by ``call_id`` (SIP) re-attaches to the *same* call, and only when
the transport says the call is still up (``ConnectionEvent.call_ended is False``: the socket was
reset, or closed with 1011 or another abnormal code). The call's Realtime session lives on the
server with the call, so step 3 is skipped (re-seeding would duplicate the conversation); the
config is still resent, with the voice the call already speaks with. A call that ended is never
retried: ``call_ended`` True (a hang-up by the caller or by the app, a transfer, a normal 1000
close) or None (a transport that cannot tell), and a re-attach refused because the call ended
meanwhile (:class:`CallEndedError`, e.g. HTTP 404) stops at that attempt.

Also never retried: an authentication failure (a new key will not appear by waiting) and a
``close()`` by the app. After the last failed attempt the session emits ``reconnect_failed``
and ends like any disconnected session.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ..errors import AuthenticationError, CallEndedError, UserError
from ..events import ConnectionEvent, RealtimeItem, RealtimeMessageItem

if TYPE_CHECKING:
    from .runtime import SessionRuntime

__all__ = [
    "ReconnectFailedEvent",
    "ReconnectPolicy",
    "ReconnectedEvent",
    "ReconnectingEvent",
    "text_only_history",
]


@dataclass(frozen=True)
class ReconnectPolicy:
    """How often and how patiently to reconnect.

    ``max_attempts`` connects are tried per drop; the n-th waits
    ``min(backoff * backoff_factor ** (n - 1), max_backoff)`` seconds, varied by up to
    ``jitter`` (a fraction) so that many calls dropped together do not reconnect in lockstep.
    """

    max_attempts: int = 5
    backoff: float = 0.5
    backoff_factor: float = 2.0
    max_backoff: float = 10.0
    jitter: float = 0.1
    reseed_history: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.max_attempts, int) or self.max_attempts < 1:
            raise UserError("ReconnectPolicy.max_attempts must be a whole number of 1 or more")
        for name in ("backoff", "backoff_factor", "max_backoff", "jitter"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or value < 0:
                raise UserError(f"ReconnectPolicy.{name} must be a number of 0 or more")
        if self.jitter > 1:
            raise UserError("ReconnectPolicy.jitter is a fraction of the delay (0 to 1)")

    def delay(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """Seconds to wait before ``attempt`` (1-based)."""
        base = min(self.backoff * self.backoff_factor ** (attempt - 1), self.max_backoff)
        return max(0.0, base * (1 + self.jitter * (2 * rng() - 1)))


@dataclass(slots=True)
class ReconnectingEvent:
    """``reconnecting``: the connection dropped; attempt ``attempt`` starts after ``delay`` s."""

    attempt: int
    delay: float
    reason: str
    type: Literal["reconnecting"] = "reconnecting"


@dataclass(slots=True)
class ReconnectedEvent:
    """``reconnected``: connected again; ``lost`` says what did not survive the drop."""

    attempts: int
    reseeded_items: int
    lost: list[str] = field(default_factory=list)
    type: Literal["reconnected"] = "reconnected"


@dataclass(slots=True)
class ReconnectFailedEvent:
    """``reconnect_failed``: every attempt failed (or one may not be retried); the session ends."""

    attempts: int
    error: BaseException | None
    message: str
    type: Literal["reconnect_failed"] = "reconnect_failed"


def text_only_history(items: Sequence[RealtimeItem]) -> tuple[list[RealtimeItem], list[str]]:
    """The messages of ``items`` as text (audio parts become their transcripts).

    Returns the items to re-create and notes on what was left out.
    """
    kept: list[RealtimeItem] = []
    notes: list[str] = []
    skipped_calls = 0
    for item in items:
        if not isinstance(item, RealtimeMessageItem):
            skipped_calls += 1
            continue
        kind = "output_text" if item.role == "assistant" else "input_text"
        parts: list[dict[str, Any]] = []
        for part in item.content:
            text = part.get("text")
            if text is None:
                text = part.get("transcript")
            if isinstance(text, str) and text:
                parts.append({"type": kind, "text": text})
        if parts:
            kept.append(
                RealtimeMessageItem(
                    item_id=item.item_id, role=item.role, content=parts, status="completed"
                )
            )
        elif item.content:
            notes.append(f"message {item.item_id} had no text or transcript to re-seed")
    if skipped_calls:
        notes.append(f"{skipped_calls} tool call or MCP item(s) cannot be recreated")
    return kept, notes


class Reconnector:
    """Runs the reconnect loop for one session (see the module docstring)."""

    __slots__ = ("_connect", "_give_up", "_policy", "_runtime", "_task", "call_id")

    def __init__(
        self,
        runtime: SessionRuntime,
        policy: ReconnectPolicy,
        connect: Callable[[], Awaitable[None]],
        give_up: Callable[[], None],
    ) -> None:
        self._runtime = runtime
        self._policy = policy
        self._connect = connect  # reconnects the transport with the current agent's config
        self._give_up = give_up  # the session ends its event streams
        self._task: asyncio.Task[None] | None = None
        self.call_id: str | None = None  # the call the session is attached to, if any

    @property
    def active(self) -> bool:
        return self._task is not None and not self._task.done()

    def should_retry(self, event: ConnectionEvent) -> bool:
        if self.active or event.reason == "closed by the client":
            return False
        if self.call_id is not None:  # re-attach only to a call the transport says is up
            return event.call_ended is False
        return True

    def start(self, reason: str, history: Sequence[RealtimeItem], lost: list[str]) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(reason, list(history), lost))
        self._runtime.tasks.add(self._task)
        self._task.add_done_callback(self._runtime.tasks.discard)

    def cancel(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()

    async def _run(self, reason: str, history: list[RealtimeItem], lost: list[str]) -> None:
        emit = self._runtime.emit
        transport = self._runtime.transport
        error: BaseException | None = None
        for attempt in range(1, self._policy.max_attempts + 1):
            delay = self._policy.delay(attempt)
            emit("reconnecting", ReconnectingEvent(attempt, delay, reason))
            await asyncio.sleep(delay)
            try:
                await self._connect()
            except (AuthenticationError, CallEndedError) as exc:  # waiting will not help
                error = exc
                break
            except Exception as exc:
                error = exc
                reason = f"reconnect attempt {attempt} failed: {type(exc).__name__}"
                continue
            reseeded = 0
            if self._policy.reseed_history and self.call_id is None:  # a call kept its own
                items, notes = text_only_history(history)
                lost.extend(notes)
                if items:
                    transport.reset_history([], items)
                    reseeded = len(items)
            emit("reconnected", ReconnectedEvent(attempt, reseeded, lost))
            return
        advice = (
            "the call is over; nothing is left to re-attach to"
            if isinstance(error, CallEndedError)
            else "call connect() to start a new session"
        )
        message = (
            f"could not reconnect after {attempt} attempt(s)"
            + (f": {type(error).__name__}: {error}" if error is not None else "")
            + f"; {advice}"
        )
        emit("reconnect_failed", ReconnectFailedEvent(attempt, error, message))
        self._give_up()
