"""``OpenAIRealtimeSIP``: the websocket transport attached to a SIP call by ``call_id``.

Everything about the protocol is the websocket transport's; this class changes only what a
phone call changes: ``connect`` needs the call id, the caller's audio is on the phone line (no
``send_audio``, no audio events), interruption is the server's (``output_audio_buffer.*``), a
socket closed the way a hang-up closes it is the call ending (anything else is a socket lost
while the call is up, which a session's reconnect policy re-attaches), and
:meth:`build_initial_config` gives the accept body.
"""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from realtime_transport.errors import (
    TransportConnectionError,
    UnsupportedOperationError,
    UserError,
)
from realtime_transport.events import AudioInterruptedEvent
from realtime_transport.transport import ApiKey, SessionConfigLike
from realtime_transport_websocket.transport import OpenAIRealtimeWebSocket

from .errors import CallGoneError
from .plugin import CAPABILITIES

if TYPE_CHECKING:
    from realtime_transport import RealtimeAgent

__all__ = ["ACCEPT_REJECTED_TURN_DETECTION_FIELDS", "OpenAIRealtimeSIP", "realtime_url"]

logger = logging.getLogger("realtime_transport.sip")

#: ``audio.input.turn_detection`` fields the accept endpoint refuses (protocols.md §5.4).
ACCEPT_REJECTED_TURN_DETECTION_FIELDS = ("threshold", "prefix_padding_ms", "silence_duration_ms")

CALL_ENDED = (
    "the call ended: the socket closed without a close frame, which is how a hang-up (by the "
    "caller, by hangup(), or after a transfer) appears"
)  # a reset or a protocol error is still reported as a lost connection
CALL_ENDED_NORMALLY = "the call ended: the server closed the socket normally (code 1000{reason})"


def realtime_url(base_url: str) -> str:
    """The Realtime WebSocket URL for an API base URL, as openai-python derives it.

    ``https://api.openai.com/v1`` -> ``wss://api.openai.com/v1/realtime``.
    """
    scheme, netloc, path, _query, _fragment = urlsplit(base_url)
    scheme = {"https": "wss", "http": "ws"}.get(scheme, scheme)
    return urlunsplit((scheme, netloc, path.rstrip("/") + "/realtime", "", ""))


