"""A phone agent behind a SIP trunk: webhook -> verify -> accept -> attach -> talk -> hang up.

OpenAI posts ``realtime.call.incoming`` to ``POST /openai/webhook``. The app verifies the
signature, answers ``200`` at once (repeated deliveries too), and in a background task accepts
the call with ``OpenAIRealtimeSIP.build_initial_config`` (the same config the session sends when
it attaches), attaches ``RealtimeSession(agent, transport="sip")`` by ``call_id``, greets the
caller first, runs the tool calls, and cleans up when the call ends.

Run it all offline against the emulator, in one command::

    python plugins/sip/examples/phone_agent.py --demo

Or serve it and ring it from another terminal (the emulator prints the settings to use)::

    OPENAI_API_KEY=sk-test OPENAI_BASE_URL=http://127.0.0.1:8765/v1 \\
    OPENAI_WEBHOOK_SECRET=whsec_cmVhbHRpbWUtdHJhbnNwb3J0LWVtdWxhdG9y \\
        uvicorn --app-dir plugins/sip/examples --factory phone_agent:create_app --port 8000
    realtime-transport emulator sip-call http://127.0.0.1:8000/openai/webhook \\
        --script plugins/sip/examples/script.json

Operations (docs/deploying.md): ``create_app`` reads MAX_SESSIONS (calls past it are rejected
with SIP 486 Busy Here, 503 while draining) and DRAIN_DEADLINE_SECONDS (live calls finish after
SIGTERM), and serves /metrics (PROMETHEUS_MULTIPROC_DIR for several workers), /ready and /live.

Against OpenAI: set OPENAI_API_KEY and OPENAI_WEBHOOK_SECRET, expose the app over HTTPS, and
subscribe the URL to ``realtime.call.incoming`` in the project's webhook settings.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from realtime_transport import RealtimeAgent, RealtimeSession, function_tool
from realtime_transport.ops import (
    AdmissionController,
    AdmissionSlot,
    GracefulDrain,
    OpsMiddleware,
    instrument,
)
from realtime_transport_sip import (
    CallGoneError,
    IncomingCall,
    IncomingCallVerifier,
    OpenAIRealtimeSIP,
    SipCallControl,
    WebhookError,
    WebhookEventTypeError,
)
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

logger = logging.getLogger("phone_agent")

HERE = Path(__file__).resolve().parent


@function_tool
def get_weather(city: str) -> str:
    """Get the current weather for a city.

    Args:
        city: The city name, for example "Paris".
    """
    return f"{city}: sunny, 22 °C"


def receptionist() -> RealtimeAgent:
    return RealtimeAgent(
        "Receptionist",
        instructions="You answer the weather line. Greet the caller, use get_weather, be brief.",
        tools=[get_weather],
        voice="marin",
    )


#: RealtimeSession options; the accept body is built from the same ones.
SESSION_OPTIONS: dict[str, Any] = {
    "config": {
        "audio": {"input": {"turn_detection": {"type": "server_vad", "silence_duration_ms": 500}}}
    },
}


@dataclass
class CallLog:
    """What happened on one call (kept for logs and tests)."""

    call_id: str
    caller: str | None
    accepted: bool = False
    ended_reason: str | None = None
    replies: list[str] = field(default_factory=list)
    tools: list[str] = field(default_factory=list)
    dtmf: list[str] = field(default_factory=list)


class PhoneAgent:
    """The webhook endpoint and the calls it runs (one background task per call)."""

    def __init__(
        self,
        agent: RealtimeAgent,
        *,
        calls: SipCallControl | None = None,
        verifier: IncomingCallVerifier | None = None,
        session_options: Mapping[str, Any] = SESSION_OPTIONS,
        max_call_seconds: float = 3600,
        admission: AdmissionController | None = None,
        drain: GracefulDrain | None = None,
        metrics: bool = False,
    ) -> None:
        self.agent = agent
        self.calls = calls or SipCallControl()
        self.verifier = verifier or IncomingCallVerifier(client=self.calls.client)
        self.session_options = dict(session_options)
        self.max_call_seconds = max_call_seconds
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.log: list[CallLog] = []
        self.admission = admission
        self.metrics = metrics
        ops = admission is not None or drain is not None or metrics
        self.app = Starlette(
            routes=[Route("/openai/webhook", self.webhook, methods=["POST"])],
            lifespan=self.lifespan,
            middleware=[
                Middleware(OpsMiddleware, admission=admission, drain=drain, metrics=metrics)
            ]
            if ops
            else [],
        )

    async def webhook(self, request: Request) -> Response:
        try:
            call = self.verifier.verify(await request.body(), request.headers)
        except WebhookEventTypeError:
            return Response(status_code=200)  # another event type: not ours
        except WebhookError as exc:
            logger.warning("refused a webhook: %s", exc)
            return JSONResponse({"error": str(exc)}, status_code=400)
        if call is None:
            return Response(status_code=200)  # a repeated delivery, already being handled
        slot = self.admission.try_acquire("sip") if self.admission is not None else None
        if self.admission is not None and slot is None:  # 486 Busy Here; 503 while draining
            status = 503 if self.admission.draining else 486
            task = asyncio.get_running_loop().create_task(self.refuse(call, status))
        else:
            task = asyncio.get_running_loop().create_task(self.run_call(call, slot))
        self.tasks[call.call_id] = task
        task.add_done_callback(lambda _t: self.tasks.pop(call.call_id, None))
        return Response(status_code=200)  # fast: the call runs in the background

    async def refuse(self, call: IncomingCall, status: int) -> None:
        self.log.append(
            CallLog(call.call_id, call.header("From"), ended_reason=f"refused {status}")
        )
        with contextlib.suppress(CallGoneError):
            await self.calls.reject(call.call_id, status_code=status)

    async def run_call(self, call: IncomingCall, slot: AdmissionSlot | None = None) -> None:
        try:
            await self._run_call(call, slot)
        finally:
            if slot is not None:
                slot.release()

    async def _run_call(self, call: IncomingCall, slot: AdmissionSlot | None) -> None:
        record = CallLog(call.call_id, call.header("From"))
        self.log.append(record)
        try:
            config = await OpenAIRealtimeSIP.build_initial_config(self.agent, self.session_options)
            await self.calls.accept(call.call_id, config)
        except CallGoneError:
            record.ended_reason = "the caller hung up before we answered"
            return
        record.accepted = True
        session = RealtimeSession(
            self.agent,
            transport="sip",
            transport_options={"base_url": str(self.calls.client.base_url)},
            **self.session_options,
        )
        ended = asyncio.Event()

        def on_disconnected(event: Any) -> None:
            record.ended_reason = record.ended_reason or event.reason  # keep "drain deadline"
            ended.set()

        session.on("disconnected", on_disconnected)
        session.on("agent_end", lambda event: record.replies.append(event.output))
        session.on("agent_tool_start", lambda event: record.tools.append(event.tool.name))
        session.on("dtmf", lambda event: record.dtmf.append(event.digit))
        if self.metrics:
            instrument(session, transport="sip")
        try:
            await session.connect(call_id=call.call_id, api_key=self.calls.client.api_key)
            session.transport.request_response()  # greet first
            if slot is None:
                await asyncio.wait_for(ended.wait(), self.max_call_seconds)
            else:  # draining: the call goes on until it ends or the drain deadline
                slot.attach(session)
                await asyncio.wait_for(slot.until_deadline(ended.wait()), self.max_call_seconds)
                if slot.deadline_reached and not ended.is_set():
                    record.ended_reason = "drain deadline"
                    with contextlib.suppress(CallGoneError):
                        await self.calls.hangup(call.call_id)
        except CallGoneError:  # on attach: the caller hung up in between
            record.ended_reason = "the caller hung up before the session attached"
        except asyncio.TimeoutError:
            with contextlib.suppress(CallGoneError):
                await self.calls.hangup(call.call_id)
        except Exception:
            logger.exception("call %s failed", call.call_id)
        finally:
            await session.close()
            logger.info("call %s ended: %s", call.call_id, record.ended_reason)

    async def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait (bounded) until every call task has finished."""
        if self.tasks:
            await asyncio.wait_for(asyncio.gather(*self.tasks.values()), timeout)

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        yield
        for task in list(self.tasks.values()):  # server shutdown: end the calls in progress
            task.cancel()
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)


