"""Fuzzing the other inputs from outside: Twilio media-stream messages, SIP webhook deliveries
and session config. Only the documented exceptions may escape."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from realtime_transport.config import to_ga_config
from realtime_transport.errors import UserError

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=16),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=10,
)


class _NullSocket:
    """A media-stream socket that is never read here (messages are fed directly)."""

    async def receive_text(self) -> str:  # pragma: no cover - not called
        raise RuntimeError

    async def send_text(self, data: str) -> None:  # pragma: no cover - not called
        return None

    async def close(self, code: int = 1000) -> None:  # pragma: no cover - not called
        return None


TWILIO_EVENTS = ["connected", "start", "media", "mark", "dtmf", "stop", "clear", "other"]
TWILIO_FIELDS = ["streamSid", "sequenceNumber", "start", "media", "mark", "dtmf", "stop"]
twilio_messages = st.one_of(
    st.builds(
        lambda event, fields: json.dumps({"event": event, **fields}),
        st.sampled_from(TWILIO_EVENTS) | st.text(max_size=12),
        st.dictionaries(st.sampled_from(TWILIO_FIELDS), values, max_size=4),
    ),
    st.builds(
        lambda payload, ts: json.dumps(
            {"event": "media", "media": {"payload": payload, "timestamp": ts, "track": "inbound"}}
        ),
        st.text(max_size=40)
        | st.binary(max_size=40).map(lambda b: __import__("base64").b64encode(b).decode()),
        st.text(max_size=6) | st.integers(-5, 10**9).map(str),
    ),
    values.map(json.dumps),
    st.text(max_size=40),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages=st.lists(twilio_messages, min_size=1, max_size=10))
def test_twilio_messages_never_escape(messages: list[str]) -> None:
    twilio = pytest.importorskip("realtime_transport_twilio")
    transport = twilio.TwilioRealtimeTransportLayer(twilio_websocket=_NullSocket())
    errors: list[Any] = []
    transport.on("error", errors.append)
    for message in messages:
        transport._handle_twilio(message)  # what the reader calls per message; never raises
    for error in errors:
        assert isinstance(error.message, str) and error.message


@settings(max_examples=300, deadline=None)
@given(
    body=st.binary(max_size=200) | values.map(lambda v: json.dumps(v).encode()),
    headers=st.dictionaries(
        st.sampled_from(["webhook-id", "webhook-timestamp", "webhook-signature", "x"]),
        st.text(max_size=40) | st.integers(0, 2**33).map(str),
        max_size=4,
    ),
)
def test_webhook_deliveries_raise_only_webhook_errors(body: bytes, headers: dict[str, str]) -> None:
    sip = pytest.importorskip("realtime_transport_sip")
    from realtime_transport_sip.errors import WebhookError

    verifier = sip.IncomingCallVerifier("whsec_c2VjcmV0LXNpZ25pbmcta2V5LWZvci1mdXp6")
    try:
        verifier.verify(body, headers)
    except WebhookError as exc:
        assert str(exc)
    else:  # pragma: no cover - a random body is never correctly signed
        raise AssertionError("an unsigned delivery was accepted")


@settings(max_examples=300, deadline=None)
@given(config=st.dictionaries(st.text(max_size=20), values, max_size=6) | values)
def test_session_config_raises_only_user_errors(config: Any) -> None:
    try:
        to_ga_config(config)
    except UserError as exc:
        assert str(exc)
