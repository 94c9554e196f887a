"""Secrets never leak: API keys and ephemeral client secrets are absent from every log record
(captured at DEBUG from every logger), exception messages and tracebacks, ``repr()`` of
transports, sessions and options, and ``*`` events."""

from __future__ import annotations

import asyncio
import logging
import traceback
from typing import Any

import pytest
from conftest import Factory
from realtime_transport import RealtimeAgent, RealtimeSession
from realtime_transport.errors import AuthenticationError
from realtime_transport.testing.scenarios import Recorder
from realtime_transport_emulator import Emulator, Faults

GOOD_KEY = "sk-proj-GOODSECRETc0ffee1234567890"
BAD_KEY = "sk-proj-BADSECRETdeadbeef0987654321"


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)  # the root logger: every library's records
    for name in list(logging.root.manager.loggerDict):
        logging.getLogger(name).setLevel(logging.DEBUG)
    return caplog


def _assert_absent(texts: list[str], *secrets: str) -> None:
    for text in texts:
        for secret in secrets:
            assert secret not in text, f"secret leaked into: {text[:300]!r}"


async def test_no_secret_anywhere_in_a_session_with_faults(
    make_transport: Factory, all_logs: pytest.LogCaptureFixture, transport_name: str
) -> None:
    raw: list[dict[str, Any]] = []
    errors: list[str] = []
    async with Emulator(
        api_keys=[GOOD_KEY], faults=[Faults(malformed_after=3, close_after=12)]
    ) as emulator:
        # 1. a wrong key: a typed error, no key in the message or the traceback
        transport = make_transport()
        with pytest.raises(AuthenticationError) as caught:
            await transport.connect(url=emulator.ws_url, api_key=BAD_KEY)
        failure = "".join(traceback.format_exception(caught.value))
        # 2. a good ephemeral-style key through a callable, a turn, a malformed frame, a drop
        session = RealtimeSession(
            RealtimeAgent("Agent", instructions="be brief"), transport=make_transport()
        )
        session.transport.on("*", raw.append)
        session.on("error", lambda event: errors.append(repr(event)))

        async def mint() -> str:
            return GOOD_KEY

        await asyncio.wait_for(session.connect(api_key=mint, url=emulator.ws_url), 10)
        recorder = Recorder(session.transport)
        session.send_message("hello")
        await recorder.wait_for("disconnected", timeout=10)
        reprs = [repr(session), repr(session.transport), repr(transport), str(session.transport)]
        await session.close()
    texts = [
        failure,
        str(caught.value),
        *reprs,
        *errors,
        *(repr(event) for event in raw),
        *(record.getMessage() for record in all_logs.records),
        *(str(record.exc_info) for record in all_logs.records if record.exc_info),
        all_logs.text,
    ]
    assert any(record.levelname == "DEBUG" for record in all_logs.records), "DEBUG was captured"
    _assert_absent(texts, GOOD_KEY, BAD_KEY, GOOD_KEY[8:], BAD_KEY[8:])


def test_options_repr_has_no_key(make_transport: Factory) -> None:
    transport = make_transport(api_key=GOOD_KEY)
    _assert_absent(
        [
            repr(transport),
            str(transport),
            repr(vars(transport)) if hasattr(transport, "__dict__") else "",
        ],
        GOOD_KEY,
    )
