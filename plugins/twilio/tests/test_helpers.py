"""TwiML and X-Twilio-Signature helpers, on the official twilio package (protocols.md §6.5)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from realtime_transport.errors import UserError
from realtime_transport_twilio import (
    InvalidTwilioSignatureError,
    TwilioSignatureValidator,
    public_url,
    stream_twiml,
)

VECTOR_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}


def test_webhook_vector_from_protocols_6_5() -> None:
    validator = TwilioSignatureValidator("12345", public_origin="https://mycompany.com")
    headers = {"X-Twilio-Signature": "0/KCTR6DLpKmkAf8muzZqo1nDgQ="}
    validator.validate_webhook("/myapp.php", "foo=1&bar=2", VECTOR_PARAMS, headers)
    with pytest.raises(InvalidTwilioSignatureError, match="does not match"):
        validator.validate_webhook("/myapp.php", "foo=1&bar=3", VECTOR_PARAMS, headers)
    with pytest.raises(InvalidTwilioSignatureError, match="does not match"):
        validator.validate_webhook(
            "/myapp.php", "foo=1&bar=2", {**VECTOR_PARAMS, "Digits": "1"}, headers
        )


def test_stream_upgrade_vector_from_protocols_6_5() -> None:
    # The app sees http://internal-host/media-stream; Twilio signed wss://example.com/media-stream.
    validator = TwilioSignatureValidator("12345", public_origin="https://example.com")
    headers = {"x-twilio-signature": "XFfwGS2Ev7f9qAP9MmRoMS7C724="}
    validator.validate_stream_upgrade("/media-stream", headers)
    other = TwilioSignatureValidator("12345", public_origin="https://internal:8080")
    with pytest.raises(InvalidTwilioSignatureError, match="wss://internal:8080/media-stream"):
        other.validate_stream_upgrade("/media-stream", headers)


def test_missing_signature_and_no_token_in_messages() -> None:
    token = "super-secret-auth-token"
    validator = TwilioSignatureValidator(token, public_origin="https://example.com")
    with pytest.raises(InvalidTwilioSignatureError, match="no X-Twilio-Signature") as missing:
        validator.validate_stream_upgrade("/media-stream", {})
    with pytest.raises(InvalidTwilioSignatureError) as wrong:
        validator.validate_webhook("/voice", "", {}, {"X-Twilio-Signature": "AAAA"})
    for text in (str(missing.value), str(wrong.value), repr(validator)):
        assert token not in text


def test_public_url_forms() -> None:
    assert public_url("https://a.example", "/voice", "x=1") == "https://a.example/voice?x=1"
    assert public_url("https://a.example", "/media", websocket=True) == "wss://a.example/media"
    with pytest.raises(UserError, match="public_origin"):
        public_url("a.example", "/voice")


def test_stream_twiml_with_parameters() -> None:
    twiml = stream_twiml(
        "wss://example.com/media-stream",
        parameters={"tenant": "acme", "note": 'a "quoted" <value>'},
        say="Connecting you now.",
        name="agent",
    )
    root = ET.fromstring(twiml)
    assert root.tag == "Response" and root.find("Say") is not None
    stream = root.find("./Connect/Stream")
    assert stream is not None and stream.get("url") == "wss://example.com/media-stream"
    assert stream.get("name") == "agent"
    params = {p.get("name"): p.get("value") for p in stream.findall("Parameter")}
    assert params == {"tenant": "acme", "note": 'a "quoted" <value>'}


@pytest.mark.parametrize(
    "url",
    [
        "wss://example.com/media-stream?tenant=acme",
        "wss://example.com/media-stream?",
        "wss://x/y#f",
    ],
)
def test_stream_url_with_a_query_string_is_refused(url: str) -> None:
    with pytest.raises(UserError, match="31920"):
        stream_twiml(url)


@pytest.mark.parametrize("url", ["https://example.com/media", "ws://example.com/media", "wss:///x"])
def test_stream_url_must_be_wss(url: str) -> None:
    with pytest.raises(UserError, match="wss://"):
        stream_twiml(url)