def create_app() -> Starlette:
    """For ``uvicorn --factory phone_agent:create_app`` (reads the ``OPENAI_*`` variables)."""
    import os

    admission = AdmissionController(int(os.environ.get("MAX_SESSIONS", "100")))
    drain = GracefulDrain(admission, float(os.environ.get("DRAIN_DEADLINE_SECONDS", "30")))
    return PhoneAgent(receptionist(), admission=admission, drain=drain, metrics=True).app


async def demo(pace: str = "realtime") -> int:
    """The whole flow offline: emulator + this app on uvicorn + one simulated call."""
    import uvicorn
    from realtime_transport_emulator import Emulator, SipSimulator

    sip = SipSimulator()
    async with Emulator(script=HERE / "script.json", pace=pace, surfaces=[sip.install]) as emu:  # type: ignore[arg-type]
        phone = PhoneAgent(
            receptionist(),
            calls=SipCallControl(api_key="sk-emulator", base_url=emu.base_url),
            verifier=IncomingCallVerifier(sip.webhook_secret),
        )
        server = uvicorn.Server(
            uvicorn.Config(phone.app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
        )
        serving = asyncio.get_running_loop().create_task(server.serve())
        try:
            for _ in range(200):
                if server.started:
                    break
                await asyncio.sleep(0.025)
            port = server.servers[0].sockets[0].getsockname()[1]
            print(f"phone agent on http://127.0.0.1:{port}/openai/webhook; ringing it…")
            result = await sip.call(
                f"http://127.0.0.1:{port}/openai/webhook",
                caller_says=["What's the weather in Paris?"],
                duplicate_delivery=True,
                log=lambda line: print(f"  {line}"),
            )
            await phone.wait_idle()
        finally:
            server.should_exit = True
            await asyncio.wait_for(serving, 10)
    for record in phone.log:
        print(f"call {record.call_id} from {record.caller}: tools {record.tools}")
        print(f"  ended: {record.ended_reason}")
    return 0 if result.answered and result.said else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--demo", action="store_true", help="run one call offline on the emulator")
    parser.add_argument("--fast", action="store_true", help="with --demo: no real-time pacing")
    parser.add_argument("--port", type=int, default=8000, help="without --demo: port to serve")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.demo:
        return asyncio.run(demo("fast" if args.fast else "realtime"))
    import uvicorn

    uvicorn.run(create_app(), host="127.0.0.1", port=args.port)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
