"""G.711 codecs against scalar implementations of the reference algorithms (protocols.md §8)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from realtime_transport.audio import (
    alaw_decode,
    alaw_decode_array,
    alaw_encode,
    alaw_to_ulaw,
    g711_decode,
    g711_encode,
    ulaw_decode,
    ulaw_decode_array,
    ulaw_encode,
    ulaw_to_alaw,
)
from realtime_transport.errors import AudioFormatError

# --- straightforward scalar references, written from the text of §8 ---------------------------


def ref_ulaw_encode(x: int) -> int:
    sign = 0x80 if x < 0 else 0
    v = min(-x if x < 0 else x, 32635) + 0x84
    exponent = (v.bit_length() - 1) - 7  # floor(log2(v)) - 7
    mantissa = (v >> (exponent + 3)) & 0xF
    return ~(sign | exponent << 4 | mantissa) & 0xFF


def ref_ulaw_decode(code: int) -> int:
    u = ~code & 0xFF
    exponent = (u >> 4) & 7
    v = (((u & 0xF) << 3) + 0x84) << exponent
    sample = v - 0x84
    return -sample if u & 0x80 else sample


ALAW_ENDS = (0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF)


def ref_alaw_encode(x: int) -> int:
    if x >= 0:
        mask = 0xD5
    else:
        mask = 0x55
        x = -x - 1
    m = x >> 3
    segment = next((i for i, end in enumerate(ALAW_ENDS) if end >= m), None)
    if segment is None:
        return 0x7F ^ mask
    mantissa = (m >> 1) & 0xF if segment < 2 else (m >> segment) & 0xF
    return ((segment << 4) | mantissa) ^ mask


def ref_alaw_decode(code: int) -> int:
    a = code ^ 0x55
    t = (a & 0xF) << 4
    segment = (a & 0x70) >> 4
    if segment == 0:
        t += 8
    elif segment == 1:
        t += 0x108
    else:
        t = (t + 0x108) << (segment - 1)
    return t if a & 0x80 else -t


ALL = np.arange(-32768, 32768, dtype=np.int16)
ALL_BYTES = ALL.astype("<i2").tobytes()
ALL_CODES = bytes(range(256))


def pcm(samples: list[int]) -> bytes:
    return np.array(samples, dtype="<i2").tobytes()


def as_ints(data: bytes) -> list[int]:
    return [int(v) for v in np.frombuffer(data, dtype="<i2")]


# --- bit-exactness, exhaustively ---------------------------------------------------------------


def test_ulaw_encode_matches_reference_for_every_16_bit_input() -> None:
    assert ulaw_encode(ALL_BYTES) == bytes(ref_ulaw_encode(int(x)) for x in ALL)


def test_alaw_encode_matches_reference_for_every_16_bit_input() -> None:
    assert alaw_encode(ALL_BYTES) == bytes(ref_alaw_encode(int(x)) for x in ALL)


def test_decoders_match_reference_for_every_code() -> None:
    assert as_ints(ulaw_decode(ALL_CODES)) == [ref_ulaw_decode(c) for c in ALL_CODES]
    assert as_ints(alaw_decode(ALL_CODES)) == [ref_alaw_decode(c) for c in ALL_CODES]


@pytest.mark.parametrize(
    ("decode", "code", "value"),
    [
        (ulaw_decode, 0xFF, 0),
        (ulaw_decode, 0x7F, 0),
        (ulaw_decode, 0x80, 32124),
        (ulaw_decode, 0x00, -32124),
        (alaw_decode, 0xD5, 8),
        (alaw_decode, 0x55, -8),
    ],
)
def test_spot_values_from_the_reference(decode: Any, code: int, value: int) -> None:
    assert as_ints(decode(bytes([code]))) == [value]


def test_decode_ranges_and_silence() -> None:
    ulaw = ulaw_decode_array(ALL_CODES)
    alaw = alaw_decode_array(ALL_CODES)
    assert (ulaw.min(), ulaw.max()) == (-32124, 32124)
    assert (alaw.min(), alaw.max()) == (-32256, 32256)
    assert 0 not in alaw.tolist()  # A-law has no zero
    assert ulaw_encode(pcm([0])) == b"\xff"
    assert alaw_encode(pcm([0])) == b"\xd5"
    assert ulaw_decode_array(b"x").dtype == np.dtype("<i2")


def test_bias_form_ulaw_is_sign_symmetric() -> None:
    codes = np.frombuffer(ulaw_encode(ALL_BYTES), dtype=np.uint8).astype(int)
    positive = codes[32768 + 1 :]  # x = 1 .. 32767
    negative = codes[32768 - 1 : 0 : -1]  # x = -1 .. -32767
    assert ((positive ^ negative) == 0x80).all()


def test_against_audioop_where_available() -> None:
    """Cross-check with CPython's audioop (gone in 3.13), including the documented μ-law gap."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        audioop = pytest.importorskip("audioop")
    assert alaw_encode(ALL_BYTES) == audioop.lin2alaw(ALL_BYTES, 2)
    assert alaw_decode(ALL_CODES) == audioop.alaw2lin(ALL_CODES, 2)
    assert ulaw_decode(ALL_CODES) == audioop.ulaw2lin(ALL_CODES, 2)
    ours = ulaw_decode_array(ulaw_encode(ALL_BYTES)).astype(int)
    sun = ulaw_decode_array(audioop.lin2ulaw(ALL_BYTES, 2)).astype(int)
    differ = np.nonzero(ours != sun)[0]
    assert len(differ) == 381  # the count the g711 module docstring states
    assert (ALL[differ] < 0).all()
    assert (np.abs(sun[differ]) > np.abs(ours[differ])).all()  # Sun: one step further from 0


