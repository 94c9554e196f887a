"""Truncation position: clamped to audio received, integer, app-reported position wins."""

from __future__ import annotations

from realtime_transport.openai.playback import PlaybackTracker


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_wall_clock_position_is_clamped_to_received_audio() -> None:
    clock = Clock()
    tracker = PlaybackTracker(clock=clock)
    tracker.on_audio("item_1", 0, "resp_1", 40.0)
    clock.now += 0.025
    assert tracker.position_ms() == 25
    clock.now += 10
    assert tracker.position_ms() == 40
    assert not tracker.has_unheard_audio()


def test_position_is_an_integer_rounded_down() -> None:
    clock = Clock()
    tracker = PlaybackTracker(clock=clock)
    tracker.on_audio("i", 0, "r", 100.0)
    clock.now += 0.0339
    value = tracker.position_ms()
    assert isinstance(value, int) and value == 33


def test_reported_position_wins_over_wall_clock() -> None:
    clock = Clock()
    tracker = PlaybackTracker(clock=clock)
    tracker.on_audio("i", 0, "r", 500.0)
    clock.now += 0.4
    tracker.report(120.7)
    assert tracker.position_ms() == 120
    tracker.report(9999)
    assert tracker.position_ms() == 500


def test_new_item_restarts_bookkeeping() -> None:
    clock = Clock()
    tracker = PlaybackTracker(clock=clock)
    tracker.on_audio("a", 0, "r1", 100.0)
    tracker.report(50)
    clock.now += 1
    tracker.on_audio("b", 0, "r2", 20.0)
    assert tracker.item_id == "b" and tracker.received_ms == 20.0 and tracker.reported_ms is None
    assert tracker.position_ms() == 0


def test_reset_makes_it_inactive() -> None:
    tracker = PlaybackTracker(clock=Clock())
    tracker.on_audio("a", 0, "r", 10.0)
    assert tracker.active
    tracker.reset()
    assert not tracker.active and tracker.position_ms() == 0
