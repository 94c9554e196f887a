"""A plain ``websockets`` client for driving the emulator in tests (not our transports)."""

from __future__ import annotations

import asyncio
import base64
import functools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from realtime_transport_emulator import Emulator
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

KEY = "sk-test"
TIMEOUT = 5.0


class Client:
    """Sends client events, receives server events as dicts, keeps everything it received."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.received: list[dict[str, Any]] = []

    async def send(self, event: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(event))

    async def recv(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.ws.recv(), timeout)
        event: dict[str, Any] = json.loads(raw)
        self.received.append(event)
        return event

    async def until(self, event_type: str, timeout: float = TIMEOUT) -> list[dict[str, Any]]:
        """Every event up to and including the next one of ``event_type``."""
        events = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = await self.recv(max(0.01, deadline - loop.time()))
            events.append(event)
            if event["type"] == event_type:
                return events

    async def append(self, audio: bytes, chunk: int = 4800) -> None:
        for offset in range(0, len(audio), chunk):
            piece = base64.b64encode(audio[offset : offset + chunk]).decode()
            await self.send({"type": "input_audio_buffer.append", "audio": piece})

    async def ask(self, text: str, **response: Any) -> None:
        """A user text message plus ``response.create`` (with ``response`` overrides, if any)."""
        await self.send(user_text(text))
        create: dict[str, Any] = {"type": "response.create"}
        if response:
            create["response"] = response
        await self.send(create)

    async def say(self, text: str, *, output: str = "text") -> list[dict[str, Any]]:
        """:meth:`ask` in one output modality; returns the events through ``response.done``."""
        await self.ask(text, output_modalities=[output])
        return await self.until("response.done")


def create_item(**item: Any) -> dict[str, Any]:
    return {"type": "conversation.item.create", "item": item}


def user_text(text: str, **item: Any) -> dict[str, Any]:
    content = [{"type": "input_text", "text": text}]
    return create_item(type="message", role="user", content=content, **item)


def function_output(call_id: str, output: str = "{}") -> dict[str, Any]:
    return create_item(type="function_call_output", call_id=call_id, output=output)


def session_update(
    *, input: dict[str, Any] | None = None, output: dict[str, Any] | None = None, **session: Any
) -> dict[str, Any]:
    """A GA ``session.update``; ``input``/``output`` go to ``session.audio``."""
    audio = {name: value for name, value in (("input", input), ("output", output)) if value}
    body: dict[str, Any] = {"type": "realtime", **session}
    if audio:
        body["audio"] = audio
    return {"type": "session.update", "session": body}


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


def audio_of(events: list[dict[str, Any]]) -> bytes:
    return b"".join(
        base64.b64decode(e["delta"]) for e in events if e["type"] == "response.output_audio.delta"
    )


@asynccontextmanager
async def connect(
    emulator: Emulator,
    *,
    key: str | None = KEY,
    url: str | None = None,
    skip_created: bool = True,
    **kwargs: Any,
) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    headers.update(kwargs.pop("additional_headers", {}))
    ws = await ws_connect(
        url or emulator.realtime_url(), additional_headers=headers, open_timeout=5, **kwargs
    )
    try:
        client = Client(ws)
        if skip_created:
            created = await client.recv()
            assert created["type"] == "session.created", created
        yield client
    finally:
        await drain_and_close(ws)


async def drain_and_close(ws: ClientConnection) -> None:
    """Close, reading whatever the server still streams (else both sides' buffers stay full)."""
    closer = asyncio.create_task(ws.close())
    try:
        while True:
            await asyncio.wait_for(ws.recv(), TIMEOUT)
    except (ConnectionClosed, asyncio.TimeoutError):
        pass
    await closer


# The session object in session.created/.updated is typed by openai as the *request* model,
# which lacks the fields the server adds (protocols.md §2.1: id, object, expires_at).
_SERVER_ADDED = {
    ("session.created", "session.id"),
    ("session.created", "session.object"),
    ("session.created", "session.expires_at"),
    ("session.updated", "session.id"),
    ("session.updated", "session.object"),
    ("session.updated", "session.expires_at"),
}
_BETA_TYPES = {
    "response.audio.delta",
    "response.audio.done",
    "response.audio_transcript.delta",
    "response.audio_transcript.done",
    "response.text.delta",
    "response.text.done",
    "conversation.item.created",
}


@functools.lru_cache(maxsize=1)
def _openai_adapter() -> Any:
    from openai.types.realtime import RealtimeServerEvent
    from pydantic import TypeAdapter

    return TypeAdapter(RealtimeServerEvent)


def _extra_fields(value: Any, path: str, found: list[str]) -> None:
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        for key in value.model_extra or {}:
            found.append(f"{path}.{key}" if path else key)
        for name in type(value).model_fields:
            _extra_fields(getattr(value, name), f"{path}.{name}" if path else name, found)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _extra_fields(item, f"{path}[{index}]", found)
    elif isinstance(value, dict):
        for key, item in value.items():
            _extra_fields(item, f"{path}.{key}", found)


def check_server_event(event: dict[str, Any]) -> list[str]:
    """Problems with one server event ([] if it is valid GA)."""
    kind = event.get("type")
    problems: list[str] = []
    if kind in _BETA_TYPES:
        problems.append(f"{kind}: beta-era event type")
    try:
        model = _openai_adapter().validate_python(event)
    except Exception as exc:
        return [*problems, f"{kind}: not a valid openai RealtimeServerEvent: {exc}"]
    extras: list[str] = []
    _extra_fields(model, "", extras)
    for path in extras:
        if (kind, path) not in _SERVER_ADDED:
            problems.append(f"{kind}: field {path!r} is not in the GA schema")
    try:
        from realtime_transport.protocol import find_beta_fields, parse_server_event
    except ImportError:  # the core's models are optional for this check
        return problems
    try:
        parse_server_event(event)
    except Exception as exc:
        problems.append(f"{kind}: rejected by realtime_transport.protocol: {exc}")
    problems.extend(f"{kind}: beta-era field {path}" for path in find_beta_fields(event))
    return problems
