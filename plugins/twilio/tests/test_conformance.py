"""The Twilio transport runs the conformance kit against the emulator, with a phone attached.

Each transport gets a real media stream: a ``websockets`` server on 127.0.0.1 accepts the
connection the carrier simulator opens (``connected``, ``start``, then no media, as when Twilio
skips silence, so the kit's "nothing was sent" checks hold). Model audio is played in real time
and marks are echoed as it plays. Capabilities: caller audio rides the stream (``sends_audio``
is False), model audio is emitted as ``audio`` events, and barge-in truncates at what the caller
heard (``client_side_truncation``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from realtime_transport.testing import TransportConformanceTests
from realtime_transport_emulator.surfaces.twilio_carrier import Gap, TwilioCarrier
from realtime_transport_emulator.surfaces.twilio_carrier.ear import CallRecord
from realtime_transport_twilio import TwilioRealtimeTransportLayer
from websockets.asyncio.server import serve

PHONES_PER_TEST = 3


@contextlib.asynccontextmanager
async def phones(count: int) -> AsyncIterator[list[Any]]:
    """``count`` server-side media stream sockets, each with a simulated caller on the line."""
    accepted: asyncio.Queue[Any] = asyncio.Queue()
    done = asyncio.Event()

    async def handler(connection: Any) -> None:
        await accepted.put(connection)
        await done.wait()

    carrier = TwilioCarrier(auth_token="unused")
    async with serve(handler, "127.0.0.1", 0, compression=None, close_timeout=1) as server:
        port = server.sockets[0].getsockname()[1]
        url = f"ws://127.0.0.1:{port}/media-stream"
        calls = [
            asyncio.ensure_future(
                carrier.stream(url, url, CallRecord(call_sid=f"CA{i}"), [Gap(30_000)])
            )
            for i in range(count)
        ]
        sockets = [await asyncio.wait_for(accepted.get(), 5) for _ in range(count)]
        try:
            yield sockets
        finally:
            for call in calls:
                call.cancel()
            for call in calls:
                with contextlib.suppress(BaseException):
                    await call
            done.set()


class TestTwilioConformance(TransportConformanceTests):
    @pytest_asyncio.fixture
    async def phone_lines(self) -> AsyncIterator[list[Any]]:
        async with phones(PHONES_PER_TEST) as sockets:
            yield sockets

    @pytest.fixture
    def transport_factory(self, phone_lines: list[Any]) -> Any:
        def make(emulator: Any) -> TwilioRealtimeTransportLayer:
            if not phone_lines:
                raise RuntimeError(f"raise PHONES_PER_TEST (a test used over {PHONES_PER_TEST})")
            return TwilioRealtimeTransportLayer(twilio_websocket=phone_lines.pop())

        return make
