"""Transport events and the emitter that delivers them.

Order for every inbound message: ``*`` (the raw JSON, a private copy) first, then the typed event
named after the server event type, then derived events (``audio``, ``turn_done``…). Listeners run
synchronously in registration order; a listener that raises (or an async listener that fails) is
reported on ``error`` and never breaks the receive loop.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, Union

from .errors import EventStreamOverflowError
from .log_privacy import describe_error

logger = logging.getLogger("realtime_transport")

Listener = Callable[[Any], Any]

# ---------------------------------------------------------------------------------------------
# Derived event payloads (slotted dataclasses: cheap to build on the per-audio-chunk path).
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class ErrorEvent:
    """``error``: what went wrong, where, and the original object (server event or exception)."""

    message: str
    source: Literal["server", "transport", "listener", "parse", "sequencer"]
    code: str | None = None
    error: Any = None
    type: str = "error"


@dataclass(slots=True)
class ConnectionEvent:
    """``connected`` / ``disconnected``: the new status and, on disconnect, why.

    ``call_ended`` is for a connection attached to a call (``call_id``): True when the call is
    over (a hang-up, a transfer), False when only the socket was lost while the call is up, None
    when the transport cannot tell (or there is no call).
    """

    status: str
    reason: str | None = None
    call_ended: bool | None = None
    type: str = "connection"


@dataclass(slots=True)
class AudioEvent:
    """``audio``: one chunk of model audio, raw bytes in the session's output format."""

    data: bytes
    response_id: str
    item_id: str = ""
    content_index: int = 0
    type: str = "audio"


@dataclass(slots=True)
class AudioDoneEvent:
    """``audio_done``: the model finished an audio part."""

    response_id: str = ""
    item_id: str = ""
    type: str = "audio_done"


@dataclass(slots=True)
class AudioInterruptedEvent:
    """``audio_interrupted``: stop playback now; ``audio_end_ms`` is where the item was cut."""

    item_id: str = ""
    audio_end_ms: int = 0
    type: str = "audio_interrupted"


@dataclass(slots=True)
class TranscriptDeltaEvent:
    """``audio_transcript_delta``: a piece of the transcript of the model's speech."""

    delta: str
    item_id: str
    response_id: str
    type: str = "transcript_delta"


@dataclass(slots=True)
class OutputTextDeltaEvent:
    """``output_text_delta``: a piece of a text reply."""

    delta: str
    item_id: str
    response_id: str
    type: str = "output_text_delta"


@dataclass(slots=True)
class Usage:
    """Token usage; ``usage_update`` carries one per response, sessions keep a running total."""

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    input_tokens_details: dict[str, Any] = field(default_factory=dict)
    output_tokens_details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_wire(cls, usage: dict[str, Any] | None) -> Usage:
        usage = usage or {}
        input_tokens = int(usage.get("input_tokens") or 0)
        output_tokens = int(usage.get("output_tokens") or 0)
        return cls(
            requests=1,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            total_tokens=input_tokens + output_tokens,
            input_tokens_details=dict(usage.get("input_token_details") or {}),
            output_tokens_details=dict(usage.get("output_token_details") or {}),
        )

    def add(self, other: Usage) -> None:
        self.requests += other.requests
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.total_tokens += other.total_tokens
        for mine, theirs in (
            (self.input_tokens_details, other.input_tokens_details),
            (self.output_tokens_details, other.output_tokens_details),
        ):
            for key, value in theirs.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    mine[key] = mine.get(key, 0) + value


@dataclass(slots=True)
class TurnStartedEvent:
    """``turn_started``: the server created a response."""

    response_id: str
    provider_data: dict[str, Any]
    type: str = "response_started"


@dataclass(slots=True)
class TurnDoneEvent:
    """``turn_done``: a response finished (any status)."""

    response_id: str
    status: str
    output: list[dict[str, Any]]
    usage: Usage
    provider_data: dict[str, Any]
    type: str = "response_done"


