"""The session config each ``session.update`` sends (reference section 6.7).

Layering rules live here, apart from the session, because SIP accepts a call with the same
config the session will later send: :func:`compute_initial_session_config` is public for that.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from ..agent import AgentTools, RealtimeAgent, prepare_agent_tools
from ..context import RealtimeContext
from .runtime import logger

__all__ = ["compute_initial_session_config", "default_config", "tracing_setting"]


async def compute_initial_session_config(
    agent: RealtimeAgent,
    *,
    tools: AgentTools | None = None,
    context: RealtimeContext[Any] | None = None,
    config: Mapping[str, Any] | None = None,
    last_config: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
    model: str | None = None,
    tracing: Any = "auto",
) -> dict[str, Any]:
    """The snake_case GA session config for ``agent``: the last sent config (formats, turn
    detection... survive handoffs), then ``config``, then ``overrides``, then the agent's
    instructions, prompt, voice and tools (always a list, so an agent without tools clears the
    previous agent's), the model and tracing."""
    from ..config import to_ga_config

    ctx = context if context is not None else RealtimeContext(context=None)
    if tools is None:
        tools = await prepare_agent_tools(agent, ctx)
    base = copy.deepcopy(dict(last_config)) if last_config is not None else default_config()
    user = to_ga_config(config) if config else {}
    extra = to_ga_config(overrides) if overrides else {}
    merged: dict[str, Any] = {**base, **copy.deepcopy(user), **copy.deepcopy(extra)}

    instructions = await agent.get_system_prompt(ctx)
    if instructions is not None:
        merged["instructions"] = instructions
    elif base.get("instructions"):
        merged["instructions"] = ""  # do not leave the previous agent's instructions in place
    else:
        merged.pop("instructions", None)

    voice = _output_voice(extra) or _output_voice(user) or agent.voice
    if voice is not None:
        audio = dict(merged.get("audio") or {})
        output = dict(audio.get("output") or {})
        output["voice"] = voice
        audio["output"] = output
        merged["audio"] = audio

    if model is not None:
        merged["model"] = model
    merged["tools"] = tools.definitions()
    merged["tracing"] = tracing
    prompt = await agent.get_prompt(ctx)
    if prompt is not None:
        merged["prompt"] = prompt
    else:
        merged.pop("prompt", None)
    return merged


def _output_voice(config: Mapping[str, Any]) -> str | None:
    audio = config.get("audio") or {}
    output = audio.get("output") or {} if isinstance(audio, Mapping) else {}
    voice = output.get("voice") if isinstance(output, Mapping) else None
    if voice is None:
        voice = config.get("voice")
    return voice if isinstance(voice, str) else None


def default_config() -> dict[str, Any]:
    """The config a connection starts from (nothing of an earlier connection carries over)."""
    from ..config import default_session_config

    return default_session_config()


def tracing_setting(
    disabled: bool,
    workflow_name: str | None,
    group_id: str | None,
    metadata: Mapping[str, Any] | None,
) -> Any:
    """The ``tracing`` value every ``session.update`` carries, from the session's options."""
    if disabled:
        if group_id or metadata:
            logger.warning("tracing is disabled; group_id and trace_metadata are ignored")
        return None
    if workflow_name:
        value: dict[str, Any] = {"workflow_name": workflow_name}
        if group_id:
            value["group_id"] = group_id
        if metadata:
            value["metadata"] = dict(metadata)
        return value
    if group_id or metadata:
        logger.warning(
            "group_id and trace_metadata need workflow_name; they are ignored and tracing is 'auto'"
        )
    return "auto"
