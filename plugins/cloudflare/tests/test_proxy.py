"""Through a real HTTP CONNECT proxy with proxy authentication (proxy.py, started here).

The emulator speaks plain HTTP, and httpx tunnels (CONNECT) only to https:// origins, so a TLS
front (trustme certificate, 127.0.0.1) relays to the emulator: wss:// -> https:// -> CONNECT
through the proxy -> TLS -> the emulator. That is also the path that pumps the upgraded stream.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import KEY, text_turn
from realtime_transport import RealtimeAgent, RealtimeSession
from realtime_transport.errors import TransportConnectionError
from realtime_transport_cloudflare import CloudflareRealtimeTransportLayer
from realtime_transport_cloudflare.httpx_upgrade import StreamTransport
from realtime_transport_emulator import Emulator

trustme = pytest.importorskip("trustme")
pytest.importorskip("proxy", reason="proxy.py is in the test deps")

PROXY_USER, PROXY_PASSWORD = "agent", "proxy-pass-5150"


@pytest.fixture(scope="module")
def proxy_port() -> Iterator[int]:
    with tempfile.TemporaryDirectory() as folder:
        port_file = Path(folder) / "port"
        process = subprocess.Popen(
            [
                sys.executable, "-m", "proxy", "--hostname", "127.0.0.1", "--port", "0",
                "--port-file", str(port_file), "--basic-auth", f"{PROXY_USER}:{PROXY_PASSWORD}",
                "--num-workers", "1", "--num-acceptors", "1", "--log-level", "WARNING",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 20
            while not (port_file.exists() and port_file.read_text().strip()):
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("proxy.py did not start within 20 s")
                time.sleep(0.05)
            yield int(port_file.read_text().split()[0])
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="module")
def certificate_authority() -> Any:
    return trustme.CA()


class TlsFront:
    """TLS on 127.0.0.1 in front of the emulator (counts the connections it relays)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.connections = 0
        self.tasks: set[asyncio.Task[None]] = set()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (ConnectionError, ssl.SSLError):
                pass
            finally:
                sink.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


@pytest.fixture
async def tls_url(emulator: Emulator, certificate_authority: Any) -> AsyncIterator[tuple[str, Any]]:
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate_authority.issue_cert("localhost", "127.0.0.1").configure_cert(server_context)
    front = TlsFront(emulator.port)
    server = await asyncio.start_server(front.handle, "127.0.0.1", 0, ssl=server_context)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"wss://localhost:{port}/v1/realtime", front
    finally:
        server.close()


def client_context(certificate_authority: Any) -> ssl.SSLContext:
    context = ssl.create_default_context()
    certificate_authority.configure_trust(context)
    return context


@pytest.fixture(autouse=True)
def no_environment_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "")
    os.environ.pop("no_proxy", None)


async def test_session_converses_through_an_authenticating_connect_proxy(
    proxy_port: int, tls_url: tuple[str, Any], certificate_authority: Any, emulator: Emulator
) -> None:
    url, front = tls_url
    session = RealtimeSession(
        RealtimeAgent("a"),
        transport="cloudflare",
        transport_options={
            "proxy": f"http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:{proxy_port}",
            "ssl": client_context(certificate_authority),
        },
    )
    await asyncio.wait_for(session.connect(api_key=KEY, url=url), 20)
    try:
        socket = session.transport.connection_state["websocket"]
        assert isinstance(socket._transport, StreamTransport)  # TLS in a tunnel: pumped
        assert await text_turn(session) == "Hi from the emulator."
    finally:
        await session.close()
    assert front.connections == 1
    assert len(emulator.connections) == 1


async def test_wrong_proxy_credentials_fail_without_leaking_them(
    proxy_port: int, tls_url: tuple[str, Any], certificate_authority: Any
) -> None:
    url, front = tls_url
    wrong = "not-the-password-77"
    transport = CloudflareRealtimeTransportLayer(
        proxy=f"http://{PROXY_USER}:{wrong}@127.0.0.1:{proxy_port}",
        ssl=client_context(certificate_authority),
    )
    with pytest.raises(TransportConnectionError) as caught:
        await asyncio.wait_for(transport.connect(api_key=KEY, url=url), 20)
    await transport.close()
    assert "proxy" in str(caught.value)
    assert wrong not in str(caught.value) and KEY not in str(caught.value)
    assert front.connections == 0  # nothing got past the proxy


async def test_direct_tls_without_proxy(
    tls_url: tuple[str, Any], certificate_authority: Any
) -> None:
    url, front = tls_url
    transport = CloudflareRealtimeTransportLayer(ssl=client_context(certificate_authority))
    await asyncio.wait_for(transport.connect(api_key=KEY, url=url), 20)
    done = asyncio.get_running_loop().create_future()
    transport.on("turn_done", lambda event: None if done.done() else done.set_result(event))
    transport.send_message("hello there")
    try:
        await asyncio.wait_for(done, 10)
    finally:
        await transport.close()
    assert front.connections == 1
