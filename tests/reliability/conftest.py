"""Shared fixtures of the reliability suite: the transports under test and a resource census.

Every installed URL-connected transport (``websocket``, and ``cloudflare`` when its plugin is
installed) runs every fault; the census fails a test that leaks a task, a thread or a file
descriptor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from realtime_transport import RealtimeTransportLayer, get_transport
from realtime_transport.registry import list_transports

URL_TRANSPORTS = ("websocket", "cloudflare")
Factory = Callable[..., RealtimeTransportLayer]


def installed_url_transports() -> list[str]:
    names = {spec.name for spec in list_transports()}
    return [name for name in URL_TRANSPORTS if name in names]


@pytest.fixture(params=installed_url_transports())
def transport_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_transport(transport_name: str) -> Callable[..., RealtimeTransportLayer]:
    return lambda **options: get_transport(transport_name, **options)


@pytest.fixture
def loopback_ice(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """aioice leaves 127.0.0.1 out of its host candidates: pin the caller's to loopback (as the
    webrtc plugin's own tests do; production code never touches aioice). For webrtc modules:
    ``pytestmark = pytest.mark.usefixtures("loopback_ice")``."""
    import aioice.ice

    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])
    yield
