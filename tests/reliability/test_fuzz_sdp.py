"""Fuzzing the webrtc transport's SDP handling: hostile answers from the calls endpoint.

The emulator answers a real offer with a real SDP answer (matching ICE credentials and DTLS
fingerprint); hypothesis then mutates it (lines deleted, duplicated, replaced or garbled, the
body cut short or replaced) before the transport reads it. Whatever arrives, ``connect()`` either
succeeds or raises the documented ``TransportConnectionError`` family with a message that says
what happened, never another exception; the transport ends ``disconnected`` and leaves no task,
thread or file descriptor behind (aiortc's ICE sockets and decoder threads included).

Each example is a whole connect on a fresh event loop (the default loop or uvloop), so there
are few of them: SDP answers are small, and a run of aiortc per example is the real thing.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

pytest.importorskip("aiortc", reason="the webrtc transport needs aiortc")
pytest.importorskip("realtime_transport_webrtc", reason="the webrtc plugin is not installed")
from _census import Census
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from realtime_transport import get_transport
from realtime_transport.errors import TransportConnectionError
from realtime_transport.loops import available_loops, run
from realtime_transport_emulator import Emulator
from realtime_transport_emulator.net.routing import HttpRequest, HttpResponse

pytestmark = pytest.mark.usefixtures("loopback_ice")

KEY = "sk-fuzz-sdp-SECRET"
PATH = "/test/mutated/calls"
Mutation = Callable[[str], str]

texts = st.text(max_size=40) | st.sampled_from(
    [
        "m=audio 0 UDP/TLS/RTP/SAVPF 0",
        "a=fingerprint:sha-256 00:11",
        "a=ice-ufrag:",
        "a=candidate:1 1 udp 1 127.0.0.1 1 typ host",
        "a=setup:actpass",
        "c=IN IP4 999.1.1.1",
        "a=rtpmap:111 opus/48000/2",
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
        "a=sctp-port:-1",
        "a=group:BUNDLE 0 1 2 3",
        "\x00\ufffd",
    ]
)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("delete"), st.integers(0, 200)),
        st.tuples(st.just("duplicate"), st.integers(0, 200)),
        st.tuples(st.just("replace"), st.integers(0, 200), texts),
        st.tuples(st.just("garble"), st.integers(0, 200), texts),
        st.tuples(st.just("truncate"), st.floats(0, 1)),
        st.tuples(st.just("whole"), texts),
    ),
    min_size=1,
    max_size=4,
)


def mutate(sdp: str, ops: list[tuple[Any, ...]]) -> str:
    lines = sdp.split("\r\n")
    for op in ops:
        kind, *args = op
        index = args[0] % len(lines) if lines and isinstance(args[0], int) else 0
        if kind == "delete" and lines:
            del lines[index]
        elif kind == "duplicate" and lines:
            lines.insert(index, lines[index])
        elif kind == "replace" and lines:
            lines[index] = args[1]
        elif kind == "garble" and lines:
            line = lines[index]
            lines[index] = line[: len(line) // 2] + args[1] + line[len(line) // 2 :]
        elif kind == "truncate":
            text = "\r\n".join(lines)
            lines = text[: int(len(text) * args[0])].split("\r\n")
        elif kind == "whole":
            lines = ["v=0", args[0]]
    return "\r\n".join(lines)


def mutating_calls(mutation: list[Mutation]) -> Callable[[Emulator], None]:
    """A calls endpoint that answers like the real one, then mutates the answer's SDP."""

    def install(emulator: Emulator) -> None:
        from realtime_transport_emulator.surfaces.webrtc.endpoint import CallsEndpoint

        endpoint = CallsEndpoint(emulator)

        async def create(request: HttpRequest) -> HttpResponse:
            response = await endpoint.create(request)
            answer = mutation[0](response.body.decode())
            return dataclasses.replace(response, body=answer.encode("utf-8", "surrogatepass"))

        emulator.router.add("POST", PATH, create)
        emulator.add_stop_hook(endpoint.close_all)

    return install


async def connect_with(mutation: Mutation) -> str:
    """One connect against a mutated answer; returns "connected" or the error's message."""
    # The loop's default executor (DNS, Opus) is per loop, not per call: one worker, started
    # before the census, so the thread count only moves for a real leak.
    loop = asyncio.get_running_loop()
    loop.set_default_executor(ThreadPoolExecutor(max_workers=1))
    await loop.run_in_executor(None, lambda: None)
    census = Census.take()
    holder = [mutation]
    async with Emulator(surfaces=[mutating_calls(holder)]) as emulator:
        transport = get_transport("webrtc", audio_sink=lambda pcm: None, connect_timeout=1.5)
        try:
            await asyncio.wait_for(
                transport.connect(
                    api_key=KEY,
                    url=f"{emulator.http_url}{PATH}",
                    initial_session_config={"output_modalities": ["text"]},
                ),
                10,
            )
        except TransportConnectionError as error:  # the documented family, nothing else
            outcome = str(error)
            assert outcome and KEY not in outcome and KEY not in repr(error)
            assert transport.status == "disconnected"
        else:
            outcome = "connected"
        finally:
            await transport.close()
        assert transport.status == "disconnected"
    await census.check(timeout=8)
    return outcome


@pytest.mark.timeout(300)
@pytest.mark.parametrize("loop", sorted(available_loops()))
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations)
def test_hostile_sdp_answers_end_in_documented_errors(
    loop: str, ops: list[tuple[Any, ...]]
) -> None:
    outcome = run(connect_with(lambda sdp: mutate(sdp, ops)), loop=loop)
    assert outcome == "connected" or len(outcome) > 20, outcome  # says what happened


@pytest.mark.timeout(120)
@pytest.mark.parametrize("loop", sorted(available_loops()))
def test_unmutated_answer_connects(loop: str) -> None:
    """The harness itself works: the real answer passed through connects."""
    assert run(connect_with(lambda sdp: sdp), loop=loop) == "connected"
