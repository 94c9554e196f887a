"""Turn an incoming-call webhook request (raw body + headers) into a verified, deduplicated call.

The signature check itself is the official ``openai`` client's ``webhooks.unwrap`` (standard
webhooks: HMAC-SHA256 over ``{id}.{timestamp}.{body}``); this module adds what an application
needs around it: typed errors that say what is wrong (headers, stale or future timestamp, bad
signature, secret), and deduplication, because OpenAI repeats deliveries (even after a hang-up).
"""

from __future__ import annotations

import binascii
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import (
    WebhookError,
    WebhookEventTypeError,
    WebhookHeadersError,
    WebhookSecretError,
    WebhookSignatureError,
    WebhookTimestampError,
)

if TYPE_CHECKING:
    from openai import AsyncOpenAI, OpenAI
    from openai.types.webhooks import RealtimeCallIncomingWebhookEvent

__all__ = ["IncomingCall", "IncomingCallVerifier"]

INCOMING_CALL = "realtime.call.incoming"
_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


@dataclass(frozen=True)
class IncomingCall:
    """A verified ``realtime.call.incoming``: accept, reject or ignore ``call_id``.

    ``sip_headers`` are the INVITE's headers as (name, value) pairs, in order; they come from the
    caller's network and are not trusted.
    """

    call_id: str
    sip_headers: tuple[tuple[str, str], ...]
    webhook_id: str
    event_id: str
    created_at: int
    event: RealtimeCallIncomingWebhookEvent

    def header(self, name: str) -> str | None:
        """The first SIP header called ``name`` (case-insensitive), e.g. ``header("From")``."""
        wanted = name.lower()
        return next((value for key, value in self.sip_headers if key.lower() == wanted), None)


