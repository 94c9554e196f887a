"""Audio wire formats and byte/millisecond arithmetic, in pure Python (no numpy).

The thin WebSocket client calls these on every audio chunk (playback bookkeeping, truncation,
silence padding), so this module imports nothing heavier than the standard library.

Formats arrive in many spellings: the GA wire dict (``{"type": "audio/pcm", "rate": 24000}``,
``{"type": "audio/pcmu"}``, ``{"type": "audio/pcma"}``), the beta/legacy strings (``"pcm16"``,
``"g711_ulaw"``, ``"g711_alaw"``), a Twilio ``mediaFormat`` (``{"encoding": "audio/x-mulaw",
"sampleRate": 8000, "channels": 1}``), a config model with ``type``/``rate`` attributes, or
``None`` (unset: the API default, PCM16 24 kHz). :func:`parse_format` turns each into a
:class:`WireFormat` or raises :class:`~realtime_transport.errors.AudioFormatError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import AudioFormatError, UserError

Encoding = Literal["pcm", "pcmu", "pcma"]

#: The API's default and only PCM rate (``audio/pcm`` is 24 kHz mono int16 little-endian).
DEFAULT_PCM_RATE = 24000
#: G.711 (μ-law and A-law) is always 8 kHz mono, one byte per sample.
G711_RATE = 8000
#: Rates accepted for PCM (resampler inputs/outputs, local devices).
MIN_RATE = 1000
MAX_RATE = 384000

_SILENCE_BYTE: dict[str, int] = {"pcm": 0x00, "pcmu": 0xFF, "pcma": 0xD5}

_NAMES: dict[str, Encoding] = {
    # GA wire types
    "audio/pcm": "pcm",
    "audio/pcmu": "pcmu",
    "audio/pcma": "pcma",
    # beta / legacy session names
    "pcm16": "pcm",
    "g711_ulaw": "pcmu",
    "g711_alaw": "pcma",
    # short and telephony spellings (Twilio mediaFormat.encoding is "audio/x-mulaw")
    "pcm": "pcm",
    "pcmu": "pcmu",
    "pcma": "pcma",
    "ulaw": "pcmu",
    "mulaw": "pcmu",
    "alaw": "pcma",
    "audio/x-mulaw": "pcmu",
    "audio/x-alaw": "pcma",
    "audio/l16": "pcm",
}

_ACCEPTED = (
    '{"type": "audio/pcm", "rate": 24000}, {"type": "audio/pcmu"}, {"type": "audio/pcma"}, '
    '"pcm16", "g711_ulaw", "g711_alaw" or None'
)


@dataclass(frozen=True)
class WireFormat:
    """One normalised audio format: encoding plus sample rate (mono, PCM is int16 LE)."""

    encoding: Encoding = "pcm"
    rate: int = DEFAULT_PCM_RATE

    @property
    def is_g711(self) -> bool:
        return self.encoding != "pcm"

    @property
    def sample_width(self) -> int:
        """Bytes per sample: 2 for PCM16, 1 for G.711."""
        return 2 if self.encoding == "pcm" else 1

    @property
    def bytes_per_ms(self) -> float:
        return self.rate * self.sample_width / 1000

    @property
    def silence_byte(self) -> int:
        """The byte that encodes digital silence: 0x00 (PCM), 0xFF (μ-law), 0xD5 (A-law)."""
        return _SILENCE_BYTE[self.encoding]

    def to_wire(self) -> dict[str, Any]:
        """The GA session-config shape (``audio.input.format`` / ``audio.output.format``)."""
        if self.encoding == "pcm":
            return {"type": "audio/pcm", "rate": self.rate}
        return {"type": f"audio/{self.encoding}"}

    @property
    def legacy_name(self) -> str | None:
        """The beta name (``pcm16``/``g711_ulaw``/``g711_alaw``), None if there is none."""
        if self.encoding == "pcmu":
            return "g711_ulaw"
        if self.encoding == "pcma":
            return "g711_alaw"
        return "pcm16" if self.rate == DEFAULT_PCM_RATE else None


PCM24K = WireFormat("pcm", DEFAULT_PCM_RATE)
PCMU = WireFormat("pcmu", G711_RATE)
PCMA = WireFormat("pcma", G711_RATE)

#: Anything :func:`parse_format` accepts: a :class:`WireFormat`, a GA or Twilio format mapping,
#: a type name, ``None``, or a config model with ``type``/``rate`` attributes. Typed as
#: ``object`` because config models may come from anywhere.
FormatLike = object


class _UnknownFormatError(AudioFormatError):
    """A well-formed format whose type name is not known (lenient helpers fall back to PCM)."""


def parse_format(fmt: FormatLike) -> WireFormat:
    """Normalise any accepted spelling of an audio format; raise ``AudioFormatError`` if not.

    ``None`` (or ``""``/``{}``) means unset and gives the API default (PCM16 24 kHz). PCM
    accepts any rate from 1 kHz to 384 kHz (the API itself only takes 24 kHz; other rates are
    for local devices and the resampler). G.711 is 8 kHz only.
    """
    if fmt is None or (isinstance(fmt, (str, Mapping)) and not fmt):
        return PCM24K  # unset (config.normalize_audio_format treats "" and {} the same way)
    if isinstance(fmt, WireFormat):
        return fmt
    if isinstance(fmt, str):
        encoding = _encoding(fmt)
        return WireFormat(encoding, _default_rate(encoding))
    if isinstance(fmt, Mapping):
        type_name = fmt.get("type", fmt.get("encoding"))
        rate = fmt.get("rate", fmt.get("sampleRate", fmt.get("sample_rate")))
        channels = fmt.get("channels", 1)
    elif hasattr(fmt, "type"):  # a config model (pydantic or dataclass) with type/rate fields
        type_name = getattr(fmt, "type")  # noqa: B009
        rate = getattr(fmt, "rate", None)
        channels = getattr(fmt, "channels", 1)
    else:
        raise AudioFormatError(
            f"Cannot read an audio format from {type(fmt).__name__} value {fmt!r}; "
            f"use one of {_ACCEPTED}."
        )
    if not isinstance(type_name, str):
        raise AudioFormatError(
            f"Audio format {dict(fmt) if isinstance(fmt, Mapping) else fmt!r} has no 'type' "
            f"string; use one of {_ACCEPTED}."
        )
    encoding = _encoding(type_name)
    if channels not in (1, None):
        raise AudioFormatError(f"Only mono audio is supported, got channels={channels!r}.")
    if rate is None:
        return WireFormat(encoding, _default_rate(encoding))
    checked = check_rate(rate, what=f"{type_name} rate")
    if encoding != "pcm" and checked != G711_RATE:
        raise AudioFormatError(
            f"G.711 ({type_name}) is 8000 Hz only, got rate={rate!r}. "
            "Resample to 8 kHz first (see realtime_transport.audio.StreamingResampler)."
        )
    return WireFormat(encoding, checked)


def check_rate(rate: Any, *, what: str = "sample rate") -> int:
    """Return ``rate`` as an int if it is a whole number of Hz in range, else raise."""
    if isinstance(rate, bool) or not isinstance(rate, (int, float)):
        raise AudioFormatError(f"The {what} must be a whole number of Hz, got {rate!r}.")
    if isinstance(rate, float):
        if not rate.is_integer():
            raise AudioFormatError(f"The {what} must be a whole number of Hz, got {rate!r}.")
        rate = int(rate)
    if not MIN_RATE <= rate <= MAX_RATE:
        raise AudioFormatError(
            f"The {what} must be between {MIN_RATE} and {MAX_RATE} Hz, got {rate!r}."
        )
    return int(rate)


def _encoding(name: str) -> Encoding:
    encoding = _NAMES.get(name.strip().lower())
    if encoding is None:
        raise _UnknownFormatError(f"Unknown audio format type {name!r}; use one of {_ACCEPTED}.")
    return encoding


def _default_rate(encoding: Encoding) -> int:
    return DEFAULT_PCM_RATE if encoding == "pcm" else G711_RATE


def _lenient(fmt: FormatLike) -> WireFormat:
    """Like :func:`parse_format`, but an unknown type name counts as PCM 24 kHz.

    That is what both OpenAI SDKs do when they compute durations, so byte/ms maths agrees
    with theirs. Values that are not a format at all (a number, a bad rate) still raise.
    """
    try:
        return parse_format(fmt)
    except _UnknownFormatError:
        return PCM24K


def is_g711(fmt: FormatLike) -> bool:
    """True for μ-law or A-law (8 kHz, 1 byte per sample); unknown types count as PCM."""
    return _lenient(fmt).is_g711


def bytes_per_ms(fmt: FormatLike) -> float:
    """Bytes per millisecond: 48 for PCM 24 kHz (and unknown types), 8 for G.711.

    PCM at another rate gives ``rate * 2 / 1000`` (e.g. 32 for 16 kHz).
    """
    return _lenient(fmt).bytes_per_ms


def duration_ms(nbytes: int | bytes | bytearray | memoryview, fmt: FormatLike = None) -> float:
    """Playback time of ``nbytes`` (or of a buffer) in ``fmt``, in milliseconds."""
    if isinstance(nbytes, memoryview):
        count = nbytes.nbytes
    elif isinstance(nbytes, (bytes, bytearray)):
        count = len(nbytes)
    elif isinstance(nbytes, int) and not isinstance(nbytes, bool) and nbytes >= 0:
        count = nbytes
    else:
        raise UserError(f"duration_ms() needs a byte count >= 0 or a buffer, got {nbytes!r}.")
    return count / _lenient(fmt).bytes_per_ms


def bytes_for_ms(ms: float, fmt: FormatLike = None) -> int:
    """Bytes holding ``ms`` milliseconds of audio, rounded to the nearest whole sample.

    The result is always a multiple of the sample width, so it can be used to slice frames
    (20 ms: 960 B of PCM 24 kHz, 160 B of G.711).
    """
    if isinstance(ms, bool) or not isinstance(ms, (int, float)) or not ms >= 0:
        raise UserError(f"Milliseconds must be a number >= 0, got {ms!r}.")
    wire = _lenient(fmt)
    samples = int(ms * wire.rate / 1000 + 0.5)
    return samples * wire.sample_width


def silence(ms: float, fmt: FormatLike = None) -> bytes:
    """``ms`` milliseconds of digital silence (PCM zeros, μ-law 0xFF, A-law 0xD5)."""
    wire = _lenient(fmt)
    return bytes((wire.silence_byte,)) * bytes_for_ms(ms, wire)
