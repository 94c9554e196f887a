"""``instrument(session)``: one line that puts a session into the metrics (and spans).

Listeners are attached only by this call, so a session nobody instruments pays nothing. The
per-chunk work is a clock read and two additions: the audio lateness of a reply is observed once,
when the reply's audio stops, as the most any chunk arrived after its playback time (a reply
whose audio keeps ahead of real time scores 0; a worker too busy to keep up shows here first).
"""

from __future__ import annotations

import asyncio
import re
import time
import weakref
from typing import TYPE_CHECKING, Any

from .metrics import get_metrics

if TYPE_CHECKING:
    from ..session import RealtimeSession

__all__ = ["END_REASONS", "Instrumentation", "instrument", "set_end_reason"]

#: What ``realtime_sessions_ended_total{reason}`` can say (kept small: it is a label).
END_REASONS = ("closed", "dropped", "reconnect_failed", "drain_deadline", "refused", "error")

_CLIENT_CLOSE = "closed by the client"  # the reason transports give when they closed themselves
_end_reasons: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
_CODE = re.compile(r"[^a-z0-9_]+")
_MAX_CODES = 64
_codes_seen: set[str] = set()
#: transport attribute -> direction label: caller audio that could not be sent to the model
#: (core's counter), model audio the caller's channel could not take (Twilio's outbound queue)
_DROP_COUNTERS = (("dropped_audio_chunks", "in"), ("dropped_output_audio_chunks", "out"))


def set_end_reason(session: RealtimeSession, reason: str) -> None:
    """Say why the app is ending ``session`` (one of :data:`END_REASONS`) before closing it."""
    if reason not in END_REASONS:
        raise ValueError(f"end reason must be one of {', '.join(END_REASONS)}; got {reason!r}")
    _end_reasons[session] = reason


def _error_code(code: Any) -> str:
    """A bounded label for an error code: unknown codes past the first 64 count as 'other'."""
    text = _CODE.sub("_", str(code).lower())[:48] if code else "none"
    if text not in _codes_seen:
        if len(_codes_seen) >= _MAX_CODES:
            return "other"
        _codes_seen.add(text)
    return text


def _bytes_per_second(session: Any) -> float:
    """Output audio bytes per second of the session's current config (PCM 24 kHz by default)."""
    try:
        fmt = session._agents.last_config["audio"]["output"]["format"]
    except (AttributeError, KeyError, TypeError):
        fmt = None
    from ..audio import bytes_per_ms

    return float(bytes_per_ms(fmt)) * 1000.0


