"""SIP: call control (accept/reject/refer/hangup) and simulated incoming calls.

``calls`` (one call's state and media), ``control`` (the REST endpoints), ``webhook`` (the signed
``realtime.call.incoming`` delivery), ``simulator`` (:class:`SipSimulator`: the surface to
install and the caller that rings an application), ``cli`` (``realtime-transport emulator
sip-call WEBHOOK_URL``).
"""

from __future__ import annotations

from .calls import SipCall, SipSession
from .control import REJECTED_TURN_DETECTION_FIELDS
from .simulator import CallResult, SipSimulator
from .webhook import DEFAULT_WEBHOOK_SECRET, Delivery, sign

__all__ = [
    "DEFAULT_WEBHOOK_SECRET",
    "REJECTED_TURN_DETECTION_FIELDS",
    "CallResult",
    "Delivery",
    "SipCall",
    "SipSession",
    "SipSimulator",
    "sign",
]
