"""TwiML that connects a call to your media stream endpoint (``<Connect><Stream>``).

Built with the official ``twilio`` package's ``VoiceResponse`` (imported here, lazily). Twilio
only accepts a ``wss://`` stream URL **without a query string** (it fails the handshake with
error 31920); data for the stream goes in ``<Parameter>`` elements and arrives in ``start`` as
``customParameters`` (``transport.custom_parameters``).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from realtime_transport.errors import UserError

__all__ = ["stream_twiml"]


def stream_twiml(
    stream_url: str,
    *,
    parameters: Mapping[str, str] | None = None,
    say: str | None = None,
    name: str | None = None,
    status_callback: str | None = None,
    status_callback_method: str | None = None,
) -> str:
    """The TwiML document for a bidirectional stream to ``stream_url``.

    Raises :class:`UserError` for a URL Twilio would reject (not ``wss://``, a query string or
    fragment, no host) instead of letting the call fail later with 31920.
    """
    parts = urlsplit(stream_url)
    if parts.scheme != "wss" or not parts.hostname:
        raise UserError(
            f"the <Stream> URL must be wss://host/path (Twilio only connects to secure "
            f"WebSockets); got {stream_url!r}"
        )
    if parts.query or parts.fragment or stream_url.rstrip().endswith("?"):
        raise UserError(
            f"the <Stream> URL {stream_url!r} has a query string, which Twilio rejects (error "
            "31920: the handshake fails). Pass the values as parameters={...}: they arrive in "
            "the stream's 'start' message as customParameters"
        )
    from twilio.twiml.voice_response import Connect, VoiceResponse

    response = VoiceResponse()
    if say:
        response.say(say)
    connect = Connect()
    attributes: dict[str, str] = {}
    if name:
        attributes["name"] = name
    if status_callback:
        attributes["status_callback"] = status_callback
    if status_callback_method:
        attributes["status_callback_method"] = status_callback_method
    stream = connect.stream(url=stream_url, **attributes)
    for key, value in (parameters or {}).items():
        stream.parameter(name=str(key), value=str(value))
    response.append(connect)
    return str(response)
