"""The session's event plumbing: ``async for`` streams, the raw firehose, failing listeners.

A session's events follow a few rules beyond :class:`~realtime_transport.EventEmitter`:
``async for`` streams end when the connection does; ``transport_event`` (every raw server
event) is opt-in, and the session subscribes to the transport's ``*`` only while someone
listens, because the transport re-parses every frame for ``*``, audio included; and a listener
that raises is reported as an ``error`` event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ..events import EventEmitter, EventStream
from ..log_privacy import LogDataPolicy, describe_error, log_data_policy
from ..session_events import SESSION_EVENTS, SessionErrorEvent
from .runtime import logger

if TYPE_CHECKING:
    from ..transport import RealtimeTransportLayer

__all__ = ["SessionEmitter"]


class SessionEmitter(EventEmitter):
    """The event side of :class:`~realtime_transport.RealtimeSession` (its base class)."""

    _transport: RealtimeTransportLayer  # set by the session

    def __init__(self) -> None:
        super().__init__()
        self._raw_unsubscribe: Callable[[], None] | None = None

    def events(self, names: Iterable[str] | None = None, *, maxsize: int = 1024) -> EventStream:
        """Session events for ``async for`` (see :meth:`EventEmitter.events` for the bounds).

        Default: every session event except ``transport_event`` (the raw server firehose) and
        ``connection_change`` (each status step, which ``connected``/``disconnected`` and the
        reconnect events summarise); name them explicitly to get them. The stream ends after
        ``disconnected`` or ``close()`` (with a reconnect policy: once reconnecting gives up).
        """
        chosen = (
            tuple(names)
            if names is not None
            else tuple(
                n for n in SESSION_EVENTS if n not in ("transport_event", "connection_change")
            )
        )
        return self._open_stream(chosen, maxsize)

    def __aiter__(self) -> EventStream:
        return self.events()

    def on(self, name: str, listener: Callable[[Any], Any]) -> Callable[[], None]:
        unsubscribe = super().on(name, listener)
        if name == "transport_event":
            self._sync_raw_listener()
        return unsubscribe

    def off(self, name: str, listener: Callable[[Any], Any] | None = None) -> None:
        super().off(name, listener)
        if name == "transport_event":
            self._sync_raw_listener()

    def _sync_raw_listener(self) -> None:
        # The transport re-parses every frame for '*' listeners, audio deltas included, so the
        # session only listens to '*' while someone wants transport_event.
        wanted = self.has_listeners("transport_event")
        if wanted and self._raw_unsubscribe is None:
            self._raw_unsubscribe = self._transport.on("*", self._on_raw)
        elif not wanted and self._raw_unsubscribe is not None:
            self._raw_unsubscribe()
            self._raw_unsubscribe = None

    def _on_raw(self, event: Any) -> None:
        self.emit("transport_event", event)

    def _log_policy(self) -> LogDataPolicy:
        policy = getattr(getattr(self, "_transport", None), "log_policy", None)
        return policy if isinstance(policy, LogDataPolicy) else log_data_policy()

    def _listener_failed(self, name: str, exc: BaseException) -> None:
        # the exception's text may quote the event (a transcript, a tool result)
        detail = describe_error(exc, self._log_policy().all_data)
        logger.warning("session listener for %r raised %s", name, detail)
        if name == "error":
            return
        self.emit(
            "error",
            SessionErrorEvent(
                message=f"a listener for {name!r} raised {detail}",
                source="listener",
                error=exc,
                code="listener_error",
            ),
        )
