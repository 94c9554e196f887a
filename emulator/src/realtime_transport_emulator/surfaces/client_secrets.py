"""``POST /v1/realtime/client_secrets``: ephemeral ``ek_…`` keys for browsers and WebRTC clients.

Request (API key in ``Authorization``): ``{"expires_after": {"anchor": "created_at", "seconds":
10..7200}, "session": {...GA session, type required...}}``, both optional. Response: ``{"value":
"ek_…", "expires_at": <unix s>, "session": {...full session with id and object...}}``. The
session is what a WebSocket opened with the key starts with.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from realtime_transport_emulator.net.auth import AuthFailure
from realtime_transport_emulator.net.httpserver import HttpRequest, HttpResponse
from realtime_transport_emulator.session import schema as s
from realtime_transport_emulator.session.config import (
    DEFAULT_MODEL,
    default_session,
    merge_session,
    validate_session,
)
from realtime_transport_emulator.session.errors import ProtocolError
from realtime_transport_emulator.session.ids import IdFactory

if TYPE_CHECKING:
    from realtime_transport_emulator.server import Emulator

DEFAULT_TTL_SECONDS = 600

_BODY = s.obj(
    {
        "expires_after": s.obj(
            {"anchor": s.enum("created_at"), "seconds": s.integer(10, 7200)},
            required=("anchor",),
        ),
        "session": s.anything(),
    }
)


def install(emulator: Emulator) -> None:
    counter = 0

    async def create(request: HttpRequest) -> HttpResponse:
        nonlocal counter
        try:
            emulator.auth.authenticate(
                request.headers, allow_ephemeral=False, allow_subprotocol=False
            )
        except AuthFailure as failure:
            return HttpResponse.json(failure.status, failure.body)
        body = request.json()
        try:
            checked: dict[str, Any] = _BODY(body, "")
            ttl = int((checked.get("expires_after") or {}).get("seconds", DEFAULT_TTL_SECONDS))
            update = validate_session(checked.get("session", {"type": "realtime"}), "session")
        except ProtocolError as error:
            return HttpResponse.json(error.status, error.to_rest())
        counter += 1
        ids = IdFactory(f"{emulator.seed}/client_secret/{counter}")
        now = emulator.clock()
        session = merge_session(
            default_session(
                session_id=ids.new("sess"),
                model=DEFAULT_MODEL,
                expires_at=int(now + ttl),
                overrides=emulator.session_defaults,
            ),
            update,
        )
        key = emulator.auth.issue(session, ttl)
        return HttpResponse.json(
            200, {"value": key.value, "expires_at": key.expires_at, "session": session}
        )

    emulator.router.add("POST", "/v1/realtime/client_secrets", create)
