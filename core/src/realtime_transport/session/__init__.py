"""RealtimeSession: a voice agent on top of any transport.

The session keeps a local history from the transport's ``item_update`` events, runs the tools
the model calls and answers them, switches agents on handoffs (``session.update`` that keeps
the audio formats), runs output guardrails while the model speaks, holds tool calls that need
approval, adds up usage, and re-emits everything as session events (``session.on(name, fn)`` or
``async for event in session``).

Every piece of asynchronous work remembers the *connection generation* it started in; after
each ``await`` it checks the generation is still current and the transport still connected, so
a tool or handoff that finishes after ``close()`` or a reconnect is dropped, never sent on the
new connection.

One concern per module (import the public names from here or from ``realtime_transport``):

- ``realtime_session``: the public :class:`RealtimeSession`; builds the parts, wires them to
  the transport's events, connect/close and the public methods.
- ``session_emitter``: ``async for`` streams, the opt-in raw ``transport_event``, listener errors.
- ``runtime``: what the parts share, and the connection-generation check.
- ``history``: the local conversation history from item events.
- ``turns``: responses (``agent_start``/``agent_end``), audio events, usage totals.
- ``tool_calls``: running the function calls the model makes (replays, conflicts, errors).
- ``call_records``: what is remembered per call id, and the one way a call is answered.
- ``approvals``: the ``needs_approval`` policy, pending approvals, rejection output.
- ``agent_switch``: handoffs and ``update_agent()``.
- ``session_config``: the config each ``session.update`` sends.
- ``output_guardrails``: debounced output guardrails and what a trip does.
- ``hosted_mcp``: hosted MCP approvals, completed calls and the available MCP tools.
- ``local_mcp``: following the tool lists of the current agent's local MCP servers.
- ``tool_guardrails``: tools' input/output guardrails and what their verdicts do.
- ``history_audio``: the assistant's audio for the history (``history_store_audio``), bounded.
"""

from __future__ import annotations

from .approvals import DEFAULT_REJECTION_MESSAGE, ToolErrorFormatterArgs
from .approvals import ToolErrorFormatter as ToolErrorFormatter
from .realtime_session import RealtimeSession
from .runtime import ErrorSource as ErrorSource
from .runtime import logger as logger
from .session_config import compute_initial_session_config

__all__ = [
    "DEFAULT_REJECTION_MESSAGE",
    "RealtimeSession",
    "ToolErrorFormatterArgs",
    "compute_initial_session_config",
]