@dataclass(slots=True)
class RealtimeMessageItem:
    """A conversation message. ``content`` parts keep the wire shape (``input_text``…)."""

    item_id: str
    role: Literal["system", "user", "assistant"]
    content: list[dict[str, Any]]
    status: str | None = None
    previous_item_id: str | None = None
    type: Literal["message"] = "message"


@dataclass(slots=True)
class RealtimeToolCallItem:
    """A function call (or MCP call) and, once known, its output."""

    item_id: str
    name: str
    arguments: str
    status: str
    output: str | None = None
    previous_item_id: str | None = None
    type: Literal["function_call", "mcp_call", "mcp_tool_call"] = "function_call"


@dataclass(slots=True)
class RealtimeMcpApprovalRequestItem:
    """A hosted MCP tool asking for approval."""

    item_id: str
    server_label: str
    name: str
    arguments: dict[str, Any]
    approved: bool | None = None
    previous_item_id: str | None = None
    type: Literal["mcp_approval_request"] = "mcp_approval_request"


RealtimeItem = Union[RealtimeMessageItem, RealtimeToolCallItem, RealtimeMcpApprovalRequestItem]


@dataclass(slots=True)
class ItemDeletedEvent:
    """``item_deleted``."""

    item_id: str
    type: str = "item_deleted"


@dataclass(slots=True)
class FunctionCallEvent:
    """``function_call``: the model wants a tool run (``item_id`` is the call item)."""

    item_id: str
    call_id: str
    name: str
    arguments: str
    response_id: str = ""
    previous_item_id: str | None = None
    type: str = "function_call"


@dataclass(slots=True)
class SessionUpdateResult:
    """``session_update_done``: the server's answer to one ``session.update`` (by event_id):
    applied (``session.updated``) or refused (``error`` holds the server's error event)."""

    event_id: str
    ok: bool
    error: ErrorEvent | None = None
    type: str = "session_update_done"


@dataclass(slots=True)
class McpToolsListedEvent:
    """``mcp_tools_listed``."""

    server_label: str
    tools: list[dict[str, Any]]
    type: str = "mcp_tools_listed"


@dataclass(slots=True)
class DtmfEvent:
    """``dtmf``: the caller pressed a phone key; ``digit`` is one of ``0-9*#A-D``.

    One shape for every telephony transport: SIP maps ``input_audio_buffer.dtmf_event_received``
    to it, Twilio its Media Streams ``dtmf`` message. ``received_at`` is unix seconds when the
    carrier says; ``provider_data`` is the original message.
    """

    digit: str
    received_at: float | None = None
    provider_data: dict[str, Any] = field(default_factory=dict)
    type: str = "dtmf"


#: Every event name a transport may emit besides ``*`` and the server event types.
DERIVED_EVENTS = (
    "connection_change",
    "connected",
    "disconnected",
    "error",
    "turn_started",
    "turn_done",
    "usage_update",
    "audio",
    "audio_done",
    "audio_interrupted",
    "audio_transcript_delta",
    "output_text_delta",
    "item_update",
    "item_deleted",
    "function_call",
    "mcp_tool_call_completed",
    "mcp_approval_request",
    "mcp_tools_listed",
    "dtmf",
    "session_update_done",
)

#: Events that may be dropped (and counted) by a full ``events()`` buffer. Everything else is
#: structural and is never dropped silently.
DROPPABLE_EVENTS = frozenset(
    {
        "audio",
        "audio_transcript_delta",
        "response.output_audio.delta",
        "response.output_audio_transcript.delta",
    }
)

#: Raw events (``*`` on a transport, ``transport_event`` on a session) whose payload is one of
#: these server event types are droppable too: the raw copy of an audio chunk is audio.
_RAW_EVENT_NAMES = frozenset({"*", "transport_event"})


def is_droppable(name: str, payload: Any) -> bool:
    """Whether a full ``events()`` buffer may drop this event (audio and transcript deltas,
    including their raw ``*`` copies)."""
    if name in DROPPABLE_EVENTS:
        return True
    if name in _RAW_EVENT_NAMES and type(payload) is dict:
        return payload.get("type") in DROPPABLE_EVENTS
    return False


