"""Token accounting: the ``usage`` objects of ``response.done`` and of transcriptions.

The emulated model has no tokenizer, so counts follow fixed rules that keep usage plausible and
deterministic: text 4 characters per token, input audio 100 ms per token, output audio 50 ms per
token, an image 85 tokens. Cached tokens grow in steps of 64 from the previous response's input,
as prompt caching does on the real API.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from realtime_transport_emulator.session.conversation import Item

IMAGE_TOKENS = 85


def tokens(text: str) -> int:
    """Tokens of ``text`` (4 characters per token, rounded up)."""
    return math.ceil(len(text) / 4) if text else 0


def input_usage(instructions: str, context: Iterable[Item]) -> dict[str, int]:
    """Input tokens of a response over ``context``, in total and by modality."""
    text_tokens = tokens(instructions)
    audio_tokens = 0
    image_tokens = 0
    for item in context:
        if item.type != "message":
            text_tokens += tokens(item.text())
            continue
        for index, part in enumerate(item.wire.get("content") or []):
            kind = part.get("type")
            if kind == "input_audio":
                audio_tokens += math.ceil(item.audio_ms(index) / 100)
            elif kind == "output_audio":
                audio_tokens += math.ceil(item.audio_ms(index) / 50)
            elif kind == "input_image":
                image_tokens += IMAGE_TOKENS
            else:
                text_tokens += tokens(str(part.get("text") or ""))
    total = text_tokens + audio_tokens + image_tokens
    return {
        "input_tokens": total,
        "text_tokens": text_tokens,
        "audio_tokens": audio_tokens,
        "image_tokens": image_tokens,
    }


def response_usage(
    inputs: dict[str, int],
    previous_input_tokens: int,
    output_audio_ms: float,
    output_text_tokens: int,
) -> dict[str, Any]:
    """The ``usage`` of ``response.done``; ``previous_input_tokens`` sets the cached part."""
    cached = min(inputs["input_tokens"], previous_input_tokens // 64 * 64)
    cached_text = min(cached, inputs["text_tokens"])
    cached_audio = min(cached - cached_text, inputs["audio_tokens"])
    out_audio = math.ceil(output_audio_ms / 50)
    out_text = output_text_tokens
    return {
        "total_tokens": inputs["input_tokens"] + out_text + out_audio,
        "input_tokens": inputs["input_tokens"],
        "output_tokens": out_text + out_audio,
        "input_token_details": {
            "text_tokens": inputs["text_tokens"],
            "audio_tokens": inputs["audio_tokens"],
            "image_tokens": inputs["image_tokens"],
            "cached_tokens": cached_text + cached_audio,
            "cached_tokens_details": {
                "text_tokens": cached_text,
                "audio_tokens": cached_audio,
                "image_tokens": 0,
            },
        },
        "output_token_details": {"text_tokens": out_text, "audio_tokens": out_audio},
    }


def transcription_usage(model: Any, audio_ms: float, transcript: str) -> dict[str, Any]:
    """``whisper-1`` bills by duration; the other transcription models by tokens."""
    if model == "whisper-1":
        return {"type": "duration", "seconds": round(audio_ms / 1000, 3)}
    audio_tokens = math.ceil(audio_ms / 100)
    text_tokens = tokens(transcript)
    return {
        "type": "tokens",
        "input_tokens": audio_tokens,
        "output_tokens": text_tokens,
        "total_tokens": audio_tokens + text_tokens,
        "input_token_details": {"audio_tokens": audio_tokens, "text_tokens": 0},
    }


def rate_limits(input_tokens: int) -> list[dict[str, Any]]:
    """The ``rate_limits.updated`` payload after a response that reads ``input_tokens``."""
    return [
        {"name": "requests", "limit": 5000, "remaining": 4999, "reset_seconds": 0.012},
        {
            "name": "tokens",
            "limit": 40000,
            "remaining": 40000 - input_tokens,
            "reset_seconds": 0.5,
        },
    ]
