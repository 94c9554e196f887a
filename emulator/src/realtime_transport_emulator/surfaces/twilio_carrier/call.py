"""One simulated call: signed webhook -> TwiML -> signed stream upgrade -> media both ways."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from .ear import CallRecord, Ear
from .script import Dtmf, Gap, HangUp, Raw, Say, Silence, Step, WaitForAgent, WaitForQuiet

__all__ = ["CarrierError", "TwilioCarrier"]

FRAME_MS = 20
FRAME_BYTES = 160
SILENCE_FRAME = b"\xff" * FRAME_BYTES
Signing = Literal["valid", "missing", "wrong"]
_ids = itertools.count(1)


class CarrierError(Exception):
    """The app did not behave like Twilio needs (bad TwiML, refused webhook or upgrade...)."""


class TwilioCarrier:
    """Places simulated Twilio calls into an app (see the package docstring).

    Args:
        auth_token: the token the app validates signatures with.
        public_origin: the origin Twilio would use to reach the app (``https://host``). The
            webhook is signed over it; a ``<Stream url>`` on it is connected to the voice URL's
            host instead (so a local app can advertise its public name). ``None``: sign and
            connect the URLs as they are.
        account_sid, from_number, to_number: webhook parameters.
        webhook_signature, stream_signature: ``"valid"``, ``"missing"`` or ``"wrong"`` (to
            test that the app refuses bad requests).
        media_before_start: frames of caller audio sent before ``start`` (bad input).
        utterance_gap_ms: agent silence that separates two utterances in the record.
    """

    def __init__(
        self,
        *,
        auth_token: str,
        public_origin: str | None = None,
        account_sid: str = "AC00000000000000000000000000000000",
        from_number: str = "+15550001111",
        to_number: str = "+15550002222",
        webhook_signature: Signing = "valid",
        stream_signature: Signing = "valid",
        media_before_start: int = 0,
        utterance_gap_ms: float = 200.0,
        connect_timeout: float = 10.0,
    ) -> None:
        self.auth_token = auth_token
        self.public_origin = public_origin.rstrip("/") if public_origin else None
        self.account_sid = account_sid
        self.from_number = from_number
        self.to_number = to_number
        self.webhook_signature = webhook_signature
        self.stream_signature = stream_signature
        self.media_before_start = media_before_start
        self.utterance_gap_ms = utterance_gap_ms
        self.connect_timeout = connect_timeout

    # -- signatures --------------------------------------------------------------------------

    def _sign(self, url: str, params: dict[str, str], mode: Signing) -> dict[str, str]:
        if mode == "missing":
            return {}
        from twilio.request_validator import RequestValidator

        signature = RequestValidator(self.auth_token).compute_signature(url, params)
        if mode == "wrong":
            signature = base64.b64encode(b"not the right signature!").decode()
        return {"X-Twilio-Signature": signature}

    def _public(self, url: str) -> str:
        if not self.public_origin:
            return url
        origin = urlsplit(self.public_origin)
        parts = urlsplit(url)
        return urlunsplit((origin.scheme, origin.netloc, parts.path, parts.query, ""))

    # -- the call ----------------------------------------------------------------------------

    async def fetch_twiml(self, voice_url: str, call_sid: str) -> tuple[str, str, dict[str, str]]:
        """POST the signed voice webhook; returns (TwiML, stream URL, stream parameters)."""
        import httpx

        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": "2010-04-01",
            "CallSid": call_sid,
            "CallStatus": "ringing",
            "Direction": "inbound",
            "From": self.from_number,
            "To": self.to_number,
        }
        headers = self._sign(self._public(voice_url), params, self.webhook_signature)
        async with httpx.AsyncClient(timeout=self.connect_timeout) as client:
            response = await client.post(voice_url, data=params, headers=headers)
        if response.status_code != 200:
            raise CarrierError(
                f"the voice webhook answered {response.status_code}: {response.text[:200]!r}"
            )
        twiml = response.text
        url, parameters = parse_stream_twiml(twiml)
        return twiml, url, parameters

    def _connect_url(self, stream_url: str, voice_url: str) -> str:
        parts = urlsplit(stream_url)
        if self.public_origin and parts.netloc == urlsplit(self.public_origin).netloc:
            local = urlsplit(voice_url)
            scheme = "wss" if local.scheme == "https" else "ws"
            return urlunsplit((scheme, local.netloc, parts.path, "", ""))
        return stream_url

    async def place_call(
        self,
        voice_url: str,
        script: Sequence[Step] = (),
        *,
        timeout: float = 60.0,
        send_stop: bool = True,
    ) -> CallRecord:
        """Run one call to the end of ``script`` (then ``stop``), within ``timeout`` seconds."""
        call_sid = f"CA{next(_ids):032x}"
        record = CallRecord(call_sid=call_sid)
        twiml, stream_url, parameters = await self.fetch_twiml(voice_url, call_sid)
        record.twiml, record.stream_url, record.parameters = twiml, stream_url, parameters
        await asyncio.wait_for(
            self.stream(stream_url, voice_url, record, script, send_stop=send_stop), timeout
        )
        return record

    async def stream(
        self,
        stream_url: str,
        voice_url: str,
        record: CallRecord,
        script: Sequence[Step],
        *,
        send_stop: bool = True,
    ) -> None:
        """Open the media stream (signed upgrade) and run the caller script over it."""
        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidStatus

        headers = self._sign(stream_url, {}, self.stream_signature)
        target = self._connect_url(stream_url, voice_url)
        try:
            ws = await connect(
                target,
                additional_headers=headers,
                open_timeout=self.connect_timeout,
                compression=None,
                max_size=2**20,
            )
        except InvalidStatus as exc:
            raise CarrierError(
                f"the stream upgrade was refused with HTTP {exc.response.status_code} (Twilio "
                "error 31920: the WebSocket handshake did not return 101)"
            ) from None
        except OSError as exc:
            raise CarrierError(
                f"could not connect to the stream URL {target} (31901): {exc}"
            ) from None
        call = _Call(self, ws, record)
        try:
            await call.run(script, send_stop=send_stop)
        finally:
            await call.shutdown()


class _Call:
    """The two halves of a connected stream: the caller's mouth (script) and ear (player)."""

    def __init__(self, carrier: TwilioCarrier, ws: Any, record: CallRecord) -> None:
        self.carrier = carrier
        self.ws = ws
        self.record = record
        self.stream_sid = f"MZ{next(_ids):032x}"
        record.stream_sid = self.stream_sid
        self.sequence = itertools.count(1)
        self.chunk = itertools.count(1)
        self.clock_ms = 0  # stream timestamp of the next frame
        self.started_at = 0.0
        self.frames_sent = 0
        self.outbox: asyncio.Queue[str] = asyncio.Queue()
        self.ear = Ear(record, self._echo_mark, utterance_gap_ms=carrier.utterance_gap_ms)
        self.closed = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []

    def _message(self, event: str, **body: Any) -> str:
        message = {"event": event, "sequenceNumber": str(next(self.sequence))}
        if event != "connected":
            message["streamSid"] = self.stream_sid
        message.update(body)
        return json.dumps(message, separators=(",", ":"))

    def _echo_mark(self, name: str) -> None:
        self._send_now(self._message("mark", mark={"name": name}))

    def _send_now(self, text: str) -> None:
        self.outbox.put_nowait(text)

    async def run(self, script: Sequence[Step], *, send_stop: bool) -> None:
        loop = asyncio.get_running_loop()
        self.tasks = [
            loop.create_task(self._writer(), name="carrier-writer"),
            loop.create_task(self._reader(), name="carrier-reader"),
            loop.create_task(self.ear.run(), name="carrier-ear"),
        ]
        self._send_now(self._message("connected", protocol="Call", version="1.0.0"))
        self.started_at = time.monotonic()
        for _ in range(self.carrier.media_before_start):
            await self._frame(SILENCE_FRAME)
        self._send_now(
            self._message(
                "start",
                start={
                    "accountSid": self.carrier.account_sid,
                    "streamSid": self.stream_sid,
                    "callSid": self.record.call_sid,
                    "tracks": ["inbound"],
                    "customParameters": self.record.parameters,
                    "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                },
            )
        )
        for step in script:
            if self.closed.is_set():
                self.record.ended_by = self.record.ended_by or "app"
                return
            if isinstance(step, HangUp):
                self.record.ended_by = "caller hung up"
                return
            await self._step(step)
        if send_stop and not self.closed.is_set():
            self._send_now(
                self._message(
                    "stop",
                    stop={"accountSid": self.carrier.account_sid, "callSid": self.record.call_sid},
                )
            )
            self.record.ended_by = "stop"
            await asyncio.sleep(0.05)

    async def _step(self, step: Step) -> None:
        if isinstance(step, Say):
            from realtime_transport_emulator.model.synth import speech

            audio = speech(step.text, "audio/pcmu", duration_ms=step.duration_ms)
            audio += SILENCE_FRAME[: (-len(audio)) % FRAME_BYTES]
            for start in range(0, len(audio), FRAME_BYTES):
                await self._frame(audio[start : start + FRAME_BYTES])
        elif isinstance(step, Silence):
            for _ in range(max(1, round(step.ms / FRAME_MS))):
                await self._frame(SILENCE_FRAME)
        elif isinstance(step, Gap):
            frames = max(1, round(step.ms / FRAME_MS))
            self.clock_ms += frames * FRAME_MS  # the stream clock runs on; nothing is sent
            self.frames_sent += frames
            due = self.started_at + self.frames_sent * FRAME_MS / 1000
            while not self.closed.is_set() and time.monotonic() < due:
                await asyncio.sleep(min(0.1, max(0.0, due - time.monotonic())))
        elif isinstance(step, Dtmf):
            self._send_now(
                self._message("dtmf", dtmf={"track": "inbound_track", "digit": step.digit})
            )
        elif isinstance(step, Raw):
            self._send_now(step.text)
        elif isinstance(step, WaitForAgent):
            deadline = time.monotonic() + step.timeout
            while self.ear.heard_in_current() < step.heard_ms:
                if time.monotonic() > deadline or self.closed.is_set():
                    raise CarrierError(
                        f"the agent did not speak {step.heard_ms:g} ms within {step.timeout:g} s"
                    )
                await self._frame(SILENCE_FRAME)
        elif isinstance(step, WaitForQuiet):
            deadline = time.monotonic() + step.timeout
            while True:
                quiet = self.ear.quiet_for()
                if quiet is not None and quiet * 1000 >= step.quiet_ms:
                    return
                if time.monotonic() > deadline or self.closed.is_set():
                    raise CarrierError(
                        f"the agent did not finish speaking within {step.timeout:g} s"
                    )
                await self._frame(SILENCE_FRAME)

    async def _frame(self, audio: bytes) -> None:
        """Send one 20 ms media frame at its real-time slot (no drift)."""
        due = self.started_at + self.frames_sent * FRAME_MS / 1000
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        self.frames_sent += 1
        self.record.sent_frames += 1
        media = {
            "track": "inbound",
            "chunk": str(next(self.chunk)),
            "timestamp": str(self.clock_ms),
            "payload": base64.b64encode(audio).decode("ascii"),
        }
        self.clock_ms += FRAME_MS
        if not self.closed.is_set():
            self._send_now(self._message("media", media=media))

    async def _writer(self) -> None:
        from websockets.exceptions import ConnectionClosed

        while True:
            text = await self.outbox.get()
            try:
                await self.ws.send(text)
            except ConnectionClosed:
                self.closed.set()
                return

    async def _reader(self) -> None:
        from websockets.exceptions import ConnectionClosed

        ear = self.ear
        try:
            async for raw in self.ws:
                try:
                    message = json.loads(raw)
                    event = message["event"]
                    if message.get("streamSid") != self.stream_sid:
                        raise ValueError(f"streamSid {message.get('streamSid')!r}")
                    if event == "media":
                        ear.on_media(base64.b64decode(message["media"]["payload"], validate=True))
                    elif event == "mark":
                        ear.on_mark(str(message["mark"]["name"]))
                    elif event == "clear":
                        ear.on_clear()
                    else:
                        raise ValueError(f"unknown event {event!r}")
                except (ValueError, KeyError, TypeError) as exc:  # Twilio: error 31924
                    if len(self.record.bad_messages) < 100:
                        self.record.bad_messages.append(f"31924 {exc}: {str(raw)[:100]}")
        except ConnectionClosed:
            pass
        self.record.close_code = self.ws.protocol.close_code  # ws.close_code needs websockets>=15
        self.closed.set()

    async def shutdown(self) -> None:
        await asyncio.sleep(0)  # let queued messages (stop) reach the writer
        deadline = time.monotonic() + 1.0
        while not self.outbox.empty() and not self.closed.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.close(), 2.0)
        if self.record.close_code is None:
            self.record.close_code = self.ws.protocol.close_code
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(BaseException):
                await task
        self.ear.close_utterance()


def parse_stream_twiml(twiml: str) -> tuple[str, dict[str, str]]:
    """The ``<Connect><Stream url>`` and its ``<Parameter>`` values; CarrierError otherwise."""
    try:
        root = ET.fromstring(twiml)
    except ET.ParseError as exc:
        raise CarrierError(
            f"the voice webhook did not return TwiML ({exc}): {twiml[:200]!r}"
        ) from None
    if root.tag != "Response":
        raise CarrierError(f"TwiML must have a <Response> root, got <{root.tag}>")
    stream = root.find("./Connect/Stream")
    if stream is None:
        raise CarrierError("the TwiML has no <Connect><Stream>: the call would not reach the agent")
    url = stream.get("url") or ""
    parts = urlsplit(url)
    if parts.scheme not in ("wss", "ws") or parts.query:
        raise CarrierError(
            f"Twilio error 31920: the <Stream url> {url!r} must be wss:// without a query string"
        )
    parameters = {
        p.get("name", ""): p.get("value", "") for p in stream.findall("Parameter") if p.get("name")
    }
    return url, parameters
