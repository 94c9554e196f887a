"""A recording fake transport for exact-timing tests of sessions and of code built on them.

:class:`FakeTransport` implements :class:`~realtime_transport.RealtimeTransportLayer` without a
network: every call is recorded in :attr:`FakeTransport.calls`, and tests play the server by
emitting transport events with the ``emit_*`` helpers (or :meth:`emit` directly). Nothing runs
in the background, so a test controls exactly when each event happens.

    transport = FakeTransport()
    session = RealtimeSession(agent, transport=transport)
    await session.connect()
    transport.emit_turn_started("resp_1")
    transport.emit_function_call("get_weather", '{"city": "Oslo"}', response_id="resp_1")
    await transport.wait_for_call("send_function_call_output")
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..errors import UnsupportedOperationError
from ..events import (
    AudioDoneEvent,
    AudioEvent,
    AudioInterruptedEvent,
    DtmfEvent,
    ErrorEvent,
    FunctionCallEvent,
    ItemDeletedEvent,
    OutputTextDeltaEvent,
    RealtimeItem,
    RealtimeMessageItem,
    RealtimeToolCallItem,
    SessionUpdateResult,
    TranscriptDeltaEvent,
    TurnDoneEvent,
    TurnStartedEvent,
    Usage,
)
from ..openai.items import answered_call_item
from ..transport import (
    ApiKey,
    RealtimeTransportLayer,
    SessionConfigLike,
    TransportCapabilities,
    config_as_dict,
)

__all__ = ["FakeTransport", "RecordedCall"]


class RecordedCall(NamedTuple):
    """One call made on a :class:`FakeTransport`."""

    name: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]


@dataclass
class _Waiter:
    name: str
    count: int
    future: asyncio.Future[RecordedCall]


@dataclass
class _Counters:
    item: int = 0
    call: int = 0
    response: int = 0
    waiters: list[_Waiter] = field(default_factory=list)


class FakeTransport(RealtimeTransportLayer):
    """Records calls; emits only what the test tells it to.

    ``connect_error`` makes ``connect()`` raise it. ``echo_function_outputs`` (default on) makes
    ``send_function_call_output`` emit the completed ``item_update`` like the OpenAI transports.
    ``supports_mute`` makes ``mute()`` work (as on WebRTC) instead of raising.
    ``reject_session_updates`` (a message) makes the "server" refuse every ``session.update``.
    """

    def __init__(
        self,
        *,
        connect_error: BaseException | None = None,
        echo_function_outputs: bool = True,
        supports_mute: bool = False,
        capabilities: TransportCapabilities | None = None,
    ) -> None:
        super().__init__()
        self.calls: list[RecordedCall] = []
        self.connect_error = connect_error
        self.echo_function_outputs = echo_function_outputs
        self._supports_mute = supports_mute
        self._muted: bool | None = False if supports_mute else None
        self._counters = _Counters()
        self.capabilities = capabilities or TransportCapabilities(supports_mute=supports_mute)
        self.reject_session_updates: str | None = None
        self._session_update_count = 0

    # -- recording ----------------------------------------------------------------------------

    def _record(self, name: str, *args: Any, **kwargs: Any) -> None:
        call = RecordedCall(name, args, kwargs)
        self.calls.append(call)
        count = sum(1 for c in self.calls if c.name == name)
        for waiter in list(self._counters.waiters):
            if waiter.name == name and count >= waiter.count and not waiter.future.done():
                waiter.future.set_result(call)
                self._counters.waiters.remove(waiter)

    def calls_named(self, name: str) -> list[RecordedCall]:
        """Every recorded call of one method, in order."""
        return [c for c in self.calls if c.name == name]

    @property
    def call_names(self) -> list[str]:
        return [c.name for c in self.calls]

    @property
    def sent_events(self) -> list[dict[str, Any]]:
        """The events passed to ``send_event``."""
        return [dict(c.args[0]) for c in self.calls if c.name == "send_event"]

    def clear_calls(self) -> None:
        self.calls.clear()

    async def wait_for_call(
        self, name: str, *, count: int = 1, timeout: float = 5.0
    ) -> RecordedCall:
        """Wait until ``name`` was called ``count`` times in total; returns that call."""
        made = self.calls_named(name)
        if len(made) >= count:
            return made[count - 1]
        future: asyncio.Future[RecordedCall] = asyncio.get_running_loop().create_future()
        waiter = _Waiter(name, count, future)
        self._counters.waiters.append(waiter)
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            if waiter in self._counters.waiters:
                self._counters.waiters.remove(waiter)

    # -- the contract ---------------------------------------------------------------------------

    @property
    def muted(self) -> bool | None:
        return self._muted

    async def connect(
        self,
        *,
        api_key: ApiKey | None = None,
        model: str | None = None,
        url: str | None = None,
        call_id: str | None = None,
        initial_session_config: SessionConfigLike | None = None,
    ) -> None:
        self._record(
            "connect",
            api_key=api_key,
            model=model,
            url=url,
            call_id=call_id,
            initial_session_config=initial_session_config,
        )
        self._set_status("connecting")
        await asyncio.sleep(0)
        if self.connect_error is not None:
            self._set_status("disconnected", "connect failed")
            raise self.connect_error
        self._set_status("connected")

    async def close(self) -> None:
        self._record("close")
        self._mark_closed()
        running = self._running_listener_tasks()
        self._set_status("disconnected", "closed by the client")
        await self._cancel_listener_tasks(running)

    def send_event(self, event: Mapping[str, Any]) -> None:
        self._require_connected("send_event")
        self._record("send_event", dict(event))

    def send_audio(self, data: bytes, *, commit: bool = False) -> None:
        if self._audio_may_go():
            self._record("send_audio", data, commit=commit)

    def send_message(
        self,
        message: str | Sequence[Mapping[str, Any]],
        other_event_data: Mapping[str, Any] | None = None,
        *,
        trigger_response: bool = True,
    ) -> None:
        self._require_connected("send_message")
        self._record("send_message", message, other_event_data, trigger_response=trigger_response)

    def add_image(self, image: str, *, trigger_response: bool = True) -> None:
        self._require_connected("add_image")
        self._record("add_image", image, trigger_response=trigger_response)

    def update_session_config(
        self, config: SessionConfigLike, *, event_id: str | None = None
    ) -> None:
        """Recorded, then answered at once: applied, or refused with ``reject_session_updates``
        (a server ``error`` event, then ``session_update_done`` with ``ok=False``)."""
        self._require_connected("update_session_config")
        self._record("update_session_config", config_as_dict(config))
        self._session_update_count += 1
        event_id = event_id or f"fake_session_update_{self._session_update_count}"
        if self.reject_session_updates is None:
            self.emit("session_update_done", SessionUpdateResult(event_id, True))
            return
        failure = ErrorEvent(
            message=f"server error: {self.reject_session_updates}",
            source="server",
            code="invalid_value",
        )
        self.emit("error", failure)
        self.emit("session_update_done", SessionUpdateResult(event_id, False, failure))

    def send_function_call_output(
        self, call: FunctionCallEvent, output: str, *, start_response: bool = True
    ) -> None:
        self._require_connected("send_function_call_output")
        self._record("send_function_call_output", call, output, start_response=start_response)
        if self.echo_function_outputs:
            self.emit("item_update", answered_call_item(call, output))

    def request_response(self, response: Mapping[str, Any] | None = None) -> None:
        self._require_connected("request_response")
        self._record("request_response", response)

    def interrupt(self, *, cancel_ongoing_response: bool = True) -> None:
        self._record("interrupt", cancel_ongoing_response=cancel_ongoing_response)

    def mute(self, muted: bool) -> None:
        self._record("mute", muted)
        if not self._supports_mute:
            raise UnsupportedOperationError("mute() is not supported by this FakeTransport")
        self._muted = muted

    def reset_history(
        self, old_history: Sequence[RealtimeItem], new_history: Sequence[RealtimeItem]
    ) -> None:
        self._require_connected("reset_history")
        self._record("reset_history", list(old_history), list(new_history))

    def send_mcp_response(
        self, approval_item_id: str, approved: bool, reason: str | None = None
    ) -> None:
        self._require_connected("send_mcp_response")
        self._record("send_mcp_response", approval_item_id, approved, reason)

    # -- playing the server ---------------------------------------------------------------------

    def _next(self, kind: str) -> str:
        counters = self._counters
        if kind == "item":
            counters.item += 1
            return f"item_{counters.item}"
        if kind == "call":
            counters.call += 1
            return f"call_{counters.call}"
        counters.response += 1
        return f"resp_{counters.response}"

    def emit_turn_started(self, response_id: str | None = None) -> str:
        """``turn_started`` for a new (or given) response id; returns the id."""
        response_id = response_id or self._next("response")
        self.emit(
            "turn_started",
            TurnStartedEvent(
                response_id,
                {"type": "response.created", "response": {"id": response_id}},
            ),
        )
        return response_id

    def emit_turn_done(
        self,
        response_id: str,
        *,
        output: Sequence[Mapping[str, Any]] = (),
        usage: Mapping[str, Any] | None = None,
        status: str = "completed",
    ) -> None:
        """``usage_update`` then ``turn_done``, as the OpenAI transports do."""
        wire_usage = dict(usage or {})
        parsed = Usage.from_wire(wire_usage)
        self.emit("usage_update", parsed)
        self.emit(
            "turn_done",
            TurnDoneEvent(
                response_id=response_id,
                status=status,
                output=[dict(item) for item in output],
                usage=parsed,
                provider_data={
                    "type": "response.done",
                    "response": {"id": response_id, "status": status, "usage": wire_usage},
                },
            ),
        )

    def emit_function_call(
        self,
        name: str,
        arguments: str = "{}",
        *,
        response_id: str = "resp_1",
        call_id: str | None = None,
        item_id: str | None = None,
        previous_item_id: str | None = None,
    ) -> FunctionCallEvent:
        """``item_update`` (in progress) then ``function_call``; returns the call."""
        item_id = item_id or self._next("item")
        call = FunctionCallEvent(
            item_id=item_id,
            call_id=call_id if call_id is not None else self._next("call"),
            name=name,
            arguments=arguments,
            response_id=response_id,
            previous_item_id=previous_item_id,
        )
        self.emit(
            "item_update",
            RealtimeToolCallItem(
                item_id=item_id,
                name=name,
                arguments=arguments,
                status="in_progress",
                previous_item_id=previous_item_id,
            ),
        )
        self.emit("function_call", call)
        return call

    def emit_item(self, item: RealtimeItem) -> None:
        self.emit("item_update", item)

    def emit_message(
        self,
        role: str,
        text: str = "",
        *,
        item_id: str | None = None,
        previous_item_id: str | None = None,
        status: str | None = "completed",
        audio_transcript: str | None = None,
    ) -> RealtimeMessageItem:
        """An ``item_update`` for a message (``audio_transcript`` makes an audio part)."""
        if audio_transcript is not None:
            part_type = "input_audio" if role == "user" else "output_audio"
            part: dict[str, Any] = {"type": part_type, "transcript": audio_transcript}
        else:
            part_type = "input_text" if role in ("user", "system") else "output_text"
            part = {"type": part_type, "text": text}
        item = RealtimeMessageItem(
            item_id=item_id or self._next("item"),
            role=role,  # type: ignore[arg-type]
            content=[part],
            status=status,
            previous_item_id=previous_item_id,
        )
        self.emit("item_update", item)
        return item

    def emit_item_deleted(self, item_id: str) -> None:
        self.emit("item_deleted", ItemDeletedEvent(item_id))

    def emit_audio(self, data: bytes, *, response_id: str = "resp_1", item_id: str = "") -> None:
        self.emit("audio", AudioEvent(data, response_id, item_id))

    def emit_audio_done(self, *, response_id: str = "resp_1", item_id: str = "") -> None:
        self.emit("audio_done", AudioDoneEvent(response_id, item_id))

    def emit_audio_interrupted(self, *, item_id: str = "", audio_end_ms: int = 0) -> None:
        self.emit("audio_interrupted", AudioInterruptedEvent(item_id, audio_end_ms))

    def emit_transcript_delta(
        self, delta: str, *, response_id: str = "resp_1", item_id: str = "item_out"
    ) -> None:
        self.emit("audio_transcript_delta", TranscriptDeltaEvent(delta, item_id, response_id))

    def emit_text_delta(
        self, delta: str, *, response_id: str = "resp_1", item_id: str = "item_out"
    ) -> None:
        self.emit("output_text_delta", OutputTextDeltaEvent(delta, item_id, response_id))

    def emit_dtmf(self, digit: str, *, received_at: float | None = None) -> None:
        self.emit("dtmf", DtmfEvent(digit, received_at))

    def emit_raw(self, event: Mapping[str, Any]) -> None:
        """A raw server event: ``*`` (a copy) then the typed event of its ``type``, as a dict."""
        self.emit("*", dict(event))
        kind = event.get("type")
        if isinstance(kind, str):
            self.emit(kind, dict(event))

    def emit_error(self, message: str, *, code: str | None = None) -> None:
        self.emit("error", ErrorEvent(message=message, source="server", code=code))

    def simulate_disconnect(self, reason: str = "server closed the connection") -> None:
        """The server went away: ``connection_change`` then ``disconnected``."""
        self._set_status("disconnected", reason)
