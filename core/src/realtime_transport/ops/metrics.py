"""The Prometheus metrics (created on first use) and their exposition, multiprocess-aware.

Several workers report one view through ``prometheus_client``'s multiprocess mode: set
``PROMETHEUS_MULTIPROC_DIR`` to an empty directory shared by the workers *before* they start
(the ASGI server's environment). Gauges use ``livesum`` (a dead worker's value disappears once
:func:`mark_process_dead` ran for it, which :class:`~realtime_transport.ops.OpsMiddleware` does
at shutdown). Without the variable, the metrics live in the default registry of this process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

__all__ = ["Metrics", "get_metrics", "mark_process_dead", "render_metrics"]

#: seconds; audio must arrive before its playback time: a late chunk is a gap the caller hears
LATENESS_BUCKETS = (0.0, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0)
#: seconds the event loop ran late on a periodic timer (every session on the worker waits that)
LOOP_LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


def _missing() -> ImportError:
    return ImportError(
        "metrics need prometheus_client: pip install 'realtime-transport[ops]' "
        "(or prometheus-client>=0.20)"
    )


@dataclass(frozen=True, slots=True)
class Metrics:
    """Every metric the library exports (label names in brackets)."""

    active_sessions: Any  # Gauge [transport]
    sessions_started: Any  # Counter [transport]
    sessions_ended: Any  # Counter [transport, reason]
    sessions_refused: Any  # Counter [transport, reason]
    turns: Any  # Counter [transport]
    tool_calls: Any  # Counter [transport]
    audio_lateness: Any  # Histogram [transport]
    loop_lag: Any  # Histogram
    audio_dropped: Any  # Counter [transport, direction]
    reconnects: Any  # Counter [transport, outcome]
    errors: Any  # Counter [transport, source, code]
    admission_limit: Any  # Gauge
    draining: Any  # Gauge


_metrics: Metrics | None = None


def get_metrics() -> Metrics:
    """The process's metrics, created (and prometheus_client imported) on the first call."""
    global _metrics
    if _metrics is None:
        try:
            from prometheus_client import Counter, Gauge, Histogram
        except ImportError:
            raise _missing() from None
        _metrics = Metrics(
            active_sessions=Gauge(
                "realtime_active_sessions",
                "Sessions connected now (autoscale on this over the admission limit)",
                ["transport"],
                multiprocess_mode="livesum",
            ),
            sessions_started=Counter(
                "realtime_sessions_started", "Sessions that connected", ["transport"]
            ),
            sessions_ended=Counter(
                "realtime_sessions_ended", "Sessions that ended, by why", ["transport", "reason"]
            ),
            sessions_refused=Counter(
                "realtime_sessions_refused",
                "New calls refused by admission control (limit reached or draining)",
                ["transport", "reason"],
            ),
            turns=Counter("realtime_turns", "Model responses (turns) completed", ["transport"]),
            tool_calls=Counter("realtime_tool_calls", "Tool calls answered", ["transport"]),
            audio_lateness=Histogram(
                "realtime_audio_delivery_lateness_seconds",
                "Per reply, the most any audio chunk arrived after its playback time",
                ["transport"],
                buckets=LATENESS_BUCKETS,
            ),
            loop_lag=Histogram(
                "realtime_event_loop_lag_seconds",
                "How late the event loop ran a periodic timer",
                buckets=LOOP_LAG_BUCKETS,
            ),
            audio_dropped=Counter(
                "realtime_audio_chunks_dropped",
                "Audio chunks dropped: in = caller audio the model connection could not take, "
                "out = model audio the caller's channel could not take",
                ["transport", "direction"],
            ),
            reconnects=Counter(
                "realtime_reconnects",
                "Reconnect attempts and their outcome (attempt, succeeded, failed)",
                ["transport", "outcome"],
            ),
            errors=Counter(
                "realtime_errors",
                "Session errors by source and code",
                ["transport", "source", "code"],
            ),
            admission_limit=Gauge(
                "realtime_admission_limit",
                "Concurrent sessions this worker admits (summed: the fleet's capacity)",
                multiprocess_mode="livesum",
            ),
            draining=Gauge(
                "realtime_draining_workers",
                "Workers draining (refusing new calls, finishing live ones)",
                multiprocess_mode="livesum",
            ),
        )
    return _metrics


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def render_metrics() -> tuple[bytes, str]:
    """The text exposition (body, content type): every worker's view in multiprocess mode."""
    try:
        from prometheus_client import (
            CONTENT_TYPE_LATEST,
            REGISTRY,
            CollectorRegistry,
            generate_latest,
        )
        from prometheus_client.multiprocess import MultiProcessCollector
    except ImportError:
        raise _missing() from None
    get_metrics()  # so an idle worker still lists every metric
    path = multiprocess_dir()
    if path:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=path)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def mark_process_dead(pid: int | None = None) -> None:
    """Drop a (stopped) worker's live gauges from the shared view (multiprocess mode only)."""
    path = multiprocess_dir()
    if not path or (_metrics is None and pid is None):
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(os.getpid() if pid is None else pid, path)  # type: ignore[no-untyped-call]
