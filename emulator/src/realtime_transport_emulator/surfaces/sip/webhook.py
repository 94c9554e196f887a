"""The ``realtime.call.incoming`` webhook as OpenAI sends it, signed (standard-webhooks scheme).

Signature (protocols.md §5.3): ``v1,`` + base64 HMAC-SHA256 over ``"{id}.{timestamp}.{body}"``
with the key ``base64decode(secret[len("whsec_"):])`` (or the secret's UTF-8 bytes). The
emulator signs; applications verify with the official ``openai`` client.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DEFAULT_WEBHOOK_SECRET",
    "Delivery",
    "incoming_call_body",
    "post_delivery",
    "sign",
    "signing_key",
]

#: The emulator's default signing secret (a test value: key bytes ``realtime-transport-emulator``).
DEFAULT_WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"realtime-transport-emulator").decode()

USER_AGENT = "OpenAI/1.0 (+https://platform.openai.com/docs/webhooks)"


def signing_key(secret: str) -> bytes:
    if secret.startswith("whsec_"):
        return base64.b64decode(secret[len("whsec_") :])
    return secret.encode()


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value for one delivery."""
    content = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(signing_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def incoming_call_body(
    event_id: str, created_at: int, call_id: str, sip_headers: list[dict[str, str]]
) -> bytes:
    event = {
        "object": "event",
        "id": event_id,
        "type": "realtime.call.incoming",
        "created_at": created_at,
        "data": {"call_id": call_id, "sip_headers": sip_headers, "sip_media_security": "srtp"},
    }
    return json.dumps(event, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Delivery:
    """One POST of the webhook and what the application answered."""

    webhook_id: str
    signed_correctly: bool
    status: int | None
    """The HTTP status, or None when the application could not be reached."""
    seconds: float
    error: str | None = None


async def post_delivery(
    url: str,
    body: bytes,
    *,
    webhook_id: str,
    timestamp: int,
    signature: str,
    timeout: float,
    signed_correctly: bool,
    client: Any = None,
) -> Delivery:
    """POST one delivery (httpx; ``client``: an ``httpx.AsyncClient`` to reuse); a network
    failure is a Delivery with ``status=None``."""
    import time

    import httpx

    headers: dict[str, Any] = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }
    started = time.monotonic()
    try:
        if client is not None:
            response = await client.post(url, content=body, headers=headers, timeout=timeout)
        else:
            async with httpx.AsyncClient(timeout=timeout, trust_env=False) as own:
                response = await own.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return Delivery(
            webhook_id,
            signed_correctly,
            None,
            time.monotonic() - started,
            f"{type(exc).__name__}: {exc}",
        )
    return Delivery(webhook_id, signed_correctly, response.status_code, time.monotonic() - started)
