"""Fuzzing what arrives from outside: server events through the transport's inbound mapping, and
audio through the stateful converters, cut at arbitrary points.

No exception escapes except the documented ones: a hostile or broken server produces ``*``
events and ``error`` events (``source="parse"`` for frames that are not JSON objects), never a
crash of the receive loop.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from realtime_transport.audio import PCM24K, PCMA, PCMU, Transcoder
from realtime_transport.protocol.server_events import SERVER_EVENT_TYPES
from realtime_transport_websocket.transport import OpenAIRealtimeWebSocket

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = [
    "event_id",
    "item_id",
    "response_id",
    "delta",
    "transcript",
    "text",
    "item",
    "response",
    "session",
    "error",
    "content_index",
    "output_index",
    "audio_end_ms",
    "call_id",
    "arguments",
    "name",
    "previous_item_id",
    "usage",
    "status",
    "part",
    "rate_limits",
]
events = st.builds(
    lambda kind, fields: {"type": kind, **fields},
    kind=st.sampled_from(sorted(SERVER_EVENT_TYPES)) | st.text(max_size=30),
    fields=st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=6),
)
frames = st.one_of(
    events.map(lambda event: json.dumps(event)),
    events.map(lambda event: json.dumps(event).encode()),
    json_values.map(json.dumps),
    st.binary(max_size=64),
    st.text(max_size=64),
)


def _listening_transport() -> tuple[OpenAIRealtimeWebSocket, list[str], list[Any]]:
    transport = OpenAIRealtimeWebSocket()
    seen: list[str] = []
    errors: list[Any] = []

    def fail(event: Any) -> None:  # a listener that raises must not break the loop either
        raise RuntimeError("listener bug")

    transport.on("*", lambda event: seen.append(event.get("type", "?")))
    transport.on("error", errors.append)
    for name in ("audio", "item_update", "function_call", "turn_done", "turn_started"):
        transport.on(name, fail)
    return transport, seen, errors


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(frames, min_size=1, max_size=12))
def test_any_server_frames_never_escape_the_receive_loop(batch: list[str | bytes]) -> None:
    transport, seen, errors = _listening_transport()
    for frame in batch:
        transport._handle_frame(frame)  # what the socket calls for every message
    typed = sum(1 for frame in batch if _typed_object(frame))
    parse_errors = [e for e in errors if e.source == "parse"]
    assert len(seen) == typed, "every JSON object with a string type reaches `*`"
    # every other frame is a parse error (and a typed event with unusable fields may be one too)
    assert len(parse_errors) >= len(batch) - typed
    for error in errors:
        assert error.message and isinstance(error.message, str)
        assert error.source in ("parse", "server", "transport", "listener"), error.source


def _typed_object(frame: str | bytes) -> bool:
    try:
        parsed = json.loads(frame)
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(parsed, dict) and isinstance(parsed.get("type"), str)


FORMATS = {"pcm24k": PCM24K, "pcmu": PCMU, "pcma": PCMA}


@settings(max_examples=80, deadline=None)
@given(
    source=st.sampled_from(sorted(FORMATS)),
    target=st.sampled_from(sorted(FORMATS)),
    audio=st.binary(min_size=0, max_size=2000),
    cuts=st.lists(st.integers(0, 2000), max_size=8),
)
def test_converters_are_chunking_invariant(
    source: str, target: str, audio: bytes, cuts: list[int]
) -> None:
    """Any split of a stream (odd byte counts included) converts to the same audio as the whole:
    the same length, the same bytes where no resampling happens, and samples within rounding
    where soxr resamples (its output depends on the block sizes by a least significant bit)."""
    whole = Transcoder(FORMATS[source], FORMATS[target])
    expected = whole.process(audio) + whole.flush()
    pieces = Transcoder(FORMATS[source], FORMATS[target])
    out = bytearray()
    position = 0
    for cut in [*sorted(c for c in cuts if c <= len(audio)), len(audio)]:
        out += pieces.process(audio[position:cut])
        position = cut
    out += pieces.flush()
    assert len(out) == len(expected)
    if FORMATS[source].rate == FORMATS[target].rate:
        assert bytes(out) == expected
    else:
        to_pcm = {"type": "audio/pcm", "rate": FORMATS[target].rate}
        ours = np.frombuffer(Transcoder(FORMATS[target], to_pcm).process(bytes(out)), "<i2")
        reference = np.frombuffer(Transcoder(FORMATS[target], to_pcm).process(expected), "<i2")
        step = 1100 if FORMATS[target].is_g711 else 4  # one G.711 step near full scale
        assert np.max(np.abs(ours.astype(int) - reference), initial=0) <= step


@pytest.mark.parametrize("fmt", ["pcmu", "pcma"])
def test_g711_round_trip_is_exact_on_the_wire(fmt: str) -> None:
    every_byte = bytes(range(256))
    decoded = Transcoder(FORMATS[fmt], {"type": "audio/pcm", "rate": 8000}).process(every_byte)
    encoded = Transcoder({"type": "audio/pcm", "rate": 8000}, FORMATS[fmt]).process(decoded)
    zero = {"pcmu": {0x7F: 0xFF}, "pcma": {}}[fmt]  # μ-law's negative zero encodes as +0
    assert encoded == bytes(zero.get(b, b) for b in every_byte)
