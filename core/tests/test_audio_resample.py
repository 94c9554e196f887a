"""Streaming resampler and converters: continuity across chunks, lengths, spectra, latency."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from realtime_transport.audio import (
    PCM24K,
    PCMA,
    PCMU,
    G711ToPcmDecoder,
    PcmToG711Encoder,
    StreamingResampler,
    Transcoder,
    WireFormat,
    alaw_decode_array,
    bytes_for_ms,
    duration_ms,
    ulaw_decode_array,
    ulaw_encode,
    ulaw_to_alaw,
)
from realtime_transport.errors import AudioFormatError

QUALITIES = ["live", "HQ"]


def tone(freq: float, rate: int, seconds: float, amplitude: float = 12000.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return np.round(amplitude * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def speechlike(rate: int, seconds: float, seed: int = 7) -> np.ndarray:
    """A tone plus band-limited noise: content across the band, deterministic."""
    rng = np.random.default_rng(seed)
    noise = np.convolve(rng.standard_normal(int(rate * seconds)), np.ones(4) / 4, mode="same")
    mix = tone(440, rate, seconds, 8000).astype(float) + 3000 * noise
    return np.clip(mix, -32768, 32767).astype(np.int16)


def samples(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<i2").astype(np.int64)


def peak_hz(x: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[int(np.argmax(spectrum))])


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.asarray(x, dtype=float) ** 2)))


def one_shot(resampler: StreamingResampler, data: bytes) -> bytes:
    return resampler.process(data) + resampler.flush()


def chunked(resampler: StreamingResampler, data: bytes, sizes: list[int]) -> bytes:
    out, i = [], 0
    for size in sizes:
        out.append(resampler.process(data[i : i + size]))
        i += size
    out.append(resampler.process(data[i:]))
    out.append(resampler.flush())
    return b"".join(out)


# --- continuity ---------------------------------------------------------------------------------


@pytest.mark.parametrize("quality", QUALITIES)
@pytest.mark.parametrize(("in_rate", "out_rate"), [(24000, 8000), (8000, 24000), (16000, 24000)])
@settings(max_examples=15, deadline=None)
@given(sizes=st.lists(st.integers(1, 3001), min_size=1, max_size=25))
def test_chunked_output_equals_one_shot_output(
    in_rate: int, out_rate: int, quality: str, sizes: list[int]
) -> None:
    """Random chunk sizes, odd byte counts included: no clicks, no lost or extra samples."""
    data = speechlike(in_rate, 0.5).astype("<i2").tobytes()
    whole = samples(one_shot(StreamingResampler(in_rate, out_rate, quality=quality), data))
    parts = samples(chunked(StreamingResampler(in_rate, out_rate, quality=quality), data, sizes))
    assert len(parts) == len(whole)
    assert np.abs(parts - whole).max() <= 2  # within 2 LSB of 16 bits


def test_chunked_tone_has_no_boundary_clicks() -> None:
    """The largest step between samples stays what a 1 kHz sine allows, at every boundary."""
    data = tone(1000, 24000, 1.0).astype("<i2").tobytes()
    out = samples(chunked(StreamingResampler(24000, 8000), data, [961, 959, 7, 1] * 50))
    steady = out[400:-400]
    allowed = 2 * np.pi * 1000 * 12000 / 8000  # max |d/dt| of the sine, per output sample
    assert np.abs(np.diff(steady)).max() <= allowed * 1.02


def test_per_chunk_restart_would_click() -> None:
    """Control for the test above: restarting the filter per 20 ms chunk breaks the waveform."""
    data = tone(1000, 24000, 0.2).astype("<i2").tobytes()
    restarted = b"".join(
        one_shot(StreamingResampler(24000, 8000), data[i : i + 960]) for i in range(0, 9600, 960)
    )
    streamed = one_shot(StreamingResampler(24000, 8000), data)
    assert np.abs(samples(restarted) - samples(streamed)).max() > 1000


def test_one_byte_at_a_time() -> None:
    data = speechlike(8000, 0.05).astype("<i2").tobytes()
    resampler = StreamingResampler(8000, 24000)
    parts = b"".join(resampler.process(data[i : i + 1]) for i in range(len(data)))
    parts += resampler.flush()
    whole = one_shot(StreamingResampler(8000, 24000), data)
    assert np.abs(samples(parts) - samples(whole)).max() <= 2


# --- lengths, latency, spectrum -----------------------------------------------------------------


@pytest.mark.parametrize("quality", QUALITIES)
@pytest.mark.parametrize(
    ("in_rate", "out_rate", "n_in", "n_out"),
    [(24000, 8000, 24000, 8000), (8000, 24000, 8000, 24000), (24000, 8000, 480, 160)],
)
def test_length_ratio(in_rate: int, out_rate: int, n_in: int, n_out: int, quality: str) -> None:
    resampler = StreamingResampler(in_rate, out_rate, quality=quality)
    out = one_shot(resampler, bytes(2 * n_in))
    assert len(out) == 2 * n_out
    assert (resampler.samples_in, resampler.samples_out) == (n_in, n_out)


@pytest.mark.parametrize(
    ("in_rate", "out_rate", "max_lag_ms"), [(24000, 8000, 35), (8000, 24000, 35)]
)
def test_live_quality_emits_every_chunk_with_bounded_delay(
    in_rate: int, out_rate: int, max_lag_ms: float
) -> None:
    resampler = StreamingResampler(in_rate, out_rate)
    frame = tone(700, in_rate, 0.02).astype("<i2").tobytes()  # 20 ms
    sizes = []
    for _ in range(50):
        sizes.append(len(resampler.process(frame)))
        lag_ms = 1000 * (resampler.samples_in / in_rate - resampler.samples_out / out_rate)
        assert lag_ms <= max_lag_ms
    assert all(size > 0 for size in sizes[2:])  # steady output, no bursts


@pytest.mark.parametrize("quality", QUALITIES)
def test_tone_frequency_survives_both_directions(quality: str) -> None:
    down = samples(one_shot(StreamingResampler(24000, 8000, quality=quality), _b(1000, 24000)))
    assert peak_hz(down, 8000) == pytest.approx(1000, abs=2)
    assert rms(down[800:-800]) == pytest.approx(12000 / np.sqrt(2), rel=0.02)
    up = samples(one_shot(StreamingResampler(8000, 24000, quality=quality), _b(1000, 8000)))
    assert peak_hz(up, 24000) == pytest.approx(1000, abs=2)
    assert rms(up[2400:-2400]) == pytest.approx(12000 / np.sqrt(2), rel=0.02)
    spectrum = np.abs(np.fft.rfft(up[2400:-2400] * np.hanning(len(up) - 4800)))
    freqs = np.fft.rfftfreq(len(up) - 4800, 1 / 24000)
    assert spectrum[freqs > 4100].max() < spectrum.max() * 1e-3  # images below -60 dB


@pytest.mark.parametrize("freq", [4600, 6000, 10000])
def test_downsampling_filters_out_what_would_alias(freq: int) -> None:
    out = samples(one_shot(StreamingResampler(24000, 8000), _b(freq, 24000)))
    assert rms(out[800:-800]) < 12000 / np.sqrt(2) * 1e-3  # below -60 dB, not folded in band


def _b(freq: float, rate: int) -> bytes:
    return tone(freq, rate, 1.0).astype("<i2").tobytes()


# --- state handling ----------------------------------------------------------------------------


def test_flush_resets_for_the_next_stream_and_reports_a_dangling_byte() -> None:
    first, second = _b(300, 24000)[:4800], _b(500, 24000)[:4800]
    resampler = StreamingResampler(24000, 8000)
    resampler.process(first + b"\x01")
    assert resampler.pending_bytes == 1
    resampler.flush()
    assert resampler.discarded_bytes == 1 and resampler.pending_bytes == 0
    assert one_shot(resampler, second) == one_shot(StreamingResampler(24000, 8000), second)


def test_reset_drops_buffered_audio() -> None:
    resampler = StreamingResampler(24000, 8000)
    resampler.process(_b(300, 24000)[:9600] + b"\x01")
    resampler.reset()
    assert resampler.pending_bytes == 0
    assert resampler.flush() == b""


def test_equal_rates_pass_through_with_byte_carry() -> None:
    resampler = StreamingResampler(24000, 24000)
    assert resampler.is_passthrough
    assert resampler.process(b"\x01\x02\x03") == b"\x01\x02"
    assert resampler.process(b"\x04") == b"\x03\x04"
    assert resampler.flush() == b""


def test_arrays_in_and_mixing_rules() -> None:
    resampler = StreamingResampler(8000, 24000)
    out = resampler.process_array(tone(440, 8000, 0.1))
    assert out.dtype == np.int16
    resampler.process(b"\x00")
    with pytest.raises(AudioFormatError, match="odd byte"):
        resampler.process_array(np.zeros(4, dtype=np.int16))
    with pytest.raises(AudioFormatError, match="int16"):
        StreamingResampler(8000, 24000).process_array(np.zeros(4, dtype=np.float32))
    with pytest.raises(AudioFormatError, match="Expected PCM16 bytes"):
        StreamingResampler(8000, 24000).process("text")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"in_rate": 0, "out_rate": 8000}, "input sample rate must be between"),
        ({"in_rate": 24000, "out_rate": -8000}, "output sample rate must be between"),
        ({"in_rate": 24000.5, "out_rate": 8000}, "whole number"),
        ({"in_rate": "24000", "out_rate": 8000}, "whole number"),
        ({"in_rate": 24000, "out_rate": 8000, "quality": "ultra"}, "Unknown resampler quality"),
    ],
)
def test_bad_rates_and_quality_are_rejected(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(AudioFormatError, match=message):
        StreamingResampler(**kwargs)


def test_quality_names_are_case_insensitive() -> None:
    assert StreamingResampler(24000, 8000, quality="vhq").quality == "VHQ"
    assert StreamingResampler(24000, 8000, quality="LIVE").quality == "live"


# --- converters --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("law", "decode"), [("pcmu", ulaw_decode_array), ("pcma", alaw_decode_array)]
)
def test_pcm_to_g711_encoder(law: str, decode: Any) -> None:
    pcm = _b(1000, 24000)
    encoder = PcmToG711Encoder(law)
    out = b"".join(encoder.process(pcm[i : i + 961]) for i in range(0, len(pcm), 961))
    out += encoder.flush()
    assert len(out) == 8000  # 1 s of 8 kHz, one byte per sample
    decoded = decode(out).astype(np.int64)
    assert peak_hz(decoded, 8000) == pytest.approx(1000, abs=2)
    assert rms(decoded[800:-800]) == pytest.approx(12000 / np.sqrt(2), rel=0.03)


@pytest.mark.parametrize("law", ["pcmu", "pcma"])
def test_g711_to_pcm_decoder(law: str) -> None:
    g711 = PcmToG711Encoder(law).process(_b(1000, 24000)) + PcmToG711Encoder(law).flush()
    decoder = G711ToPcmDecoder(law)
    out = b"".join(decoder.process(g711[i : i + 160]) for i in range(0, len(g711), 160))
    out += decoder.flush()
    assert duration_ms(out, PCM24K) == pytest.approx(duration_ms(g711, PCMU), abs=0.1)
    assert peak_hz(samples(out), 24000) == pytest.approx(1000, abs=2)


def sinad_db(y: np.ndarray, freq: float, rate: int) -> float:
    """Signal to noise-and-distortion: fit the tone (any phase), compare with what is left."""
    t = np.arange(len(y)) / rate
    basis = np.stack([np.sin(2 * np.pi * freq * t), np.cos(2 * np.pi * freq * t), np.ones_like(t)])
    fit = basis.T @ np.linalg.lstsq(basis.T, y.astype(float), rcond=None)[0]
    return float(10 * np.log10(np.sum(fit**2) / np.sum((y - fit) ** 2)))


@pytest.mark.parametrize("quality", QUALITIES)
@pytest.mark.parametrize("freq", [300, 1000, 2900, 3400])
def test_round_trips_keep_the_signal_clean(freq: int, quality: str) -> None:
    """Measured SINAD: resampling stays near the 16-bit limit; μ-law adds its ~38 dB noise."""
    data = _b(freq, 24000)
    down = samples(one_shot(StreamingResampler(24000, 8000, quality=quality), data))
    assert sinad_db(down[800:-800], freq, 8000) > 75
    up = one_shot(StreamingResampler(8000, 24000, quality=quality), down.astype("<i2").tobytes())
    assert sinad_db(samples(up)[2400:-2400], freq, 24000) > 75
    encoder = PcmToG711Encoder("g711_ulaw", quality=quality)
    decoder = G711ToPcmDecoder("g711_ulaw", quality=quality)
    back = b""
    for i in range(0, len(data), 960):
        back += decoder.process(encoder.process(data[i : i + 960]))
    back += decoder.process(encoder.flush()) + decoder.flush()
    assert len(back) == len(data)
    assert sinad_db(samples(back)[2400:-2400], freq, 24000) > 33


def test_converters_reject_pcm_as_a_law() -> None:
    with pytest.raises(AudioFormatError, match=r"must be G\.711"):
        PcmToG711Encoder("pcm16")
    with pytest.raises(AudioFormatError, match=r"must be G\.711"):
        G711ToPcmDecoder({"type": "audio/pcm", "rate": 24000})
    with pytest.raises(AudioFormatError, match="Unknown audio format"):
        PcmToG711Encoder("opus")


FORMATS = [PCM24K, WireFormat("pcm", 16000), PCMU, PCMA]


@pytest.mark.parametrize("target", FORMATS, ids=str)
@pytest.mark.parametrize("source", FORMATS, ids=str)
def test_transcoder_preserves_duration_for_every_pair(
    source: WireFormat, target: WireFormat
) -> None:
    pcm = tone(440, source.rate, 0.2).astype("<i2").tobytes()
    data = ulaw_encode(pcm) if source == PCMU else pcm
    if source == PCMA:
        data = ulaw_to_alaw(ulaw_encode(pcm))
    transcoder = Transcoder(source.to_wire(), target.legacy_name or target.to_wire())
    step = bytes_for_ms(20, source) + 1  # misaligned chunks on purpose
    out = b"".join(transcoder.process(data[i : i + step]) for i in range(0, len(data), step))
    out += transcoder.flush()
    assert len(out) == bytes_for_ms(200, target)
    assert transcoder.is_identity is (source == target)
    if source == target:
        assert out == data


def test_transcoder_pipelines() -> None:
    assert Transcoder("g711_ulaw", {"type": "audio/pcmu"}).is_identity
    assert Transcoder(None, "pcm16").is_identity
    swap = Transcoder("pcmu", "pcma")
    assert swap.process(bytes(range(256))) == ulaw_to_alaw(bytes(range(256)))
    assert swap.flush() == b""
    with pytest.raises(AudioFormatError, match="Unknown audio format type 'opus'"):
        Transcoder("pcm16", "opus")
    assert "audio/pcmu" in repr(Transcoder("pcm16", "g711_ulaw"))
