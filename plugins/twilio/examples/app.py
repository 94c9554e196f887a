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
from realtime_transport_twilio import (
    InvalidTwilioSignatureError,
    TwilioSignatureValidator,
    public_url,
    stream_twiml,
)
from starlette.applications import Starlette
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
) -> Starlette:
    """The app. ``on_session`` sees each call's session (tests hook their listeners here)."""
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
        await websocket.accept()
        session = RealtimeSession(
            agent_factory(),
            transport="twilio",
            transport_options={"twilio_websocket": websocket},
        )
        transport: Any = session.transport
        active.add(session)
        try:
            if on_session is not None:
                on_session(session)
            await session.connect(api_key=api_key, url=realtime_url)
            await transport.wait_stream_end()
        except Exception:
            logger.exception("call failed")
        finally:
            await session.close()
            await transport.twilio_websocket.close()
            active.discard(session)

    app = Starlette(
        routes=[
            Route("/voice", voice, methods=["POST"]),
            WebSocketRoute("/media-stream", media_stream),
        ]
    )
    app.state.active_sessions = active
    return app


def main() -> None:
    import uvicorn

    logging.basicConfig(level=logging.INFO)
    app = create_app(
        auth_token=os.environ["TWILIO_AUTH_TOKEN"],
        public_origin=os.environ["PUBLIC_ORIGIN"],
        realtime_url=os.environ.get("OPENAI_REALTIME_URL"),
        api_key=os.environ.get("OPENAI_API_KEY"),
        greeting="Connecting you to the assistant.",
    )
    uvicorn.run(
        app, host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", "8000"))
    )


if __name__ == "__main__":
    asyncio.set_event_loop_policy(None)
    main()
