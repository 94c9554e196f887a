"""OpenTelemetry spans for a session: one per session, per turn (response), per tool call.

Through ``opentelemetry-api`` only: spans go wherever the app's SDK sends them, and nowhere when
the app configured none (:func:`tracing_configured` is then false and ``instrument`` attaches no
tracer). Attributes are names and ids (transport, model, agent, tool, end reason), never
arguments, outputs, transcripts, audio or keys.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SessionTracer", "tracing_configured"]

_INSTRUMENTATION = "realtime_transport"


def tracing_configured() -> bool:
    """True when ``opentelemetry-api`` is installed and the app set a real tracer provider."""
    try:
        from opentelemetry import trace
    except ImportError:
        return False
    provider = trace.get_tracer_provider()
    return type(provider).__name__ not in ("ProxyTracerProvider", "NoOpTracerProvider")


class SessionTracer:
    """The open spans of one session (the session span is the parent of the others)."""

    __slots__ = ("_attrs", "_session", "_span", "_tools", "_trace", "_tracer", "_turns")

    def __init__(self, session: Any, transport: str) -> None:
        try:
            from opentelemetry import trace
        except ImportError:
            raise ImportError(
                "tracing needs opentelemetry-api: pip install 'realtime-transport[ops]'"
            ) from None
        self._trace = trace
        self._tracer = trace.get_tracer(_INSTRUMENTATION)
        self._session = session
        model = getattr(session, "_model", None) or getattr(
            session.transport, "current_model", None
        )
        self._attrs: dict[str, str] = {"realtime.transport": transport}
        if isinstance(model, str) and model:
            self._attrs["gen_ai.request.model"] = model
        self._span: Any = None
        self._turns: dict[str, Any] = {}
        self._tools: dict[str, Any] = {}

    def _child(self, name: str, attributes: dict[str, str]) -> Any:
        context = self._trace.set_span_in_context(self._span) if self._span is not None else None
        return self._tracer.start_span(
            name, context=context, attributes={**self._attrs, **attributes}
        )

    def session_started(self) -> None:
        agent = self._session.current_agent.name
        self._span = self._tracer.start_span(
            "realtime.session", attributes={**self._attrs, "realtime.agent": agent}
        )

    def session_ended(self, reason: str, detail: str | None) -> None:
        for span in [*self._tools.values(), *self._turns.values()]:
            span.end()
        self._tools.clear()
        self._turns.clear()
        if self._span is not None:
            self._span.set_attribute("realtime.end_reason", reason)
            if reason in ("dropped", "reconnect_failed", "error"):
                from opentelemetry.trace import Status, StatusCode

                self._span.set_status(Status(StatusCode.ERROR, reason))
            self._span.end()
            self._span = None

    def turn_started(self, event: Any) -> None:
        self._turns[event.response_id] = self._child(
            "realtime.turn",
            {"realtime.agent": event.agent.name, "realtime.response_id": event.response_id},
        )

    def turn_ended(self, event: Any) -> None:
        span = self._turns.pop(event.response_id, None)
        if span is not None:
            span.set_attribute("realtime.response_status", str(event.status))
            span.end()

    def tool_started(self, event: Any) -> None:
        call_id = getattr(event.call, "call_id", "") or ""
        self._tools[call_id] = self._child(
            "realtime.tool_call",
            {
                "realtime.agent": event.agent.name,
                "realtime.tool": getattr(event.tool, "name", "") or "",
                "realtime.call_id": call_id,
            },
        )

    def tool_ended(self, event: Any) -> None:
        span = self._tools.pop(getattr(event.call, "call_id", "") or "", None)
        if span is not None:
            span.end()
