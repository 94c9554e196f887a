"""Stateful format converters for bridges (Twilio, SIP gateways, local devices).

Each converter has ``process(chunk) -> bytes`` and ``flush() -> bytes`` and keeps its
resampler state (and any odd PCM byte) across chunks, so a call can be converted 20 ms at a
time without clicks. Call ``flush()`` at the end of a stream (e.g. ``response.output_audio.done``)
to get the last few ms out of the filter, or ``reset()`` to drop them (e.g. after a barge-in).
"""

from __future__ import annotations

from typing import Literal, Protocol, cast

from ..errors import AudioFormatError
from .formats import G711_RATE, FormatLike, WireFormat, parse_format
from .g711 import (
    BytesLike,
    PcmInput,
    alaw_decode_array,
    alaw_encode,
    alaw_to_ulaw,
    ulaw_decode_array,
    ulaw_encode,
    ulaw_to_alaw,
)
from .resample import Quality, StreamingResampler

Law = Literal["pcmu", "pcma"]


class AudioConverter(Protocol):
    """What every converter here offers."""

    def process(self, data: bytes) -> bytes: ...

    def flush(self) -> bytes: ...

    def reset(self) -> None: ...


def _g711_law(fmt: FormatLike, role: str) -> Law:
    encoding = parse_format(fmt).encoding
    if encoding == "pcm":
        raise AudioFormatError(
            f"{role} must be G.711 (audio/pcmu or audio/pcma, or g711_ulaw/g711_alaw), got {fmt!r}."
        )
    return encoding


class PcmToG711Encoder:
    """PCM16 at ``in_rate`` (24 kHz: the Realtime API's output) to 8 kHz μ-law or A-law."""

    __slots__ = ("_encode", "law", "resampler")

    def __init__(
        self, out: FormatLike = "pcmu", in_rate: int = 24000, *, quality: Quality | str = "live"
    ) -> None:
        self.law: Law = _g711_law(out, "The encoder's output format")
        self.resampler = StreamingResampler(in_rate, G711_RATE, quality=quality)
        self._encode = ulaw_encode if self.law == "pcmu" else alaw_encode

    @property
    def in_rate(self) -> int:
        return self.resampler.in_rate

    def process(self, pcm: PcmInput) -> bytes:
        """Resample and encode one PCM16 LE chunk; an odd trailing byte waits for the next."""
        return self._encode(self.resampler.process_array(pcm))

    def flush(self) -> bytes:
        """Encode what is left in the resampler and reset for the next stream."""
        return self._encode(self.resampler.flush_array())

    def reset(self) -> None:
        self.resampler.reset()

    def __repr__(self) -> str:
        return f"PcmToG711Encoder(out={self.law!r}, in_rate={self.in_rate})"


class G711ToPcmDecoder:
    """8 kHz μ-law or A-law to PCM16 LE at ``out_rate`` (24 kHz: the Realtime API's input)."""

    __slots__ = ("_decode", "law", "resampler")

    def __init__(
        self, law: FormatLike = "pcmu", out_rate: int = 24000, *, quality: Quality | str = "live"
    ) -> None:
        self.law: Law = _g711_law(law, "The decoder's input format")
        self.resampler = StreamingResampler(G711_RATE, out_rate, quality=quality)
        self._decode = ulaw_decode_array if self.law == "pcmu" else alaw_decode_array

    @property
    def out_rate(self) -> int:
        return self.resampler.out_rate

    def process(self, data: BytesLike) -> bytes:
        """Decode and resample one chunk of G.711 bytes; return PCM16 LE bytes."""
        return self.resampler.process(self._decode(data))

    def flush(self) -> bytes:
        """Return what is left in the resampler and reset for the next stream."""
        return self.resampler.flush()

    def reset(self) -> None:
        self.resampler.reset()

    def __repr__(self) -> str:
        return f"G711ToPcmDecoder(law={self.law!r}, out_rate={self.out_rate})"


class _Passthrough:
    __slots__ = ()

    def process(self, data: BytesLike) -> bytes:
        return bytes(data)

    def flush(self) -> bytes:
        return b""

    def reset(self) -> None:
        return None


class _LawSwap:
    """μ-law <-> A-law, byte for byte (stateless: same rate, one byte per sample)."""

    __slots__ = ("_swap",)

    def __init__(self, source: Law) -> None:
        self._swap = ulaw_to_alaw if source == "pcmu" else alaw_to_ulaw

    def process(self, data: BytesLike) -> bytes:
        return self._swap(data)

    def flush(self) -> bytes:
        return b""

    def reset(self) -> None:
        return None


class Transcoder:
    """Convert a stream from one wire format to another, picking the pipeline once.

    Equal formats pass bytes through untouched; PCM -> PCM resamples; PCM <-> G.711 resamples
    and encodes/decodes; μ-law <-> A-law swaps bytes through a 256-entry table. Formats are
    anything :func:`~realtime_transport.audio.parse_format` accepts (GA dicts, legacy names…).
    """

    __slots__ = ("_pipeline", "source", "target")

    def __init__(
        self, source: FormatLike, target: FormatLike, *, quality: Quality | str = "live"
    ) -> None:
        self.source: WireFormat = parse_format(source)
        self.target: WireFormat = parse_format(target)
        self._pipeline: AudioConverter
        src, dst = self.source, self.target
        if src == dst:
            self._pipeline = _Passthrough()
        elif not src.is_g711 and not dst.is_g711:
            self._pipeline = StreamingResampler(src.rate, dst.rate, quality=quality)
        elif not src.is_g711:
            self._pipeline = PcmToG711Encoder(dst, src.rate, quality=quality)
        elif not dst.is_g711:
            self._pipeline = G711ToPcmDecoder(src, dst.rate, quality=quality)
        else:
            self._pipeline = _LawSwap(cast(Law, src.encoding))

    @property
    def is_identity(self) -> bool:
        return isinstance(self._pipeline, _Passthrough)

    def process(self, data: BytesLike) -> bytes:
        """Convert one chunk; returns whatever output is ready (possibly empty)."""
        return self._pipeline.process(cast(bytes, data))

    def flush(self) -> bytes:
        """End of stream: return the converter's remaining output and reset it."""
        return self._pipeline.flush()

    def reset(self) -> None:
        """Drop buffered audio without output (e.g. after a barge-in)."""
        self._pipeline.reset()

    def __repr__(self) -> str:
        return f"Transcoder({self.source.to_wire()!r}, {self.target.to_wire()!r})"
