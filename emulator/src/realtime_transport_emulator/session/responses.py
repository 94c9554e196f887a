"""The life of a response: created, streamed from its own task, cancelled, finished.

:class:`Responder` keeps a session's responses in flight (at most one in the default
conversation, any number out of band), starts each one's task, and closes it with
``response.done``. What a response streams in between is :mod:`.response_stream`'s job.
Responses run in their own tasks so that ``response.cancel``, barge-in and new audio are handled
while one is playing out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from realtime_transport_emulator.model.script import Reply
from realtime_transport_emulator.session import errors
from realtime_transport_emulator.session.conversation import Item
from realtime_transport_emulator.session.items import build_item
from realtime_transport_emulator.session.options import SinkClosed
from realtime_transport_emulator.session.response_stream import ResponseStream
from realtime_transport_emulator.session.usage import input_usage, rate_limits, response_usage

if TYPE_CHECKING:
    from realtime_transport_emulator.session.session import RealtimeSession

logger = logging.getLogger("realtime_transport_emulator")


@dataclass
class Response:
    """One response's settings (fixed at ``response.create``) and its progress."""

    id: str
    number: int
    default_conversation: bool
    modalities: list[str]
    output_format: dict[str, Any]
    voice: Any
    max_output_tokens: Any
    metadata: dict[str, Any] | None
    context: list[Item]
    instructions: str
    output: list[Item] = field(default_factory=list)
    cancel_reason: str | None = None
    failure: dict[str, Any] | None = None
    incomplete_reason: str | None = None
    audio_ms: float = 0.0
    output_text_tokens: int = 0
    deltas: int = 0
    task: asyncio.Task[None] | None = None
    _sleeper: asyncio.Future[None] | None = field(default=None, repr=False)

    @property
    def stopped(self) -> bool:
        return self.cancel_reason is not None or self.failure is not None

    async def sleep(self, seconds: float) -> None:
        """Sleep, but wake up at once if the response is cancelled or fails.

        A timer and a future, not ``wait_for`` on an event: this runs for every audio delta of
        every session, and ``wait_for`` would start a task each time.
        """
        if seconds <= 0 or self.stopped:
            await asyncio.sleep(0)
            return
        loop = asyncio.get_running_loop()
        self._sleeper = sleeper = loop.create_future()
        timer = loop.call_later(seconds, _finish, sleeper)
        try:
            await sleeper
        finally:
            timer.cancel()
            self._sleeper = None

    def _wake(self) -> None:
        if self._sleeper is not None:
            _finish(self._sleeper)

    async def cancel(self, reason: str) -> None:
        """Stop the response and wait until its closing events are out (as the server does)."""
        if self.cancel_reason is None and self.failure is None:
            self.cancel_reason = reason
        self._wake()
        if self.task is not None and self.task is not asyncio.current_task():
            await asyncio.shield(self.task)

    def fail(self, error: dict[str, Any]) -> None:
        """End the response as ``failed`` with ``error`` (its streaming stops at once)."""
        self.failure = error
        self._wake()

    def outcome(self) -> tuple[str, dict[str, Any]]:
        """``response.done``'s ``status`` and ``status_details``."""
        if self.failure is not None:
            return "failed", {"type": "failed", "error": self.failure}
        if self.cancel_reason is not None:
            return "cancelled", {"type": "cancelled", "reason": self.cancel_reason}
        if self.incomplete_reason is not None:
            return "incomplete", {"type": "incomplete", "reason": self.incomplete_reason}
        return "completed", {"type": "completed"}


