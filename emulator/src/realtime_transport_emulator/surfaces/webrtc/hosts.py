"""ICE host candidates on the emulator's own address (127.0.0.1 by default).

aioice gathers host candidates from the machine's interfaces and leaves out 127.0.0.1, but the
emulator serves loopback only: its answers must carry candidates on the address it listens on.
aioice has no per-connection option for this, so its module-level lookup is wrapped once; the
wrapper answers from a context variable set only around the emulator's own
``setLocalDescription`` and defers to the original lookup everywhere else (clients in the same
process are unaffected).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_pinned: ContextVar[tuple[str, ...] | None] = ContextVar("emulator_ice_hosts", default=None)

Lookup = Callable[[bool, bool], list[str]]


def _wrap(inner: Lookup) -> Lookup:
    def lookup(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        pinned = _pinned.get()
        if pinned is not None:
            return list(pinned)
        return inner(use_ipv4, use_ipv6)

    lookup.__emulator_pinning__ = True  # type: ignore[attr-defined]
    return lookup


@contextmanager
def pinned_host_addresses(*addresses: str) -> Iterator[None]:
    """Within this context (this task), aioice gathers host candidates on ``addresses`` only."""
    import aioice.ice

    current = aioice.ice.get_host_addresses
    if not getattr(current, "__emulator_pinning__", False):
        # (Re)install: a test may have replaced the lookup since the last call.
        aioice.ice.get_host_addresses = _wrap(current)  # type: ignore[assignment]
    token = _pinned.set(tuple(addresses))
    try:
        yield
    finally:
        _pinned.reset(token)
