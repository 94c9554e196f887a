"""IncomingCallVerifier: signatures (openai's check), timestamps, secrets, deduplication."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from realtime_transport_emulator.surfaces.sip import sign
from realtime_transport_sip import (
    IncomingCallVerifier,
    WebhookError,
    WebhookEventTypeError,
    WebhookHeadersError,
    WebhookSecretError,
    WebhookSignatureError,
    WebhookTimestampError,
)

SECRET = "whsec_" + base64.b64encode(b"the-endpoint-signing-secret").decode()
NOW = 1_750_287_078


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def delivery(
    call_id: str = "rtc_1",
    *,
    webhook_id: str = "wh_1",
    timestamp: int = NOW,
    secret: str = SECRET,
    event_type: str = "realtime.call.incoming",
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {
            "object": "event",
            "id": f"evt_{call_id}",
            "type": event_type,
            "created_at": timestamp,
            "data": {
                "call_id": call_id,
                "sip_headers": [
                    {"name": "From", "value": "sip:+15551234567@example.com"},
                    {"name": "To", "value": "sip:+18005550100@example.com"},
                ],
            },
        }
    ).encode()
    headers = {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, webhook_id, timestamp, body),
        "content-type": "application/json",
    }
    return body, headers


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr("time.time", clock)  # openai's check reads the same clock
    return clock


def test_a_valid_delivery_becomes_an_incoming_call(clock: Clock) -> None:
    body, headers = delivery()
    call = IncomingCallVerifier(SECRET, clock=clock).verify(body, headers)
    assert call is not None and call.call_id == "rtc_1"
    assert call.header("from") == "sip:+15551234567@example.com"
    assert call.sip_headers[1] == ("To", "sip:+18005550100@example.com")
    assert (call.webhook_id, call.event_id, call.created_at) == ("wh_1", "evt_rtc_1", NOW)


def test_the_protocols_worked_example_verifies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("time.time", lambda: 1700000000.0)
    body = (
        b'{"object":"event","id":"evt_123","type":"realtime.call.incoming","created_at":'
        b'1700000000,"data":{"call_id":"rtc_abc","sip_headers":[{"name":"From","value":'
        b'"sip:+15551234567@example.com"}]}}'
    )
    headers = {
        "webhook-id": "wh_123",
        "webhook-timestamp": "1700000000",
        "webhook-signature": "v1,ffJzFmkPzIyeR5ao86nnMCkjUL48M+LbXfVLJ9Z1GtU=",
    }
    verifier = IncomingCallVerifier("whsec_dGVzdC1zZWNyZXQtMDEyMzQ1Njc4OWFiY2RlZg==")
    call = verifier.verify(body, headers)
    assert call is not None and call.call_id == "rtc_abc"


def test_one_valid_signature_among_several_is_enough(clock: Clock) -> None:
    body, headers = delivery()
    other = sign("whsec_" + base64.b64encode(b"rotated-old").decode(), "wh_1", NOW, body)
    headers["webhook-signature"] = f"{other} v1,bm90LWEtc2lnbmF0dXJl {headers['webhook-signature']}"
    assert IncomingCallVerifier(SECRET, clock=clock).verify(body, headers) is not None


def test_a_wrong_secret_or_a_changed_body_is_a_signature_error(clock: Clock) -> None:
    verifier = IncomingCallVerifier(SECRET, clock=clock)
    body, headers = delivery(secret="whsec_" + base64.b64encode(b"someone-else").decode())
    with pytest.raises(WebhookSignatureError, match="OPENAI_WEBHOOK_SECRET") as wrong:
        verifier.verify(body, headers)
    body, headers = delivery()
    tampered = body.replace(b"rtc_1", b"rtc_2")
    with pytest.raises(WebhookSignatureError, match="raw request bytes"):
        verifier.verify(tampered, headers)
    reformatted = json.dumps(json.loads(body), indent=1).encode()  # same JSON, other bytes
    with pytest.raises(WebhookSignatureError):
        verifier.verify(reformatted, headers)
    assert SECRET not in str(wrong.value) and SECRET not in repr(verifier)
    assert verifier.verify(body, headers) is not None  # a forged attempt did not block the real one


def test_stale_and_future_timestamps_are_refused(clock: Clock) -> None:
    verifier = IncomingCallVerifier(SECRET, clock=clock, tolerance_seconds=300)
    stale_body, stale = delivery(timestamp=NOW - 301)
    with pytest.raises(WebhookTimestampError, match="ago") as old:
        verifier.verify(stale_body, stale)
    future_body, future = delivery(timestamp=NOW + 301)
    with pytest.raises(WebhookTimestampError, match="future") as new:
        verifier.verify(future_body, future)
    assert (old.value.kind, new.value.kind) == ("stale", "future")
    edge_body, edge = delivery(timestamp=NOW - 299)
    assert verifier.verify(edge_body, edge) is not None


def test_missing_or_malformed_headers(clock: Clock) -> None:
    verifier = IncomingCallVerifier(SECRET, clock=clock)
    body, headers = delivery()
    del headers["webhook-signature"]
    with pytest.raises(WebhookHeadersError, match="webhook-signature"):
        verifier.verify(body, headers)
    body, headers = delivery()
    headers["webhook-timestamp"] = "yesterday"
    with pytest.raises(WebhookHeadersError, match="unix seconds"):
        verifier.verify(body, headers)
    body, headers = delivery()
    as_list = [(k.title().encode(), v.encode()) for k, v in headers.items()]  # ASGI-style pairs
    assert verifier.verify(body, as_list) is not None


def test_repeated_deliveries_are_dropped_within_a_bounded_window(clock: Clock) -> None:
    verifier = IncomingCallVerifier(SECRET, clock=clock, dedupe_seconds=60, max_remembered=4)
    body, headers = delivery("rtc_1", webhook_id="wh_1")
    assert verifier.verify(body, headers) is not None
    assert verifier.verify(body, headers) is None  # same webhook-id
    retry_body, retry = delivery("rtc_1", webhook_id="wh_retry")
    assert verifier.verify(retry_body, retry) is None  # a new delivery of the same call
    clock.now += 61
    late_body, late = delivery("rtc_1", webhook_id="wh_1", timestamp=int(clock.now))
    assert verifier.verify(late_body, late) is not None  # outside the window: new again
    for index in range(2, 6):  # bounded: the oldest entries are forgotten first
        b, h = delivery(f"rtc_{index}", webhook_id=f"wh_{index}", timestamp=int(clock.now))
        assert verifier.verify(b, h) is not None
    assert len(verifier._seen) == 4


def test_secrets_and_other_event_types(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_WEBHOOK_SECRET", raising=False)
    with pytest.raises(WebhookSecretError, match="OPENAI_WEBHOOK_SECRET"):
        IncomingCallVerifier()
    with pytest.raises(WebhookSecretError, match="base64"):
        IncomingCallVerifier("whsec_not base64!")
    monkeypatch.setenv("OPENAI_WEBHOOK_SECRET", SECRET)
    verifier = IncomingCallVerifier(clock=clock)
    body, headers = delivery(event_type="response.completed")
    with pytest.raises(WebhookEventTypeError) as other:
        verifier.verify(body, headers)
    assert other.value.event_type == "response.completed"
    assert isinstance(other.value, WebhookError)
    plain = "a-plain-secret"  # not whsec_: its UTF-8 bytes are the key, as openai does
    body, headers = delivery(secret=plain)
    assert IncomingCallVerifier(plain, clock=clock).verify(body, headers) is not None


def test_a_configured_client_supplies_the_secret(clock: Clock) -> None:
    from openai import AsyncOpenAI

    client: Any = AsyncOpenAI(api_key="sk-x", webhook_secret=SECRET)
    body, headers = delivery()
    assert IncomingCallVerifier(client=client, clock=clock).verify(body, headers) is not None
