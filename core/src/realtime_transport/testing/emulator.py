"""The kit's view of the emulator, and checks of what a transport put on the wire."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

TEST_API_KEY = "sk-test-conformance"


class EmulatorDriver:
    """Starts ``realtime_transport_emulator.Emulator`` and answers the kit's questions about it."""

    def __init__(
        self,
        *,
        pace: Literal["fast", "realtime"] = "fast",
        faults: str | None = None,
        **options: Any,
    ) -> None:
        """``faults`` in the emulator's spec syntax, e.g. ``"malformed_after:4,reset_after:9"``."""
        try:
            from realtime_transport_emulator import Emulator
        except ImportError as exc:  # pragma: no cover - depends on the environment
            if exc.name != "realtime_transport_emulator":
                raise  # installed but broken (a missing dependency): say so, never skip
            import pytest

            pytest.skip("the conformance kit needs realtime-transport-emulator installed")
        self._emulator = Emulator(pace=pace, faults=faults, api_keys={TEST_API_KEY}, **options)

    async def __aenter__(self) -> EmulatorDriver:
        await self._emulator.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._emulator.stop()

    @property
    def ws_url(self) -> str:
        return str(self._emulator.ws_url)

    @property
    def emulator(self) -> Any:
        return self._emulator

    @property
    def known_server_event_types(self) -> frozenset[str]:
        from ..protocol import SERVER_EVENT_TYPES

        return frozenset(SERVER_EVENT_TYPES)

    def client_events(self, connection: int = -1) -> list[dict[str, Any]]:
        """Client events received on a connection (the last one by default), in order."""
        connections = self._emulator.connections
        if not connections:
            return []
        return list(connections[connection].received)

    def server_session(self, connection: int = -1) -> dict[str, Any]:
        return dict(self._emulator.connections[connection].session)


def validate_client_events(events: Sequence[dict[str, Any]]) -> None:
    """Fail if any client event does not match the GA schema (core models, then ``openai``)."""
    from ..protocol import find_beta_fields, validate_client_event

    problems: list[str] = []
    for event in events:
        try:
            validate_client_event(event)
        except ValueError as exc:
            problems.append(f"{event.get('type')}: {exc}")
        beta = find_beta_fields(event)
        if beta:
            problems.append(f"{event.get('type')}: beta-era fields {beta}")
    adapter = _openai_client_event_adapter()
    if adapter is not None:
        for event in events:
            try:
                adapter.validate_python(event)
            except ValueError as exc:
                problems.append(f"{event.get('type')} (openai.types.realtime): {exc}")
    if problems:
        raise AssertionError("invalid client events on the wire:\n" + "\n".join(problems))


_ADAPTER: Any = None


def _openai_client_event_adapter() -> Any:
    global _ADAPTER
    if _ADAPTER is None:
        try:
            from openai.types.realtime import RealtimeClientEvent
            from pydantic import TypeAdapter
        except ImportError:
            _ADAPTER = False
        else:
            _ADAPTER = TypeAdapter(RealtimeClientEvent)
    return _ADAPTER or None
