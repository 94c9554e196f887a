"""Reconnect on a SIP call: re-attach to the same ``call_id`` after a socket lost while the call
is up; never after the call ended (a hang-up by the caller or by the app, a normal 1000 close),
and stop at once when the re-attach is refused because the call ended in between.

The emulated call keeps its Realtime session across sockets, as the API does (the socket is a
sideband on the call's session): the earlier context reaches the model without re-seeding, and
the ``{conversation}`` echo shows it exactly once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

pytest.importorskip("realtime_transport_sip", reason="the sip plugin is not installed")

from _census import Census
from realtime_transport import RealtimeAgent, RealtimeSession, ReconnectPolicy
from realtime_transport.errors import CallEndedError
from realtime_transport_emulator import Emulator, Faults, Reply, Rule, Script, SipSimulator
from realtime_transport_sip import CallGoneError, SipCallControl
from test_reconnect import Events

KEY = "sk-reconnect-sip-SECRET"
SCRIPT = Script(
    rules=[
        Rule(contains="remember", reply=Reply(text="Noted.")),
        Rule(contains="what do you hold", reply=Reply(text="I hold: {conversation}")),
        Rule(contains="long story", reply=Reply(text="Once upon a time " * 40)),
    ]
)
FAST = ReconnectPolicy(max_attempts=4, backoff=0.01, max_backoff=0.05)


@asynccontextmanager
async def sip_emulator(faults: Any = None) -> AsyncIterator[tuple[Emulator, SipSimulator]]:
    sip = SipSimulator()
    async with Emulator(script=SCRIPT, faults=faults, surfaces=[sip.install]) as emulator:
        yield emulator, sip


def _session(policy: ReconnectPolicy = FAST) -> RealtimeSession:
    agent = RealtimeAgent("Keeper", instructions="Keep what you are told.")
    return RealtimeSession(agent, transport="sip", reconnect=policy)


async def _attach(session: RealtimeSession, emulator: Emulator, call_id: str) -> None:
    await asyncio.wait_for(session.connect(api_key=KEY, url=emulator.ws_url, call_id=call_id), 10)


def _first_socket_fails(fault: Faults) -> list[Faults | None]:
    return [fault, None, None, None, None]


@pytest.mark.parametrize("fault", ["reset", "close-1011"])
async def test_a_socket_lost_while_the_call_is_up_reattaches_to_the_same_call(fault: str) -> None:
    # Connection 0 (a probe call) counts the server events of the first turn, so connection 1
    # can be cut a few events into its *second* turn, whatever the emulator's event sequence.
    first_turn: list[int] = []

    def faults(index: int) -> Faults | None:
        if index != 1:
            return None
        after = first_turn[0] + 3
        return Faults(reset_after=after) if fault == "reset" else Faults(close_after=after)

    async with sip_emulator(faults) as (emulator, sip):
        probe = _session(ReconnectPolicy(max_attempts=1))
        probe_events = Events(probe)
        await _attach(probe, emulator, sip.accepted_call().call_id)
        await _remember(probe, probe_events, emulator, 0)
        first_turn.append(len(emulator.connections[0].sent))
        await probe.close()

        call = sip.accepted_call()
        census = Census.take()
        session = _session()
        events = Events(session)
        await _attach(session, emulator, call.call_id)
        await _remember(session, events, emulator, 1)
        assert len(emulator.connections[1].sent) == first_turn[0]
        session.send_message("tell me a long story")
        reconnected = await events.wait("reconnected", timeout=10)
        assert reconnected.attempts == 1
        assert reconnected.reseeded_items == 0, "the call kept its conversation: no re-seeding"
        assert any("not received" in note for note in reconnected.lost), reconnected.lost
        assert not any("audio in flight" in note for note in reconnected.lost), (
            "a call's audio rides the phone line: none is lost with the socket"
        )
        (disconnected,) = events.of("disconnected")
        assert disconnected.call_ended is False and "call ended" not in disconnected.reason
        assert call.active and call.attach_count == 2, "the same call, attached again"
        again = emulator.connections[2]
        assert again.call_id == call.call_id and "session.update" in again.client_types()
        session.send_message("what do you hold?")
        answer = await events.wait("agent_end", count=2)
        held = answer.output
        assert held.count("remember: the code is 42") == 1, held  # there once, not re-seeded
        assert "Noted." in held and "tell me a long story" in held, held
        assert events.of("connection_change")[:5] == [
            "connecting", "connected", "disconnected", "connecting", "connected",
        ]  # fmt: skip
        assert not events.of("reconnect_failed")
        await session.close()
        assert session.transport.status == "disconnected"
        await census.check()


async def _remember(
    session: RealtimeSession, events: Events, emulator: Emulator, connection: int
) -> None:
    """One finished turn; returns once its last server event (the buffer stop) was sent."""
    session.send_message("remember: the code is 42")
    first = await events.wait("agent_end")
    assert first.output == "Noted."
    await emulator.wait_for_server_event("output_audio_buffer.stopped", connection=connection)


@pytest.mark.parametrize("ending", ["caller-hangs-up", "app-hangs-up", "server-closes-1000"])
async def test_a_call_that_ended_is_never_retried(ending: str) -> None:
    faults = [Faults(close_after=6, close_code=1000)] if ending == "server-closes-1000" else None
    async with sip_emulator(faults) as (emulator, sip):
        call = sip.accepted_call()
        await _warm_executor(emulator)
        census = Census.take()
        session = _session()
        events = Events(session)
        stream = session.events()
        await _attach(session, emulator, call.call_id)
        session.send_message("tell me a long story")
        await emulator.wait_for_server_event("response.created")
        if ending == "caller-hangs-up":
            call.end("ended", "caller")
            emulator.end_call(call.call_id)
        elif ending == "app-hangs-up":
            control = SipCallControl(api_key=KEY, base_url=emulator.http_url + "/v1")
            await control.hangup(call.call_id)
            await control.client.close()
        disconnected = await events.wait("disconnected", timeout=10)
        assert disconnected.call_ended is True, disconnected
        assert disconnected.reason.startswith("the call ended"), disconnected.reason
        names = await asyncio.wait_for(_drain(stream), 5)  # the session ends: nothing hangs
        assert names[-1] == "disconnected"
        await asyncio.sleep(0.2)  # well past FAST's backoff: no attempt may follow
        assert not events.of("reconnecting") and not events.of("reconnected")
        assert not [e for e in events.of("error") if "call ended" in str(e)]
        assert call.attach_count == 1 and len(emulator.connections) == 1
        assert session.transport.status == "disconnected"
        await session.close()
        await census.check()


@pytest.mark.parametrize("ended_by", ["caller", "app"])
async def test_reattach_refused_because_the_call_ended_meanwhile_stops_at_once(
    ended_by: str,
) -> None:
    async with sip_emulator(_first_socket_fails(Faults(reset_after=4))) as (emulator, sip):
        call = sip.accepted_call()
        await _warm_executor(emulator)
        census = Census.take()
        # a backoff long enough for the call to end before the first attempt
        session = _session(ReconnectPolicy(max_attempts=5, backoff=0.3, jitter=0))
        events = Events(session)
        stream = session.events()
        await _attach(session, emulator, call.call_id)
        session.send_message("tell me a long story")
        reconnecting = await events.wait("reconnecting", timeout=10)
        assert reconnecting.attempt == 1 and "reset" in reconnecting.reason.lower()
        if ended_by == "caller":  # the caller hangs up while the socket is down
            call.end("ended", "caller")
            emulator.end_call(call.call_id)
        else:  # the app hangs up through call control while the socket is down
            control = SipCallControl(api_key=KEY, base_url=emulator.http_url + "/v1")
            await control.hangup(call.call_id)
            await control.client.close()
        failed = await events.wait("reconnect_failed", timeout=10)
        assert failed.attempts == 1, "a refused re-attach is not retried"
        assert isinstance(failed.error, CallGoneError) and isinstance(failed.error, CallEndedError)
        assert failed.error.status == 404 and failed.error.call_id == call.call_id
        assert "the call is over" in failed.message and KEY not in failed.message
        assert len(events.of("reconnecting")) == 1
        names = await asyncio.wait_for(_drain(stream), 5)
        assert names[-1] == "reconnect_failed"
        await asyncio.sleep(0.5)  # past another backoff: still no storm of attempts
        assert len(events.of("reconnecting")) == 1
        assert len(emulator.connections) == 1 and call.attach_count == 1
        assert session.transport.status == "disconnected"
        await session.close()
        await census.check()


async def test_reattach_keeps_the_voice_the_call_speaks_with() -> None:
    """The call's voice is fixed once the model spoke on it: a re-attach after a switch to an
    agent with another voice resends the call's voice, so the server does not refuse the whole
    config (``cannot_update_voice``)."""
    probe_turn: list[int] = []

    def faults(index: int) -> Faults | None:
        return Faults(reset_after=probe_turn[0] + 3) if index == 1 else None

    async with sip_emulator(faults) as (emulator, sip):
        probe = _session(ReconnectPolicy(max_attempts=1))
        await _attach(probe, emulator, sip.accepted_call().call_id)
        await _remember(probe, Events(probe), emulator, 0)
        probe_turn.append(len(emulator.connections[0].sent))
        await probe.close()

        call = sip.accepted_call({"type": "realtime", "audio": {"output": {"voice": "marin"}}})
        agent = RealtimeAgent("Keeper", instructions="Keep what you are told.", voice="marin")
        session = RealtimeSession(agent, transport="sip", reconnect=FAST)
        events = Events(session)
        await _attach(session, emulator, call.call_id)
        await _remember(session, events, emulator, 1)
        other = RealtimeAgent("Other", instructions="Keep it short.", voice="cedar")
        await session.update_agent(other)  # the voice stays marin: the model has spoken
        session.send_message("tell me a long story")
        await events.wait("reconnected", timeout=10)
        again = emulator.connections[2]
        await emulator.wait_for_server_event("session.updated", connection=again, timeout=5)
        updates = [e for e in again.client_events if e["type"] == "session.update"]
        update = updates[0]
        assert update["session"]["audio"]["output"]["voice"] == "marin"
        assert update["session"]["instructions"] == "Keep it short."  # the current agent's
        refused = [e for e in again.server_events if e["type"] == "error"]
        assert not refused, refused
        await session.close()


async def test_a_transport_that_cannot_tell_is_never_retried_on_a_call() -> None:
    """The websocket transport attached by ``call_id`` (e.g. a WebRTC sideband) cannot tell a
    hang-up from a drop (``call_ended`` None): as before, the session does not re-attach."""
    async with sip_emulator(_first_socket_fails(Faults(reset_after=4))) as (emulator, sip):
        call = sip.accepted_call()
        agent = RealtimeAgent("Keeper", instructions="Keep what you are told.")
        session = RealtimeSession(agent, transport="websocket", reconnect=FAST)
        events = Events(session)
        await _attach(session, emulator, call.call_id)
        session.send_message("tell me a long story")
        disconnected = await events.wait("disconnected", timeout=10)
        assert disconnected.call_ended is None
        await asyncio.sleep(0.2)  # past FAST's backoff
        assert not events.of("reconnecting") and len(emulator.connections) == 1
        await session.close()


async def _warm_executor(emulator: Emulator) -> None:
    """The openai client does blocking work (host lookup, platform details) on the loop's
    default executor: start its thread before the census (it is the loop's, not a leak)."""
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, lambda: None)
    await loop.getaddrinfo(emulator.host, emulator.port)


async def _drain(stream: Any) -> list[str]:
    return [event.name async for event in stream]
