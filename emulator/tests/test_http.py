"""The HTTP layer (h11 + python-multipart) on raw sockets: malformed requests get the API's JSON
error shape with a 4xx and a closed connection (never a traceback or a hung socket), chunked
bodies, CORS preflights and exposed headers, multipart forms."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from realtime_transport_emulator import Emulator
from realtime_transport_emulator.net import httpserver
from realtime_transport_emulator.net.httpserver import HttpRequest, HttpResponse
from realtime_transport_emulator.net.multipart import parse_form

TIMEOUT = 5.0


async def exchange(emulator: Emulator, data: bytes, *, eof: bool = False) -> bytes:
    """Send raw bytes, read until the server closes (bounded): the whole answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", emulator.port)
    try:
        writer.write(data)
        if eof:
            writer.write_eof()
        await writer.drain()
        return await asyncio.wait_for(reader.read(), TIMEOUT)
    finally:
        writer.close()


def parse(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


def api_error(answer: bytes, status: int) -> dict[str, Any]:
    got, headers, body = parse(answer)
    assert got == status, answer
    assert headers["content-type"] == "application/json"
    assert headers["connection"] == "close"
    error: dict[str, Any] = json.loads(body)["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert "Traceback" not in error["message"]
    return error


def post(path: str, body: bytes, content_type: str, *extra: str) -> bytes:
    headers = [
        f"POST {path} HTTP/1.1",
        "Host: 127.0.0.1",
        "Authorization: Bearer sk-test",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(body)}",
        "Connection: close",
        *extra,
    ]
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + body


def echo_form(emulator: Emulator) -> None:
    """A test surface: echoes the parts of a multipart form."""

    async def handler(request: HttpRequest) -> HttpResponse:
        parts = parse_form(request)
        return HttpResponse.json(
            200, {name: [p.content_type, p.text(), p.filename] for name, p in parts.items()}
        )

    emulator.router.add("POST", "/test/form", handler)


async def test_bad_request_line_is_a_400(emulator: Emulator) -> None:
    error = api_error(await exchange(emulator, b"NONSENSE\r\n\r\n"), 400)
    assert "Malformed HTTP request" in error["message"]
    api_error(await exchange(emulator, b"GET / HTTP/9.9\r\nHost: x\r\n\r\n"), 505)


async def test_bad_header_line_is_a_400(emulator: Emulator) -> None:
    answer = await exchange(emulator, b"GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n")
    api_error(answer, 400)


async def test_oversized_head_is_a_431(emulator: Emulator) -> None:
    big = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (httpserver.MAX_HEAD + 10)
    error = api_error(await exchange(emulator, big), 431)
    assert "too large" in error["message"]


async def test_oversized_declared_body_is_a_413_before_reading_it(emulator: Emulator) -> None:
    head = post("/v1/realtime/client_secrets", b"", "application/json")
    head = head.replace(b"Content-Length: 0", f"Content-Length: {httpserver.MAX_BODY + 1}".encode())
    error = api_error(await exchange(emulator, head), 413)
    assert error["code"] == "body_too_large"


async def test_oversized_chunked_body_is_a_413(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(httpserver, "MAX_BODY", 1000)
    chunk = b"x" * 600
    data = (
        b"POST /v1/realtime/client_secrets HTTP/1.1\r\nHost: x\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
        + b"258\r\n"
        + chunk
        + b"\r\n"
        + b"258\r\n"
        + chunk
        + b"\r\n0\r\n\r\n"
    )
    api_error(await exchange(emulator, data), 413)


async def test_chunked_body_is_read(emulator: Emulator) -> None:
    payload = json.dumps({"session": {"type": "realtime", "instructions": "chunky"}}).encode()
    half = len(payload) // 2
    body = b"".join(
        f"{len(part):x}\r\n".encode() + part + b"\r\n" for part in (payload[:half], payload[half:])
    )
    data = (
        b"POST /v1/realtime/client_secrets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-t\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        + body
        + b"0\r\n\r\n"
    )
    status, _, answer = parse(await exchange(emulator, data))
    assert status == 200
    assert json.loads(answer)["session"]["instructions"] == "chunky"


async def test_truncated_body_then_eof_does_not_hang(emulator: Emulator) -> None:
    data = post("/v1/realtime/client_secrets", b'{"session": {', "application/json")
    data = data.replace(b"Content-Length: 13", b"Content-Length: 50")
    error = api_error(await exchange(emulator, data, eof=True), 400)
    assert "Malformed HTTP request" in error["message"]


async def test_silent_client_is_not_answered_but_closes_cleanly(emulator: Emulator) -> None:
    assert await exchange(emulator, b"", eof=True) == b""


async def test_handler_crash_is_a_500_json_without_traceback() -> None:
    def install(emulator: Emulator) -> None:
        async def boom(request: HttpRequest) -> HttpResponse:
            raise RuntimeError("secret internals")

        emulator.router.add("GET", "/test/boom", boom)

    async with Emulator(surfaces=[install]) as emu:
        answer = await exchange(
            emu, b"GET /test/boom HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        status, _, body = parse(answer)
        assert status == 500
        assert b"secret internals" not in body and b"Traceback" not in body
        assert json.loads(body)["error"]["type"] == "server_error"


async def test_cors_preflight_allows_what_the_browser_asks(emulator: Emulator) -> None:
    data = (
        b"OPTIONS /v1/realtime/calls HTTP/1.1\r\nHost: x\r\nOrigin: http://127.0.0.1:9\r\n"
        b"Access-Control-Request-Method: POST\r\n"
        b"Access-Control-Request-Headers: authorization, content-type, openai-beta\r\n"
        b"Connection: close\r\n\r\n"
    )
    status, headers, body = parse(await exchange(emulator, data))
    assert status == 204 and body == b""
    assert headers["access-control-allow-origin"] == "*"
    assert "POST" in headers["access-control-allow-methods"]
    assert headers["access-control-allow-headers"] == "authorization, content-type, openai-beta"


async def test_cross_origin_answers_expose_location(emulator: Emulator) -> None:
    data = post(
        "/v1/realtime/client_secrets", b"{}", "application/json", "Origin: http://localhost:1"
    )
    status, headers, _ = parse(await exchange(emulator, data))
    assert status == 200
    assert headers["access-control-allow-origin"] == "*"
    assert headers["access-control-expose-headers"] == "Location"
    status, headers, _ = parse(
        await exchange(emulator, post("/v1/realtime/client_secrets", b"{}", "application/json"))
    )
    assert status == 200 and "access-control-allow-origin" not in headers


async def test_multipart_form_parts_are_parsed() -> None:
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="sdp"\r\n'
        b"Content-Type: application/sdp\r\n\r\nv=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n\r\n"
        b'--XyZ\r\nContent-Disposition: form-data; name="session"\r\n'
        b'Content-Type: application/json\r\n\r\n{"type": "realtime"}\r\n--XyZ--\r\n'
    )
    async with Emulator(surfaces=[echo_form]) as emu:
        answer = await exchange(emu, post("/test/form", body, "multipart/form-data; boundary=XyZ"))
        status, _, got = parse(answer)
        assert status == 200
        assert json.loads(got) == {
            "sdp": ["application/sdp", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n", None],
            "session": ["application/json", '{"type": "realtime"}', None],
        }


@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [
        ("application/json", b"{}", 415),
        ("multipart/form-data", b"--a--\r\n", 400),
        ("multipart/form-data; boundary=XyZ", b"--XyZ\r\nContent-Disposition: form-da", 400),
        ("multipart/form-data; boundary=XyZ", b"--XyZ\r\n\r\nno disposition\r\n--XyZ--\r\n", 400),
    ],
)
async def test_malformed_multipart_is_a_4xx(content_type: str, body: bytes, status: int) -> None:
    async with Emulator(surfaces=[echo_form]) as emu:
        error = api_error(await exchange(emu, post("/test/form", body, content_type)), status)
        assert error["code"] == "invalid_multipart"