class IncomingCallVerifier:
    """Verifies webhook deliveries and drops repeats.

    ::

        verifier = IncomingCallVerifier()  # OPENAI_WEBHOOK_SECRET, or secret="whsec_..."
        call = verifier.verify(await request.body(), request.headers)  # WebhookError -> HTTP 400
        if call is None:
            return Response(status_code=200)  # a repeated delivery: already handled

    A delivery is a repeat when its ``webhook-id`` or its ``call_id`` was verified within
    ``dedupe_seconds`` (at most ``max_remembered`` are kept; the oldest are forgotten first).
    Only verified deliveries are remembered, so a forged request cannot block a real one.
    ``client`` is the ``AsyncOpenAI``/``OpenAI`` whose ``webhooks.unwrap`` checks the signature;
    verification is local (no request is made), so one is built if none is given.
    """

    def __init__(
        self,
        secret: str | None = None,
        *,
        client: AsyncOpenAI | OpenAI | None = None,
        tolerance_seconds: int = 300,
        dedupe_seconds: float = 24 * 3600,
        max_remembered: int = 10_000,
        clock: Callable[[], float] | None = None,
    ) -> None:
        secret = secret or (client.webhook_secret if client is not None else None)
        secret = secret or os.environ.get("OPENAI_WEBHOOK_SECRET")
        if not secret:
            raise WebhookSecretError(
                "no webhook secret: pass secret='whsec_...' or set OPENAI_WEBHOOK_SECRET (the "
                "signing secret shown when the webhook endpoint was created)"
            )
        _check_secret(secret)
        if tolerance_seconds <= 0 or dedupe_seconds <= 0 or max_remembered <= 0:
            raise ValueError("tolerance_seconds, dedupe_seconds and max_remembered must be > 0")
        self._secret = secret
        self._client = client
        import openai.types.webhooks  # noqa: F401  (loaded now, not on the first delivery)

        self._tolerance = tolerance_seconds
        self._window = dedupe_seconds
        self._max = max_remembered
        self._clock = clock or _now  # openai's signature check reads time.time() too
        self._seen: OrderedDict[str, float] = OrderedDict()

    def __repr__(self) -> str:  # never show the secret
        return f"IncomingCallVerifier(tolerance={self._tolerance}s, remembered={len(self._seen)})"

    def verify(self, body: bytes | str, headers: Mapping[str, str] | Any) -> IncomingCall | None:
        """The verified incoming call, or ``None`` for a repeated delivery.

        Raises :class:`WebhookHeadersError`, :class:`WebhookTimestampError` (``kind`` is
        ``"stale"`` or ``"future"``), :class:`WebhookSignatureError`, or
        :class:`WebhookEventTypeError` for a verified event of another type.
        """
        fields = _required_headers(headers)
        self._check_timestamp(fields["webhook-timestamp"])
        event = self._unwrap(body, fields)
        if getattr(event, "type", None) != INCOMING_CALL:
            kind = str(getattr(event, "type", "unknown"))
            raise WebhookEventTypeError(
                f"a verified {kind!r} event, not {INCOMING_CALL!r}: answer it with 200 and "
                "ignore it here",
                event_type=kind,
            )
        webhook_id = fields["webhook-id"]
        call_id = event.data.call_id
        now = self._clock()
        self._forget_older_than(now - self._window)
        if f"wh:{webhook_id}" in self._seen or f"call:{call_id}" in self._seen:
            return None
        self._remember(f"wh:{webhook_id}", now)
        self._remember(f"call:{call_id}", now)
        return IncomingCall(
            call_id=call_id,
            sip_headers=tuple((h.name, h.value) for h in event.data.sip_headers),
            webhook_id=webhook_id,
            event_id=event.id,
            created_at=event.created_at,
            event=event,
        )

    # -- internals ---------------------------------------------------------------------------

    def _check_timestamp(self, raw: str) -> None:
        try:
            sent = int(raw)
        except ValueError:
            raise WebhookHeadersError(
                f"webhook-timestamp must be unix seconds, got {raw[:40]!r}"
            ) from None
        skew = self._clock() - sent
        if skew > self._tolerance:
            raise WebhookTimestampError(
                f"the webhook was signed {skew:.0f} s ago, more than the {self._tolerance} s "
                "tolerance: a replay, or this server's clock is wrong (check NTP)",
                kind="stale",
            )
        if -skew > self._tolerance:
            raise WebhookTimestampError(
                f"the webhook timestamp is {-skew:.0f} s in the future, more than the "
                f"{self._tolerance} s tolerance: this server's clock is behind (check NTP)",
                kind="future",
            )

    def _unwrap(self, body: bytes | str, fields: dict[str, str]) -> Any:
        import openai

        client = self._client or _local_client()
        try:
            return client.webhooks.unwrap(body, fields, secret=self._secret)
        except openai.InvalidWebhookSignatureError as exc:
            if "timestamp" in str(exc):  # our check and openai's disagree only at the boundary
                raise WebhookTimestampError(str(exc), kind="stale") from None
            raise WebhookSignatureError(
                "the webhook signature does not match: the body was changed after signing (pass "
                "the raw request bytes, not re-serialized JSON), or it was signed with another "
                "secret (check OPENAI_WEBHOOK_SECRET is this endpoint's signing secret)"
            ) from None
        except (ValueError, TypeError) as exc:  # a body that is not JSON
            raise WebhookError(f"the webhook body is not a JSON event: {exc}") from None

    def _remember(self, key: str, now: float) -> None:
        self._seen[key] = now
        self._seen.move_to_end(key)
        while len(self._seen) > self._max:
            self._seen.popitem(last=False)

    def _forget_older_than(self, limit: float) -> None:
        while self._seen:
            key, seen_at = next(iter(self._seen.items()))
            if seen_at >= limit:
                return
            del self._seen[key]


def _now() -> float:
    return time.time()


def _required_headers(headers: Mapping[str, str] | Any) -> dict[str, str]:
    lowered: dict[str, str] = {}
    items: Any = headers.items() if hasattr(headers, "items") else headers
    for key, value in items:
        name = key.decode() if isinstance(key, bytes) else str(key)
        lowered.setdefault(name.lower(), value.decode() if isinstance(value, bytes) else str(value))
    missing = [name for name in _HEADERS if not lowered.get(name)]
    if missing:
        raise WebhookHeadersError(
            f"missing webhook header(s): {', '.join(missing)}; pass the request's headers as "
            "received (this request may not come from OpenAI)"
        )
    return {name: lowered[name] for name in _HEADERS}


def _check_secret(secret: str) -> None:
    if not secret.startswith("whsec_"):
        return
    import base64

    try:
        key = base64.b64decode(secret[len("whsec_") :], validate=True)
    except (binascii.Error, ValueError):
        raise WebhookSecretError(
            "the webhook secret starts with 'whsec_' but the rest is not base64; copy the whole "
            "signing secret"
        ) from None
    if not key:
        raise WebhookSecretError("the webhook secret is empty after 'whsec_'")


_CLIENT: OpenAI | None = None


def _local_client() -> OpenAI:
    """A client for local signature checks only (it never sends a request)."""
    global _CLIENT
    if _CLIENT is None:
        from openai import OpenAI

        _CLIENT = OpenAI(api_key="unused-local-webhook-verification")
    return _CLIENT
