"""``POST /v1/realtime/calls/{call_id}/accept|reject|refer|hangup``: SIP call control.

Same shapes and errors as the real endpoints (protocols.md §5.4): the API key in
``Authorization``; ``accept`` takes a session object (``type: "realtime"`` required) validated
like ``session.update``, and refuses the turn-detection fields the real accept refuses
(``threshold``, ``prefix_padding_ms``, ``silence_duration_ms``) with its ``Unknown parameter``
error; ``reject`` takes an optional ``status_code`` (default 603); ``refer`` a ``target_uri``
(``tel:`` or ``sip:``). An unknown or ended call is ``404`` for all four.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from realtime_transport_emulator.net.auth import AuthFailure
from realtime_transport_emulator.net.routing import HttpRequest, HttpResponse
from realtime_transport_emulator.session import errors
from realtime_transport_emulator.session import schema as s
from realtime_transport_emulator.session.config import (
    DEFAULT_MODEL,
    default_session,
    merge_session,
    validate_session,
)
from realtime_transport_emulator.session.errors import ProtocolError
from realtime_transport_emulator.session.ids import IdFactory

from .calls import SipCall

if TYPE_CHECKING:
    from realtime_transport_emulator.server import Emulator

    from . import SipSimulator

__all__ = ["REJECTED_TURN_DETECTION_FIELDS", "accept_call", "install_routes"]

#: Fields of ``audio.input.turn_detection`` the real accept endpoint refuses (JS #741).
REJECTED_TURN_DETECTION_FIELDS = ("threshold", "prefix_padding_ms", "silence_duration_ms")

_REJECT = s.obj({"status_code": s.integer(100, 699)})
_REFER = s.obj({"target_uri": s.string()}, required=("target_uri",))

CallHandler = Callable[[HttpRequest, SipCall], Awaitable[HttpResponse]]


def install_routes(emulator: Emulator, simulator: SipSimulator) -> None:
    def route(action: str, handler: CallHandler) -> None:
        async def endpoint(request: HttpRequest) -> HttpResponse:
            try:
                emulator.auth.authenticate(
                    request.headers, allow_ephemeral=False, allow_subprotocol=False
                )
            except AuthFailure as failure:
                return HttpResponse.json(failure.status, failure.body)
            call_id = request.params["call_id"]
            call = simulator.calls.get(call_id)
            if call is None or not call.active:
                state = "has ended" if call is not None else "was not found"
                return HttpResponse.error(
                    404,
                    f"Call '{call_id}' {state}; it cannot be {action}ed.",
                    code="call_not_found",
                    param="call_id",
                )
            simulator.requests.append((action, call_id, request.json()))
            try:
                return await handler(request, call)
            except ProtocolError as error:
                return HttpResponse.json(error.status, error.to_rest())

        emulator.router.add("POST", f"/v1/realtime/calls/{{call_id}}/{action}", endpoint)

    async def accept(request: HttpRequest, call: SipCall) -> HttpResponse:
        if call.state != "ringing":
            raise ProtocolError(
                f"Call '{call.call_id}' was already accepted.",
                code="call_already_accepted",
                param="call_id",
            )
        accept_call(emulator, call, request.json())
        return HttpResponse(200, b"", "application/json")

    async def reject(request: HttpRequest, call: SipCall) -> HttpResponse:
        checked: dict[str, Any] = _REJECT(request.json(), "")
        if call.state != "ringing":
            raise ProtocolError(
                f"Call '{call.call_id}' was already accepted; use hangup to end it.",
                code="call_already_accepted",
                param="call_id",
            )
        call.reject_status = int(checked.get("status_code", 603))
        _end(call, "rejected", "app")
        return HttpResponse(200, b"", "application/json")

    async def refer(request: HttpRequest, call: SipCall) -> HttpResponse:
        checked: dict[str, Any] = _REFER(request.json(), "")
        target = str(checked["target_uri"])
        if not target.startswith(("tel:", "sip:", "sips:")):
            raise errors.invalid_value("target_uri", target, ["tel:…", "sip:…"])
        if call.state != "accepted":
            raise ProtocolError(
                f"Call '{call.call_id}' has not been accepted; only an active call can be "
                "transferred.",
                code="call_not_active",
                param="call_id",
            )
        call.refer_target = target
        _end(call, "referred", "transfer")
        return HttpResponse(200, b"", "application/json")

    async def hangup(request: HttpRequest, call: SipCall) -> HttpResponse:
        _end(call, "ended", "app")
        return HttpResponse(200, b"", "application/json")

    def _end(call: SipCall, state: Any, by: Any) -> None:
        call.end(state, by)
        emulator.end_call(call.call_id)

    route("accept", accept)
    route("reject", reject)
    route("refer", refer)
    route("hangup", hangup)


def accept_call(emulator: Emulator, call: SipCall, body: Any) -> None:
    """Validate ``body`` as the accept endpoint does and make the call attachable."""
    _refuse_vad_tuning(body)
    update = validate_session(body, "session")
    ids = IdFactory(f"{emulator.seed}/sip/{call.call_id}")
    session = merge_session(
        default_session(
            session_id=ids.new("sess"),
            model=str(update.get("model") or DEFAULT_MODEL),
            expires_at=int(emulator.clock() + 3600),
            overrides=emulator.session_defaults,
        ),
        update,
    )
    call.accept_body = body
    call.session = session
    call.state = "accepted"
    emulator.register_call(call.call_id, session, media=call)
    call.changed()


def _refuse_vad_tuning(body: Any) -> None:
    """The real accept endpoint's one known difference from ``session.update`` (protocols §5.4)."""
    if not isinstance(body, dict):
        return
    audio = body.get("audio")
    inputs = audio.get("input") if isinstance(audio, dict) else None
    turn = inputs.get("turn_detection") if isinstance(inputs, dict) else None
    if not isinstance(turn, dict):
        return
    for name in REJECTED_TURN_DETECTION_FIELDS:
        if name in turn:
            raise errors.unknown_parameter(f"session.audio.input.turn_detection.{name}")