class Instrumentation:
    """The listeners :func:`instrument` attached to one session (``detach()`` removes them)."""

    __slots__ = (
        "_dropped_seen",
        "_ended",
        "_late",
        "_played",
        "_rate",
        "_reply",
        "_session",
        "_started",
        "_t0",
        "_tracer",
        "_unsubscribe",
        "transport",
    )

    def __init__(self, session: RealtimeSession, transport: str, tracer: Any) -> None:
        self._session = session
        self.transport = transport
        self._tracer = tracer
        self._started = False
        self._ended = False
        self._reply: str | None = None
        self._t0 = 0.0
        self._played = 0.0
        self._late = 0.0
        self._rate = 48000.0
        self._dropped_seen = [0, 0]
        on = session.on
        self._unsubscribe = [
            on("connected", self._on_connected),
            on("disconnected", self._on_disconnected),
            on("agent_start", self._on_agent_start),
            on("agent_end", self._on_agent_end),
            on("agent_tool_start", self._on_tool_start),
            on("agent_tool_end", self._on_tool_end),
            on("audio", self._on_audio),
            on("audio_stopped", self._on_audio_end),
            on("audio_interrupted", self._on_audio_end),
            on("reconnecting", self._on_reconnecting),
            on("reconnected", self._on_reconnected),
            on("reconnect_failed", self._on_reconnect_failed),
            on("error", self._on_error),
        ]
        if session.connected:
            self._on_connected(None)

    def detach(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []

    # -- lifecycle ---------------------------------------------------------------------------

    def _on_connected(self, _event: Any) -> None:
        if self._started:
            return
        self._started = True
        m = get_metrics()
        m.sessions_started.labels(self.transport).inc()
        m.active_sessions.labels(self.transport).inc()
        if self._tracer is not None:
            self._tracer.session_started()

    def _on_disconnected(self, event: Any) -> None:
        # the session decides right after this event whether a reconnect follows
        reason = getattr(event, "reason", None)
        asyncio.get_running_loop().call_soon(self._maybe_end, reason)

    def _maybe_end(self, detail: str | None) -> None:
        reconnector = getattr(self._session, "_reconnector", None)
        if reconnector is not None and reconnector.active:
            return
        # closed by the app, or by the transport itself (e.g. Twilio's stream ended): "closed"
        closed = getattr(self._session, "_closed_by_app", False) or detail == _CLIENT_CLOSE
        self._end(_end_reasons.get(self._session) or ("closed" if closed else "dropped"), detail)

    def _end(self, reason: str, detail: str | None = None) -> None:
        if self._ended or not self._started:
            return
        self._ended = True
        self._count_dropped()
        m = get_metrics()
        m.active_sessions.labels(self.transport).dec()
        m.sessions_ended.labels(self.transport, reason).inc()
        if self._tracer is not None:
            self._tracer.session_ended(reason, detail)
        self.detach()

    # -- turns and tools -----------------------------------------------------------------------

    def _on_agent_start(self, event: Any) -> None:
        if self._tracer is not None:
            self._tracer.turn_started(event)

    def _on_agent_end(self, event: Any) -> None:
        get_metrics().turns.labels(self.transport).inc()
        self._count_dropped()
        if self._tracer is not None:
            self._tracer.turn_ended(event)

    def _on_tool_start(self, event: Any) -> None:
        if self._tracer is not None:
            self._tracer.tool_started(event)

    def _on_tool_end(self, event: Any) -> None:
        get_metrics().tool_calls.labels(self.transport).inc()
        if self._tracer is not None:
            self._tracer.tool_ended(event)

    # -- audio ------------------------------------------------------------------------------

    def _on_audio(self, event: Any) -> None:
        now = time.perf_counter()
        if event.response_id != self._reply:
            if self._reply is not None:
                self._observe_lateness()
            self._reply = event.response_id
            self._t0 = now
            self._played = 0.0
            self._late = 0.0
            self._rate = _bytes_per_second(self._session)
        else:
            late = now - self._t0 - self._played
            if late > self._late:
                self._late = late
        self._played += len(event.data) / self._rate

    def _on_audio_end(self, _event: Any) -> None:
        if self._reply is not None:
            self._observe_lateness()
            self._reply = None

    def _observe_lateness(self) -> None:
        get_metrics().audio_lateness.labels(self.transport).observe(self._late)

    def _count_dropped(self) -> None:
        transport = self._session.transport
        for i, (attribute, direction) in enumerate(_DROP_COUNTERS):
            dropped = getattr(transport, attribute, 0)
            if isinstance(dropped, int) and dropped > self._dropped_seen[i]:
                get_metrics().audio_dropped.labels(self.transport, direction).inc(
                    dropped - self._dropped_seen[i]
                )
                self._dropped_seen[i] = dropped

    # -- reconnects and errors ---------------------------------------------------------------

    def _on_reconnecting(self, _event: Any) -> None:
        get_metrics().reconnects.labels(self.transport, "attempt").inc()

    def _on_reconnected(self, _event: Any) -> None:
        get_metrics().reconnects.labels(self.transport, "succeeded").inc()

    def _on_reconnect_failed(self, _event: Any) -> None:
        get_metrics().reconnects.labels(self.transport, "failed").inc()
        self._end("reconnect_failed")

    def _on_error(self, event: Any) -> None:
        source = str(getattr(event, "source", "") or "unknown")[:24]
        code = _error_code(getattr(event, "code", None))
        get_metrics().errors.labels(self.transport, source, code).inc()


def instrument(
    session: RealtimeSession,
    *,
    transport: str | None = None,
    tracing: bool | None = None,
) -> Instrumentation:
    """Count ``session`` in the Prometheus metrics; spans too when tracing is on.

    ``transport`` is the label (default: the transport's ``name``, else its class).
    ``tracing=None`` traces only when the app configured an OpenTelemetry SDK (so with
    ``opentelemetry-api`` alone nothing is attached); ``True`` always, ``False`` never.
    """
    get_metrics()  # fail early with the install hint
    label = transport or _transport_name(session.transport)
    tracer = None
    if tracing is not False:
        from .tracing import SessionTracer, tracing_configured

        if tracing or tracing_configured():
            tracer = SessionTracer(session, label)
    return Instrumentation(session, label, tracer)


def _transport_name(transport: Any) -> str:
    name = getattr(transport, "name", None)
    if isinstance(name, str) and name:
        return name
    cls = type(transport).__name__
    for known in ("twilio", "sip", "webrtc", "cloudflare", "websocket"):
        if known in cls.lower():
            return known
    return cls
