"""Admission control, graceful drain and multiprocess metrics of the Twilio example app, for
real: uvicorn in a subprocess on 127.0.0.1, simulated Twilio calls (carrier simulator) in front,
the emulator behind, SIGTERM sent to the real process."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from conftest import (
    AUTH_TOKEN,
    PUBLIC_ORIGIN,
    AppProcess,
    app_process,
    caller,
    carrier,
    metric,
    model_script,
)
from realtime_transport_emulator import Emulator
from realtime_transport_emulator.surfaces.twilio_carrier import CallRecord, Silence

pytestmark = pytest.mark.timeout(90)


def _signature(url: str, params: dict[str, str]) -> str:
    from twilio.request_validator import RequestValidator

    return str(RequestValidator(AUTH_TOKEN).compute_signature(url, params))


async def voice_webhook(app: AppProcess, call_sid: str = "CA" + "f" * 32) -> httpx.Response:
    """A signed voice webhook, as Twilio posts it for a new call."""
    params = {"CallSid": call_sid, "From": "+15550001111", "To": "+15550002222"}
    headers = {"X-Twilio-Signature": _signature(f"{PUBLIC_ORIGIN}/voice", params)}
    async with httpx.AsyncClient(timeout=5) as client:
        return await client.post(app.voice_url, data=params, headers=headers)


async def stream_upgrade_status(app: AppProcess) -> int:
    """The HTTP status of a signed media-stream upgrade (101 when accepted)."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    public = PUBLIC_ORIGIN.replace("https://", "wss://") + "/media-stream"
    headers = {"X-Twilio-Signature": _signature(public, {})}
    url = app.base_url.replace("http://", "ws://") + "/media-stream"
    try:
        ws = await connect(url, additional_headers=headers, open_timeout=5)
    except InvalidStatus as exc:
        return int(exc.response.status_code)
    await ws.close()
    return 101


async def get(app: AppProcess, path: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=5) as client:
        return await client.get(app.base_url + path)