class TransportEvent(NamedTuple):
    """One item of ``events()``: the event name and its payload."""

    name: str
    payload: Any


# ---------------------------------------------------------------------------------------------
# The emitter.
# ---------------------------------------------------------------------------------------------


class EventEmitter:
    """Synchronous, ordered, failure-isolated event dispatch.

    Async listeners (coroutine functions) are scheduled as tasks on the running loop; their
    failures are reported on ``error`` like a sync listener's.
    """

    __slots__ = ("_listener_tasks", "_listeners", "_streams")

    def __init__(self) -> None:
        self._listeners: dict[str, list[Listener]] = {}
        self._listener_tasks: set[asyncio.Task[Any]] | None = None  # created on first use
        self._streams: set[EventStream] = set()  # open events() streams, ended on disconnect

    def on(self, name: str, listener: Listener) -> Callable[[], None]:
        """Call ``listener(payload)`` for every ``name`` event. Returns an unsubscribe function."""
        # Copy-on-write so emit() can iterate the list without copying it each time.
        self._listeners[name] = [*self._listeners.get(name, ()), listener]
        return lambda: self.off(name, listener)

    def once(self, name: str, listener: Listener) -> Callable[[], None]:
        """Like :meth:`on`, for the next ``name`` event only."""

        def wrapper(payload: Any) -> Any:
            self.off(name, wrapper)
            return listener(payload)

        wrapper.__wrapped__ = listener  # type: ignore[attr-defined]
        return self.on(name, wrapper)

    def off(self, name: str, listener: Listener | None = None) -> None:
        """Remove one listener (or every listener of ``name`` when ``listener`` is None)."""
        current = self._listeners.get(name)
        if not current:
            return
        if listener is None:
            del self._listeners[name]
            return
        kept = [fn for fn in current if fn != listener and _unwrap(fn) != listener]
        if kept:
            self._listeners[name] = kept
        else:
            del self._listeners[name]

    def has_listeners(self, name: str) -> bool:
        return name in self._listeners

    def listener_count(self, name: str) -> int:
        return len(self._listeners.get(name, ()))

    def emit(self, name: str, payload: Any = None) -> None:
        """Deliver ``payload`` to the listeners of ``name``. Never raises because of a listener."""
        listeners = self._listeners.get(name)
        if not listeners:
            if name == "error":
                self._log_unhandled_error(payload)
            return
        for listener in listeners:
            try:
                result = listener(payload)
                if result is not None and inspect.isawaitable(result):
                    self._track(result, name)
            except Exception as exc:  # a listener must never break the receive loop
                self._listener_failed(name, exc)

    # -- async iteration -------------------------------------------------------------------

    def events(
        self, names: Iterable[str] | None = None, *, maxsize: int = 1024
    ) -> AsyncIterator[TransportEvent]:
        """Iterate events with ``async for``.

        ``names`` limits which events are buffered (default: every derived event and ``*``).
        Overflow policy: when ``maxsize`` events are waiting, droppable events (audio chunks and
        transcript deltas, including their raw ``*`` copies) are dropped, oldest first, and
        counted in ``stream.dropped``. Structural events are never dropped: if the buffer is full
        of them and grows to ``4 * maxsize``, the stream ends with
        :class:`EventStreamOverflowError`. On a transport the stream ends after the
        ``disconnected`` event (``close()`` or a dropped connection).
        """
        return self._open_stream(
            tuple(names) if names is not None else (*DERIVED_EVENTS, "*"), maxsize
        )

    def _open_stream(self, names: tuple[str, ...], maxsize: int) -> EventStream:
        stream = EventStream(self, names, maxsize)
        self._streams.add(stream)
        return stream

    def _end_streams(self) -> None:
        """End every open ``events()`` stream (each drains what it buffered, then stops)."""
        streams, self._streams = self._streams, set()
        for stream in streams:
            stream.close()

    # -- internals ---------------------------------------------------------------------------

    def _track(self, awaitable: Any, name: str) -> None:
        try:
            task = asyncio.ensure_future(awaitable)
        except RuntimeError as exc:  # no running loop
            self._listener_failed(name, exc)
            return
        if self._listener_tasks is None:
            self._listener_tasks = set()
        self._listener_tasks.add(task)
        task.add_done_callback(lambda t: self._async_listener_done(t, name))

    def _async_listener_done(self, task: asyncio.Task[Any], name: str) -> None:
        if self._listener_tasks is not None:
            self._listener_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._listener_failed(name, task.exception())  # type: ignore[arg-type]

    def _listener_failed(self, name: str, exc: BaseException) -> None:
        # the exception's text may quote the event (a transcript): shown only if allowed
        policy = getattr(self, "log_policy", None)
        detail = describe_error(exc, policy is None or policy.all_data)
        logger.warning("listener for %r raised %s", name, detail)
        if name == "error":
            return  # never recurse: an error listener that fails is only logged
        self.emit(
            "error",
            ErrorEvent(
                message=f"a listener for {name!r} raised {detail}",
                source="listener",
                code="listener_error",
                error=exc,
            ),
        )

    def _log_unhandled_error(self, payload: Any) -> None:
        message = getattr(payload, "message", payload)
        logger.warning("unhandled transport error (add an 'error' listener): %s", message)

    def _running_listener_tasks(self) -> list[asyncio.Task[Any]]:
        """Async listeners still running, except the caller's own task."""
        try:
            current = asyncio.current_task()
        except RuntimeError:  # no running loop
            current = None
        return [t for t in self._listener_tasks or () if not t.done() and t is not current]

    async def _cancel_listener_tasks(
        self, tasks: Iterable[asyncio.Task[Any]] | None = None
    ) -> None:
        """Cancel async listeners still running and wait for them: ``close()`` calls this so no
        task outlives it. ``tasks`` (default: every running one) is usually the snapshot taken
        before ``close()`` announced ``disconnected``, so the listeners of that announcement
        still run; the caller's own task is never cancelled."""
        current = asyncio.current_task()
        running = self._running_listener_tasks() if tasks is None else list(tasks)
        running = [t for t in running if not t.done() and t is not current]
        for task in running:
            task.cancel()
        if running:
            await asyncio.gather(*running, return_exceptions=True)


