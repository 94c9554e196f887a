"""Server-to-client WebSocket text frames, framed here for the per-frame path to Twilio.

Every 20 ms a call sends Twilio a ``media`` message and its ``mark``. websockets' serialiser
builds a ``Frame`` object per message and runs its generic writer; a server frame without
extensions is just a header and the payload (RFC 6455 §5.2: FIN, opcode 1, no mask), so this is
the same bytes for a fraction of the CPU. Used only when the connection negotiated no extension
(no permessage-deflate); tests compare it byte for byte with websockets' own serialiser.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

__all__ = ["text_frames"]

_SHORT = struct.Struct("!BB")
_MEDIUM = struct.Struct("!BBH")
_LONG = struct.Struct("!BBQ")
_FIN_TEXT = 0x81


def text_frames(texts: Iterable[str]) -> bytes:
    """``texts`` as consecutive unmasked, unfragmented text frames, ready for one write."""
    parts: list[bytes] = []
    for text in texts:
        payload = text.encode()
        size = len(payload)
        if size < 126:
            parts.append(_SHORT.pack(_FIN_TEXT, size))
        elif size < 65536:
            parts.append(_MEDIUM.pack(_FIN_TEXT, 126, size))
        else:
            parts.append(_LONG.pack(_FIN_TEXT, 127, size))
        parts.append(payload)
    return b"".join(parts)
