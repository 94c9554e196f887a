"""Shared fixtures: the emulator (model side), the example app under uvicorn, the carrier."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from realtime_transport_emulator import Emulator
from realtime_transport_emulator.model.script import FunctionCall, Reply, Rule, Script

AUTH_TOKEN = "test-auth-token-0123456789"
PUBLIC_ORIGIN = "https://voice.example.test"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load_example_app() -> Any:
    spec = importlib.util.spec_from_file_location("twilio_example_app", EXAMPLES / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("twilio_example_app", module)
    spec.loader.exec_module(module)
    return module


LONG_STORY = (
    "Once upon a time, in a small town by the sea, there lived an old fisherman who told long "
    "stories to anyone who would listen, and this is one of them, told slowly and with care."
)

RULES = [
    Rule(
        contains="weather",
        reply=Reply(
            text="Let me check.",
            function_calls=[FunctionCall("get_weather", {"city": "Paris"})],
            then=Reply(text="It is sunny in Paris."),
        ),
    ),
    Rule(
        contains="billing",
        reply=Reply(
            function_calls=[FunctionCall("transfer_to_billing", {})],
            then=Reply(text="Billing here, how can I help?"),
        ),
    ),
    Rule(contains="story", reply=Reply(text=LONG_STORY)),
]


def call_script(*transcripts: str) -> Script:
    """The model of these tests; ``transcripts`` are what it hears the caller say, in turn."""
    return Script(rules=RULES, default=Reply(text="Sure."), transcripts=transcripts)


async def serve(app: Any) -> tuple[Any, asyncio.Task[None], int]:
    import uvicorn

    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.get_running_loop().create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    assert server.started, "uvicorn did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, task, port


@dataclass
class Stack:
    emulator: Emulator
    app: Any
    voice_url: str
    sessions: list[Any] = field(default_factory=list)
    events: list[tuple[str, Any]] = field(default_factory=list)

    def transport_events(self, name: str) -> list[Any]:
        return [payload for kind, payload in self.events if kind == name]


@contextlib.asynccontextmanager
async def running_stack(
    script: Script, *, on_session: Callable[[Any], None] | None = None, **emu: Any
) -> AsyncIterator[Stack]:
    example = load_example_app()
    async with Emulator(script=script, **emu) as emulator:
        stack = Stack(emulator, None, "")

        def hook(session: Any) -> None:
            stack.sessions.append(session)
            transport = session.transport
            for name in ("audio_interrupted", "dtmf", "error", "*"):
                transport.on(name, lambda payload, name=name: stack.events.append((name, payload)))
            if on_session is not None:
                on_session(session)

        app = example.create_app(
            auth_token=AUTH_TOKEN,
            public_origin=PUBLIC_ORIGIN,
            realtime_url=emulator.ws_url,
            api_key="sk-test",
            on_session=hook,
        )
        stack.app = app
        server, task, port = await serve(app)
        stack.voice_url = f"http://127.0.0.1:{port}/voice"
        try:
            yield stack
        finally:
            server.should_exit = True
            await asyncio.wait_for(task, 10)
