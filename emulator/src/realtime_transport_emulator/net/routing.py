"""Routes, requests and responses of the emulator's HTTP layer (no I/O here).

Surfaces register with :class:`Router`: ``router.add("POST", "/v1/realtime/calls/{call_id}/accept",
handler)`` and ``router.websocket("/v1/realtime", accept)``. Handlers take an :class:`HttpRequest`
and return an :class:`HttpResponse` (or raise :class:`HttpError`); ``net.httpserver`` does the
parsing and writing with h11.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from realtime_transport_emulator.net.wsconn import WebSocket


@dataclass(frozen=True)
class HttpRequest:
    method: str
    target: str
    path: str
    query: dict[str, list[str]]
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""
    params: dict[str, str] = field(default_factory=dict)
    peer: Any = None

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None

    def query_value(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    def json(self) -> Any:
        """The body as JSON; a clear 400 if it is not."""
        if not self.body:
            return {}
        try:
            return json.loads(self.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise HttpError(
                HttpResponse.error(
                    400,
                    f"We could not parse the JSON body of your request: {exc}. "
                    "Send a JSON object with Content-Type: application/json.",
                    code="invalid_json",
                )
            ) from None


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def json(
        cls, status: int, data: Any, headers: tuple[tuple[str, str], ...] = ()
    ) -> HttpResponse:
        return cls(status, json.dumps(data).encode(), "application/json", headers)

    @classmethod
    def error(
        cls,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        type: str = "invalid_request_error",
    ) -> HttpResponse:
        """The REST error shape: ``{"error": {"message", "type", "param", "code"}}``."""
        body = {"error": {"message": message, "type": type, "param": param, "code": code}}
        return cls.json(status, body)


class HttpError(Exception):
    """Raised by handlers to answer with a given response."""

    def __init__(self, response: HttpResponse) -> None:
        super().__init__(response.status)
        self.response = response


HttpHandler = Callable[[HttpRequest], Awaitable[HttpResponse]]
WsHandler = Callable[[WebSocket], Awaitable[None]]


@dataclass(frozen=True)
class WebSocketPlan:
    """An accepted upgrade: the subprotocol to answer with and the connection handler."""

    handler: WsHandler
    subprotocol: str | None = None


WsAccept = Callable[[HttpRequest], Awaitable["WebSocketPlan | HttpResponse"]]


class Router:
    """Routes by method and path pattern (``{name}`` segments become ``request.params``)."""

    def __init__(self) -> None:
        self._http: list[tuple[str, re.Pattern[str], HttpHandler]] = []
        self._ws: dict[str, WsAccept] = {}

    def add(self, method: str, pattern: str, handler: HttpHandler) -> None:
        parts = re.split(r"(\{\w+\})", pattern)
        regex = "".join(
            f"(?P<{part[1:-1]}>[^/]+)" if part.startswith("{") else re.escape(part)
            for part in parts
        )
        self._http.append((method.upper(), re.compile(f"^{regex}$"), handler))

    def websocket(self, path: str, accept: WsAccept) -> None:
        self._ws[path] = accept

    def websocket_for(self, path: str) -> WsAccept | None:
        return self._ws.get(path)

    async def dispatch(self, request: HttpRequest) -> HttpResponse:
        allowed: list[str] = []
        for method, regex, handler in self._http:
            match = regex.match(request.path)
            if match is None:
                continue
            if method != request.method:
                allowed.append(method)
                continue
            routed = HttpRequest(
                request.method,
                request.target,
                request.path,
                request.query,
                request.headers,
                request.body,
                match.groupdict(),
                request.peer,
            )
            try:
                return await handler(routed)
            except HttpError as exc:
                return exc.response
        if allowed:
            return HttpResponse.error(
                405,
                f"Method {request.method} is not allowed on {request.path}; "
                f"use {', '.join(sorted(set(allowed)))}.",
                code="method_not_allowed",
            )
        if request.path in self._ws:
            return HttpResponse.error(
                426,
                f"{request.path} is a WebSocket endpoint; connect with a WebSocket client.",
                code="upgrade_required",
            )
        return HttpResponse.error(
            404, f"Unknown path {request.path} on the Realtime emulator.", code="not_found"
        )
