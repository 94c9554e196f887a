"""TLS: a certificate the client does not trust fails with a clear TLS error; a certificate from a
local CA the client trusts works. Verification is never silently disabled.

The emulator speaks plain HTTP, so a small TLS terminator (the test's own, on 127.0.0.1) forwards
decrypted bytes to it; certificates come from ``trustme``.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trustme
from _census import Census
from conftest import Factory
from realtime_transport.errors import TransportConnectionError
from realtime_transport.testing.scenarios import Recorder
from realtime_transport_emulator import Emulator

KEY = "sk-tls-test"


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        writer.close()


@asynccontextmanager
async def tls_terminator(target_port: int, context: ssl.SSLContext) -> AsyncIterator[int]:
    tasks: set[asyncio.Task[None]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", target_port)
        except OSError:
            writer.close()
            return
        for task in (
            asyncio.ensure_future(_pipe(reader, up_writer)),
            asyncio.ensure_future(_pipe(up_reader, writer)),
        ):
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def server_context(ca: trustme.CA, host: str = "127.0.0.1") -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(host).configure_cert(context)
    return context


async def test_trusted_local_ca_works(make_transport: Factory, ca: trustme.CA) -> None:
    client = ssl.create_default_context()
    ca.configure_trust(client)
    async with Emulator() as emulator, tls_terminator(emulator.port, server_context(ca)) as port:
        transport = make_transport(ssl=client)
        recorder = Recorder(transport)
        await asyncio.wait_for(
            transport.connect(url=f"wss://127.0.0.1:{port}/v1/realtime", api_key=KEY), 10
        )
        transport.send_message("hello over TLS")
        await recorder.wait_for("turn_done", timeout=10)
        await transport.close()


@pytest.mark.parametrize("problem", ["untrusted-ca", "wrong-host"])
async def test_bad_certificate_is_a_clear_tls_error(
    make_transport: Factory, ca: trustme.CA, problem: str
) -> None:
    client = ssl.create_default_context()
    if problem == "untrusted-ca":
        trustme.CA().configure_trust(client)  # trusts another CA, not the server's
        context = server_context(ca)
    else:
        ca.configure_trust(client)
        context = server_context(ca, host="realtime.example.com")  # not 127.0.0.1
    async with Emulator() as emulator, tls_terminator(emulator.port, context) as port:
        census = Census.take()
        transport = make_transport(ssl=client, open_timeout=5)
        with pytest.raises(TransportConnectionError) as caught:
            await transport.connect(url=f"wss://127.0.0.1:{port}/v1/realtime", api_key=KEY)
        message = str(caught.value)
        assert "certificate" in message.lower() or "tls" in message.lower(), message
        assert KEY not in message
        assert transport.status == "disconnected"
        assert not emulator.connections, "no request may reach the server over a bad certificate"
        await census.check()


async def test_verification_is_on_by_default(make_transport: Factory, ca: trustme.CA) -> None:
    """No ``ssl=``: the system trust store applies, so a local CA's certificate is refused."""
    async with Emulator() as emulator, tls_terminator(emulator.port, server_context(ca)) as port:
        transport = make_transport(open_timeout=5)
        with pytest.raises(TransportConnectionError, match=r"(?i)certificate"):
            await transport.connect(url=f"wss://127.0.0.1:{port}/v1/realtime", api_key=KEY)
        assert not emulator.connections
