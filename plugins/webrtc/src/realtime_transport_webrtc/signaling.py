"""The SDP offer/answer exchange with ``POST {base_url}/realtime/calls``.

Two flows, as the API offers them: an ``ek_`` ephemeral key posts the offer as
``application/sdp`` (its session was fixed when the key was minted); a standard key uses the
unified flow, ``multipart/form-data`` with part ``sdp`` and a ``session`` JSON part (what
``openai``'s ``realtime.calls.create`` sends). The call id is the last path segment of the
answer's ``Location``. Keys never appear in errors.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
from realtime_transport import __version__
from realtime_transport.errors import redact

from .errors import WebRTCAuthenticationError, WebRTCConnectError, WebRTCConnectTimeoutError


@dataclass(frozen=True)
class Answer:
    sdp: str
    call_id: str | None


def is_ephemeral(key: str) -> bool:
    return key.startswith("ek_")


async def exchange(
    url: str,
    key: str,
    offer: str,
    session: dict[str, Any] | None,
    *,
    timeout: float,
    headers: dict[str, str] | None = None,
) -> Answer:
    """POST the offer; return the answer SDP and the call id (raises WebRTCConnectError)."""
    request_headers = {
        "Authorization": f"Bearer {key}",
        "User-Agent": f"realtime-transport/{__version__} (Python)",
        "X-Realtime-Transport": __version__,
        "Accept": "application/sdp",
        **(headers or {}),
    }
    try:
        async with httpx.AsyncClient(timeout=timeout) as http:
            if is_ephemeral(key) or session is None:
                request_headers["Content-Type"] = "application/sdp"
                response = await http.post(url, content=offer, headers=request_headers)
            else:
                files = {
                    "sdp": (None, offer, "application/sdp"),
                    "session": (None, json.dumps(session), "application/json"),
                }
                response = await http.post(url, files=files, headers=request_headers)
    except httpx.TimeoutException:
        raise WebRTCConnectTimeoutError(
            f"the calls endpoint {url} did not answer within {timeout:.3g} s; check base_url "
            "and the network, or raise connect_timeout",
            step="call_request",
        ) from None
    except httpx.HTTPError as exc:
        raise WebRTCConnectError(
            f"could not reach the calls endpoint {url}: {type(exc).__name__}: "
            f"{redact(str(exc), key)}; check the url (base_url) and that the server is up",
            step="call_request",
        ) from None
    if response.status_code >= 300:
        raise _refused(response, key)
    answer = response.text
    if not answer.lstrip().startswith("v=0"):
        raise WebRTCConnectError(
            "the calls endpoint answered without an SDP answer (the body does not start with "
            f"'v=0'; Content-Type {response.headers.get('content-type')!r})",
            step="answer",
        )
    location = response.headers.get("location")
    call_id = location.rstrip("/").rsplit("/", 1)[-1] if location else None
    return Answer(answer, call_id or None)


def _refused(response: httpx.Response, key: str) -> WebRTCConnectError:
    body: Any = None
    detail = response.reason_phrase or "no detail"
    try:
        body = response.json()
        message = body.get("error", {}).get("message") if isinstance(body, dict) else None
        if message:
            detail = str(message)
    except ValueError:
        if response.text.strip():
            detail = response.text.strip()[:300]
    message = redact(
        f"the Realtime call request failed with HTTP {response.status_code}: {detail}", key
    )
    kind = WebRTCAuthenticationError if response.status_code in (401, 403) else WebRTCConnectError
    return kind(message, step="call_request", status=response.status_code, error=body)