async def wait_active(app: AppProcess, count: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (await get(app, "/ready")).json().get("active") == count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never {count} active calls: {(await get(app, '/ready')).json()}")


def hold(ms: float) -> list[Silence]:
    """The caller stays on the line ``ms`` (in short steps, so an ended call stops at once)."""
    return [Silence(250)] * int(ms / 250)


async def test_past_the_limit_new_calls_are_refused_and_the_live_one_is_untouched(
    tmp_path: Path,
) -> None:
    async with (
        Emulator(script=model_script(), pace="fast") as emulator,
        app_process(emulator, tmp_path, max_sessions=1) as app,
    ):
        live = asyncio.ensure_future(
            carrier().place_call(app.voice_url, [*caller(), *hold(2500)], timeout=40)
        )
        await wait_active(app, 1)
        busy = await voice_webhook(app)
        assert busy.status_code == 200
        assert '<Reject reason="busy"' in busy.text and "<Stream" not in busy.text, busy.text
        assert await stream_upgrade_status(app) == 503
        record: CallRecord = await live
        assert record.heard_ms > 500 and record.ended_by == "stop", record
        assert record.bad_messages == []
        await wait_active(app, 0)
        assert "<Stream" in (await voice_webhook(app)).text  # capacity again
        text = (await get(app, "/metrics")).text
    assert metric(text, "realtime_sessions_refused_total", transport="twilio", reason="limit") == 2
    assert metric(text, "realtime_sessions_started_total", transport="twilio") == 1
    assert metric(text, "realtime_sessions_ended_total", transport="twilio", reason="closed") == 1
    assert metric(text, "realtime_active_sessions", transport="twilio") == 0
    assert metric(text, "realtime_tool_calls_total", transport="twilio") == 1
    assert metric(text, "realtime_turns_total", transport="twilio") >= 2
    assert metric(text, "realtime_audio_delivery_lateness_seconds_count", transport="twilio") >= 2
    assert metric(text, "realtime_event_loop_lag_seconds_count") > 0
    assert AUTH_TOKEN not in text and "sk-test" not in text


async def test_sigterm_drains_live_calls_refuses_new_ones_and_exits(tmp_path: Path) -> None:
    async with (
        Emulator(script=model_script(), pace="fast") as emulator,
        app_process(emulator, tmp_path, max_sessions=5, drain_deadline=20) as app,
    ):
        calls = [
            asyncio.ensure_future(
                carrier().place_call(
                    app.voice_url, [*hold(1000), *caller(), *hold(500)], timeout=40
                )
            )
            for _ in range(2)
        ]
        await wait_active(app, 2)
        assert (await get(app, "/ready")).status_code == 200
        signalled = time.monotonic()
        app.sigterm()
        for _ in range(40):  # not-ready within moments
            ready = await get(app, "/ready")
            if ready.status_code == 503:
                break
            await asyncio.sleep(0.05)
        assert ready.status_code == 503 and ready.json()["status"] == "draining"
        refused = await voice_webhook(app)
        assert '<Reject reason="busy"' in refused.text, refused.text
        assert await stream_upgrade_status(app) == 503
        assert not any(call.done() for call in calls), "a live call was cut by the drain"
        records = await asyncio.gather(*calls)
        finished = time.monotonic()
        code = await app.wait_exit(timeout=10)
        exited = time.monotonic()
    for record in records:  # each call ran to its natural end
        assert record.ended_by == "stop" and record.heard_ms > 500, record
    assert code in (0, -15), app.log()
    assert exited - finished < 5, "the worker did not exit once the last call ended"
    assert exited - signalled < 20, "the worker waited for the drain deadline"


async def test_the_drain_deadline_ends_calls_still_running_and_the_process_exits(
    tmp_path: Path,
) -> None:
    async with (
        Emulator(script=model_script(), pace="fast") as emulator,
        app_process(emulator, tmp_path, max_sessions=5, drain_deadline=1.5) as app,
    ):
        call = asyncio.ensure_future(
            carrier().place_call(app.voice_url, hold(30_000), timeout=60)  # a caller who stays
        )
        await wait_active(app, 1)
        signalled = time.monotonic()
        app.sigterm()
        record = await asyncio.wait_for(call, 15)
        ended = time.monotonic()
        code = await app.wait_exit(timeout=10)
        exited = time.monotonic()
    assert record.ended_by == "app" and record.close_code == 1000, record  # a clean close
    assert 1.4 < ended - signalled < 6, ended - signalled
    assert exited - signalled < 1.5 + 5 + 3  # deadline + grace + shutdown
    assert code in (0, -15)
    assert "drain deadline: ending 1 live call(s)" in app.log()


async def test_metrics_are_one_view_across_two_workers(tmp_path: Path) -> None:
    shared = tmp_path / "prometheus"
    shared.mkdir()
    async with (
        Emulator(script=model_script(), pace="fast") as emulator,
        app_process(emulator, tmp_path, workers=2, max_sessions=7, multiproc_dir=shared) as app,
    ):
        records = await asyncio.gather(
            *(carrier().place_call(app.voice_url, caller(), timeout=40) for _ in range(4))
        )
        assert all(r.heard_ms > 500 for r in records)
        views: dict[str, str] = {}
        async with httpx.AsyncClient(timeout=5) as client:
            for _ in range(200):  # fresh connections until both workers have answered
                response = await client.get(
                    app.base_url + "/metrics", headers={"connection": "close"}
                )
                views.setdefault(response.headers["x-worker-pid"], response.text)
                if len(views) == 2:
                    break
        await wait_active(app, 0)
    assert len(views) == 2, "only one worker ever answered /metrics"
    assert {str(p) for p in app.worker_pids()} == set(views)
    for text in views.values():  # whichever worker answers, the same totals
        assert metric(text, "realtime_sessions_started_total", transport="twilio") == 4
        assert metric(text, "realtime_sessions_ended_total", transport="twilio") == 4
        assert metric(text, "realtime_tool_calls_total", transport="twilio") == 4
        assert metric(text, "realtime_admission_limit") == 14  # 7 per worker, summed
    writers = {p.stem.rsplit("_", 1)[1] for p in shared.glob("*.db")}
    assert writers == set(views), writers  # both workers wrote their share (the kernel decides
    # which worker takes each call, so one of them may have served none of the four)
