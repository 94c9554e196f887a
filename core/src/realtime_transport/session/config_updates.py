"""Sending a ``session.update`` from the session and learning whether the server applied it.

A handoff or ``update_agent()`` must not report a switch the server refused, so the session
sends its update with an ``event_id`` and waits for the transport's ``session_update_done``
(``session.updated`` applied it, an ``error`` naming the id refused it). The server also
refuses to change the voice once the assistant has spoken (``cannot_update_voice``), which
would sink the whole update (instructions and tools too), so the voice is left out then.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .runtime import logger

if TYPE_CHECKING:
    from ..events import ErrorEvent
    from .runtime import SessionRuntime

__all__ = ["UPDATE_ANSWER_TIMEOUT", "config_voice", "deep_merge", "send_session_update"]

#: How long to wait for the server's answer to a ``session.update`` before assuming it applied
#: (the server answers every update; a missing answer means a slow link, not a refusal).
UPDATE_ANSWER_TIMEOUT = 10.0

_ids = itertools.count(1)


def config_voice(config: Mapping[str, Any]) -> Any:
    """The output voice a (GA-shape) config sets, or None."""
    audio = config.get("audio")
    output = audio.get("output") if isinstance(audio, Mapping) else None
    return output.get("voice") if isinstance(output, Mapping) else None


def _without_voice(config: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(config)
    audio = dict(out.get("audio") or {})
    output = dict(audio.get("output") or {})
    output.pop("voice", None)
    audio["output"] = output
    out["audio"] = audio
    return out


def deep_merge(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """``update`` over ``base``: ``audio.input`` and ``audio.output`` merge key by key, any
    other value (instructions, tools, a turn detection object...) replaces."""
    out = copy.deepcopy(dict(base))
    for key, value in update.items():
        if key == "audio" and isinstance(out.get(key), Mapping) and isinstance(value, Mapping):
            audio = dict(out[key])
            for channel, part in value.items():
                if isinstance(part, Mapping) and isinstance(audio.get(channel), Mapping):
                    audio[channel] = {**audio[channel], **copy.deepcopy(dict(part))}
                else:
                    audio[channel] = copy.deepcopy(part)
            out[key] = audio
        else:
            out[key] = copy.deepcopy(value)
    return out


async def send_session_update(
    runtime: SessionRuntime,
    config: Mapping[str, Any],
    *,
    last_config: Mapping[str, Any],
    what: str,
) -> tuple[dict[str, Any], ErrorEvent | None]:
    """Send ``config`` and wait for the server's answer.

    Returns the config to remember as sent (the voice is the one in effect when it had to be
    left out) and ``None`` once applied, or the server's error when it refused the update.
    A connection that ends meanwhile returns ``None``; callers check ``runtime.is_live``.
    """
    config = dict(config)
    to_send = config
    voice = config_voice(config)
    if voice is not None and runtime.assistant_audio:
        current = config_voice(last_config)
        if voice != current:
            logger.warning(
                "%s: voice %r not applied: the server does not change the voice once the "
                "assistant has spoken, so the conversation keeps %s",
                what,
                voice,
                repr(current) if current is not None else "its voice",
            )
        to_send = _without_voice(config)
        remembered = _without_voice(config)
        if current is not None:
            remembered["audio"]["output"]["voice"] = current
        config = remembered
    transport = runtime.transport
    event_id = f"rt_session_config_{next(_ids)}"
    answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    def settle(result: Any) -> None:
        if not answer.done():
            answer.set_result(result)

    def on_done(result: Any) -> None:
        if getattr(result, "event_id", None) == event_id:
            settle(result)

    unsubscribe = [
        transport.on("session_update_done", on_done),
        transport.on("disconnected", lambda _: settle(None)),
    ]
    try:
        transport.update_session_config(to_send, event_id=event_id)
        if not answer.done() and not transport.capabilities.uses_openai_protocol:
            return config, None  # no protocol to learn the answer from
        try:
            result = await asyncio.wait_for(answer, UPDATE_ANSWER_TIMEOUT)
        except asyncio.TimeoutError:
            logger.warning(
                "%s: no answer to session.update within %g s; assuming it applied",
                what,
                UPDATE_ANSWER_TIMEOUT,
            )
            return config, None
    finally:
        for off in unsubscribe:
            off()
    if result is None or getattr(result, "ok", True):
        return config, None
    return config, result.error
