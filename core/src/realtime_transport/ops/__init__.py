"""Running many calls: Prometheus metrics, OpenTelemetry spans, admission control, graceful drain.

What an ASGI server, a load balancer and an autoscaler need from a worker process, and nothing
more (no cluster of our own, no state shared between workers)::

    from realtime_transport.ops import AdmissionController, GracefulDrain, OpsMiddleware, instrument

    admission = AdmissionController(max_sessions=150)
    app.add_middleware(OpsMiddleware, admission=admission, drain=GracefulDrain(admission, 30))
    ...
    instrument(session)  # one line per session: metrics (+ spans when an OTel SDK is set up)

``prometheus_client`` and ``opentelemetry-api`` (``pip install 'realtime-transport[ops]'``) are
imported only when metrics or spans are used; a session nobody instruments has no listener.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "instrument": "instrument",
    "Instrumentation": "instrument",
    "set_end_reason": "instrument",
    "END_REASONS": "instrument",
    "render_metrics": "metrics",
    "mark_process_dead": "metrics",
    "LoopLagMonitor": "loop_lag",
    "AdmissionController": "admission",
    "AdmissionSlot": "admission",
    "GracefulDrain": "drain",
    "OpsMiddleware": "asgi",
}

__all__ = [
    "END_REASONS",
    "AdmissionController",
    "AdmissionSlot",
    "GracefulDrain",
    "Instrumentation",
    "LoopLagMonitor",
    "OpsMiddleware",
    "instrument",
    "mark_process_dead",
    "render_metrics",
    "set_end_reason",
]

if TYPE_CHECKING:
    from .admission import AdmissionController, AdmissionSlot
    from .asgi import OpsMiddleware
    from .drain import GracefulDrain
    from .instrument import END_REASONS, Instrumentation, instrument, set_end_reason
    from .loop_lag import LoopLagMonitor
    from .metrics import mark_process_dead, render_metrics


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'realtime_transport.ops' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
