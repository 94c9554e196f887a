"""The typed error for a refused upgrade, shared by the httpx and the fetch() paths."""

from __future__ import annotations

from realtime_transport.errors import AuthenticationError, TransportConnectionError, redact

#: How much of a refusal's body the error keeps (enough for an API error message).
BODY_EXCERPT_BYTES = 300


class UpgradeFailedError(TransportConnectionError):
    """The server answered the upgrade with something other than ``101 Switching Protocols``.

    ``status`` is the HTTP status (``None`` when the handshake itself was wrong, e.g. a bad
    ``Sec-WebSocket-Accept``); ``body`` is the start of the response body, secrets removed.
    """

    def __init__(self, message: str, *, status: int | None = None, body: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class UpgradeAuthenticationError(UpgradeFailedError, AuthenticationError):
    """The upgrade was refused with 401 or 403: the key or client secret is not accepted."""


def upgrade_refused(status: int, body: bytes | str, *secrets: str | None) -> UpgradeFailedError:
    """Build the error for a non-101 answer: status, a redacted body excerpt and what to do."""
    text = body if isinstance(body, str) else body[:BODY_EXCERPT_BYTES].decode("utf-8", "replace")
    excerpt = redact(" ".join(text[:BODY_EXCERPT_BYTES].split()), *secrets).rstrip(".")
    detail = f": {excerpt}" if excerpt else ""
    if status in (401, 403):
        return UpgradeAuthenticationError(
            f"Failed to upgrade websocket: HTTP {status}{detail}. Check the API key "
            "(OPENAI_API_KEY) or mint a fresh client secret.",
            status=status,
            body=excerpt,
        )
    return UpgradeFailedError(
        f"Failed to upgrade websocket: HTTP {status}{detail}. Check the URL, the model name and "
        "any proxy in between (it must pass `Upgrade: websocket` through).",
        status=status,
        body=excerpt,
    )


def http_url(url: str) -> str:
    """``wss://`` -> ``https://``, ``ws://`` -> ``http://`` (fetch and httpx speak HTTP URLs)."""
    if url.startswith("wss://"):
        return "https://" + url[6:]
    if url.startswith("ws://"):
        return "http://" + url[5:]
    return url
