"""Fault injection per connection: the failures reconnect and error-handling code must survive.

Set from Python (``Emulator(faults=Faults(close_after=5))`` or ``faults="close_after:5"`` for
every connection, a list per connection index, or a callable ``index -> Faults``) or from the URL (``ws://…/v1/realtime?model=m&fault=close_after:5,delay_ms:20``;
``fault`` may repeat). URL faults are merged over the Python ones.

Counts are of *server events sent* (``close_after``, ``reset_after``, ``malformed_after``,
``unknown_after``), of *client events received* (``stop_reading_after``) or of *responses*
(``error_mid_response``, 1-based).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields, replace
from typing import Union

__all__ = ["FAULT_NAMES", "Faults", "FaultsSpec", "faults_for", "normalize"]


@dataclass(frozen=True)
class Faults:
    """What to break on one connection. All off by default.

    - ``close_after=N``: after N server events, close the WebSocket with ``close_code``
      (default 1011, an unexpected server-side close).
    - ``delay_ms=D``: wait D ms before every server frame.
    - ``malformed_after=N``: after N server events, send one frame that is not valid JSON.
    - ``unknown_after=N``: after N server events, send one event of an unknown type.
    - ``error_mid_response=K``: in the K-th response, after its first delta, send an ``error``
      event (``server_error``) and end the response with ``response.done`` status ``failed``.
    - ``stop_reading_after=N``: after N client events, stop reading from the socket (a stuck
      server: the client's writes back up); the connection stays open.
    - ``reset_after=N``: after N server events, reset the TCP connection (RST, no close frame).
      Events still in flight may be lost, as on a real network.
    """

    close_after: int | None = None
    close_code: int = 1011
    delay_ms: float = 0.0
    malformed_after: int | None = None
    unknown_after: int | None = None
    error_mid_response: int | None = None
    stop_reading_after: int | None = None
    reset_after: int | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None and (isinstance(value, bool) or value < 0):
                raise ValueError(f"Fault {f.name} must be a non-negative number, got {value!r}.")
        if self.error_mid_response == 0:
            raise ValueError("Fault error_mid_response counts responses from 1.")

    @property
    def active(self) -> bool:
        return self != Faults()

    @classmethod
    def parse(cls, specs: str | Iterable[str]) -> Faults:
        """``"close_after:5,delay_ms:20"`` (or several such strings) -> Faults, or ValueError."""
        if isinstance(specs, str):
            specs = [specs]
        values: dict[str, float | int] = {}
        for spec in specs:
            for part in spec.split(","):
                part = part.strip()
                if not part:
                    continue
                name, _, raw = part.partition(":")
                name = name.strip().replace("-", "_")
                if name not in _DEFAULT_VALUE:
                    raise ValueError(
                        f"Unknown fault {name!r}; known faults: {', '.join(FAULT_NAMES)}."
                    )
                raw = raw.strip()
                if not raw:
                    default = _DEFAULT_VALUE[name]
                    if default is None:
                        raise ValueError(f"Fault {name!r} needs a value, e.g. {name}:5.")
                    values[name] = default
                    continue
                try:
                    values[name] = float(raw) if name == "delay_ms" else int(raw)
                except ValueError:
                    raise ValueError(f"Fault {name!r} needs a number, got {raw!r}.") from None
        return cls(**values)  # type: ignore[arg-type]

    def merged(self, other: Faults) -> Faults:
        """These faults with every field ``other`` sets (non-default) taken from ``other``."""
        base = Faults()
        changes = {
            f.name: getattr(other, f.name)
            for f in fields(other)
            if getattr(other, f.name) != getattr(base, f.name)
        }
        return replace(self, **changes)


# value used when a fault is given without one (``fault=error_mid_response``); None = required
_DEFAULT_VALUE: dict[str, int | float | None] = {
    "close_after": None,
    "close_code": None,
    "delay_ms": None,
    "malformed_after": 0,
    "unknown_after": 0,
    "error_mid_response": 1,
    "stop_reading_after": 0,
    "reset_after": None,
}
FAULT_NAMES: tuple[str, ...] = tuple(_DEFAULT_VALUE)

FaultsSpec = Union[
    Faults,
    str,
    Sequence[Union[Faults, str, None]],
    Callable[[int], Union[Faults, str, None]],
    None,
]


def faults_for(spec: FaultsSpec, index: int) -> Faults:
    """The faults for connection number ``index`` (0-based) under ``spec``."""
    if callable(spec):
        return _one(spec(index))
    if spec is None or isinstance(spec, (Faults, str)):
        return _one(spec)
    return _one(spec[index] if index < len(spec) else None)


def normalize(spec: FaultsSpec) -> FaultsSpec:
    """Parse fault strings up front so a typo fails when the emulator is built."""
    if isinstance(spec, str):
        return Faults.parse(spec)
    if spec is None or isinstance(spec, Faults) or callable(spec):
        return spec
    return [_one(entry) for entry in spec]


def _one(value: Faults | str | None) -> Faults:
    if value is None:
        return Faults()
    if isinstance(value, str):
        return Faults.parse(value)
    return value
