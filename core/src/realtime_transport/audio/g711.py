"""G.711 μ-law and A-law codecs, vectorised with numpy lookup tables.

Decoding indexes a 256-entry table; encoding indexes a 65 536-entry table (one byte per 16-bit
input) built once, with numpy, on first use. Both are bit-exact with the reference algorithms
(protocols.md §8), which the tests check for every 16-bit input.

μ-law encoder: the "bias 0x84" form (magnitude clipped to 32635, plus 0x84, segment from the
biased value), pinned so every transport encodes alike. Python's old ``audioop.lin2ulaw`` uses
the Sun/CCITT 14-bit form (``x >> 2``, bias 0x21, clip 8159). Both decode with the same table
and agree on every non-negative input, but on 381 negative inputs (e.g. -1, -2, -3, -9) the Sun
form lands one step further from zero, because ``x >> 2`` rounds towards minus infinity before
the magnitude is taken. The bias-0x84 form is symmetric: ``encode(-x)`` differs from
``encode(x)`` only in the sign bit. A-law matches ``audioop.lin2alaw``/``alaw2lin`` exactly.

PCM input and output are 16-bit little-endian bytes (the Realtime API's ``audio/pcm``), or an
int16 numpy array on input.
"""

from __future__ import annotations

from functools import cache
from typing import Union

import numpy as np
import numpy.typing as npt

from ..errors import AudioFormatError
from .formats import parse_format

PcmInput = Union[bytes, bytearray, memoryview, npt.NDArray[np.int16]]
BytesLike = Union[bytes, bytearray, memoryview]

ULAW_BIAS = 0x84
ULAW_CLIP = 32635
_ULAW_SEGMENT_ENDS = np.array([0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF, 0x3FFF, 0x7FFF])
_ALAW_SEGMENT_ENDS = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])


def _all_int16() -> npt.NDArray[np.int32]:
    """Every 16-bit sample, ordered by its unsigned bit pattern (the encode-table index)."""
    return np.arange(65536, dtype=np.uint32).astype(np.uint16).view(np.int16).astype(np.int32)


def _frozen(array: npt.NDArray[np.generic]) -> npt.NDArray[np.generic]:
    array.setflags(write=False)
    return array


@cache
def ulaw_encode_table() -> npt.NDArray[np.uint8]:
    """μ-law code for each 16-bit input, indexed by the input's unsigned bit pattern."""
    x = _all_int16()
    sign = np.where(x < 0, 0x80, 0)
    biased = np.minimum(np.abs(x), ULAW_CLIP) + ULAW_BIAS
    exponent = np.searchsorted(_ULAW_SEGMENT_ENDS, biased)  # first end >= value
    mantissa = (biased >> (exponent + 3)) & 0x0F
    code = ~(sign | (exponent << 4) | mantissa) & 0xFF
    return _frozen(code.astype(np.uint8))  # type: ignore[return-value]


@cache
def ulaw_decode_table() -> npt.NDArray[np.int16]:
    """Linear value (int16, little-endian) of each μ-law code."""
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    exponent = (u >> 4) & 0x07
    magnitude = (((u & 0x0F) << 3) + ULAW_BIAS) << exponent
    value = np.where(u & 0x80, ULAW_BIAS - magnitude, magnitude - ULAW_BIAS)
    return _frozen(value.astype("<i2"))  # type: ignore[return-value]


@cache
def alaw_encode_table() -> npt.NDArray[np.uint8]:
    """A-law code for each 16-bit input, indexed by the input's unsigned bit pattern."""
    x = _all_int16()
    mask = np.where(x >= 0, 0xD5, 0x55)
    m = np.where(x >= 0, x, -x - 1) >> 3
    segment = np.searchsorted(_ALAW_SEGMENT_ENDS, m)
    mantissa = np.where(segment < 2, m >> 1, m >> np.minimum(segment, 7)) & 0x0F
    code = np.where(segment >= 8, 0x7F ^ mask, ((segment << 4) | mantissa) ^ mask)
    return _frozen(code.astype(np.uint8))  # type: ignore[return-value]


@cache
def alaw_decode_table() -> npt.NDArray[np.int16]:
    """Linear value (int16, little-endian) of each A-law code."""
    a = np.arange(256, dtype=np.int32) ^ 0x55
    t = (a & 0x0F) << 4
    segment = (a & 0x70) >> 4
    t = np.select(
        [segment == 0, segment == 1],
        [t + 8, t + 0x108],
        (t + 0x108) << np.maximum(segment - 1, 0),
    )
    value = np.where(a & 0x80, t, -t)
    return _frozen(value.astype("<i2"))  # type: ignore[return-value]