# --- property tests on arbitrary buffers and input types ---------------------------------------


@given(st.lists(st.integers(-32768, 32767), max_size=400))
def test_encoders_match_reference_on_arbitrary_buffers(samples: list[int]) -> None:
    data = pcm(samples)
    assert ulaw_encode(data) == bytes(map(ref_ulaw_encode, samples))
    assert alaw_encode(data) == bytes(map(ref_alaw_encode, samples))
    assert ulaw_encode(bytearray(data)) == ulaw_encode(memoryview(data))


@given(st.binary(max_size=400))
def test_decoders_match_reference_on_arbitrary_bytes(data: bytes) -> None:
    assert as_ints(ulaw_decode(data)) == [ref_ulaw_decode(c) for c in data]
    assert as_ints(alaw_decode(data)) == [ref_alaw_decode(c) for c in data]
    assert len(ulaw_decode(memoryview(data))) == 2 * len(data)


@settings(max_examples=50)
@given(
    hnp.arrays(
        dtype=st.sampled_from([np.dtype("<i2"), np.dtype(">i2")]),
        shape=hnp.array_shapes(max_dims=2, max_side=40),
    )
)
def test_int16_arrays_of_either_byte_order_encode_like_bytes(array: np.ndarray) -> None:
    as_bytes = array.astype("<i2").tobytes()
    assert ulaw_encode(array) == ulaw_encode(as_bytes)
    assert alaw_encode(array) == alaw_encode(as_bytes)


# --- round-trip error bounds --------------------------------------------------------------------


def test_ulaw_round_trip_error_is_half_a_step_of_its_segment() -> None:
    codes = np.frombuffer(ulaw_encode(ALL_BYTES), dtype=np.uint8).astype(int)
    decoded = ulaw_decode_array(bytes(codes.astype(np.uint8))).astype(int)
    x = ALL.astype(int)
    err = np.abs(decoded - x)
    segment = ((~codes & 0xFF) >> 4) & 7
    inside = np.abs(x) <= 32635  # beyond that the encoder clips to the top code
    assert (err[inside] <= 2 ** (segment[inside] + 2)).all()
    assert err[~inside].max() == 32768 - 32124
    for seg in range(1, 8):  # relative error: half a step over the segment's smallest input
        chosen = inside & (segment == seg)
        bound = 2 ** (seg + 2) / (2 ** (seg + 7) - 0x84)
        assert (err[chosen] / np.abs(x[chosen]) <= bound + 1e-12).all()
    loud = inside & (np.abs(x) >= 1000)
    assert (err[loud] / np.abs(x[loud])).max() < 0.04


def test_alaw_round_trip_error_is_half_a_step_of_its_segment() -> None:
    codes = np.frombuffer(alaw_encode(ALL_BYTES), dtype=np.uint8).astype(int)
    decoded = alaw_decode_array(bytes(codes.astype(np.uint8))).astype(int)
    x = ALL.astype(int)
    err = np.abs(decoded - x)
    segment = ((codes ^ 0x55) & 0x70) >> 4
    half_step = np.where(segment <= 1, 8, 2 ** (segment + 2))
    assert (err <= half_step).all()
    assert err.max() == 512  # no clipping in 16 bits: the top segment's half step
    loud = np.abs(x) >= 256
    assert (err[loud] / np.abs(x[loud])).max() <= 1 / 32 + 1e-12


def test_decode_encode_is_identity_on_codes() -> None:
    for encode, decode in ((ulaw_encode, ulaw_decode), (alaw_encode, alaw_decode)):
        codes = bytes(c for c in ALL_CODES if c != 0x7F) if encode is ulaw_encode else ALL_CODES
        assert encode(decode(codes)) == codes  # μ-law 0x7F is "-0" and re-encodes as 0xFF
    assert ulaw_encode(ulaw_decode(b"\x7f")) == b"\xff"


def test_law_swap_equals_decode_then_encode() -> None:
    assert ulaw_to_alaw(ALL_CODES) == alaw_encode(ulaw_decode(ALL_CODES))
    assert alaw_to_ulaw(ALL_CODES) == ulaw_encode(alaw_decode(ALL_CODES))
    assert ulaw_to_alaw(b"\xff" * 3) == b"\xd5" * 3  # silence stays silence


def test_named_law_helpers() -> None:
    data = pcm([0, 1000, -1000, 32767])
    assert g711_encode(data, "g711_ulaw") == ulaw_encode(data)
    assert g711_encode(data, {"type": "audio/pcma"}) == alaw_encode(data)
    assert g711_decode(b"\x00\xff", "pcmu") == ulaw_decode(b"\x00\xff")
    with pytest.raises(AudioFormatError, match=r"G\.711"):
        g711_encode(data, "pcm16")


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("encode", [ulaw_encode, alaw_encode])
def test_odd_length_pcm_is_a_clear_error(encode: Any) -> None:
    with pytest.raises(AudioFormatError, match=r"even number of bytes.*got 3"):
        encode(b"\x00\x01\x02")


@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.uint8])
def test_non_int16_arrays_are_rejected(dtype: Any) -> None:
    with pytest.raises(AudioFormatError, match="int16"):
        ulaw_encode(np.zeros(4, dtype=dtype))


def test_empty_input() -> None:
    assert ulaw_encode(b"") == b"" == alaw_encode(b"")
    assert ulaw_decode(b"") == b"" == alaw_decode(b"")
