"""A simulated incoming SIP call, end to end, against an application's webhook.

:meth:`SipSimulator.call` does what the SIP trunk and OpenAI do for a real call: post a signed
``realtime.call.incoming`` webhook to the application (optionally twice, or badly signed), wait
for the application to accept it over REST, wait for its socket to attach by ``call_id``, let the
agent greet, then play the caller's lines (synthesized speech followed by silence, so the server
VAD ends each turn) into the call's input audio and wait for the agent's answers, press DTMF keys,
and hang up (the socket is cut without a close frame, like a real hang-up). What the model said
comes back in :class:`CallResult`.
"""

from __future__ import annotations

import asyncio
import base64
import os
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from realtime_transport_emulator.model.audio import bytes_for
from realtime_transport_emulator.model.synth import silence, speech
from realtime_transport_emulator.session.ids import IdFactory

from .calls import CallState, SipCall
from .control import accept_call, install_routes
from .webhook import DEFAULT_WEBHOOK_SECRET, Delivery, incoming_call_body, post_delivery, sign

if TYPE_CHECKING:
    from realtime_transport_emulator.server import Emulator

__all__ = ["CallResult", "SipSimulator"]

SECRET_ENV = "REALTIME_TRANSPORT_EMULATOR_WEBHOOK_SECRET"
DEFAULT_CALLER_LINES = ("Hi, what's the weather in Paris?",)
FRAME_MS = 20
TRAILING_SILENCE_MS = 900  # longer than every VAD's silence duration, so the turn ends
QUIET_S = 0.4  # no response for this long after one finished: the agent is done answering
WRONG_SECRET = "whsec_" + base64.b64encode(b"not-the-secret-you-configured").decode()


@dataclass
class CallResult:
    """What happened on one simulated call."""

    call_id: str
    state: CallState
    ended_by: str | None
    deliveries: list[Delivery]
    said: list[str]
    """What the model said, one transcript per spoken reply (greeting first)."""
    model_audio_ms: float
    accept_body: dict[str, Any] | None
    reject_status: int | None
    refer_target: str | None
    caller_lines: list[str] = field(default_factory=list)
    dtmf: list[str] = field(default_factory=list)

    @property
    def answered(self) -> bool:
        return self.accept_body is not None


