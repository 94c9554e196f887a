"""Base64 on the per-audio-chunk path: pybase64 (SIMD) when installed, else ``binascii``.

Every received audio delta is decoded and every sent chunk encoded, so this is a fixed cost per
chunk: ``binascii`` takes about 2.7 µs to decode 20 ms of 24 kHz audio, pybase64 about 0.5 µs
(benchmarks/RESULTS.md). pybase64 is optional (``realtime-transport[speedups]``).

Both functions give exactly what ``binascii`` gives, errors included. Encoding is deterministic.
Decoding first tries pybase64's *strict* mode, which accepts only canonical base64 (what servers
send); anything else (whitespace, junk, bad padding, non-ASCII text) is decoded again by
``binascii.a2b_base64``, so lenient inputs decode, and errors raise, as they always did.
"""

from __future__ import annotations

import binascii
from collections.abc import Callable

_Buffer = bytes | bytearray | memoryview

pure_decode: Callable[[str | _Buffer], bytes] = binascii.a2b_base64


def pure_encode(data: _Buffer) -> bytes:
    """``binascii.b2a_base64`` without the trailing newline."""
    return binascii.b2a_base64(data, newline=False)


try:
    from pybase64 import b64decode as _fast_b64decode
    from pybase64 import b64encode as _fast_b64encode
except ImportError:  # pragma: no cover - depends on the installed extras
    decode = pure_decode
    encode = pure_encode
    ACCELERATED = False
else:
    ACCELERATED = True

    def decode(data: str | _Buffer) -> bytes:
        """Decode base64 exactly as ``binascii.a2b_base64`` does (lenient), SIMD-fast when
        ``data`` is canonical. Raises ``binascii.Error`` / ``ValueError`` like binascii."""
        try:
            return _fast_b64decode(data, validate=True)
        except (ValueError, TypeError, BufferError):  # binascii.Error is a ValueError
            return binascii.a2b_base64(data)

    def encode(data: _Buffer) -> bytes:
        """Encode to base64 without a newline (same bytes as ``binascii.b2a_base64``)."""
        return _fast_b64encode(data)
