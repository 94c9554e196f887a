"""realtime_transport.loops: picking the event loop for the entry points we own."""

from __future__ import annotations

import asyncio

import pytest
from realtime_transport.errors import UserError
from realtime_transport.loops import available_loops, loop_factory, run
from realtime_transport.testing.plugin import selected_loops


async def _loop_module() -> str:
    await asyncio.sleep(0)
    return type(asyncio.get_running_loop()).__module__


def test_default_loop_is_always_available() -> None:
    assert "asyncio" in available_loops()
    assert run(_loop_module(), loop="asyncio").startswith("asyncio")


def test_auto_prefers_uvloop_when_installed() -> None:
    expected = "uvloop" if "uvloop" in available_loops() else "asyncio"
    assert run(_loop_module(), loop="auto").startswith(expected)


def test_env_variable_picks_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REALTIME_TRANSPORT_LOOP", "asyncio")
    assert run(_loop_module()).startswith("asyncio")


def test_unknown_loop_is_a_user_error_listing_choices() -> None:
    coro = _loop_module()
    with pytest.raises(UserError, match="auto, asyncio, uvloop"):
        run(coro, loop="trio")
    assert coro.cr_frame is None  # closed, so no "never awaited" warning


def test_missing_uvloop_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import realtime_transport.loops as loops

    monkeypatch.setattr(loops, "_uvloop_factory", lambda: None)
    with pytest.raises(UserError, match=r"realtime-transport\[speedups\]"):
        loop_factory("uvloop")
    assert loop_factory("auto") is asyncio.new_event_loop


def test_test_loop_matrix_is_narrowed_by_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REALTIME_TRANSPORT_TEST_LOOPS", "asyncio")
    assert list(selected_loops()) == ["asyncio"]
    monkeypatch.setenv("REALTIME_TRANSPORT_TEST_LOOPS", "asyncio,nosuchloop")
    with pytest.raises(pytest.UsageError, match="nosuchloop"):
        selected_loops()
