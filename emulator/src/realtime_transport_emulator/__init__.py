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
    "Script": "script",
    "Rule": "script",
    "Reply": "script",
    "FunctionCall": "script",
    "ScriptError": "script",
    "ConnectionRecord": "records",
    "ProtocolError": "errors",
    "speech": "synth",
    "synthesize": "synth",
    "silence": "synth",
    "noise": "synth",
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
    from .errors import ProtocolError as ProtocolError
    from .faults import FAULT_NAMES as FAULT_NAMES
    from .faults import Faults as Faults
    from .records import ConnectionRecord as ConnectionRecord
    from .script import FunctionCall as FunctionCall
    from .script import Reply as Reply
    from .script import Rule as Rule
    from .script import Script as Script
    from .script import ScriptError as ScriptError
    from .server import Emulator as Emulator
    from .synth import noise as noise
    from .synth import silence as silence
    from .synth import speech as speech
    from .synth import synthesize as synthesize
