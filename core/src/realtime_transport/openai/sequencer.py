"""Serialises ``response.create``: the API rejects a create while a response is in flight.

Rules (reference §4): every request reserves a version; it goes out synchronously when no
response is ongoing, nothing is requested or being cancelled, and it is the oldest pending one.
Automatic requests coalesce into one create; manual ones (with a ``response`` override or sent
through ``send_event``) always go alone. ``response.created`` clears the request, ``response.done``
frees the line. A server error that names the pending create releases it.

Difference from the JS SDK: a ``conversation_already_has_active_response`` error for our pending
create (the classic race between a tool-output create and a VAD auto-response) does not drop the
request; it marks a response as ongoing and re-queues the request, so it goes out after that
response's ``response.done`` instead of being lost.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

Control = Literal["free", "create_requested", "cancel_requested"]

_ACTIVE_RESPONSE_CODE = "conversation_already_has_active_response"


@dataclass(slots=True)
class _Request:
    version: int
    manual: bool
    event: dict[str, Any] | None  # manual requests carry their full event


class ResponseCreateSequencer:
    """Owns when ``response.create`` may be sent. All methods are synchronous."""

    __slots__ = (
        "_counter",
        "_inflight",
        "_inflight_id",
        "_max_pending",
        "_next_version",
        "_pending",
        "_prefix",
        "_report_error",
        "_send",
        "control",
        "ongoing_response",
    )

    def __init__(
        self,
        send: Callable[[dict[str, Any]], None],
        report_error: Callable[[BaseException], None],
        *,
        event_id_prefix: str = "rt_response_create_",
        max_pending: int = 256,
    ) -> None:
        self._send = send
        self._report_error = report_error
        self._prefix = event_id_prefix
        self._max_pending = max_pending
        self.ongoing_response = False
        self.control: Control = "free"
        self._next_version = 0
        self._counter = 0
        self._pending: list[_Request] = []
        self._inflight_id: str | None = None
        self._inflight: list[_Request] = []

    @property
    def pending_count(self) -> int:
        return len(self._pending)

    def request(self, response: Mapping[str, Any] | None = None, *, manual: bool = False) -> None:
        """Queue a create (``manual`` when it carries an override that must not be merged)."""
        event: dict[str, Any] | None = None
        if manual or response is not None:
            event = {"type": "response.create"}
            if response is not None:
                event["response"] = dict(response)
            manual = True
        self._enqueue(_Request(self._reserve(), manual, event))

    def request_event(self, event: Mapping[str, Any]) -> None:
        """Queue a raw ``response.create`` event from ``send_event`` (always manual)."""
        self._enqueue(_Request(self._reserve(), True, dict(event)))

    def begin_cancel(self) -> bool:
        """Grant at most one cancel per ongoing response."""
        if not self.ongoing_response or self.control == "cancel_requested":
            return False
        self.control = "cancel_requested"
        return True

    def note_raw_cancel(self) -> None:
        """A ``response.cancel`` went out through ``send_event``: block creates until done."""
        if self.ongoing_response:
            self.control = "cancel_requested"

    def on_response_created(self) -> None:
        self.ongoing_response = True
        self._inflight = []
        self._inflight_id = None
        self.control = "free"

    def on_response_done(self) -> None:
        self.ongoing_response = False
        self.control = "free"
        self._pump()

    def on_error(self, event: Mapping[str, Any]) -> None:
        """Release the pending create if this server error is about it."""
        if self._inflight_id is None:
            return
        error = event.get("error") or {}
        if not isinstance(error, Mapping):
            return
        error_event_id = error.get("event_id")
        code = str(error.get("code") or "")
        message = str(error.get("message") or "")
        if error_event_id is not None:
            ours = error_event_id == self._inflight_id
        else:
            ours = "response_create" in code or "response.create" in message
            ours = ours or code == _ACTIVE_RESPONSE_CODE
        if not ours:
            return
        covered = self._inflight
        self._inflight, self._inflight_id = [], None
        self.control = "free"
        if code == _ACTIVE_RESPONSE_CODE:
            # Another response is running: retry everything once it is done.
            self.ongoing_response = True
            self._pending[:0] = covered
        else:
            # The first request failed for good; later coalesced automatic ones still want one.
            self._pending[:0] = covered[1:]
        self._pump()

    def release(self) -> None:
        """Forget everything (disconnect/close)."""
        self._pending.clear()
        self._inflight, self._inflight_id = [], None
        self.ongoing_response = False
        self.control = "free"

    # -- internals ---------------------------------------------------------------------------

    def _reserve(self) -> int:
        self._next_version += 1
        return self._next_version

    def _enqueue(self, request: _Request) -> None:
        if len(self._pending) >= self._max_pending:
            self._report_error(
                OverflowError(
                    f"{len(self._pending)} response.create requests are already waiting; "
                    "dropping this one. Wait for responses to finish before asking for more."
                )
            )
            return
        self._pending.append(request)
        self._pump()

    def _pump(self) -> None:
        if self.ongoing_response or self.control != "free" or not self._pending:
            return
        first = self._pending.pop(0)
        covered = [first]
        if first.manual:
            assert first.event is not None
            event = first.event
        else:
            while self._pending and not self._pending[0].manual:
                covered.append(self._pending.pop(0))
            event = {"type": "response.create"}
        event_id = event.get("event_id")
        if not event_id:
            self._counter += 1
            event_id = f"{self._prefix}{self._counter}"
            event = {**event, "event_id": event_id}
        self.control = "create_requested"
        self._inflight = covered
        self._inflight_id = str(event_id)
        try:
            self._send(event)
        except Exception as exc:
            self._inflight, self._inflight_id = [], None
            self.control = "free"
            self._report_error(exc)