def _finish(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class Responder:
    """Starts, tracks, cancels and finishes the responses of one session."""

    def __init__(self, session: RealtimeSession) -> None:
        self.session = session
        self.active: Response | None = None  # the default-conversation response in flight
        self.by_id: dict[str, Response] = {}
        self.count = 0
        self.previous_input_tokens = 0  # for cached tokens in the next response's usage
        self._tasks: set[asyncio.Task[None]] = set()

    async def create(
        self,
        params: dict[str, Any],
        *,
        after_created: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """Start a response (``response.create``'s ``response`` object, or ``{}``).

        ``after_created`` runs after ``response.created`` and before any output (a VAD turn's
        transcription goes there, as on the real server).
        """
        session = self.session
        default_conversation = params.get("conversation", "auto") != "none"
        if default_conversation and self.active is not None:
            raise errors.active_response(self.active.id)
        output = session.output_config()
        override = (params.get("audio") or {}).get("output") or {}
        self.count += 1
        response = Response(
            id=session.ids.new("resp"),
            number=self.count,
            default_conversation=default_conversation,
            modalities=list(params.get("output_modalities") or session.config["output_modalities"]),
            output_format=dict(override.get("format") or output.get("format") or {}),
            voice=override.get("voice", output.get("voice")),
            max_output_tokens=params.get("max_output_tokens", session.config["max_output_tokens"]),
            metadata=params.get("metadata"),
            context=self._context(params),
            instructions=str(params.get("instructions", session.config.get("instructions") or "")),
        )
        reply, user_text = session.runner.choose(response.context)
        if default_conversation:
            self.active = response
        self.by_id[response.id] = response
        await session.send("response.created", response=self._snapshot(response, "in_progress"))
        if session.options.rate_limits:
            inputs = input_usage(response.instructions, response.context)["input_tokens"]
            await session.send("rate_limits.updated", rate_limits=rate_limits(inputs))
        if after_created is not None:
            await after_created()
        task = asyncio.get_running_loop().create_task(
            self._run(response, reply, user_text), name=f"emulator-{response.id}"
        )
        response.task = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def cancel_requested(self, response_id: str | None) -> None:
        """``response.cancel``: the named response, else the default-conversation one."""
        target = self.by_id.get(response_id) if response_id else self.active
        if target is None or target.stopped:
            raise errors.cancel_not_active()
        await target.cancel("client_cancelled")

    async def close(self) -> None:
        """Stop every response task (the connection is gone)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            try:
                await task
            except (asyncio.CancelledError, SinkClosed):
                pass
            except Exception:  # pragma: no cover - a bug in a response task
                logger.exception("response task failed")
        self.by_id.clear()
        self.active = None

    def _context(self, params: dict[str, Any]) -> list[Item]:
        """What the response reads: the conversation, or ``input`` when it is given."""
        conversation = self.session.conversation
        if "input" not in params:
            return list(conversation.items)
        context = []
        for index, raw in enumerate(params["input"]):
            if raw["type"] == "item_reference":
                context.append(conversation.get(raw["id"], f"response.input[{index}].id"))
            else:
                context.append(build_item(self.session, raw, f"response.input[{index}]"))
        return context

    def _snapshot(
        self,
        response: Response,
        status: str,
        status_details: dict[str, Any] | None = None,
        usage: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        conversation_id = self.session.conversation.id if response.default_conversation else None
        return {
            "object": "realtime.response",
            "id": response.id,
            "status": status,
            "status_details": status_details,
            "output": [item.public() for item in response.output],
            "conversation_id": conversation_id,
            "output_modalities": response.modalities,
            "max_output_tokens": response.max_output_tokens,
            "audio": {"output": {"format": response.output_format, "voice": response.voice}},
            "usage": usage,
            "metadata": response.metadata,
        }

    async def _run(self, response: Response, reply: Reply, user_text: str) -> None:
        try:
            call_ids = await ResponseStream(self.session, response).run(reply, user_text)
            if self.session.options.response_done_delay_ms > 0:
                await response.sleep(self.session.options.response_done_delay_ms / 1000)
            await self._finish(response, reply, call_ids)
        except SinkClosed:
            self._forget(response)
        except asyncio.CancelledError:
            self._forget(response)
            raise
        except Exception as exc:  # pragma: no cover - a bug; report it like the server would
            logger.exception("emulator response failed")
            response.failure = {"type": "server_error", "code": "server_error", "message": str(exc)}
            await self._finish(response, reply, [])

    def _forget(self, response: Response) -> None:
        self.by_id.pop(response.id, None)
        if self.active is response:
            self.active = None

    async def _finish(self, response: Response, reply: Reply, call_ids: list[str]) -> None:
        session = self.session
        status, details = response.outcome()
        if status == "completed":
            session.runner.expect_outputs(reply, call_ids)
        inputs = input_usage(response.instructions, response.context)
        usage = response_usage(
            inputs, self.previous_input_tokens, response.audio_ms, response.output_text_tokens
        )
        self.previous_input_tokens = inputs["input_tokens"]
        self._forget(response)
        snapshot = self._snapshot(response, status, details, usage)
        await session.send("response.done", response=snapshot)
        if status == "completed" and response.default_conversation:
            session.turns.response_played(response.audio_ms)
