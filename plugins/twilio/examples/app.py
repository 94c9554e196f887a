"""A phone agent: Twilio calls -> this Starlette app -> the Realtime API (or the emulator).

    POST /voice         Twilio's incoming-call webhook: checks X-Twilio-Signature, answers TwiML
                        that connects the call to the media stream below.
    WS   /media-stream  The media stream: checks the upgrade's signature *before* opening any
                        Realtime session, then runs RealtimeSession(agent, transport="twilio")
                        until Twilio sends stop or the caller hangs up.

Run against the emulator (no Twilio account, no OpenAI key), three terminals:

    realtime-transport emulator --port 8765
    TWILIO_AUTH_TOKEN=test-token PUBLIC_ORIGIN=https://voice.example.test \\
        OPENAI_REALTIME_URL=ws://127.0.0.1:8765/v1/realtime OPENAI_API_KEY=sk-test \\
        python plugins/twilio/examples/app.py
    realtime-transport emulator twilio-call http://127.0.0.1:8000/voice \\
        --auth-token test-token --public-origin https://voice.example.test --say "hello"

Operations (docs/deploying.md): MAX_SESSIONS caps concurrent calls in each worker (a busy
<Reject> past it), DRAIN_DEADLINE_SECONDS lets live calls finish after SIGTERM, /metrics (with
PROMETHEUS_MULTIPROC_DIR set for several workers), /ready and /live are served. Several workers:

    uvicorn --app-dir plugins/twilio/examples --factory app:app_from_env --workers 2

For real calls set PUBLIC_ORIGIN to the https origin Twilio reaches (your tunnel or domain), your
real TWILIO_AUTH_TOKEN and OPENAI_API_KEY, and point the number's voice webhook at /voice.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from typing import Any

from realtime_transport import RealtimeAgent, RealtimeSession, function_tool
from realtime_transport.ops import AdmissionController, GracefulDrain, OpsMiddleware, instrument
from realtime_transport_twilio import (
    InvalidTwilioSignatureError,
    TwilioSignatureValidator,
    public_url,
    stream_twiml,
)
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

logger = logging.getLogger("twilio_example")


@function_tool
def get_weather(city: str) -> str:
    """Get the current weather for a city.

    Args:
        city: The city name, for example "Paris".
    """
    return f"{city}: sunny, 22 degrees"


def default_agent() -> RealtimeAgent:
    billing = RealtimeAgent(
        "Billing", instructions="You answer billing questions on the phone. Be brief."
    )
    return RealtimeAgent(
        "Receptionist",
        instructions="You answer the phone. Use get_weather for weather; hand billing "
        "questions to the billing agent. Be brief.",
        tools=[get_weather],
        handoffs=[billing],
    )


def create_app(
    *,
    auth_token: str,
    public_origin: str,
    realtime_url: str | None = None,
    api_key: str | None = None,
    agent_factory: Callable[[], RealtimeAgent] = default_agent,
    greeting: str | None = None,
    on_session: Callable[[RealtimeSession], Any] | None = None,
    admission: AdmissionController | None = None,
    drain: GracefulDrain | None = None,
    metrics: bool = False,
) -> Starlette:
    """The app. ``on_session`` sees each call's session (tests hook their listeners here).

    ``admission`` refuses calls past its limit or while draining (a busy ``<Reject>`` on the
    webhook, HTTP 503 on the stream upgrade); ``drain`` drains on SIGTERM; ``metrics`` serves
    ``/metrics`` and counts every call (``/ready`` and ``/live`` come with any of the three).
    """
    validator = TwilioSignatureValidator(auth_token, public_origin=public_origin)
    stream_url = public_url(public_origin, "/media-stream", websocket=True)
    active: set[RealtimeSession] = set()

    async def voice(request: Request) -> Response:
        form = await request.form()
        try:
            validator.validate_webhook(request.url.path, request.url.query, form, request.headers)
        except InvalidTwilioSignatureError as exc:
            logger.warning("voice webhook refused: %s", exc)
            return PlainTextResponse("invalid Twilio signature", status_code=403)
        refusal = admission.refusal() if admission is not None else None
        if admission is not None and refusal is not None:
            from twilio.twiml.voice_response import VoiceResponse

            admission.count_refusal("twilio", refusal)  # the caller hears a busy tone
            return Response(
                str(VoiceResponse().reject(reason="busy")), media_type="application/xml"
            )
        twiml = stream_twiml(
            stream_url,
            parameters={
                "caller": str(form.get("From") or ""),
                "call_sid": str(form.get("CallSid") or ""),
            },
            say=greeting,
        )
        return Response(twiml, media_type="application/xml")

    async def media_stream(websocket: WebSocket) -> None:
        try:
            validator.validate_stream_upgrade(websocket.url.path, websocket.headers)
        except InvalidTwilioSignatureError as exc:
            logger.warning("media stream refused: %s", exc)
            await websocket.close(code=1008)  # before accept: the upgrade gets HTTP 403
            return
        slot = admission.try_acquire("twilio") if admission is not None else None
        if admission is not None and slot is None:
            await websocket.send_denial_response(PlainTextResponse("busy", status_code=503))
            return
        await websocket.accept()
        session = RealtimeSession(
            agent_factory(),
            transport="twilio",
            transport_options={"twilio_websocket": websocket},
        )
        transport: Any = session.transport
        active.add(session)
        if metrics:
            instrument(session, transport="twilio")
        try:
            if on_session is not None:
                on_session(session)
            await session.connect(api_key=api_key, url=realtime_url)
            if slot is None:
                await transport.wait_stream_end()
            else:  # draining: the call goes on until it ends or the drain deadline
                slot.attach(session)
                await slot.until_deadline(transport.wait_stream_end())
        except Exception:
            logger.exception("call failed")
        finally:
            await session.close()
            await transport.twilio_websocket.close()
            active.discard(session)
            if slot is not None:
                slot.release()

    ops = admission is not None or drain is not None or metrics
    app = Starlette(
        routes=[
            Route("/voice", voice, methods=["POST"]),
            WebSocketRoute("/media-stream", media_stream),
        ],
        middleware=[Middleware(OpsMiddleware, admission=admission, drain=drain, metrics=metrics)]
        if ops
        else [],
    )
    app.state.active_sessions = active
    return app


def app_from_env() -> Starlette:
    """For ``uvicorn --factory app:app_from_env`` (one app per worker), from the environment."""
    admission = AdmissionController(int(os.environ.get("MAX_SESSIONS", "100")))
    drain = GracefulDrain(admission, float(os.environ.get("DRAIN_DEADLINE_SECONDS", "30")))
    return create_app(
        auth_token=os.environ["TWILIO_AUTH_TOKEN"],
        public_origin=os.environ["PUBLIC_ORIGIN"],
        realtime_url=os.environ.get("OPENAI_REALTIME_URL"),
        api_key=os.environ.get("OPENAI_API_KEY"),
        greeting=os.environ.get("GREETING", "Connecting you to the assistant.") or None,
        admission=admission,
        drain=drain,
        metrics=True,
    )


def main() -> None:
    import uvicorn

    logging.basicConfig(level=logging.INFO)
    app = app_from_env()
    uvicorn.run(
        app, host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", "8000"))
    )


if __name__ == "__main__":
    asyncio.set_event_loop_policy(None)
    main()
