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

This package keeps one concern per module; ``realtime_session`` is the public facade that
wires them to the transport. Import the public names from here (or from ``realtime_transport``).
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
