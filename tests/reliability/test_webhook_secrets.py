"""Webhook secrets and the Twilio auth token: never in logs (every logger at DEBUG), error
messages, tracebacks or reprs, whatever the request does wrong. Signature checks run through
the official libraries (constant-time comparison) and refuse stale or replayed deliveries."""

from __future__ import annotations

import base64
import json
import logging
import time
import traceback

import pytest

sip = pytest.importorskip("realtime_transport_sip", reason="the sip plugin is not installed")
twilio = pytest.importorskip(
    "realtime_transport_twilio", reason="the twilio plugin is not installed"
)

from realtime_transport_emulator.surfaces.sip.webhook import sign  # noqa: E402
from realtime_transport_sip.webhooks import IncomingCallVerifier  # noqa: E402
from realtime_transport_twilio.signature import TwilioSignatureValidator  # noqa: E402

WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"super-secret-signing-key-000001").decode()
AUTH_TOKEN = "0123456789abcdef0123456789abcdef"


def _incoming(call_id: str = "rtc_1") -> bytes:
    return json.dumps(
        {
            "object": "event",
            "id": "evt_1",
            "type": "realtime.call.incoming",
            "created_at": int(time.time()),
            "data": {"call_id": call_id, "sip_headers": [{"name": "From", "value": "+1555"}]},
        }
    ).encode()


def _headers(body: bytes, *, secret: str = WEBHOOK_SECRET, ts: int | None = None) -> dict[str, str]:
    timestamp = int(time.time()) if ts is None else ts
    return {
        "webhook-id": "wh_1",
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, "wh_1", timestamp, body),
    }


@pytest.fixture
def every_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


def _texts(exc: BaseException, caplog: pytest.LogCaptureFixture, *objects: object) -> list[str]:
    return [
        str(exc),
        "".join(traceback.format_exception(exc)),
        caplog.text,
        *(repr(obj) for obj in objects),
    ]


@pytest.mark.parametrize(
    "problem", ["wrong-secret", "tampered", "stale", "future", "missing-header"]
)
def test_webhook_secret_never_leaks(every_log: pytest.LogCaptureFixture, problem: str) -> None:
    verifier = IncomingCallVerifier(WEBHOOK_SECRET)
    body = _incoming()
    other = "whsec_" + base64.b64encode(b"another-signing-key-0000000002").decode()
    headers = {
        "wrong-secret": _headers(body, secret=other),
        "tampered": _headers(body),
        "stale": _headers(body, ts=int(time.time()) - 3600),
        "future": _headers(body, ts=int(time.time()) + 3600),
        "missing-header": {k: v for k, v in _headers(body).items() if k != "webhook-signature"},
    }[problem]
    sent = body.replace(b"+1555", b"+1666") if problem == "tampered" else body
    with pytest.raises(Exception) as caught:
        verifier.verify(sent, headers)
    for text in _texts(caught.value, every_log, verifier):
        assert WEBHOOK_SECRET not in text and WEBHOOK_SECRET[6:] not in text


def test_a_replayed_delivery_is_ignored_not_accepted_twice() -> None:
    verifier = IncomingCallVerifier(WEBHOOK_SECRET)
    body = _incoming("rtc_replay")
    headers = _headers(body)
    assert verifier.verify(body, headers) is not None
    assert verifier.verify(body, headers) is None  # the same delivery again: a repeat


def test_twilio_auth_token_never_leaks(every_log: pytest.LogCaptureFixture) -> None:
    validator = TwilioSignatureValidator(AUTH_TOKEN, public_origin="https://voice.example.com")
    for call in (
        lambda: validator.validate_webhook("/voice", "", {"CallSid": "CA1"}, {}),
        lambda: validator.validate_webhook(
            "/voice", "", {"CallSid": "CA1"}, {"X-Twilio-Signature": "bm9wZQ=="}
        ),
        lambda: validator.validate_stream_upgrade("/media", {"X-Twilio-Signature": "bm9wZQ=="}),
    ):
        with pytest.raises(Exception) as caught:
            call()
        for text in _texts(caught.value, every_log, validator):
            assert AUTH_TOKEN not in text
