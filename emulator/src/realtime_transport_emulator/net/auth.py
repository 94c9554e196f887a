"""Credentials: API keys, ephemeral client secrets, and how they are presented.

Accepted keys: by default any key that starts with ``sk-`` (so ``sk-test`` works out of the box);
pass ``api_keys={...}`` to the emulator to accept only those. Ephemeral keys (``ek_…``) come from
``POST /v1/realtime/client_secrets`` and start sessions until they expire (expiry only limits
*starting* sessions, as with the real API; one secret may start several).

Keys are read from ``Authorization: Bearer <key>`` or, for browsers, from the subprotocol
``openai-insecure-api-key.<key>``. A missing or wrong key is refused before the WebSocket
upgrade with HTTP 401 and the REST error body (``{"error": {"message", "type", "param",
"code"}}``), which is what clients see from the live API. Keys never appear in messages or logs.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

INSECURE_KEY_PREFIX = "openai-insecure-api-key."
BETA_SUBPROTOCOL = "openai-beta.realtime-v1"
MAX_EPHEMERAL_KEYS = 10_000


@dataclass(frozen=True)
class EphemeralKey:
    value: str
    expires_at: int
    session: dict[str, Any]  # the full session the key starts


@dataclass(frozen=True)
class Credentials:
    kind: Literal["api_key", "ephemeral"]
    via: Literal["header", "subprotocol"]
    ephemeral: EphemeralKey | None = None


class AuthFailure(Exception):
    """Refuse the request: HTTP ``status`` with a REST error ``body``."""

    def __init__(self, message: str, code: str | None, status: int = 401) -> None:
        super().__init__(message)
        self.status = status
        self.body = {
            "error": {
                "message": message,
                "type": "invalid_request_error",
                "param": None,
                "code": code,
            }
        }


def mask(key: str) -> str:
    """A key as it may appear in messages: its well-known prefix only."""
    return key[:3] + "***" if key.startswith(("sk-", "ek_")) else "***"


def bearer(headers: Iterable[tuple[str, str]]) -> str | None:
    for name, value in headers:
        if name.lower() == "authorization":
            scheme, _, token = value.strip().partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
            return None
    return None


def offered_subprotocols(headers: Iterable[tuple[str, str]]) -> list[str]:
    offered: list[str] = []
    for name, value in headers:
        if name.lower() == "sec-websocket-protocol":
            offered.extend(p.strip() for p in value.split(",") if p.strip())
    return offered


class Authenticator:
    """Checks keys and issues ephemeral ones; one per emulator."""

    def __init__(
        self, api_keys: Iterable[str] | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.api_keys = frozenset(api_keys) if api_keys is not None else None
        self.clock = clock
        self._ephemeral: dict[str, EphemeralKey] = {}

    def accepts_api_key(self, key: str) -> bool:
        if self.api_keys is None:
            return key.startswith("sk-") and len(key) > 3
        return key in self.api_keys

    def issue(self, session: dict[str, Any], seconds: int) -> EphemeralKey:
        now = self.clock()
        for value in [v for v, k in self._ephemeral.items() if k.expires_at <= now]:
            del self._ephemeral[value]
        while len(self._ephemeral) >= MAX_EPHEMERAL_KEYS:
            del self._ephemeral[next(iter(self._ephemeral))]
        key = EphemeralKey("ek_" + secrets.token_hex(16), int(now + seconds), session)
        self._ephemeral[key.value] = key
        return key

    def authenticate(
        self,
        headers: Sequence[tuple[str, str]],
        *,
        allow_ephemeral: bool = True,
        allow_subprotocol: bool = True,
    ) -> Credentials:
        """Who is calling; raises :class:`AuthFailure` (HTTP 401) if nobody acceptable."""
        via: Literal["header", "subprotocol"] = "header"
        key = bearer(headers)
        if key is None and allow_subprotocol:
            for protocol in offered_subprotocols(headers):
                if protocol.startswith(INSECURE_KEY_PREFIX):
                    key, via = protocol[len(INSECURE_KEY_PREFIX) :], "subprotocol"
                    break
        if not key:
            raise AuthFailure(
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)"
                + (
                    ", or as the WebSocket subprotocol 'openai-insecure-api-key.YOUR_KEY'."
                    if allow_subprotocol
                    else "."
                ),
                code=None,
            )
        if key.startswith("ek_"):
            found = self._ephemeral.get(key)
            if not allow_ephemeral:
                raise AuthFailure(
                    "Ephemeral client secrets cannot be used for this request; use an API key.",
                    code="invalid_api_key",
                )
            if found is None:
                raise AuthFailure(
                    f"Incorrect client secret provided: {mask(key)}. "
                    "Create one with POST /v1/realtime/client_secrets.",
                    code="invalid_api_key",
                )
            if found.expires_at <= self.clock():
                raise AuthFailure(
                    "The client secret has expired. "
                    "Create a new one with POST /v1/realtime/client_secrets.",
                    code="invalid_api_key",
                )
            return Credentials("ephemeral", via, found)
        if not self.accepts_api_key(key):
            raise AuthFailure(
                f"Incorrect API key provided: {mask(key)}. "
                "The emulator accepts "
                + (
                    "any key starting with 'sk-'."
                    if self.api_keys is None
                    else "only the keys it was configured with."
                ),
                code="invalid_api_key",
            )
        return Credentials("api_key", via)
