"""The SIMD base64 speedup (pybase64) gives exactly what ``binascii`` gives, errors included."""

from __future__ import annotations

import array
import base64
import binascii
import importlib.util
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from realtime_transport import _base64

needs_pybase64 = pytest.mark.skipif(
    importlib.util.find_spec("pybase64") is None,
    reason="pybase64 is not installed (pip install 'realtime-transport[speedups]')",
)

# Canonical base64, lenient-but-valid base64 (whitespace, junk, extra padding), broken padding,
# data after padding, non-ASCII text: everything binascii's lenient mode treats specially.
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
TRICKY = [
    "",
    "YQ==",
    "YR==",  # non-zero trailing bits
    "YQ=",
    "YQ",
    "Y",
    "YQ==YQ==",  # data after padding: binascii stops, pybase64's lenient mode would not
    "YQ===",
    "====",
    "Y Q = =",
    "YQ==\n",
    "Y\x00Q==",
    "a=b=",
    "YWJjZA=",
    "YWJj\u00e9",  # non-ASCII text: ValueError, not binascii.Error
    "-_-_",  # URL-safe alphabet is not base64
]


def outcome(fn: Any, data: Any) -> tuple[str, Any]:
    try:
        return ("ok", fn(data))
    except Exception as exc:
        return (type(exc).__name__, str(exc))


def same_decode(data: Any) -> None:
    assert outcome(_base64.decode, data) == outcome(binascii.a2b_base64, data)
    assert outcome(_base64.pure_decode, data) == outcome(binascii.a2b_base64, data)


@needs_pybase64
def test_pybase64_is_used_when_installed() -> None:
    assert _base64.ACCELERATED
    assert _base64.decode is not _base64.pure_decode


@pytest.mark.parametrize("text", TRICKY)
def test_decode_matches_binascii_on_tricky_input(text: str) -> None:
    same_decode(text)
    if text.isascii():
        same_decode(text.encode())
        same_decode(bytearray(text.encode()))
        same_decode(memoryview(text.encode()))


@pytest.mark.parametrize("bad", [None, 5, 1.5, ["YQ=="], memoryview(b"YWJjZA==")[::2]])
def test_decode_matches_binascii_on_wrong_types(bad: Any) -> None:
    assert outcome(_base64.decode, bad) == outcome(binascii.a2b_base64, bad)
    assert outcome(_base64.decode, bad)[0] != "ok"


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=ALPHABET + "= \n\t\r\x00!.-_é", max_size=40))
def test_decode_matches_binascii_on_any_text(text: str) -> None:
    same_decode(text)
    if text.isascii():
        same_decode(text.encode())


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2048))
def test_roundtrip_and_encode_match_binascii(data: bytes) -> None:
    encoded = binascii.b2a_base64(data, newline=False)
    assert _base64.encode(data) == encoded == base64.b64encode(data)
    assert _base64.pure_encode(data) == encoded
    assert _base64.encode(bytearray(data)) == encoded
    assert _base64.encode(memoryview(data)) == encoded
    assert _base64.decode(encoded) == data
    assert _base64.decode(encoded.decode()) == data


def test_encode_takes_any_contiguous_buffer_like_binascii() -> None:
    samples = array.array("h", [1, -2, 3000])
    assert _base64.encode(samples) == binascii.b2a_base64(samples, newline=False)
    for bad in ("text", 5, None, memoryview(b"abcdef")[::2]):
        assert outcome(_base64.encode, bad) == outcome(
            lambda d: binascii.b2a_base64(d, newline=False), bad
        )
