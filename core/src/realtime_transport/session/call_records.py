"""What the session remembers about each tool call id, and how a call is answered.

The model (or a reconnecting transport) may send the same function call twice. A record per
(agent, call id) holds the call's fingerprint and the answer it got, so an exact repeat replays
that answer instead of running the tool again, and a reuse of the id for a different call is
caught. Function tools, approvals and handoffs all answer through :meth:`CallRecord.commit`.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from ..events import FunctionCallEvent
    from .runtime import SessionRuntime

__all__ = ["CallRecord", "call_fingerprint"]


@dataclass
class CallRecord:
    """One tool call id of one agent: what the model asked, and what it was answered."""

    fingerprint: str
    state: Literal["running", "awaiting_approval", "committed", "failed"] = "running"
    output: str | None = None
    start_response: bool = True
    sending: bool = False
    settled: asyncio.Event = field(default_factory=asyncio.Event)

    def commit(
        self,
        runtime: SessionRuntime,
        call: FunctionCallEvent,
        output: str,
        start_response: bool,
    ) -> None:
        """Record the answer (so exact repeats replay it) and send it."""
        self.state = "committed"
        self.output = output
        self.start_response = start_response
        self.sending = True
        try:
            runtime.transport.send_function_call_output(call, output, start_response=start_response)
        except Exception as exc:
            runtime.emit_error(
                f"could not send the output of {call.name!r}: {exc}", "transport", exc
            )
        finally:
            self.sending = False
            self.settled.set()

    def settle(self) -> None:
        """The work on this call ended: a call that was neither answered nor parked failed."""
        if self.state == "running":
            self.state = "failed"
        self.settled.set()


def call_fingerprint(name: str, arguments: str) -> str:
    """A stable identity for (tool name, arguments): JSON key order and spacing do not matter."""
    try:
        normalized: Any = json.loads(arguments) if arguments.strip() else {}
    except ValueError:
        normalized = arguments
    return json.dumps([name, normalized], sort_keys=True, separators=(",", ":"), default=str)
