"""Wire-format normalisation and byte/ms arithmetic (protocols.md §2.3), and import cost."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from realtime_transport.audio import (
    PCM24K,
    PCMA,
    PCMU,
    WireFormat,
    bytes_for_ms,
    bytes_per_ms,
    duration_ms,
    is_g711,
    parse_format,
    silence,
)
from realtime_transport.errors import AudioFormatError, UserError

TWILIO_MEDIA_FORMAT = {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}

# (format spelling, normalised format, bytes per ms)
SPELLINGS: list[tuple[Any, WireFormat, float]] = [
    (None, PCM24K, 48),
    ("", PCM24K, 48),
    ({}, PCM24K, 48),
    ({"type": "audio/pcm", "rate": 24000}, PCM24K, 48),
    ({"type": "audio/pcm"}, PCM24K, 48),
    ({"type": "audio/pcm", "rate": 16000}, WireFormat("pcm", 16000), 32),
    ({"type": "audio/pcm", "rate": 44100}, WireFormat("pcm", 44100), 88.2),
    ({"type": "audio/pcm", "rate": 24000.0}, PCM24K, 48),
    ({"type": "audio/pcmu"}, PCMU, 8),
    ({"type": "audio/pcma"}, PCMA, 8),
    ({"type": "audio/pcmu", "rate": 8000}, PCMU, 8),
    ("pcm16", PCM24K, 48),
    ("g711_ulaw", PCMU, 8),
    ("g711_alaw", PCMA, 8),
    ("audio/pcm", PCM24K, 48),
    ("audio/pcmu", PCMU, 8),
    ("audio/pcma", PCMA, 8),
    (" G711_ULAW ", PCMU, 8),
    (TWILIO_MEDIA_FORMAT, PCMU, 8),
    (PCMA, PCMA, 8),
    (SimpleNamespace(type="audio/pcmu", rate=None), PCMU, 8),
    (SimpleNamespace(type="audio/pcm", rate=16000), WireFormat("pcm", 16000), 32),
]


@pytest.mark.parametrize(("fmt", "expected", "per_ms"), SPELLINGS)
def test_every_spelling_normalises(fmt: Any, expected: WireFormat, per_ms: float) -> None:
    assert parse_format(fmt) == expected
    assert bytes_per_ms(fmt) == per_ms
    assert is_g711(fmt) is expected.is_g711


@pytest.mark.parametrize("fmt", ["opus", {"type": "audio/opus"}, "pcm24"])
def test_unknown_type_counts_as_pcm24k_for_durations_like_the_sdks(fmt: Any) -> None:
    assert bytes_per_ms(fmt) == 48
    assert duration_ms(960, fmt) == 20
    assert not is_g711(fmt)
    assert silence(1, fmt) == bytes(48)
    with pytest.raises(AudioFormatError, match="Unknown audio format type") as info:
        parse_format(fmt)
    assert "g711_ulaw" in str(info.value)  # the message lists what is accepted


@pytest.mark.parametrize(
    ("fmt", "message"),
    [
        (42, "Cannot read an audio format"),
        ({"rate": 8000}, "no 'type'"),
        ({"type": "audio/pcm", "rate": 0}, "between 1000 and 384000"),
        ({"type": "audio/pcm", "rate": 10**7}, "between 1000 and 384000"),
        ({"type": "audio/pcm", "rate": "24000"}, "whole number"),
        ({"type": "audio/pcm", "rate": 8000.5}, "whole number"),
        ({"type": "audio/pcm", "rate": True}, "whole number"),
        ({"type": "audio/pcmu", "rate": 16000}, "8000 Hz only"),
        ({"type": "audio/pcm", "channels": 2}, "mono"),
    ],
)
def test_malformed_formats_raise_clear_errors_even_in_lenient_helpers(
    fmt: Any, message: str
) -> None:
    with pytest.raises(AudioFormatError, match=message):
        parse_format(fmt)
    with pytest.raises(AudioFormatError, match=message):
        bytes_per_ms(fmt)


@pytest.mark.parametrize(
    ("fmt", "nbytes_20ms", "silence_byte"),
    [(PCM24K, 960, 0x00), (PCMU, 160, 0xFF), (PCMA, 160, 0xD5)],
)
def test_durations_frames_and_silence_per_format(
    fmt: WireFormat, nbytes_20ms: int, silence_byte: int
) -> None:
    for spelling in (fmt, fmt.to_wire(), fmt.legacy_name):
        assert bytes_for_ms(20, spelling) == nbytes_20ms
        assert duration_ms(nbytes_20ms, spelling) == 20
        assert duration_ms(bytes(nbytes_20ms), spelling) == 20
        assert duration_ms(memoryview(bytes(nbytes_20ms)), spelling) == 20
        assert silence(20, spelling) == bytes([silence_byte]) * nbytes_20ms
    assert bytes_for_ms(1000, fmt) == fmt.bytes_per_ms * 1000
    assert silence(0, fmt) == b""


def test_defaults_are_pcm24k() -> None:
    assert duration_ms(48) == 1
    assert bytes_for_ms(10) == 480
    assert silence(1) == bytes(48)


def test_pcm_frames_are_whole_samples_at_odd_rates() -> None:
    fmt = {"type": "audio/pcm", "rate": 22050}
    assert bytes_for_ms(1, fmt) == 44  # 22.05 samples -> 22 samples
    assert bytes_for_ms(10, fmt) == 442  # 220.5 samples -> 221 samples (half up)
    assert duration_ms(441 * 2, fmt) == pytest.approx(20)


@given(ms=st.floats(min_value=0, max_value=600_000, allow_nan=False))
def test_bytes_for_ms_is_within_half_a_sample(ms: float) -> None:
    for fmt in (PCM24K, PCMU, WireFormat("pcm", 16000)):
        n = bytes_for_ms(ms, fmt)
        assert n % fmt.sample_width == 0
        assert abs(duration_ms(n, fmt) - ms) <= 0.5 * 1000 / fmt.rate + 1e-9


@pytest.mark.parametrize("bad", [-1, -0.5, float("nan"), "20", None, True])
def test_bad_durations_raise(bad: Any) -> None:
    with pytest.raises(UserError):
        bytes_for_ms(bad, PCM24K)
    with pytest.raises(UserError):
        duration_ms(bad, PCM24K)


def test_wire_and_legacy_round_trip() -> None:
    for fmt in (PCM24K, PCMU, PCMA, WireFormat("pcm", 16000)):
        assert parse_format(fmt.to_wire()) == fmt
        if fmt.legacy_name is not None:
            assert parse_format(fmt.legacy_name) == fmt
    assert WireFormat("pcm", 16000).legacy_name is None
    assert PCM24K.to_wire() == {"type": "audio/pcm", "rate": 24000}
    assert PCMU.to_wire() == {"type": "audio/pcmu"}


def test_importing_audio_does_not_load_numpy_or_soxr() -> None:
    code = (
        "import sys, realtime_transport.audio as a\n"
        "assert a.duration_ms(960, {'type': 'audio/pcm', 'rate': 24000}) == 20\n"
        "assert a.silence(20, 'g711_ulaw') == b'\\xff' * 160\n"
        "print(sorted(m for m in ('numpy', 'soxr', 'pydantic') if m in sys.modules))\n"
        "a.ulaw_encode(b'\\x00\\x00')\n"
        "print('numpy' in sys.modules, 'soxr' in sys.modules)\n"
        "a.StreamingResampler\n"
        "print('soxr' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
    ).stdout.split("\n")
    assert out[:3] == ["[]", "True False", "True"]


def test_lazy_names_resolve_from_package_and_top_level() -> None:
    import realtime_transport
    import realtime_transport.audio as audio
    from realtime_transport.audio.resample import StreamingResampler

    assert audio.StreamingResampler is StreamingResampler
    assert realtime_transport.StreamingResampler is StreamingResampler
    assert realtime_transport.ulaw_encode is audio.ulaw_encode
    assert {"Transcoder", "alaw_decode"} <= set(dir(audio))
    with pytest.raises(AttributeError):
        _ = audio.nope