@cache
def _translate_table(source: str) -> bytes:
    """256-byte ``bytes.translate`` table from one G.711 law to the other (decode, encode)."""
    if source == "pcmu":
        linear = ulaw_decode_table()
        target = alaw_encode_table()
    else:
        linear = alaw_decode_table()
        target = ulaw_encode_table()
    return bytes(target[linear.astype(np.int16).view(np.uint16)].tobytes())


def _pcm_indices(pcm: PcmInput) -> npt.NDArray[np.uint16]:
    """The unsigned 16-bit patterns of the PCM samples (encode-table indices)."""
    if isinstance(pcm, np.ndarray):
        if pcm.dtype.kind not in "iu" or pcm.dtype.itemsize != 2:
            raise AudioFormatError(
                f"PCM arrays must be int16, got dtype {pcm.dtype}. Scale and convert first "
                "(e.g. np.clip(x * 32767, -32768, 32767).astype(np.int16))."
            )
        return np.ascontiguousarray(pcm.astype(np.int16, copy=False)).reshape(-1).view(np.uint16)
    view = memoryview(pcm).cast("B")
    if view.nbytes % 2:
        raise AudioFormatError(
            f"PCM16 audio must have an even number of bytes (2 per sample), got {view.nbytes}. "
            "Keep the odd byte for the next chunk (the streaming converters in "
            "realtime_transport.audio do this)."
        )
    return np.frombuffer(view, dtype="<u2")


def _codes(data: BytesLike) -> npt.NDArray[np.uint8]:
    if isinstance(data, np.ndarray):
        raise AudioFormatError("G.711 input must be bytes, not a numpy array; use .tobytes().")
    return np.frombuffer(memoryview(data).cast("B"), dtype=np.uint8)


def ulaw_encode(pcm: PcmInput) -> bytes:
    """PCM16 little-endian bytes (or an int16 array) to μ-law bytes, one byte per sample."""
    return bytes(ulaw_encode_table()[_pcm_indices(pcm)].tobytes())


def alaw_encode(pcm: PcmInput) -> bytes:
    """PCM16 little-endian bytes (or an int16 array) to A-law bytes, one byte per sample."""
    return bytes(alaw_encode_table()[_pcm_indices(pcm)].tobytes())


def ulaw_decode_array(data: BytesLike) -> npt.NDArray[np.int16]:
    """μ-law bytes to an int16 array (little-endian dtype)."""
    return ulaw_decode_table()[_codes(data)]


def alaw_decode_array(data: BytesLike) -> npt.NDArray[np.int16]:
    """A-law bytes to an int16 array (little-endian dtype)."""
    return alaw_decode_table()[_codes(data)]


def ulaw_decode(data: BytesLike) -> bytes:
    """μ-law bytes to PCM16 little-endian bytes (two bytes per input byte)."""
    return bytes(ulaw_decode_array(data).tobytes())


def alaw_decode(data: BytesLike) -> bytes:
    """A-law bytes to PCM16 little-endian bytes (two bytes per input byte)."""
    return bytes(alaw_decode_array(data).tobytes())


def ulaw_to_alaw(data: BytesLike) -> bytes:
    """Transcode μ-law to A-law byte by byte (decode then encode, through a 256-byte table)."""
    return bytes(data).translate(_translate_table("pcmu"))


def alaw_to_ulaw(data: BytesLike) -> bytes:
    """Transcode A-law to μ-law byte by byte (decode then encode, through a 256-byte table)."""
    return bytes(data).translate(_translate_table("pcma"))


def g711_encode(pcm: PcmInput, law: object) -> bytes:
    """Encode PCM16 with the law named by ``law`` (``"pcmu"``, ``"g711_alaw"``, a format dict…)."""
    return ulaw_encode(pcm) if _law(law) == "pcmu" else alaw_encode(pcm)


def g711_decode(data: BytesLike, law: object) -> bytes:
    """Decode G.711 bytes of the law named by ``law`` to PCM16 little-endian bytes."""
    return ulaw_decode(data) if _law(law) == "pcmu" else alaw_decode(data)


def _law(law: object) -> str:
    encoding = parse_format(law).encoding
    if encoding == "pcm":
        raise AudioFormatError(
            f"Expected a G.711 format (audio/pcmu or audio/pcma), got {law!r}, which is PCM."
        )
    return encoding
