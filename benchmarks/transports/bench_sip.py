"""SIP: webhook verification cost and call setup latency, ours vs the bare openai client.

    python transports/bench_sip.py            # full: writes transports/sip.md
    python transports/bench_sip.py --smoke    # a few iterations, no file, exit 0 when it worked

1. Verification: µs per delivery for ``IncomingCallVerifier.verify`` (header and timestamp
   checks, openai's ``webhooks.unwrap``, dedupe) vs ``webhooks.unwrap`` alone.
2. Setup: a signed ``realtime.call.incoming`` is posted to an app under uvicorn on 127.0.0.1;
   measured are the time to the app's ``200`` and to the session attached to the emulator by
   ``call_id``. Ours: the example app (verify, ``build_initial_config``, ``SipCallControl``
   accept, ``RealtimeSession(transport="sip")``). Bare: the same steps written directly on
   ``openai`` (``webhooks.unwrap``, ``realtime.calls.accept``) and ``websockets``.

Issue 12 sets no numeric target; the ratio to the bare baseline is the measure.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import importlib.util
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
KEY = "sk-bench-sip"
SECRET = "whsec_" + base64.b64encode(b"bench-sip-secret").decode()


def load_example() -> Any:
    path = ROOT / "plugins" / "sip" / "examples" / "phone_agent.py"
    spec = importlib.util.spec_from_file_location("phone_agent", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["phone_agent"] = module
    spec.loader.exec_module(module)
    return module


def bench_verify(iterations: int) -> tuple[float, float]:
    from openai import OpenAI
    from realtime_transport_emulator.surfaces.sip.webhook import incoming_call_body, sign
    from realtime_transport_sip import IncomingCallVerifier

    now = int(time.time())
    deliveries = []
    for index in range(iterations):
        body = incoming_call_body(
            f"evt_{index}", now, f"rtc_{index}", [{"name": "From", "value": "x"}]
        )
        webhook_id = f"wh_{index}"
        headers = {
            "webhook-id": webhook_id,
            "webhook-timestamp": str(now),
            "webhook-signature": sign(SECRET, webhook_id, now, body),
        }
        deliveries.append((body, headers))
    client = OpenAI(api_key=KEY)
    verifier = IncomingCallVerifier(SECRET, client=client, max_remembered=2 * iterations)
    client.webhooks.unwrap(*deliveries[0], secret=SECRET)  # warm both paths
    started = time.perf_counter()
    for body, headers in deliveries:
        client.webhooks.unwrap(body, headers, secret=SECRET)
    bare = (time.perf_counter() - started) / iterations * 1e6
    started = time.perf_counter()
    for body, headers in deliveries:
        assert verifier.verify(body, headers) is not None
    ours = (time.perf_counter() - started) / iterations * 1e6
    return ours, bare


def bare_app(emulator_base: str, ws_url: str) -> Any:
    """The same call setup written directly on openai + websockets (the baseline)."""
    from openai import AsyncOpenAI
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    client = AsyncOpenAI(api_key=KEY, base_url=emulator_base, webhook_secret=SECRET)
    tasks: set[asyncio.Task[None]] = set()

    async def answer(call_id: str) -> None:
        await client.realtime.calls.accept(call_id, type="realtime", instructions="Answer.")
        headers = {"Authorization": f"Bearer {KEY}"}
        async with connect(f"{ws_url}?call_id={call_id}", additional_headers=headers) as ws:
            await ws.send(json.dumps({"type": "session.update", "session": {"type": "realtime"}}))
            await ws.send(json.dumps({"type": "response.create"}))
            with contextlib.suppress(ConnectionClosed):  # the hang-up
                async for _ in ws:
                    pass

    async def webhook(request: Request) -> Response:
        event = client.webhooks.unwrap(await request.body(), request.headers)
        task = asyncio.get_running_loop().create_task(answer(event.data.call_id))  # type: ignore[union-attr]
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        return Response(status_code=200)

    return Starlette(routes=[Route("/openai/webhook", webhook, methods=["POST"])])


async def bench_setup(calls: int) -> dict[str, list[float]]:
    import httpx
    import uvicorn
    from realtime_transport_emulator import Emulator, Script, SipSimulator
    from realtime_transport_emulator.surfaces.sip.webhook import (
        incoming_call_body,
        post_delivery,
        sign,
    )
    from realtime_transport_sip import IncomingCallVerifier, SipCallControl

    example = load_example()
    results: dict[str, list[float]] = {}
    sip = SipSimulator(webhook_secret=SECRET)
    script = Script.load(ROOT / "plugins" / "sip" / "examples" / "script.json")
    async with Emulator(script=script, api_keys={KEY}, surfaces=[sip.install]) as emu:
        apps: dict[str, Callable[[], Any]] = {
            "ours": lambda: (
                example.PhoneAgent(
                    example.receptionist(),
                    calls=SipCallControl(api_key=KEY, base_url=emu.base_url, max_retries=0),
                    verifier=IncomingCallVerifier(SECRET),
                ).app
            ),
            "bare": lambda: bare_app(emu.base_url, emu.ws_url),
        }
        for name, make in apps.items():
            server = uvicorn.Server(
                uvicorn.Config(make(), host="127.0.0.1", port=0, log_level="warning")
            )
            serving = asyncio.get_running_loop().create_task(server.serve())
            while not server.started:
                await asyncio.sleep(0.01)
            url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}/openai/webhook"
            answered, attached = [], []
            http = httpx.AsyncClient(trust_env=False)  # one client, as OpenAI's sender keeps
            for index in range(calls + 1):  # the first call warms up and is not counted
                call = sip.open_call()
                now = int(time.time())
                body = incoming_call_body(f"evt_{name}_{index}", now, call.call_id, [])
                webhook_id = f"wh_{name}_{index}"
                started = time.perf_counter()
                delivery = await post_delivery(
                    url,
                    body,
                    webhook_id=webhook_id,
                    timestamp=now,
                    signature=sign(SECRET, webhook_id, now, body),
                    timeout=10,
                    signed_correctly=True,
                    client=http,
                )
                ok = await call.wait_until(lambda c=call: bool(c.sessions), 10)
                done = time.perf_counter()
                assert delivery.status == 200 and ok, (name, delivery)
                if index:
                    answered.append(delivery.seconds * 1000)
                    attached.append((done - started) * 1000)
                call.end("ended", "caller")
                emu.end_call(call.call_id)
                await call.wait_until(lambda c=call: not c.sessions, 5)
            await http.aclose()
            results[f"{name}_answered"] = answered
            results[f"{name}_attached"] = attached
            server.should_exit = True
            await asyncio.wait_for(serving, 10)
    return results


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(verify: tuple[float, float], setup: dict[str, list[float]], calls: int) -> str:
    ours_v, bare_v = verify
    rows = [
        "### sip",
        "",
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; {platform.machine()}, "
        f"{os.cpu_count()} CPUs (shared), Python {platform.python_version()}, default loop.",
        "",
        "Method: `benchmarks/transports/bench_sip.py`. Verification: µs per delivery over "
        "distinct signed deliveries. Setup: a signed webhook posted to an app under uvicorn on "
        f"127.0.0.1, {calls} calls one after another (after one warm-up), emulator at fast pace; "
        "`200` = the app's answer, `attached` = the session's socket open on the call. Issue 12 "
        "sets no numeric target.",
        "",
        "| Measure | ours | bare openai + websockets | ratio |",
        "|---|---:|---:|---:|",
        f"| verify one webhook (µs) | {ours_v:.0f} | {bare_v:.0f} (`webhooks.unwrap`) "
        f"| {ours_v / bare_v:.2f}x |",
    ]
    for label, key in (("webhook → 200", "answered"), ("webhook → attached", "attached")):
        ours, bare = setup[f"ours_{key}"], setup[f"bare_{key}"]
        for q_label, q in (("p50", 0.5), ("p95", 0.95)):
            o, b = pct(ours, q), pct(bare, q)
            rows.append(f"| {label}, {q_label} (ms) | {o:.1f} | {b:.1f} | {o / b:.2f}x |")
    rows += [
        "",
        "Ours does more per call than the baseline: it builds the accept body from the agent "
        "(`build_initial_config` runs the session's config code), and the attached session "
        "sends the full initial `session.update` with tools.",
    ]
    return "\n".join(rows) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    iterations, calls = (50, 2) if args.smoke else (5000, 40)
    verify = bench_verify(iterations)
    setup = asyncio.run(bench_setup(calls))
    text = report(verify, setup, calls)
    print(text)
    if not args.smoke:
        (HERE / "sip.md").write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
