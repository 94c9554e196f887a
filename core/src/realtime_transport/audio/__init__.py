"""Audio formats, G.711 codecs and streaming resampling.

Importing this package is cheap: the format and byte/ms helpers below are pure Python, because
the thin WebSocket client calls them per audio chunk. The codecs (numpy) and the resampler and
converters (numpy + soxr) load on first use of their names (PEP 562).

=============================  ========  ===========  ========
Format                         Bytes/ms  20 ms frame  Silence
=============================  ========  ===========  ========
``audio/pcm`` 24 kHz (pcm16)   48        960 B        0x00
``audio/pcmu`` (g711_ulaw)     8         160 B        0xFF
``audio/pcma`` (g711_alaw)     8         160 B        0xD5
=============================  ========  ===========  ========
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .formats import (
    DEFAULT_PCM_RATE,
    G711_RATE,
    PCM24K,
    PCMA,
    PCMU,
    FormatLike,
    WireFormat,
    bytes_for_ms,
    bytes_per_ms,
    duration_ms,
    is_g711,
    parse_format,
    silence,
)

# heavy name -> submodule that defines it
_LAZY: dict[str, str] = {
    "ulaw_encode": "g711",
    "ulaw_decode": "g711",
    "alaw_encode": "g711",
    "alaw_decode": "g711",
    "ulaw_decode_array": "g711",
    "alaw_decode_array": "g711",
    "ulaw_to_alaw": "g711",
    "alaw_to_ulaw": "g711",
    "g711_encode": "g711",
    "g711_decode": "g711",
    "StreamingResampler": "resample",
    "Quality": "resample",
    "PcmToG711Encoder": "convert",
    "G711ToPcmDecoder": "convert",
    "Transcoder": "convert",
    "AudioConverter": "convert",
}

__all__ = [
    "DEFAULT_PCM_RATE",
    "G711_RATE",
    "PCM24K",
    "PCMA",
    "PCMU",
    "FormatLike",
    "WireFormat",
    "bytes_for_ms",
    "bytes_per_ms",
    "duration_ms",
    "is_g711",
    "parse_format",
    "silence",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'realtime_transport.audio' has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


if TYPE_CHECKING:  # pragma: no cover - names for type checkers and IDEs
    from .convert import AudioConverter as AudioConverter
    from .convert import G711ToPcmDecoder as G711ToPcmDecoder
    from .convert import PcmToG711Encoder as PcmToG711Encoder
    from .convert import Transcoder as Transcoder
    from .g711 import alaw_decode as alaw_decode
    from .g711 import alaw_decode_array as alaw_decode_array
    from .g711 import alaw_encode as alaw_encode
    from .g711 import alaw_to_ulaw as alaw_to_ulaw
    from .g711 import g711_decode as g711_decode
    from .g711 import g711_encode as g711_encode
    from .g711 import ulaw_decode as ulaw_decode
    from .g711 import ulaw_decode_array as ulaw_decode_array
    from .g711 import ulaw_encode as ulaw_encode
    from .g711 import ulaw_to_alaw as ulaw_to_alaw
    from .resample import Quality as Quality
    from .resample import StreamingResampler as StreamingResampler
