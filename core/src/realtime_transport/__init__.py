"""realtime-transport: connect voice agents to speech-to-speech services over any transport.

Public names are imported lazily (PEP 562) so ``import realtime_transport`` stays small: a
thin client that only needs a transport never pays for pydantic, numpy or the session layer.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # contract
    "RealtimeTransportLayer": "transport",
    "TransportCapabilities": "transport",
    "TransportStatus": "transport",
    "ApiKey": "transport",
    # events
    "EventEmitter": "events",
    "TransportEvent": "events",
    "ErrorEvent": "events",
    "ConnectionEvent": "events",
    "AudioEvent": "events",
    "AudioDoneEvent": "events",
    "AudioInterruptedEvent": "events",
    "TranscriptDeltaEvent": "events",
    "OutputTextDeltaEvent": "events",
    "TurnStartedEvent": "events",
    "TurnDoneEvent": "events",
    "Usage": "events",
    "RealtimeItem": "events",
    "RealtimeMessageItem": "events",
    "RealtimeToolCallItem": "events",
    "RealtimeMcpApprovalRequestItem": "events",
    "ItemDeletedEvent": "events",
    "FunctionCallEvent": "events",
    "DtmfEvent": "events",
    # audio (numpy/soxr load only when these are first used)
    "StreamingResampler": "audio",
    "PcmToG711Encoder": "audio",
    "G711ToPcmDecoder": "audio",
    "Transcoder": "audio",
    "ulaw_encode": "audio",
    "ulaw_decode": "audio",
    "alaw_encode": "audio",
    "alaw_decode": "audio",
    # session config (plain dicts; never imports pydantic)
    "DEFAULT_MODEL": "config",
    "DEFAULT_SESSION_CONFIG": "config",
    "DEFAULT_AUDIO_FORMAT": "config",
    "DEFAULT_TRANSCRIPTION_MODEL": "config",
    "UNSET": "config",
    "UnsetType": "config",
    "TracingUpdate": "config",
    "build_session_payload": "config",
    "build_tracing_update": "config",
    "default_session_config": "config",
    "to_ga_config": "config",
    "normalize_audio_format": "config",
    "normalize_turn_detection": "config",
    "normalize_tool": "config",
    "normalize_tracing": "config",
    "session_input_format": "config",
    "session_output_format": "config",
    "interrupt_response_enabled": "config",
    # typed protocol models (pydantic, loaded on first use)
    "SessionConfig": "protocol",
    "AudioConfig": "protocol",
    "AudioInputConfig": "protocol",
    "AudioOutputConfig": "protocol",
    "AudioFormat": "protocol",
    "TurnDetection": "protocol",
    "InputAudioTranscription": "protocol",
    "NoiseReduction": "protocol",
    "Tracing": "protocol",
    "Prompt": "protocol",
    "Reasoning": "protocol",
    "VoiceId": "protocol",
    "FunctionToolDefinition": "protocol",
    "McpToolDefinition": "protocol",
    "parse_server_event": "protocol",
    "validate_client_event": "protocol",
    "UnknownServerEvent": "protocol",
    "SERVER_EVENT_TYPES": "protocol",
    "CLIENT_EVENT_TYPES": "protocol",
    "find_beta_fields": "protocol",
    # agents, tools, handoffs, guardrails and the session
    "RealtimeAgent": "agent",
    "RealtimeContext": "context",
    "ToolContext": "context",
    "FunctionTool": "tools",
    "HostedMcpTool": "tools",
    "function_tool": "tools",
    "tool": "tools",
    "BackgroundResult": "tools",
    "background_result": "tools",
    "default_tool_error_function": "tools",
    "ToolArgumentsError": "tools",
    "ToolTimeoutError": "tools",
    "Handoff": "handoffs",
    "handoff": "handoffs",
    "OutputGuardrail": "guardrails",
    "output_guardrail": "guardrails",
    "GuardrailFunctionOutput": "guardrails",
    "OutputGuardrailResult": "guardrails",
    "OutputGuardrailTripwireTriggered": "guardrails",
    "ToolInputGuardrail": "tool_guardrails",
    "ToolOutputGuardrail": "tool_guardrails",
    "tool_input_guardrail": "tool_guardrails",
    "tool_output_guardrail": "tool_guardrails",
    "ToolGuardrailFunctionOutput": "tool_guardrails",
    "ToolGuardrailBehavior": "tool_guardrails",
    "ToolInputGuardrailData": "tool_guardrails",
    "ToolOutputGuardrailData": "tool_guardrails",
    "ToolInputGuardrailTripwireTriggered": "tool_guardrails",
    "ToolOutputGuardrailTripwireTriggered": "tool_guardrails",
    "LogDataPolicy": "log_privacy",
    "McpServer": "mcp_servers",
    "McpToolError": "mcp_servers",
    "log_data_policy": "log_privacy",
    "DONT_LOG_MODEL_DATA_ENV": "log_privacy",
    "DONT_LOG_TOOL_DATA_ENV": "log_privacy",
    "RealtimeSession": "session",
    "ReconnectPolicy": "session.reconnect",
    "ReconnectingEvent": "session.reconnect",
    "ReconnectedEvent": "session.reconnect",
    "ReconnectFailedEvent": "session.reconnect",
    "ToolErrorFormatterArgs": "session",
    "compute_initial_session_config": "session",
    "SESSION_EVENTS": "session_events",
    "SessionEvent": "session_events",
    "AgentStartEvent": "session_events",
    "AgentEndEvent": "session_events",
    "AgentHandoffEvent": "session_events",
    "ToolStartEvent": "session_events",
    "ToolEndEvent": "session_events",
    "AudioStartEvent": "session_events",
    "AudioStoppedEvent": "session_events",
    "SessionAudioInterruptedEvent": "session_events",
    "GuardrailTrippedEvent": "session_events",
    "HistoryUpdatedEvent": "session_events",
    "HistoryAddedEvent": "session_events",
    "SessionErrorEvent": "session_events",
    "ToolApprovalItem": "session_events",
    "McpApprovalItem": "session_events",
    "ToolApprovalRequestedEvent": "session_events",
    "McpToolCallCompletedEvent": "session_events",
    "McpToolsChangedEvent": "session_events",
    "ToolGuardrailTrippedEvent": "session_events",
    # errors
    "RealtimeTransportError": "errors",
    "UserError": "errors",
    "TransportNotConnectedError": "errors",
    "TransportConnectionError": "errors",
    "AuthenticationError": "errors",
    "CallEndedError": "errors",
    "ConnectTimeoutError": "errors",
    "UnsupportedOperationError": "errors",
    "AudioFormatError": "errors",
    "ModelBehaviorError": "errors",
    "EventStreamOverflowError": "errors",
    "SessionUpdateRejectedError": "errors",
    "PluginError": "errors",
    "UnknownTransportError": "errors",
    "TransportNotInstalledError": "errors",
    "TransportLoadError": "errors",
    "DuplicateTransportError": "errors",
    # plugins and the registry
    "hookimpl": "hookspecs",
    "hookspec": "hookspecs",
    "TransportSpec": "registry",
    "TransportRegistry": "registry",
    "PluginInfo": "registry",
    "get_registry": "registry",
    "get_transport": "registry",
    "get_transport_class": "registry",
    "list_transports": "registry",
    "list_plugin_distributions": "registry",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'realtime_transport' has no attribute {name!r}")
    value = getattr(import_module(f"realtime_transport.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover - names for type checkers and IDEs
    from .agent import RealtimeAgent as RealtimeAgent
    from .config import *  # noqa: F403
    from .context import *  # noqa: F403
    from .errors import *  # noqa: F403
    from .events import *  # noqa: F403
    from .guardrails import *  # noqa: F403
    from .handoffs import Handoff as Handoff
    from .handoffs import handoff as handoff
    from .hookspecs import hookimpl as hookimpl
    from .hookspecs import hookspec as hookspec
    from .log_privacy import DONT_LOG_MODEL_DATA_ENV as DONT_LOG_MODEL_DATA_ENV
    from .log_privacy import DONT_LOG_TOOL_DATA_ENV as DONT_LOG_TOOL_DATA_ENV
    from .log_privacy import LogDataPolicy as LogDataPolicy
    from .log_privacy import log_data_policy as log_data_policy
    from .mcp_servers import McpServer as McpServer
    from .mcp_servers import McpToolError as McpToolError
    from .protocol import CLIENT_EVENT_TYPES as CLIENT_EVENT_TYPES
    from .protocol import SERVER_EVENT_TYPES as SERVER_EVENT_TYPES
    from .protocol import AudioConfig as AudioConfig
    from .protocol import AudioFormat as AudioFormat
    from .protocol import AudioInputConfig as AudioInputConfig
    from .protocol import AudioOutputConfig as AudioOutputConfig
    from .protocol import FunctionToolDefinition as FunctionToolDefinition
    from .protocol import InputAudioTranscription as InputAudioTranscription
    from .protocol import McpToolDefinition as McpToolDefinition
    from .protocol import NoiseReduction as NoiseReduction
    from .protocol import Prompt as Prompt
    from .protocol import Reasoning as Reasoning
    from .protocol import SessionConfig as SessionConfig
    from .protocol import Tracing as Tracing
    from .protocol import TurnDetection as TurnDetection
    from .protocol import UnknownServerEvent as UnknownServerEvent
    from .protocol import VoiceId as VoiceId
    from .protocol import find_beta_fields as find_beta_fields
    from .protocol import parse_server_event as parse_server_event
    from .protocol import validate_client_event as validate_client_event
    from .registry import PluginInfo as PluginInfo
    from .registry import TransportRegistry as TransportRegistry
    from .registry import TransportSpec as TransportSpec
    from .registry import get_registry as get_registry
    from .registry import get_transport as get_transport
    from .registry import get_transport_class as get_transport_class
    from .registry import list_plugin_distributions as list_plugin_distributions
    from .registry import list_transports as list_transports
    from .session import RealtimeSession as RealtimeSession
    from .session import ToolErrorFormatterArgs as ToolErrorFormatterArgs
    from .session import compute_initial_session_config as compute_initial_session_config
    from .session.reconnect import ReconnectedEvent as ReconnectedEvent
    from .session.reconnect import ReconnectFailedEvent as ReconnectFailedEvent
    from .session.reconnect import ReconnectingEvent as ReconnectingEvent
    from .session.reconnect import ReconnectPolicy as ReconnectPolicy
    from .session_events import *  # noqa: F403
    from .tool_guardrails import *  # noqa: F403
    from .tools import *  # noqa: F403
    from .transport import *  # noqa: F403
