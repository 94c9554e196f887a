"""The transport contract every transport implements, and what it declares it can do."""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Literal, Protocol, Union

from .errors import TransportNotConnectedError, UnsupportedOperationError, UserError
from .events import ConnectionEvent, EventEmitter
from .log_privacy import LogDataPolicy, log_data_policy

if TYPE_CHECKING:
    from .events import FunctionCallEvent, RealtimeItem

TransportStatus = Literal["connecting", "connected", "disconnecting", "disconnected"]

#: Where the application is with a transport: ``new`` (``connect()`` never called), ``active``
#: (it called ``connect()``, and not ``close()`` since), ``closed`` (it called ``close()``).
Phase = Literal["new", "active", "closed"]

#: An API key, or a zero-argument callable (sync or async) that returns one, so ephemeral
#: keys can be minted at connect time.
ApiKey = Union[str, Callable[[], str | Awaitable[str]]]


class _ModelDumpable(Protocol):
    def model_dump(self, *, exclude_unset: bool = ...) -> dict[str, Any]: ...


#: A session config: a plain mapping or a :class:`realtime_transport.protocol.SessionConfig`.
SessionConfigLike = Union[Mapping[str, Any], _ModelDumpable]


@dataclass(frozen=True)
class TransportCapabilities:
    """What a transport supports. Sessions and the conformance kit read these flags."""

    sends_audio: bool = True
    """``send_audio`` forwards caller audio (False for SIP, where audio rides the call)."""
    receives_audio_events: bool = True
    """Model audio arrives as ``audio`` events (False for WebRTC, which plays it itself)."""
    owns_media: bool = False
    """The transport captures and plays media itself (WebRTC)."""
    client_side_truncation: bool = False
    """``interrupt`` truncates the assistant item at the client's playback position."""
    supports_mute: bool = False
    """``mute`` is implemented (the transport owns the input track)."""
    supports_call_id: bool = False
    """``connect(call_id=...)`` attaches to an existing call."""
    supports_images: bool = True
    """``add_image`` is accepted."""
    supports_text: bool = True
    """Text messages and text responses work."""
    uses_openai_protocol: bool = True
    """Speaks the OpenAI Realtime event protocol (the kit's wire checks apply)."""

    def as_dict(self) -> dict[str, bool]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def enabled(self) -> list[str]:
        return [name for name, value in self.as_dict().items() if value]


def config_as_dict(config: SessionConfigLike | None) -> dict[str, Any]:
    """A session config (mapping or pydantic model) as a plain dict of what was set."""
    if config is None:
        return {}
    if isinstance(config, Mapping):
        return dict(config)
    return dict(config.model_dump(exclude_unset=True))


async def resolve_api_key(api_key: ApiKey | None) -> str | None:
    """Call a key factory (sync or async) if given one; pass strings through."""
    if api_key is None or isinstance(api_key, str):
        return api_key
    if not callable(api_key):
        raise UserError(
            f"api_key must be a string or a callable returning one, not {type(api_key).__name__}"
        )
    value = api_key()
    if inspect.isawaitable(value):
        value = await value
    if not isinstance(value, str) or not value:
        raise UserError("the api_key callable returned no key; it must return a non-empty string")
    return value


