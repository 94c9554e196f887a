"""Reading a ``POST /v1/realtime/calls`` request: who calls, the SDP offer, the first session.

Two flows, as the API offers them: an SDP body (``Content-Type: application/sdp``, usually with an
``ek_`` key whose session was fixed by ``/v1/realtime/client_secrets``), or the unified flow
(``multipart/form-data`` with an ``sdp`` part and an optional ``session`` JSON part, a standard
key; what ``openai``'s ``realtime.calls.create`` sends). Every problem is an :class:`HttpError`
with the API's error shape; nothing here touches aiortc.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from realtime_transport_emulator.net.auth import AuthFailure, Credentials
from realtime_transport_emulator.net.multipart import parse_form
from realtime_transport_emulator.net.routing import HttpError, HttpRequest, HttpResponse
from realtime_transport_emulator.session.config import (
    DEFAULT_MODEL,
    default_session,
    merge_session,
    validate_session,
)
from realtime_transport_emulator.session.errors import ProtocolError

if TYPE_CHECKING:
    from realtime_transport_emulator.server import Emulator

MAX_SDP = 64 * 1024


@dataclass(frozen=True)
class CallRequest:
    credentials: Credentials
    sdp: str
    session_update: dict[str, Any] | None
    model: str | None


def _error(status: int, message: str, code: str, param: str | None = None) -> HttpError:
    return HttpError(HttpResponse.error(status, message, code=code, param=param))


def read_call_request(emulator: Emulator, request: HttpRequest) -> CallRequest:
    """Authenticate and parse the request (raises :class:`HttpError`)."""
    try:
        credentials = emulator.auth.authenticate(request.headers, allow_subprotocol=False)
    except AuthFailure as failure:
        raise HttpError(HttpResponse.json(failure.status, failure.body)) from None
    content_type = (request.header("Content-Type") or "").split(";")[0].strip().lower()
    update: dict[str, Any] | None = None
    if content_type == "application/sdp":
        sdp = _decode(request.body, "body")
    elif content_type == "multipart/form-data":
        parts = parse_form(request)
        if "sdp" not in parts:
            raise _error(
                400,
                "Missing required parameter: 'sdp'. Send the SDP offer as a form part named "
                "'sdp' (Content-Type: application/sdp).",
                "missing_required_parameter",
                "sdp",
            )
        sdp = _decode(parts["sdp"].data, "sdp")
        if "session" in parts:
            update = _session_part(parts["session"].data)
    else:
        raise _error(
            415,
            f"Unsupported Content-Type {content_type or '(none)'!r} for /v1/realtime/calls. Send "
            "the SDP offer as 'application/sdp', or as 'multipart/form-data' with an 'sdp' part "
            "and an optional 'session' JSON part.",
            "unsupported_content_type",
        )
    check_offer(sdp)
    return CallRequest(credentials, sdp, update, request.query_value("model"))


def _decode(data: bytes, param: str) -> str:
    if len(data) > MAX_SDP:
        raise _error(400, f"The SDP offer is over {MAX_SDP} bytes.", "invalid_offer", param)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise _error(400, "The SDP offer is not UTF-8 text.", "invalid_offer", param) from None


def _session_part(data: bytes) -> dict[str, Any]:
    try:
        raw = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _error(
            400, f"The 'session' part is not valid JSON: {exc}.", "invalid_json", "session"
        ) from None
    try:
        return validate_session(raw, "session")
    except ProtocolError as error:
        raise HttpError(HttpResponse.json(error.status, error.to_rest())) from None


def check_offer(sdp: str) -> None:
    """The cheap structural checks, before aiortc parses the offer."""
    lines = [line.strip() for line in sdp.strip().splitlines()]
    if not lines or lines[0] != "v=0":
        raise _error(
            400,
            "Invalid SDP offer: it must start with 'v=0'. Send the offer your peer connection "
            "created (pc.localDescription.sdp).",
            "invalid_offer",
            "sdp",
        )
    media = [line for line in lines if line.startswith("m=")]
    if not any(line.startswith("m=application") for line in media):
        raise _error(
            400,
            "Invalid SDP offer: no data channel (m=application). Create the 'oai-events' data "
            "channel before creating the offer.",
            "invalid_offer",
            "sdp",
        )


def initial_session(
    emulator: Emulator, call: CallRequest, session_id: str, expires_at: int
) -> dict[str, Any]:
    """The session the call starts with: the key's session (ek_), else the defaults + update."""
    if call.credentials.ephemeral is not None:
        base = dict(call.credentials.ephemeral.session)
        session = {**base, "id": session_id, "expires_at": expires_at}
    else:
        model = (call.session_update or {}).get("model") or call.model or DEFAULT_MODEL
        session = default_session(
            session_id=session_id,
            model=str(model),
            expires_at=expires_at,
            overrides=emulator.session_defaults,
        )
    if call.session_update:
        session = merge_session(session, call.session_update)
    return session
