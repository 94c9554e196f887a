"""Shared by the OpenAI-protocol transports: inbound mapping, payload builders, the
``response.create`` sequencer and playback bookkeeping for truncation."""

from .base import DEFAULT_MODEL, OpenAIRealtimeBase
from .playback import PlaybackTracker
from .sequencer import ResponseCreateSequencer

__all__ = ["DEFAULT_MODEL", "OpenAIRealtimeBase", "PlaybackTracker", "ResponseCreateSequencer"]