class RealtimeTransportLayer(EventEmitter, ABC):
    """A connection to a speech-to-speech service.

    Subclasses emit the events documented in :mod:`realtime_transport.events`. Listeners are
    registered with :meth:`on`, :meth:`once` and :meth:`off`, or consumed with
    ``async for event in transport.events()`` (which ends after ``disconnected``).

    **The wrong-state rule** (one rule for every send method; subclasses apply it with
    :meth:`_require_connected` and :meth:`_audio_may_go`): a call that sends something
    (``send_event``, ``send_message``, ``add_image``, ``update_session_config``,
    ``send_function_call_output``, ``request_response``, ``reset_history``, ``send_audio``...)
    raises :class:`~realtime_transport.errors.TransportNotConnectedError` unless the transport is
    connected. The one exception is ``send_audio`` between ``connect()`` and ``close()`` while
    the connection is not up (still connecting, or dropped by the server and not yet
    reconnected): audio is a live stream, so the chunk is dropped and counted in
    :attr:`dropped_audio_chunks` instead, and a microphone loop keeps running across a
    reconnect. Before the first ``connect()`` and after ``close()`` it raises like the rest.
    ``interrupt()`` when there is nothing to interrupt is a no-op, never an error.
    """

    __slots__ = ("_phase", "_status", "dropped_audio_chunks", "log_policy")

    #: What this transport can do; subclasses override.
    capabilities: TransportCapabilities = TransportCapabilities()

    def __init__(self) -> None:
        super().__init__()
        self._status: TransportStatus = "disconnected"
        #: Whether error messages and logs may hold model data (frames, transcripts); from the
        #: environment by default, set by a session's ``log_model_data`` option.
        self.log_policy: LogDataPolicy = log_data_policy()
        self._phase: Phase = "new"
        #: Caller audio chunks dropped because the connection was not up (or not draining).
        self.dropped_audio_chunks = 0

    @property
    def status(self) -> TransportStatus:
        """``connecting``, ``connected``, ``disconnecting`` or ``disconnected``."""
        return self._status

    def _set_status(
        self,
        status: TransportStatus,
        reason: str | None = None,
        *,
        call_ended: bool | None = None,
    ) -> None:
        """Move to ``status`` and announce it: ``connection_change`` first, then ``connected`` or
        ``disconnected`` (with ``reason`` and, for a call, ``call_ended``). Nothing happens when
        the status does not change, so a transport may call it from every teardown path."""
        if status == self._status:
            return
        self._status = status
        if status == "connecting":
            self._phase = "active"
        self.emit("connection_change", status)
        if status == "connected":
            self.emit("connected", ConnectionEvent(status))
        elif status == "disconnected":
            self.emit("disconnected", ConnectionEvent(status, reason, call_ended))
            self._end_streams()  # ``async for ev in transport.events()`` ends here

    def _mark_closed(self) -> None:
        """``close()`` was called: sends raise from now on (see the wrong-state rule)."""
        self._phase = "closed"

    def _require_connected(self, what: str) -> None:
        """Apply the wrong-state rule to a send that is not audio: raise unless connected."""
        if self._status == "connected":
            return
        raise TransportNotConnectedError(self._not_connected_message(what))

    def _audio_may_go(self) -> bool:
        """The wrong-state rule for ``send_audio``: True when connected; False (the chunk is
        dropped and counted) while a connection the application asked for is not up; raises
        before the first ``connect()`` and after ``close()``."""
        if self._status == "connected":
            return True
        if self._phase == "active":
            self.dropped_audio_chunks += 1
            return False
        raise TransportNotConnectedError(self._not_connected_message("send_audio()"))

    def _not_connected_message(self, what: str) -> str:
        if self._phase == "new":
            return f"{what}: the transport is not connected; await connect() first"
        if self._phase == "closed":
            return f"{what}: the transport is not connected, close() was called; connect() again"
        return (
            f"{what}: the transport is not connected (it is {self._status}); wait for "
            "'connected', or call connect() again after a dropped connection"
        )

    @property
    def muted(self) -> bool | None:
        """``True``/``False`` when the transport owns the input track, ``None`` otherwise."""
        return None

    @abstractmethod
    async def connect(
        self,
        *,
        api_key: ApiKey | None = None,
        model: str | None = None,
        url: str | None = None,
        call_id: str | None = None,
        initial_session_config: SessionConfigLike | None = None,
    ) -> None:
        """Open the connection; returns once it is usable (see each transport)."""

    @abstractmethod
    async def close(self) -> None:
        """Tear down. Idempotent; emits ``connection_change`` then ``disconnected`` once.

        When it returns no task of the transport is left: async listeners still running are
        cancelled (subclasses call :meth:`_mark_closed` first and
        :meth:`EventEmitter._cancel_listener_tasks` last), and ``events()`` streams end."""

    @abstractmethod
    def send_event(self, event: Mapping[str, Any]) -> None:
        """Send any client event as JSON (the raw escape hatch)."""

    @abstractmethod
    def send_audio(self, data: bytes, *, commit: bool = False) -> None:
        """Append caller audio in the session's input format (PCM16 24 kHz unless pinned)."""

    @abstractmethod
    def send_message(
        self,
        message: str | Sequence[Mapping[str, Any]],
        other_event_data: Mapping[str, Any] | None = None,
        *,
        trigger_response: bool = True,
    ) -> None:
        """Add a user message (text, or content parts) and by default ask for a response."""

    @abstractmethod
    def add_image(self, image: str, *, trigger_response: bool = True) -> None:
        """Add a user image (``data:`` URL) and by default ask for a response."""

    @abstractmethod
    def update_session_config(
        self, config: SessionConfigLike, *, event_id: str | None = None
    ) -> None:
        """Send a partial ``session.update``: only what ``config`` names changes (no defaults
        are filled in, so formats and turn detection stay as they are); a pinned audio format
        stays pinned whatever the config says. Transports that learn the server's answer emit
        ``session_update_done`` (:class:`~realtime_transport.events.SessionUpdateResult`) with
        ``event_id``, so a caller can tell an applied update from a refused one."""

    @abstractmethod
    def send_function_call_output(
        self, call: FunctionCallEvent, output: str, *, start_response: bool = True
    ) -> None:
        """Answer a tool call and by default ask for the next response."""

    @abstractmethod
    def request_response(self, response: Mapping[str, Any] | None = None) -> None:
        """Ask for a model response; sequenced so it never collides with one in flight."""

    @abstractmethod
    def interrupt(self, *, cancel_ongoing_response: bool = True) -> None:
        """Stop the assistant's audio (transport-specific barge-in)."""

    def mute(self, muted: bool) -> None:
        """Mute the input track. Only transports that own media support it."""
        raise UnsupportedOperationError(
            f"mute() is not supported by {type(self).__name__}: it does not own the microphone. "
            "Stop calling send_audio() instead."
        )

    @abstractmethod
    def reset_history(
        self, old_history: Sequence[RealtimeItem], new_history: Sequence[RealtimeItem]
    ) -> None:
        """Make the server conversation match ``new_history`` (deletes and creates)."""

    async def __aenter__(self) -> RealtimeTransportLayer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
