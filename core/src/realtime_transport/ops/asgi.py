"""``OpsMiddleware``: ``/metrics``, ``/ready``, ``/live`` and the drain, for any ASGI app.

One line for Starlette or FastAPI (``app.add_middleware(OpsMiddleware, admission=...)``) or
any ASGI app (``app = OpsMiddleware(app, ...)``). At lifespan startup it starts the event-loop
lag monitor and installs the SIGTERM drain; at shutdown it removes this worker's live gauges
from the shared multiprocess view.
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from .admission import AdmissionController
from .drain import GracefulDrain

__all__ = ["OpsMiddleware"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class OpsMiddleware:
    """Serves the operational endpoints in front of ``app``; everything else passes through.

    ``/ready`` answers 503 while draining (take the worker out of the load balancer) and 200
    otherwise; ``/live`` is always 200 while the process serves. ``metrics=False`` leaves out
    ``/metrics`` and the loop-lag monitor (no prometheus_client needed).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        admission: AdmissionController | None = None,
        drain: GracefulDrain | None = None,
        metrics: bool = True,
        metrics_path: str = "/metrics",
        ready_path: str = "/ready",
        live_path: str = "/live",
        loop_lag_interval: float = 0.25,
    ) -> None:
        self.app = app
        self.admission = admission if admission is not None else getattr(drain, "admission", None)
        self.drain = drain
        self.metrics = metrics
        self.paths = {metrics_path: "metrics", ready_path: "ready", live_path: "live"}
        self._loop_lag: Any = None
        if metrics:
            from .loop_lag import LoopLagMonitor

            self._loop_lag = LoopLagMonitor(loop_lag_interval)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            endpoint = self.paths.get(scope["path"])
            if endpoint is not None and scope["method"] in ("GET", "HEAD"):
                await self._serve(endpoint, send)
                return
        elif kind == "lifespan":
            await self.app(scope, self._lifespan_receive(receive), send)
            return
        await self.app(scope, receive, send)

    def _lifespan_receive(self, receive: Receive) -> Receive:
        async def wrapped() -> Message:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.startup()
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
            return message

        return wrapped

    def startup(self) -> None:
        if self._loop_lag is not None:
            self._loop_lag.start()
        if self.drain is not None:
            self.drain.install()

    async def shutdown(self) -> None:
        if self._loop_lag is not None:
            await self._loop_lag.stop()
        if self.metrics:
            from .metrics import mark_process_dead

            mark_process_dead()

    async def _serve(self, endpoint: str, send: Send) -> None:
        if endpoint == "metrics" and self.metrics:
            from .metrics import render_metrics

            body, content_type = render_metrics()
            await _respond(send, 200, body, content_type)
        elif endpoint == "ready":
            admission = self.admission
            draining = bool(admission is not None and admission.draining)
            state = {
                "status": "draining" if draining else "ready",
                "active": admission.active if admission is not None else None,
                "limit": admission.max_sessions if admission is not None else None,
            }
            await _respond(send, 503 if draining else 200, json.dumps(state).encode())
        elif endpoint == "live":
            await _respond(send, 200, b'{"status":"live"}')
        else:
            await _respond(send, 404, b'{"error":"not found"}')


async def _respond(
    send: Send, status: int, body: bytes, content_type: str = "application/json"
) -> None:
    headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        (
            b"x-worker-pid",
            str(os.getpid()).encode(),
        ),  # which worker answered (several share a port)
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
