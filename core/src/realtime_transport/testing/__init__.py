"""The transport conformance kit and test helpers.

``TransportConformanceTests`` is the kit (subclass it in a transport's suite); ``Recorder``,
``wait_until`` and ``speech_like_pcm16`` help write more scenarios. The pytest plugin registered
through ``pytest11`` only adds a marker and an option, so installing the core never changes
other projects' test runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = [
    "TEST_API_KEY",
    "EmulatorDriver",
    "Recorder",
    "TransportConformanceTests",
    "speech_like_pcm16",
    "validate_client_events",
    "wait_until",
]

if TYPE_CHECKING:
    from .emulator import TEST_API_KEY, EmulatorDriver, validate_client_events
    from .kit import TransportConformanceTests
    from .scenarios import Recorder, speech_like_pcm16, wait_until

_WHERE = {
    "TEST_API_KEY": "emulator",
    "EmulatorDriver": "emulator",
    "validate_client_events": "emulator",
    "TransportConformanceTests": "kit",
    "Recorder": "scenarios",
    "speech_like_pcm16": "scenarios",
    "wait_until": "scenarios",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(name)
    from importlib import import_module

    return getattr(import_module(f"{__name__}.{module}"), name)
