"""``OpsMiddleware`` in front of a bare ASGI app on a real uvicorn, and the admission/drain
bookkeeping it reports: slots, refusal reasons, the drain deadline, idempotent release."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from realtime_transport.ops import AdmissionController, GracefulDrain, OpsMiddleware

pytestmark = pytest.mark.timeout(30)


async def hello(scope: Any, receive: Any, send: Any) -> None:
    """The app behind the middleware: any ASGI app (no framework)."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            kind = message["type"].replace("lifespan.", "")
            await send({"type": f"lifespan.{kind}.complete"})
            if kind == "shutdown":
                return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hello"})


@asynccontextmanager
async def serving(app: Any) -> AsyncIterator[str]:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    )
    task = asyncio.get_running_loop().create_task(server.serve())
    try:
        for _ in range(400):
            if server.started:
                break
            await asyncio.sleep(0.01)
        assert server.started
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def test_the_endpoints_in_front_of_any_asgi_app() -> None:
    admission = AdmissionController(2)
    app = OpsMiddleware(hello, admission=admission)
    async with serving(app) as base, httpx.AsyncClient(base_url=base, timeout=5) as client:
        assert (await client.get("/anything")).text == "hello"  # passes through
        assert (await client.get("/live")).status_code == 200
        ready = await client.get("/ready")
        assert ready.status_code == 200
        assert ready.json() == {"status": "ready", "active": 0, "limit": 2}
        slot = admission.try_acquire("websocket")
        assert slot is not None and (await client.get("/ready")).json()["active"] == 1
        metrics = await client.get("/metrics")
        assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/")
        assert "realtime_event_loop_lag_seconds_bucket" in metrics.text
        admission.start_draining()
        draining = await client.get("/ready")
        assert draining.status_code == 503 and draining.json()["status"] == "draining"
        assert (await client.post("/ready")).text == "hello"  # only GET/HEAD are ours
        slot.release()


async def test_admission_refuses_past_the_limit_and_while_draining() -> None:
    admission = AdmissionController(2, metrics=False)
    first, second = admission.try_acquire("sip"), admission.try_acquire("sip")
    assert first is not None and second is not None
    assert admission.refusal() == "limit" and admission.try_acquire("sip") is None
    first.release()
    first.release()  # idempotent: frees one slot once
    assert admission.active == 1 and admission.has_capacity()
    admission.start_draining()
    assert admission.refusal() == "draining" and admission.try_acquire("sip") is None
    assert not await admission.wait_idle(0.05)
    second.release()
    assert await admission.wait_idle(0.05)
    with pytest.raises(ValueError, match="positive"):
        AdmissionController(0, metrics=False)


async def test_the_drain_deadline_ends_what_is_still_running_then_exits() -> None:
    admission = AdmissionController(5, metrics=False)
    exited = asyncio.Event()
    drain = GracefulDrain(admission, deadline=0.2, grace=1, on_exit=exited.set)
    quick, slow = admission.try_acquire(), admission.try_acquire()
    assert quick is not None and slow is not None

    async def call(slot: Any, seconds: float) -> str | None:
        try:
            return await slot.until_deadline(asyncio.sleep(seconds, "finished"))
        finally:
            slot.release()

    calls = [asyncio.ensure_future(call(quick, 0.05)), asyncio.ensure_future(call(slow, 30))]
    drain.begin()
    assert drain.state == "serving" or admission.draining
    await asyncio.wait_for(exited.wait(), 5)
    assert await asyncio.gather(*calls) == ["finished", None]  # the slow one hit the deadline
    assert drain.state == "exiting" and admission.active == 0