class SipSimulator:
    """SIP call control endpoints plus simulated incoming calls, for one emulator.

    ::

        sip = SipSimulator(webhook_secret="whsec_...")
        async with Emulator(script=..., surfaces=[sip.install]) as emu:
            result = await sip.call("http://127.0.0.1:8000/openai/webhook")

    ``webhook_secret`` defaults to ``$REALTIME_TRANSPORT_EMULATOR_WEBHOOK_SECRET`` or
    :data:`DEFAULT_WEBHOOK_SECRET`; the application verifies with the same value.
    """

    def __init__(self, *, webhook_secret: str | None = None, max_calls: int = 1000) -> None:
        self.webhook_secret = webhook_secret or os.environ.get(SECRET_ENV) or DEFAULT_WEBHOOK_SECRET
        self.calls: dict[str, SipCall] = {}
        #: Every call-control request that reached a known call: (action, call_id, JSON body).
        self.requests: deque[tuple[str, str, Any]] = deque(maxlen=10_000)
        self._max_calls = max_calls
        self._emulator: Emulator | None = None
        self._count = 0

    def install(self, emulator: Emulator) -> None:
        """The surface hook: ``Emulator(surfaces=[sip.install])``."""
        if self._emulator is not None:
            raise RuntimeError("this SipSimulator is already installed on an emulator")
        self._emulator = emulator
        install_routes(emulator, self)
        emulator.add_stop_hook(self._stop)

    @property
    def emulator(self) -> Emulator:
        if self._emulator is None:
            raise RuntimeError("install the simulator first: Emulator(surfaces=[sip.install])")
        return self._emulator

    async def _stop(self) -> None:
        for call in self.calls.values():
            if call.active:
                call.end("ended", "emulator")
                self.emulator.end_call(call.call_id)

    def open_call(
        self, sip_headers: Sequence[dict[str, str]] = (), lines: Sequence[str] = ()
    ) -> SipCall:
        """A ringing call without a webhook (to drive the call-control endpoints directly)."""
        self._count += 1
        ids = IdFactory(f"{self.emulator.seed}/sip-call/{self._count}")
        call = SipCall(ids.new("rtc"), list(sip_headers), tuple(lines))
        self.calls[call.call_id] = call
        while len(self.calls) > self._max_calls:
            oldest = next((c for c in self.calls.values() if not c.active), None)
            if oldest is None:
                break
            del self.calls[oldest.call_id]
        return call

    def accepted_call(self, session: Mapping[str, Any] | None = None) -> SipCall:
        """A call accepted with ``session`` (validated like the accept endpoint), no webhook:
        ready for ``?call_id=`` (e.g. for a transport's conformance tests)."""
        call = self.open_call()
        accept_call(self.emulator, call, dict(session or {"type": "realtime"}))
        return call

    async def call(
        self,
        webhook_url: str,
        *,
        caller_says: Sequence[str] = DEFAULT_CALLER_LINES,
        from_uri: str = "sip:+15551234567@example.com",
        to_uri: str = "sip:+18005550100@sip.api.openai.com",
        duplicate_delivery: bool = False,
        bad_signature: bool = False,
        dtmf: str = "",
        hang_up: bool = True,
        accept_timeout: float = 10.0,
        turn_timeout: float = 20.0,
        greeting_timeout: float = 5.0,
        log: Callable[[str], None] | None = None,
    ) -> CallResult:
        """Ring ``webhook_url`` and run the call; returns when it has ended (or was not taken)."""
        emulator = self.emulator
        say = log or (lambda _message: None)
        headers = [
            {"name": "From", "value": from_uri},
            {"name": "To", "value": to_uri},
            {"name": "Call-ID", "value": f"call-{self._count + 1}@example.com"},
        ]
        call = self.open_call(headers, caller_says)
        ids = IdFactory(f"{emulator.seed}/sip-webhook/{call.call_id}")
        now = int(emulator.clock())
        body = incoming_call_body(ids.new("evt"), now, call.call_id, headers)
        webhook_id = ids.new("wh")
        secret = WRONG_SECRET if bad_signature else self.webhook_secret
        signature = sign(secret, webhook_id, now, body)
        deliveries: list[Delivery] = []
        import httpx

        async with httpx.AsyncClient(trust_env=False) as client:
            for _ in range(2 if duplicate_delivery else 1):
                delivery = await post_delivery(
                    webhook_url,
                    body,
                    webhook_id=webhook_id,
                    timestamp=now,
                    signature=signature,
                    timeout=accept_timeout,
                    signed_correctly=not bad_signature,
                    client=client,
                )
                deliveries.append(delivery)
                say(
                    f"webhook {webhook_id} ({'BAD signature' if bad_signature else 'signed'}): "
                    + (
                        f"HTTP {delivery.status}"
                        if delivery.status
                        else f"failed: {delivery.error}"
                    )
                    + f" in {delivery.seconds * 1000:.0f} ms"
                )
        if all(delivery.status is None for delivery in deliveries):
            accept_timeout = 0.0  # the application was not reached: nobody can accept
        try:
            await self._converse(
                call, caller_says, dtmf, accept_timeout, turn_timeout, greeting_timeout, say
            )
        finally:
            if call.active and (hang_up or call.state == "ringing"):
                call.end("ended", "caller")
                emulator.end_call(call.call_id)
                say("caller hung up")
            await call.wait_until(lambda: not call.sessions, 2.0)
        return CallResult(
            call_id=call.call_id,
            state=call.state,
            ended_by=call.ended_by,
            deliveries=deliveries,
            said=list(call.said),
            model_audio_ms=call.model_audio_ms,
            accept_body=call.accept_body,
            reject_status=call.reject_status,
            refer_target=call.refer_target,
            caller_lines=list(caller_says),
            dtmf=list(call.dtmf_sent),
        )

    async def _converse(
        self,
        call: SipCall,
        lines: Sequence[str],
        dtmf: str,
        accept_timeout: float,
        turn_timeout: float,
        greeting_timeout: float,
        say: Callable[[str], None],
    ) -> None:
        if not await call.wait_until(lambda: call.state != "ringing", accept_timeout):
            say(f"nobody accepted the call within {accept_timeout:g} s")
            return
        if call.state != "accepted":
            say(f"call {call.state}" + (f" ({call.reject_status})" if call.reject_status else ""))
            return
        say(f"accepted call {call.call_id}")
        attached = lambda: bool(call.sessions or not call.active)  # noqa: E731
        if not await call.wait_until(attached, accept_timeout):
            say(f"no socket attached to the call within {accept_timeout:g} s")
            return
        said = 0
        if await self._settle(call, 0, greeting_timeout):
            said = self._report(call, said, say)
        for line in lines:
            if not call.active:
                return
            say(f"caller says: {line!r}")
            before = call.responses_done
            await self._speak(call, line)
            await self._settle(call, before, turn_timeout)
            said = self._report(call, said, say)
        for key in dtmf:
            if not call.active:
                return
            say(f"caller presses {key!r}")
            await call.press(key, int(self.emulator.clock()))
            await asyncio.sleep(0.05)

    @staticmethod
    def _report(call: SipCall, said: int, say: Callable[[str], None]) -> int:
        for text in call.said[said:]:
            say(f"agent said: {text!r}")
        return len(call.said)

    async def _speak(self, call: SipCall, line: str) -> None:
        fmt = call.input_format()
        if fmt is None:
            return
        audio = speech(line, fmt) + silence(TRAILING_SILENCE_MS, fmt)
        step = bytes_for(FRAME_MS, fmt)
        realtime = self.emulator.pace == "realtime"
        loop = asyncio.get_running_loop()
        start = loop.time()
        for index, offset in enumerate(range(0, len(audio), step)):
            if not call.active:
                return
            await call.feed_caller_audio(audio[offset : offset + step])
            if realtime:
                await asyncio.sleep(max(0.0, start + (index + 1) * FRAME_MS / 1000 - loop.time()))
            else:
                await asyncio.sleep(0)

    @staticmethod
    async def _settle(call: SipCall, before: int, timeout: float) -> bool:
        """Wait until a response finished after ``before`` and nothing ran for QUIET_S."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while call.active:
            remaining = deadline - loop.time()
            done = await call.wait_until(
                lambda: (call.responses_done > before and not call.busy) or not call.active,
                remaining,
            )
            if not done or not call.active:
                return False
            seen = call.responses_done
            await asyncio.sleep(QUIET_S)
            if not call.busy and call.responses_done == seen:
                return True
            if loop.time() >= deadline:
                return False
        return False
