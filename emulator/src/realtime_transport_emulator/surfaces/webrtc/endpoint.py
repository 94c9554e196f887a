"""The ``POST /v1/realtime/calls`` handler: read the request, answer the offer, register the call.

Answers ``201 Created`` with the SDP answer (``application/sdp``) and ``Location:
/v1/realtime/calls/rtc_…``; the call is registered, so ``wss://…/v1/realtime?call_id=rtc_…``
attaches to its session config too. Errors use the API's JSON shape: 400 for an offer aiortc
cannot use, 401 for keys, 415 for another body type, 501 when aiortc is not installed.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from realtime_transport_emulator.faults import Faults, faults_for
from realtime_transport_emulator.net.routing import HttpError, HttpRequest, HttpResponse
from realtime_transport_emulator.records import ConnectionRecord
from realtime_transport_emulator.session.ids import IdFactory
from realtime_transport_emulator.surfaces.webrtc.offer import initial_session, read_call_request

if TYPE_CHECKING:
    from realtime_transport_emulator.server import Emulator
    from realtime_transport_emulator.surfaces.webrtc.call import WebRtcCall

logger = logging.getLogger("realtime_transport_emulator.webrtc")

ANSWER_TIMEOUT = 10.0
CALLS_PATH = "/v1/realtime/calls"


class CallsEndpoint:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.calls: dict[str, WebRtcCall] = {}

    async def create(self, request: HttpRequest) -> HttpResponse:
        try:
            from realtime_transport_emulator.surfaces.webrtc.call import WebRtcCall
        except ImportError:
            return HttpResponse.error(
                501,
                "WebRTC calls need aiortc: pip install 'realtime-transport-emulator[webrtc]'.",
                code="not_implemented",
                type="server_error",
            )
        emulator = self.emulator
        call_request = read_call_request(emulator, request)
        try:
            query_faults = Faults.parse(request.query.get("fault", []))
        except ValueError as exc:
            return HttpResponse.error(400, str(exc), code="invalid_value", param="fault")
        index = emulator._next_index()
        ids = IdFactory(f"{emulator.seed}/{index}")
        call_id = ids.new("rtc")
        limit = emulator.max_session_seconds or 3600
        config = initial_session(
            emulator, call_request, ids.new("sess"), int(emulator.clock() + limit)
        )
        faults = faults_for(emulator.faults, index).merged(query_faults)
        record = ConnectionRecord(
            index=index,
            path=CALLS_PATH,
            query={k: v[-1] for k, v in request.query.items() if k != "fault"},
            model=str(config.get("model")),
            call_id=call_id,
            auth=call_request.credentials.kind,
            auth_via=call_request.credentials.via,
            subprotocol=None,
            faults=faults,
            session_id=str(config["id"]),
            max_events=emulator.max_recorded_events,
            record_audio=emulator.record_audio,
            on_change=emulator._notify,
        )
        call = WebRtcCall(
            record=record,
            config=config,
            ids=ids,
            script=emulator.script,
            options=emulator.session_options(faults),
            faults=faults,
            host=emulator.host,
        )
        try:
            answer = await asyncio.wait_for(call.answer(call_request.sdp), ANSWER_TIMEOUT)
        except (ValueError, TypeError, KeyError, AttributeError, asyncio.TimeoutError) as exc:
            await call.close()
            raise HttpError(
                HttpResponse.error(
                    400,
                    f"Invalid SDP offer: {_describe(exc)}. Send the offer your peer connection "
                    "created, with an audio m-line and the 'oai-events' data channel.",
                    code="invalid_offer",
                    param="sdp",
                )
            ) from None
        except Exception as exc:
            await call.close()
            raise HttpError(
                HttpResponse.error(
                    400,
                    f"Could not use the SDP offer: {_describe(exc)}.",
                    code="invalid_offer",
                    param="sdp",
                )
            ) from None
        self.calls[call_id] = call
        emulator.register_call(call_id, config, media=call)
        emulator._add_record(record)
        self._forget_when_done(call_id, call)
        logger.info("call %s answered (connection %d)", call_id, index)
        return HttpResponse(
            201,
            answer.encode(),
            "application/sdp",
            headers=(("Location", f"{CALLS_PATH}/{call_id}"),),
        )

    def _forget_when_done(self, call_id: str, call: WebRtcCall) -> None:
        def forget() -> None:
            self.calls.pop(call_id, None)
            self.emulator.end_call(call_id)

        call.on_closed = forget

    async def close_all(self) -> None:
        calls = list(self.calls.values())
        self.calls.clear()
        await asyncio.gather(*(call.close() for call in calls), return_exceptions=True)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return f"the answer was not ready within {ANSWER_TIMEOUT:g}s"
    text = str(exc) or type(exc).__name__
    return text[:300]


__all__ = ["CallsEndpoint"]