def _unwrap(fn: Listener) -> Listener:
    return getattr(fn, "__wrapped__", fn)


class EventStream:
    """Bounded buffer behind :meth:`EventEmitter.events` (see there for the overflow policy)."""

    def __init__(self, emitter: EventEmitter, names: tuple[str, ...], maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self._emitter = emitter
        self.maxsize = maxsize
        self.dropped = 0
        self._buffer: deque[TransportEvent] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._overflow: EventStreamOverflowError | None = None
        self._closed = False
        self._unsubscribe = [emitter.on(name, self._pusher(name)) for name in names]

    def _pusher(self, name: str) -> Callable[[Any], None]:
        return lambda payload: self._push(name, payload)

    def _push(self, name: str, payload: Any) -> None:
        if self._closed:
            return
        buffer = self._buffer
        if len(buffer) >= self.maxsize:
            if is_droppable(name, payload):
                self.dropped += 1
                return
            if not self._drop_oldest_droppable() and len(buffer) >= 4 * self.maxsize:
                self._overflow = EventStreamOverflowError(
                    f"events() consumer is {len(buffer)} events behind; structural events would "
                    "be lost. Consume faster, raise maxsize, or use on() listeners."
                )
                self.close()
                return
        buffer.append(TransportEvent(name, payload))
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _drop_oldest_droppable(self) -> bool:
        for index, event in enumerate(self._buffer):
            if is_droppable(event.name, event.payload):
                del self._buffer[index]
                self.dropped += 1
                return True
        return False

    def close(self) -> None:
        """Stop buffering; the iterator ends once the buffer is drained."""
        self._closed = True
        self._emitter._streams.discard(self)
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> TransportEvent:
        while not self._buffer:
            if self._overflow is not None:
                raise self._overflow
            if self._closed:
                raise StopAsyncIteration
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
            self._waiter = None
        return self._buffer.popleft()

    async def aclose(self) -> None:
        self.close()