class OpenAIRealtimeSIP(OpenAIRealtimeWebSocket):
    """The Realtime WebSocket of a SIP call (``wss://…/v1/realtime?call_id=…``).

    Accept the call first (``SipCallControl.accept(call_id, build_initial_config(...))``), then
    ``connect(call_id=...)``; a ``RealtimeSession(agent, transport="sip")`` does the same with
    ``session.connect(call_id=...)``. ``base_url`` (or ``OPENAI_BASE_URL``) points the socket at
    the same API as your ``AsyncOpenAI`` client; ``url`` overrides it. Other options are the
    websocket transport's.
    """

    __slots__ = ("call_id",)

    capabilities = CAPABILITIES

    def __init__(self, *, base_url: str | None = None, url: str | None = None, **options: Any):
        if url is None:
            base = base_url or os.environ.get("OPENAI_BASE_URL")
            url = realtime_url(base) if base else None
        super().__init__(url=url, **options)
        self.call_id: str | None = None

    async def connect(
        self,
        *,
        api_key: ApiKey | None = None,
        model: str | None = None,
        url: str | None = None,
        call_id: str | None = None,
        initial_session_config: SessionConfigLike | None = None,
    ) -> None:
        """Attach to the accepted call ``call_id`` (the model was fixed when it was accepted).

        Raises :class:`CallGoneError` when the server refuses the call (HTTP 404): it ended, or
        was never accepted.
        """
        if not call_id:
            raise UserError(
                "the sip transport attaches to a call: pass call_id=... (the call_id of the "
                "realtime.call.incoming webhook, after accepting the call)"
            )
        try:
            await super().connect(
                api_key=api_key,
                url=url,
                call_id=call_id,
                initial_session_config=initial_session_config,
            )
        except TransportConnectionError as exc:
            if "(HTTP 404)" not in str(exc):
                raise
            raise CallGoneError(
                f"call {call_id} cannot be attached (HTTP 404): it ended (the caller hung up) "
                "or was never accepted; accept it first with SipCallControl.accept",
                call_id=call_id,
                status=404,
            ) from None
        self.call_id = call_id

    def _session_model(self) -> str | None:
        """A call's model is fixed when it is accepted: ``session.update`` names a model only
        when the config does (a different one would be refused)."""
        return None

    def send_audio(self, data: bytes, *, commit: bool = False) -> None:
        raise UnsupportedOperationError(
            "send_audio is not available on a SIP call: the caller's audio reaches the model "
            "over the phone line itself. Use send_message() for text, or the websocket "
            "transport to send your own audio."
        )

    def interrupt(self, *, cancel_ongoing_response: bool = True) -> None:
        """Stop the reply: ``response.cancel`` (if one runs), then ``output_audio_buffer.clear``.

        The server plays the audio on the call, so it cuts the unheard part itself; there is no
        client-side truncation.
        """
        if self._status != "connected":
            return
        if cancel_ongoing_response and self._sequencer.begin_cancel():
            self._send_json({"type": "response.cancel"})
        self._send_json({"type": "output_audio_buffer.clear"})

    def _on_speech_started(self, data: dict[str, Any]) -> None:
        """The server's VAD handles barge-in on a call (it clears its own output buffer)."""

    def _on_output_audio_cleared(self, data: dict[str, Any]) -> None:
        self.emit("audio_interrupted", AudioInterruptedEvent())  # the server cut the reply

    # -- a lost socket: the call ended, or only the socket did ---------------------------------

    def _call_ended(self, code: int | None, exc: BaseException | None) -> bool:
        """True for how an ended call closes its socket (protocols.md §5.5: a hang-up by the
        caller, by ``hangup()`` or a transfer closes it without a close frame; a normal 1000
        close ends the call's session). False for a socket lost while the call is up: a TCP
        reset, a ping timeout, 1011 and the other abnormal codes, which can be re-attached (a
        hang-up that looks like a reset costs one re-attach, which the server refuses: 404)."""
        if exc is not None:
            return False  # reset, ping timeout, protocol error: the network, not the call
        return code in (None, 1006, 1000)

    def _describe_loss(
        self, code: int | None, reason: str, exc: BaseException | None
    ) -> tuple[str | None, str]:
        if not self._call_ended(code, exc):
            return super()._describe_loss(code, reason, exc)
        if code == 1000:
            return None, CALL_ENDED_NORMALLY.format(reason=f", reason {reason!r}" if reason else "")
        return None, CALL_ENDED  # a clean TCP close without a close frame

    # -- the accept body ---------------------------------------------------------------------

    @classmethod
    async def build_initial_config(
        cls,
        agent: RealtimeAgent,
        session_options: Mapping[str, Any] | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The session to accept the call with: exactly what ``RealtimeSession(agent,
        transport="sip", **session_options)`` sends when it connects (same code), plus its
        ``tracing``, without the turn-detection fields the accept endpoint refuses (the
        session's first ``session.update`` applies those right after it attaches).

        ``session_options`` are ``RealtimeSession`` keyword arguments (``model``, ``config``,
        ``context``, ``tracing_disabled``, ``workflow_name``…); ``overrides`` win over
        ``config``.
        """
        from realtime_transport import RealtimeSession

        options = dict(session_options or {})
        for name in ("transport", "transport_options"):
            if name in options:
                raise UserError(f"session_options cannot set {name!r}: the transport is SIP")
        transport = cls()
        try:
            session = RealtimeSession(agent, transport=transport, **options)
        except TypeError as exc:
            raise UserError(
                f"session_options has an option RealtimeSession does not take: {exc}"
            ) from None
        config = await session.get_initial_session_config(overrides)
        payload = transport.build_session_payload(config)
        if config.get("tracing") is not None:
            payload["tracing"] = copy.deepcopy(config["tracing"])
        return _without_refused_fields(payload)


def _without_refused_fields(payload: dict[str, Any]) -> dict[str, Any]:
    turn = ((payload.get("audio") or {}).get("input") or {}).get("turn_detection")
    if not isinstance(turn, dict):
        return payload
    dropped = [name for name in ACCEPT_REJECTED_TURN_DETECTION_FIELDS if name in turn]
    if dropped:
        logger.info(
            "accept refuses turn_detection %s; left out of the accept body (the session sends "
            "them in its first session.update once attached)",
            ", ".join(dropped),
        )
        for name in dropped:
            del turn[name]
    return payload


# The server events this transport derives more from (resolved per class, see the base).
OpenAIRealtimeSIP._handler_table = {
    **OpenAIRealtimeSIP._handler_table,
    "output_audio_buffer.cleared": OpenAIRealtimeSIP._on_output_audio_cleared,
}
