"""Call control on the official ``openai`` client: accept, reject, refer, hang up.

Each method is one ``AsyncOpenAI().realtime.calls.*`` request. A ``404`` becomes
:class:`~realtime_transport_sip.errors.CallGoneError` (the caller hung up, or another worker
took the call: nothing to do), any other failure :class:`CallControlError` with the status.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from realtime_transport.errors import UserError, redact

from .errors import CallControlError, CallGoneError

if TYPE_CHECKING:
    from openai import AsyncOpenAI

__all__ = ["SipCallControl"]

T = TypeVar("T")


class SipCallControl:
    """Accept, reject, transfer and hang up SIP calls.

    ``client`` is an ``AsyncOpenAI`` you configured (base URL, timeouts, retries, organization);
    without one, ``AsyncOpenAI(api_key=..., base_url=..., timeout=..., max_retries=...)`` is
    built from the arguments and the usual ``OPENAI_*`` environment variables.
    """

    def __init__(
        self,
        client: AsyncOpenAI | None = None,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 10.0,
        max_retries: int = 2,
    ) -> None:
        if client is None:
            from openai import AsyncOpenAI, OpenAIError

            try:
                client = AsyncOpenAI(
                    api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries
                )
            except OpenAIError:
                raise UserError(
                    "no API key for call control: pass api_key=..., a configured "
                    "AsyncOpenAI(client=...), or set OPENAI_API_KEY"
                ) from None
        self.client = client

    def __repr__(self) -> str:
        return f"SipCallControl(base_url={str(self.client.base_url)!r})"

    async def accept(self, call_id: str, session: Mapping[str, Any]) -> None:
        """Answer the call with ``session`` (use ``OpenAIRealtimeSIP.build_initial_config``)."""
        body = copy.deepcopy(dict(session))
        kind = body.pop("type", "realtime")
        if kind != "realtime":
            raise UserError(f"a SIP call is accepted with a 'realtime' session, not {kind!r}")
        await self._call(
            "accept",
            call_id,
            lambda: self.client.realtime.calls.accept(call_id, type="realtime", extra_body=body),
        )

    async def reject(self, call_id: str, *, status_code: int | None = None) -> None:
        """Decline the call with a SIP status (the server's default is 603 Decline; 486 Busy)."""
        calls = self.client.realtime.calls
        if status_code is None:
            await self._call("reject", call_id, lambda: calls.reject(call_id))
        else:
            await self._call(
                "reject", call_id, lambda: calls.reject(call_id, status_code=status_code)
            )

    async def refer(self, call_id: str, target_uri: str) -> None:
        """Transfer the call (SIP REFER) to ``tel:+1…`` or ``sip:agent@example.com``."""
        if not target_uri.startswith(("tel:", "sip:", "sips:")):
            raise UserError(f"target_uri must be a tel: or sip: URI, got {target_uri!r}")
        await self._call(
            "refer",
            call_id,
            lambda: self.client.realtime.calls.refer(call_id, target_uri=target_uri),
        )

    async def hangup(self, call_id: str) -> None:
        """End the call (the attached socket then closes)."""
        await self._call("hangup", call_id, lambda: self.client.realtime.calls.hangup(call_id))

    async def _call(self, action: str, call_id: str, request: Callable[[], Awaitable[T]]) -> T:
        if not call_id:
            raise UserError(f"{action} needs the call_id of the incoming-call webhook")
        import openai

        key = getattr(self.client, "api_key", None)
        try:
            return await request()
        except openai.NotFoundError:
            raise CallGoneError(
                f"call {call_id} is gone (HTTP 404 on {action}): the caller hung up or another "
                "worker handled it; nothing more to do for it",
                call_id=call_id,
                status=404,
            ) from None
        except openai.APIStatusError as exc:
            raise CallControlError(
                redact(
                    f"{action} of call {call_id} failed: HTTP {exc.status_code}: {exc.message}", key
                ),
                call_id=call_id,
                status=exc.status_code,
            ) from None
        except openai.APIConnectionError as exc:
            raise CallControlError(
                redact(f"{action} of call {call_id} did not reach the API: {exc}", key),
                call_id=call_id,
            ) from None
