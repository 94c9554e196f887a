"""One emulated SIP call: its state, the sessions attached to it, and what the model said.

A call rings (the webhook went out), is accepted with a session config (or rejected), gets
sockets attached with ``?call_id=``, and ends by a hang-up from either side or a transfer
(``refer``). Its audio rides the (imaginary) phone line: caller speech is fed straight into the
attached session's input buffer, and model audio is recorded here instead of being sent as
``response.output_audio.delta``; the socket sees ``output_audio_buffer.started/stopped/cleared``
as on a real SIP call.

The call's Realtime session lives with the call, not with a socket (the API's sideband model: the
socket is a second connection to the call's session). A socket that drops while the call is up
leaves the conversation, the config and the script's progress behind, and the next socket that
attaches with the same ``call_id`` continues them (it gets ``session.created`` with the same
session id). Simplification: while no socket is attached the emulated model hears nothing.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from realtime_transport_emulator.model.audio import WireFormat, duration_ms
from realtime_transport_emulator.model.script import Script, ScriptRunner
from realtime_transport_emulator.session.session import RealtimeSession

CallState = Literal["ringing", "accepted", "rejected", "referred", "ended"]

__all__ = ["CallState", "SipCall", "SipSession"]


@dataclass
class SipCall:
    """The emulator's view of one call (read it in tests; the surface changes it)."""

    call_id: str
    sip_headers: list[dict[str, str]]
    caller_lines: Sequence[str] = ()
    state: CallState = "ringing"
    accept_body: dict[str, Any] | None = None
    session: dict[str, Any] | None = None
    reject_status: int | None = None
    refer_target: str | None = None
    ended_by: Literal["app", "caller", "transfer", "emulator"] | None = None
    said: list[str] = field(default_factory=list)
    """What the model said on the call, one transcript per spoken reply."""
    model_audio_ms: float = 0.0
    responses_done: int = 0
    attach_count: int = 0
    dtmf_sent: list[str] = field(default_factory=list)
    sessions: list[SipSession] = field(default_factory=list, repr=False)
    _left: SipSession | None = field(default=None, repr=False)  # the last socket's session
    _hang_ups: dict[int, Callable[[], None]] = field(default_factory=dict, repr=False)
    _changed: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    # -- what the surface and the caller wait on ----------------------------------------------

    @property
    def active(self) -> bool:
        return self.state in ("ringing", "accepted")

    def changed(self) -> None:
        self._changed.set()

    async def wait_until(self, check: Callable[[], bool], timeout: float) -> bool:
        """Wait (bounded) until ``check()`` holds; False on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not check():
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except asyncio.TimeoutError:
                return check()
        return True

    @property
    def busy(self) -> bool:
        """A response is in flight on an attached session."""
        return any(session.active is not None for session in self.sessions)

    # -- media hooks (realtime_ws.CallMedia) ---------------------------------------------------

    def new_session(self, **kwargs: Any) -> RealtimeSession:
        left = self._left
        if left is not None:  # a socket re-attached: the call's session carries on
            kwargs["config"] = left.config
        session = SipSession(self, **kwargs)
        if left is not None:
            session.conversation = left.conversation
            session.runner = left.runner
            session.assistant_audio_sent = left.assistant_audio_sent
        elif self.caller_lines:  # the caller's lines are what transcription hears
            script: Script = session.runner.script
            session.runner = ScriptRunner(
                dataclasses.replace(script, transcripts=tuple(self.caller_lines))
            )
        return session

    def attached(self, session: RealtimeSession, hang_up: Callable[[], None]) -> None:
        assert isinstance(session, SipSession)
        self.sessions.append(session)
        self._hang_ups[id(session)] = hang_up
        self.attach_count += 1
        self.changed()

    def detached(self, session: RealtimeSession) -> None:
        if session in self.sessions:
            self.sessions.remove(session)
        if isinstance(session, SipSession):
            self._left = session
        self._hang_ups.pop(id(session), None)
        self.changed()

    def drop_sockets(self) -> None:
        """The line went dead: every attached socket is cut without a close frame."""
        for hang_up in list(self._hang_ups.values()):
            hang_up()
        self._hang_ups.clear()

    def end(self, state: CallState, by: Literal["app", "caller", "transfer", "emulator"]) -> None:
        if not self.active:
            return
        self.state = state
        self.ended_by = by
        self.drop_sockets()
        self.changed()

    # -- caller side ---------------------------------------------------------------------------

    async def feed_caller_audio(self, chunk: bytes) -> None:
        """Caller audio in the session's input format, into every attached session."""
        for session in list(self.sessions):
            await session.feed_audio(chunk)

    def input_format(self) -> WireFormat | None:
        return self.sessions[0].input_format if self.sessions else None

    async def press(self, key: str, received_at: int) -> None:
        """A DTMF keypress as the real server reports it (no ``event_id`` in its schema)."""
        self.dtmf_sent.append(key)
        for session in list(self.sessions):
            await session.send_dtmf(key, received_at)


class SipSession(RealtimeSession):
    """A session on a SIP call: model audio goes to the call, the socket gets buffer events."""

    def __init__(self, call: SipCall, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.call = call
        self._audio_responses: set[str] = set()
        self._last_audio_response: str | None = None

    async def emit_audio(self, ids: dict[str, Any], chunk: bytes, fmt: WireFormat) -> None:
        response_id = str(ids.get("response_id") or "")
        if response_id not in self._audio_responses:
            self._audio_responses.add(response_id)
            self._last_audio_response = response_id
            await self.send("output_audio_buffer.started", response_id=response_id)
        self.call.model_audio_ms += duration_ms(len(chunk), fmt)

    async def send(self, event_type: str, **fields: Any) -> None:
        await super().send(event_type, **fields)
        if event_type == "response.output_audio_transcript.done":
            self.call.said.append(str(fields.get("transcript") or ""))
        elif event_type == "response.done":
            response = fields.get("response") or {}
            response_id = str(response.get("id") or "")
            if response_id in self._audio_responses:
                self._audio_responses.discard(response_id)
                cancelled = response.get("status") == "cancelled"
                await super().send(
                    "output_audio_buffer.cleared" if cancelled else "output_audio_buffer.stopped",
                    response_id=response_id,
                )
            self.call.responses_done += 1
        if event_type in ("response.created", "response.done"):
            self.call.changed()

    async def send_dtmf(self, key: str, received_at: int) -> None:
        kind = "input_audio_buffer.dtmf_event_received"
        await self._send_raw({"type": kind, "event": key, "received_at": received_at})

    async def _on_output_audio_buffer_clear(
        self, event: dict[str, Any], event_id: str | None
    ) -> None:
        await self.send("output_audio_buffer.cleared", response_id=self._last_audio_response)
