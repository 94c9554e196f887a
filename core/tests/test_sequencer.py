"""response.create sequencing: one test per rule of reference §4."""

from __future__ import annotations

import json
from typing import Any

from realtime_transport.openai import OpenAIRealtimeBase
from realtime_transport.openai.sequencer import ResponseCreateSequencer


class Wire:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.errors: list[BaseException] = []
        self.fail_next = False

    def send(self, event: dict[str, Any]) -> None:
        if self.fail_next:
            self.fail_next = False
            raise OSError("socket gone")
        self.sent.append(event)


def make() -> tuple[ResponseCreateSequencer, Wire]:
    wire = Wire()
    return ResponseCreateSequencer(wire.send, wire.errors.append), wire


def test_first_request_is_sent_synchronously_with_an_event_id() -> None:
    seq, wire = make()
    seq.request()
    assert wire.sent == [{"type": "response.create", "event_id": "rt_response_create_1"}]


def test_second_request_waits_for_response_done() -> None:
    seq, wire = make()
    seq.request()
    seq.request()
    assert len(wire.sent) == 1
    seq.on_response_created()
    assert len(wire.sent) == 1
    seq.on_response_done()
    assert len(wire.sent) == 2 and wire.sent[1]["event_id"] == "rt_response_create_2"


def test_automatic_requests_coalesce_into_one_create() -> None:
    seq, wire = make()
    seq.request()
    seq.on_response_created()
    seq.request()
    seq.request()
    seq.request()
    seq.on_response_done()
    assert len(wire.sent) == 2
    seq.on_response_created()
    seq.on_response_done()
    assert len(wire.sent) == 2  # the three were covered by one create


def test_manual_requests_are_never_merged() -> None:
    seq, wire = make()
    seq.request()
    seq.on_response_created()
    seq.request()  # auto
    seq.request({"instructions": "x"})  # manual
    seq.on_response_done()
    assert wire.sent[-1] == {"type": "response.create", "event_id": "rt_response_create_2"}
    seq.on_response_created()
    seq.on_response_done()
    assert wire.sent[-1]["response"] == {"instructions": "x"}
    assert len(wire.sent) == 3


def test_caller_event_id_is_kept() -> None:
    seq, wire = make()
    seq.request_event({"type": "response.create", "event_id": "mine"})
    assert wire.sent[0]["event_id"] == "mine"


class _RecordingTransport(OpenAIRealtimeBase):
    """The real OpenAI base (its inbound mapping drives the sequencer), frames recorded."""

    def __init__(self) -> None:
        super().__init__()
        self.frames: list[dict[str, Any]] = []
        self._set_status("connecting")
        self._set_status("connected")

    def _send_bytes(self, data: bytes) -> None:
        self.frames.append(json.loads(data))

    def feed(self, event: dict[str, Any]) -> None:
        self._handle_frame(json.dumps(event))

    def creates(self) -> int:
        return sum(frame["type"] == "response.create" for frame in self.frames)

    async def connect(self, **kwargs: Any) -> None:  # pragma: no cover - not used
        pass

    async def close(self) -> None:  # pragma: no cover - not used
        pass

    def interrupt(self, *, cancel_ongoing_response: bool = True) -> None:  # pragma: no cover
        pass


def test_output_audio_done_does_not_free_the_line() -> None:
    """The end of a reply's audio is not the end of the response: the queued create waits
    for ``response.done`` (fed through the transport's real inbound mapping)."""
    transport = _RecordingTransport()
    ids = {"response_id": "resp_1", "item_id": "item_1", "output_index": 0, "content_index": 0}
    transport.request_response()
    transport.feed({"type": "response.created", "response": {"id": "resp_1"}})
    transport.request_response()
    for kind in (
        "response.output_audio.done",
        "response.output_audio_transcript.done",
        "response.content_part.done",
    ):
        transport.feed({"type": kind, **ids})
    assert transport.creates() == 1, "output_audio.done freed the line"
    transport.feed({"type": "response.done", "response": {"id": "resp_1", "status": "completed"}})
    assert transport.creates() == 2


def test_error_naming_the_pending_create_releases_it_and_restores_later_versions() -> None:
    seq, wire = make()
    seq.request()
    seq.on_response_created()
    seq.request()
    seq.request()
    seq.on_response_done()
    sent_id = wire.sent[-1]["event_id"]
    seq.on_error({"type": "error", "error": {"code": "x", "message": "bad", "event_id": sent_id}})
    # the first covered version failed; the second is retried at once
    assert len(wire.sent) == 3 and wire.sent[-1]["event_id"] != sent_id


def test_error_without_id_matches_on_code_or_message() -> None:
    seq, wire = make()
    seq.request()
    seq.on_error({"type": "error", "error": {"message": "invalid response.create payload"}})
    assert seq.control == "free"
    seq.request()
    assert len(wire.sent) == 2


def test_unrelated_error_is_ignored() -> None:
    seq, wire = make()
    seq.request()
    seq.on_error({"type": "error", "error": {"code": "invalid_value", "event_id": "other"}})
    assert seq.control == "create_requested"
    seq.request()
    assert len(wire.sent) == 1


def test_active_response_error_requeues_until_done() -> None:
    """Our fix: the VAD/tool-output race does not lose the request."""
    seq, wire = make()
    seq.request()
    sent_id = wire.sent[0]["event_id"]
    seq.on_error(
        {
            "type": "error",
            "error": {"code": "conversation_already_has_active_response", "event_id": sent_id},
        }
    )
    assert len(wire.sent) == 1 and seq.ongoing_response
    seq.on_response_created()  # the other response
    seq.on_response_done()
    assert len(wire.sent) == 2


def test_cancel_granted_once_per_response_and_blocks_creates() -> None:
    seq, wire = make()
    assert not seq.begin_cancel()  # nothing ongoing
    seq.request()
    seq.on_response_created()
    assert seq.begin_cancel()
    assert not seq.begin_cancel()
    seq.request()
    assert len(wire.sent) == 1
    seq.on_response_done()
    assert len(wire.sent) == 2


def test_send_failure_releases_and_reports() -> None:
    seq, wire = make()
    wire.fail_next = True
    seq.request()
    assert wire.errors and seq.control == "free"
    seq.request()
    assert len(wire.sent) == 1


def test_release_drops_everything() -> None:
    seq, wire = make()
    seq.request()
    seq.on_response_created()
    seq.request()
    seq.release()
    seq.on_response_done()
    assert len(wire.sent) == 1 and seq.pending_count == 0


def test_pending_queue_is_bounded() -> None:
    wire = Wire()
    seq = ResponseCreateSequencer(wire.send, wire.errors.append, max_pending=2)
    seq.request()
    seq.on_response_created()
    for _ in range(4):
        seq.request()
    assert seq.pending_count == 2 and len(wire.errors) == 2
