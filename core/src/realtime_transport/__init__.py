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
    # audio (numpy/soxr load only when these are first used)
    "StreamingResampler": "audio",
    "PcmToG711Encoder": "audio",
    "G711ToPcmDecoder": "audio",
    "Transcoder": "audio",
    "ulaw_encode": "audio",
    "ulaw_decode": "audio",
    "alaw_encode": "audio",
    "alaw_decode": "audio",
    # errors
    "RealtimeTransportError": "errors",
    "UserError": "errors",
    "TransportNotConnectedError": "errors",
    "TransportConnectionError": "errors",
    "AuthenticationError": "errors",
    "ConnectTimeoutError": "errors",
    "UnsupportedOperationError": "errors",
    "AudioFormatError": "errors",
    "ModelBehaviorError": "errors",
    "EventStreamOverflowError": "errors",
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


__all__ = sorted(_EXPORTS)  # noqa: PLE0605

if TYPE_CHECKING:  # pragma: no cover - names for type checkers and IDEs
    from .errors import *  # noqa: F403
    from .events import *  # noqa: F403
    from .hookspecs import hookimpl as hookimpl
    from .hookspecs import hookspec as hookspec
    from .registry import PluginInfo as PluginInfo
    from .registry import TransportRegistry as TransportRegistry
    from .registry import TransportSpec as TransportSpec
    from .registry import get_registry as get_registry
    from .registry import get_transport as get_transport
    from .registry import get_transport_class as get_transport_class
    from .registry import list_plugin_distributions as list_plugin_distributions
    from .registry import list_transports as list_transports
    from .transport import *  # noqa: F403
