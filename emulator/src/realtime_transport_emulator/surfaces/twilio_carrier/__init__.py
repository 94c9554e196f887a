"""A simulated Twilio carrier: places a phone call into your app the way Twilio does.

It posts the signed voice webhook, parses the TwiML, opens the ``<Stream>`` WebSocket with a
signed upgrade, sends ``connected``, ``start`` (with the ``<Parameter>`` values) and 20 ms mu-law
``media`` frames in real time from a caller script (speech, silence, timestamp gaps, DTMF), then
``stop``. What the app sends back is played in real time at 8 bytes/ms: marks are echoed only
once the audio before them has played, ``clear`` drops the queue (and echoes pending marks at
once, as Twilio does), and :class:`CallRecord` keeps exactly what the caller heard and when.

    carrier = TwilioCarrier(auth_token="...", public_origin="https://voice.example.com")
    record = await carrier.place_call("http://127.0.0.1:8000/voice", script=[
        Say("what's the weather in Paris?"), WaitForAgent(), Silence(500),
    ])
    record.utterances[-1].heard_ms

From a shell: ``realtime-transport emulator twilio-call http://127.0.0.1:8000/voice``.
Needs the emulator's ``twilio`` extra (``twilio`` for signatures, ``httpx`` for the webhook).
"""

from __future__ import annotations

from .call import CarrierError, TwilioCarrier
from .ear import CallRecord, ClearRecord, Utterance
from .script import Dtmf, Gap, HangUp, Raw, Say, Silence, Step, WaitForAgent, WaitForQuiet

__all__ = [
    "CallRecord",
    "CarrierError",
    "ClearRecord",
    "Dtmf",
    "Gap",
    "HangUp",
    "Raw",
    "Say",
    "Silence",
    "Step",
    "TwilioCarrier",
    "Utterance",
    "WaitForAgent",
    "WaitForQuiet",
    "install",
]


def install(emulator: object) -> None:
    """Nothing to serve: the carrier is a client of your app. Present for the surface shape."""
