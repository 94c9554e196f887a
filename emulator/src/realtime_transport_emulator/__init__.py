"""realtime-transport-emulator: an offline, deterministic Realtime API server on loopback.

``async with Emulator() as emu:`` serves ``emu.ws_url`` (``ws://127.0.0.1:PORT/v1/realtime``)
and ``emu.base_url`` (``http://127.0.0.1:PORT/v1``) with the GA wire protocol, scripted replies
(:class:`Script`), fault injection (:class:`Faults`) and a record of every event per connection.
Names are imported lazily so ``realtime-transport emulator --help`` stays quick.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "Emulator": "server",
    "Faults": "faults",
    "FAULT_NAMES": "faults",
    "Script": "model.script",
    "Rule": "model.script",
    "Reply": "model.script",
    "FunctionCall": "model.script",
    "ScriptError": "model.script",
    "ConnectionRecord": "records",
    "ProtocolError": "session.errors",
    "SipSimulator": "surfaces.sip",
    "CallResult": "surfaces.sip",
    "speech": "model.synth",
    "synthesize": "model.synth",
    "silence": "model.synth",
    "noise": "model.synth",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'realtime_transport_emulator' has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover - names for type checkers and IDEs
    from realtime_transport_emulator.faults import FAULT_NAMES as FAULT_NAMES
    from realtime_transport_emulator.faults import Faults as Faults
    from realtime_transport_emulator.model.script import FunctionCall as FunctionCall
    from realtime_transport_emulator.model.script import Reply as Reply
    from realtime_transport_emulator.model.script import Rule as Rule
    from realtime_transport_emulator.model.script import Script as Script
    from realtime_transport_emulator.model.script import ScriptError as ScriptError
    from realtime_transport_emulator.model.synth import noise as noise
    from realtime_transport_emulator.model.synth import silence as silence
    from realtime_transport_emulator.model.synth import speech as speech
    from realtime_transport_emulator.model.synth import synthesize as synthesize
    from realtime_transport_emulator.records import ConnectionRecord as ConnectionRecord
    from realtime_transport_emulator.server import Emulator as Emulator
    from realtime_transport_emulator.session.errors import ProtocolError as ProtocolError
    from realtime_transport_emulator.surfaces.sip import CallResult as CallResult
    from realtime_transport_emulator.surfaces.sip import SipSimulator as SipSimulator
