"""``X-Twilio-Signature`` checks for the voice webhook and the media stream's upgrade request.

Both use the official ``twilio`` package's ``RequestValidator`` (imported lazily). The subtle
part is the URL: Twilio signs the URL *it* requested, i.e. the public one. Behind a proxy or a
tunnel the app sees ``http://`` and an internal host, so the signed URL is rebuilt from a
configured public origin (``https://example.com``): the webhook as ``https://<origin><path>?<query>``
and the stream upgrade as ``wss://<origin><path>`` (exactly as written in the TwiML, no params).
Validate the upgrade **before** opening any Realtime session, so an unsigned connection costs
nothing. The auth token is never logged nor put in an error message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from realtime_transport.errors import RealtimeTransportError, UserError

__all__ = ["InvalidTwilioSignatureError", "TwilioSignatureValidator", "public_url"]

SIGNATURE_HEADER = "X-Twilio-Signature"


class InvalidTwilioSignatureError(RealtimeTransportError):
    """The request is not signed by Twilio with this account's auth token (answer 403)."""


def public_url(public_origin: str, path: str, query: str = "", *, websocket: bool = False) -> str:
    """The URL Twilio signed: ``public_origin`` (scheme + host[:port]) with the request's path.

    ``websocket=True`` gives the ``wss://`` form used for the stream upgrade (Twilio signs the
    ``<Stream url>`` as written; a stream URL has no query string).
    """
    parts = urlsplit(public_origin)
    if parts.scheme not in ("https", "http", "wss", "ws") or not parts.netloc:
        raise UserError(
            f"public_origin must look like https://your.domain (got {public_origin!r}): it is "
            "the origin Twilio uses to reach this app"
        )
    if websocket:
        scheme = "wss" if parts.scheme in ("https", "wss") else "ws"
        return urlunsplit((scheme, parts.netloc, path or "/", "", ""))
    scheme = "https" if parts.scheme in ("https", "wss") else "http"
    return urlunsplit((scheme, parts.netloc, path or "/", query, ""))


class TwilioSignatureValidator:
    """Validate Twilio's signatures with the account's auth token.

    ::

        validator = TwilioSignatureValidator(os.environ["TWILIO_AUTH_TOKEN"],
                                             public_origin="https://voice.example.com")
        validator.validate_webhook(path, query, form, headers)         # voice URL (POST form)
        validator.validate_stream_upgrade(path, headers)               # before accept()
    """

    __slots__ = ("_public_origin", "_validator")

    def __init__(self, auth_token: str, *, public_origin: str) -> None:
        if not isinstance(auth_token, str) or not auth_token:
            raise UserError("auth_token is required: your Twilio account's auth token")
        public_url(public_origin, "/")  # validate early
        from twilio.request_validator import RequestValidator

        self._validator = RequestValidator(auth_token)
        self._public_origin = public_origin

    def __repr__(self) -> str:
        return f"TwilioSignatureValidator(public_origin={self._public_origin!r}, auth_token=***)"

    @property
    def public_origin(self) -> str:
        return self._public_origin

    def validate_webhook(
        self,
        path: str,
        query: str,
        params: Mapping[str, Any],
        headers: Mapping[str, str],
    ) -> None:
        """Check an HTTP webhook (form POST or GET); raise on a missing or wrong signature."""
        signature = _header(headers)
        url = public_url(self._public_origin, path, query)
        values = _form_values(params)
        if not self._validator.validate(url, values, signature):
            raise InvalidTwilioSignatureError(
                f"the X-Twilio-Signature of the webhook does not match {url} and its parameters; "
                "check TWILIO_AUTH_TOKEN and that public_origin is the origin Twilio calls"
            )

    def validate_stream_upgrade(self, path: str, headers: Mapping[str, str]) -> None:
        """Check the media stream's WebSocket upgrade (signed over the public ``wss://`` URL)."""
        signature = _header(headers)
        url = public_url(self._public_origin, path, websocket=True)
        if not self._validator.validate(url, {}, signature):
            raise InvalidTwilioSignatureError(
                f"the X-Twilio-Signature of the media stream upgrade does not match {url}; "
                "check TWILIO_AUTH_TOKEN and that public_origin matches the <Stream url>"
            )


def _header(headers: Mapping[str, str]) -> str:
    signature = headers.get(SIGNATURE_HEADER) or headers.get(SIGNATURE_HEADER.lower())
    if not signature:
        raise InvalidTwilioSignatureError(
            "the request has no X-Twilio-Signature header: it did not come from Twilio"
        )
    return signature


def _form_values(params: Mapping[str, Any]) -> dict[str, Any]:
    """Plain ``{name: value}`` or ``{name: [values]}`` (multi-dicts keep every value)."""
    getlist = getattr(params, "getlist", None)
    if callable(getlist):
        values: dict[str, Any] = {}
        for key in params:
            found = list(getlist(key))
            values[key] = found if len(found) > 1 else found[0]
        return values
    return {str(k): v for k, v in params.items()}
