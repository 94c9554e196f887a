"""The transport conformance kit: named scenarios any transport runs against the emulator.

A transport's test suite enables it with a few lines::

    # tests/test_conformance.py
    import pytest
    from realtime_transport.testing import TransportConformanceTests

    class TestMyTransportConformance(TransportConformanceTests):
        @pytest.fixture
        def transport_factory(self):
            return lambda emulator: MyTransport()

Override ``connect_kwargs`` to change how it connects (default: the emulator's WebSocket URL and
a test key) and ``transport_capabilities`` to declare what it supports (default: the
transport's own ``capabilities``); scenarios that need a capability the transport lacks are
skipped, like SQLAlchemy's requirement flags. Every client event the transport sends is checked
against the core protocol models and, when the ``openai`` package is installed, against
``openai.types.realtime``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio

from ..errors import AuthenticationError, TransportConnectionError, TransportNotConnectedError
from ..events import AudioEvent, ErrorEvent
from ..transport import RealtimeTransportLayer, TransportCapabilities
from .emulator import TEST_API_KEY, EmulatorDriver, validate_client_events
from .scenarios import Recorder, speech_like_pcm16, wait_until

TransportFactory = Callable[[Any], RealtimeTransportLayer]

# How to fix what a scenario found, appended to its failure message.
DISCONNECTED_FIX = (
    "Fix: change the status only through self._set_status(...) (RealtimeTransportLayer), on "
    "every path that ends a connection (close(), the server closing, a network error): "
    "_set_status('disconnected', reason) emits connection_change and then 'disconnected' once."
)
ORDER_FIX = (
    "Fix: for every inbound frame emit '*' before anything else, then the event named after its "
    "type, then the derived events; OpenAIRealtimeBase._handle_frame does this for the OpenAI "
    "protocol (pass each inbound text frame to it instead of emitting events yourself)."
)
SEQUENCING_FIX = (
    "Fix: queue response requests until the running response is done (response.done) instead "
    "of sending response.create at once; OpenAIRealtimeBase.request_response() does this with "
    "realtime_transport.openai.sequencer.ResponseCreateSequencer."
)

pytestmark = pytest.mark.asyncio


class Kit:
    """One scenario's view: the emulator, the transport under test and how to connect it."""

    def __init__(
        self,
        factory: TransportFactory,
        connect_kwargs: Callable[[Any], dict[str, Any]],
        capabilities: TransportCapabilities | None,
        emulator: EmulatorDriver,
    ) -> None:
        self._factory = factory
        self._connect_kwargs = connect_kwargs
        self._capabilities = capabilities
        self.emulator = emulator

    def using(self, emulator: EmulatorDriver) -> Kit:
        """The same transport setup against another (e.g. fault-injecting) emulator."""
        return Kit(self._factory, self._connect_kwargs, self._capabilities, emulator)

    def connect_kwargs(self, **overrides: Any) -> dict[str, Any]:
        return {**self._connect_kwargs(self.emulator), **overrides}

    def make(self, *requires: str) -> tuple[RealtimeTransportLayer, Recorder]:
        """A fresh transport with a recorder; skips if it lacks a required capability."""
        transport = self._factory(self.emulator)
        capabilities = self._capabilities or transport.capabilities
        missing = [flag for flag in requires if not getattr(capabilities, flag)]
        if missing:
            pytest.skip(f"transport does not declare: {', '.join(missing)}")
        return transport, Recorder(transport)

    async def connected(
        self, config: dict[str, Any] | None = None, *, requires: tuple[str, ...] = ()
    ) -> tuple[RealtimeTransportLayer, Recorder]:
        """A transport connected to the emulator, after the server echoed its session."""
        transport, recorder = self.make(*requires)
        kwargs = self.connect_kwargs()
        if config is not None:
            kwargs["initial_session_config"] = config
        await asyncio.wait_for(transport.connect(**kwargs), 10)
        await recorder.wait_for("session.updated")
        return transport, recorder

    def client_types(self) -> list[str]:
        return [event["type"] for event in self.emulator.client_events()]


@pytest.mark.asyncio
@pytest.mark.timeout(30)
class TransportConformanceTests:
    """Subclass in a transport's test suite and provide a ``transport_factory`` fixture."""

    # -- fixtures a transport suite may override --------------------------------------------

    @pytest.fixture
    def transport_factory(self) -> TransportFactory:
        raise pytest.UsageError(
            "define a `transport_factory` fixture returning `lambda emulator: MyTransport()`"
        )

    @pytest.fixture
    def connect_kwargs(self) -> Callable[[Any], dict[str, Any]]:
        return lambda emulator: {"url": emulator.ws_url, "api_key": TEST_API_KEY}

    @pytest.fixture
    def transport_capabilities(self) -> TransportCapabilities | None:
        return None  # None: read the transport instance's own `capabilities`

    # -- kit fixtures ------------------------------------------------------------------------

    @pytest_asyncio.fixture
    async def kit(
        self,
        transport_factory: TransportFactory,
        connect_kwargs: Callable[[Any], dict[str, Any]],
        transport_capabilities: TransportCapabilities | None,
    ) -> AsyncIterator[Kit]:
        async with EmulatorDriver() as emulator:
            yield Kit(transport_factory, connect_kwargs, transport_capabilities, emulator)

    @pytest_asyncio.fixture
    async def paced_kit(self, kit: Kit) -> AsyncIterator[Kit]:
        """Audio paced in real time, for scenarios that interrupt mid-stream."""
        async with EmulatorDriver(pace="realtime") as emulator:
            yield kit.using(emulator)

    # -- connection lifecycle ----------------------------------------------------------------

    async def test_connect_and_close(self, kit: Kit) -> None:
        transport, recorder = kit.make()
        assert _status(transport) == "disconnected"
        await asyncio.wait_for(transport.connect(**kit.connect_kwargs()), 10)
        assert _status(transport) == "connected"
        assert recorder.names("connection_change") == ["connecting", "connected"]
        assert recorder.index("connection_change", "connected") < recorder.index("connected")
        await transport.close()
        assert transport.status == "disconnected"
        await transport.close()  # idempotent
        changes = recorder.names("connection_change")
        assert recorder.count("disconnected") == 1, (
            f"close() must emit exactly one 'disconnected' event, got "
            f"{recorder.count('disconnected')} (connection_change: {changes}). {DISCONNECTED_FIX}"
        )
        assert changes == ["connecting", "connected", "disconnected"], (
            f"connection_change must go connecting, connected, disconnected; got {changes}. "
            f"{DISCONNECTED_FIX}"
        )

    async def test_second_connect_is_rejected(self, kit: Kit) -> None:
        transport, _ = await kit.connected()
        with pytest.raises(Exception, match="already connected"):
            await transport.connect(**kit.connect_kwargs())
        assert transport.status == "connected"
        await transport.close()

    @pytest.mark.parametrize("when", ["at_once", "while_connecting", "from_connected_listener"])
    async def test_close_during_connect(self, kit: Kit, when: str) -> None:
        """close() before connect() finished wins: connect() raises a typed error and the
        status never returns to ``connected`` after close() (also when a ``connected``
        listener is the one that closes)."""
        transport, recorder = kit.make()
        before = _tasks()
        closing: list[asyncio.Future[None]] = []
        closed_at: list[int] = []

        def close_now() -> None:
            closed_at.append(len(recorder.events))
            closing.append(asyncio.ensure_future(transport.close()))

        def close_when_connecting(status: str) -> None:
            if status == "connecting":
                close_now()

        if when == "while_connecting":
            transport.on("connection_change", close_when_connecting)
        elif when == "from_connected_listener":
            transport.on("connected", lambda _: close_now())
        connecting = asyncio.ensure_future(transport.connect(**kit.connect_kwargs()))
        if when == "at_once":
            await asyncio.sleep(0)
            close_now()
        with pytest.raises(TransportConnectionError):
            await asyncio.wait_for(connecting, 10)
        await asyncio.gather(*closing)
        assert closed_at, "close() was never called"
        later = [p for n, p in recorder.events[closed_at[0] :] if n == "connection_change"]
        assert "connected" not in later, f"status went back to connected after close(): {later}"
        assert transport.status == "disconnected"
        with pytest.raises(TransportNotConnectedError):
            transport.send_message("after a failed connect")
        await transport.close()
        assert transport.status == "disconnected"
        await _settle(before)

    async def test_reconnect_after_close(self, kit: Kit) -> None:
        transport, recorder = await kit.connected()
        await transport.close()
        await asyncio.wait_for(transport.connect(**kit.connect_kwargs()), 10)
        assert transport.status == "connected"
        await recorder.wait_for("session.updated", count=2)
        await transport.close()

    async def test_no_tasks_left_after_close(self, kit: Kit) -> None:
        before = _tasks()
        transport, _ = await kit.connected()
        transport.send_message("hello")
        await asyncio.sleep(0.05)
        await transport.close()
        await _settle(before)

    async def test_async_listeners_are_cancelled_by_close(self, kit: Kit) -> None:
        """No task outlives close(): async listeners still running are cancelled."""
        before = _tasks()
        transport, _ = await kit.connected()
        started = asyncio.Event()
        runs: list[bool] = []
        cancelled: list[bool] = []

        async def slow_listener(_: Any) -> None:
            runs.append(True)
            started.set()
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                cancelled.append(True)
                raise

        transport.on("item_update", slow_listener)
        transport.send_event(
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": "x"}],
                },
            }
        )
        await asyncio.wait_for(started.wait(), 5)
        await transport.close()
        assert cancelled and len(cancelled) == len(runs), "close() left an async listener running"
        await _settle(before, timeout=0.5)

    @pytest.mark.parametrize("how", ["close", "server_drop"])
    async def test_events_iteration_ends_on_disconnect(self, kit: Kit, how: str) -> None:
        """``async for ev in transport.events()`` ends after ``disconnected``, both ways."""
        faults = "reset_after:8" if how == "server_drop" else None
        async with EmulatorDriver(faults=faults) as emulator:
            kit = kit.using(emulator)
            transport, _ = kit.make()
            stream = transport.events()
            seen: list[str] = []

            async def consume() -> None:
                async for event in stream:
                    seen.append(event.name)

            consumer = asyncio.ensure_future(consume())
            await asyncio.wait_for(transport.connect(**kit.connect_kwargs()), 10)
            if how == "close":
                await wait_until(lambda: "connected" in seen)
                await transport.close()
            else:
                transport.send_message("hello")
            await asyncio.wait_for(consumer, 5)  # a stream that never ends fails here
            assert seen[-1] == "disconnected" and "connected" in seen
            await transport.close()

    async def test_wrong_state_rule(self, kit: Kit) -> None:
        """One rule: sends raise TransportNotConnectedError before connect() and after close()
        (send_audio too); the connected transport sends."""
        transport, _ = kit.make()

        def attempts() -> list[Callable[[], None]]:
            calls: list[Callable[[], None]] = [
                lambda: transport.send_message("hi"),
                lambda: transport.send_event({"type": "response.create"}),
                lambda: transport.request_response(),
                lambda: transport.update_session_config({"instructions": "x"}),
            ]
            capabilities = kit._capabilities or transport.capabilities
            if capabilities.sends_audio:
                calls.append(lambda: transport.send_audio(b"\x00\x00" * 240))
            return calls

        for attempt in attempts():
            with pytest.raises(TransportNotConnectedError, match="not connected"):
                attempt()
        await asyncio.wait_for(transport.connect(**kit.connect_kwargs()), 10)
        await transport.close()
        for attempt in attempts():
            with pytest.raises(TransportNotConnectedError, match="not connected"):
                attempt()

    async def test_partial_update_keeps_formats_and_turn_detection(self, kit: Kit) -> None:
        """update_session_config({"instructions": ...}) changes the instructions only."""
        mulaw = {"type": "audio/pcmu"}
        config = {
            "audio": {
                "input": {"format": mulaw, "turn_detection": {"type": "server_vad"}},
                "output": {"format": mulaw},
            }
        }
        transport, recorder = await kit.connected(config, requires=("uses_openai_protocol",))
        transport.update_session_config({"instructions": "Speak like a pirate."})
        await wait_until(lambda: kit.emulator.server_session().get("instructions", "") != "")
        await recorder.wait_for("session.updated", count=2)
        session = kit.emulator.server_session()
        assert session["instructions"] == "Speak like a pirate."
        audio = session["audio"]
        assert audio["input"]["format"]["type"] == "audio/pcmu"
        assert audio["output"]["format"]["type"] == "audio/pcmu"
        assert audio["input"]["turn_detection"]["type"] == "server_vad"
        await transport.close()
        validate_client_events(kit.emulator.client_events())

    # -- wire --------------------------------------------------------------------------------

    async def test_initial_session_update_is_first_on_the_wire(self, kit: Kit) -> None:
        config = {"instructions": "Be brief.", "output_modalities": ["text"]}
        transport, _ = await kit.connected(config)
        events = kit.emulator.client_events()
        assert events and events[0]["type"] == "session.update"
        session = events[0]["session"]
        assert session["type"] == "realtime" and session["instructions"] == "Be brief."
        assert kit.emulator.server_session()["output_modalities"] == ["text"]
        await transport.close()
        validate_client_events(kit.emulator.client_events())

    async def test_raw_event_order_star_then_typed_then_derived(self, kit: Kit) -> None:
        transport, recorder = await kit.connected(
            {"output_modalities": ["text"]}, requires=("supports_text",)
        )
        order: list[str] = []
        transport.on("*", lambda e: order.append(f"*:{e['type']}"))
        transport.on("response.created", lambda e: order.append("typed:response.created"))
        transport.on("turn_started", lambda e: order.append("derived:turn_started"))
        transport.on("response.done", lambda e: order.append("typed:response.done"))
        transport.on("usage_update", lambda e: order.append("derived:usage_update"))
        transport.on("turn_done", lambda e: order.append("derived:turn_done"))
        transport.send_message("hello there")
        await recorder.wait_for("turn_done")
        for kind, derived in (
            ("response.created", ["turn_started"]),
            ("response.done", ["usage_update", "turn_done"]),
        ):
            expected = [f"*:{kind}", f"typed:{kind}", *(f"derived:{d}" for d in derived)]
            got = [e for e in order if e.endswith((kind, *derived))][: len(expected)]
            assert got == expected, (
                f"events for one server message must be emitted '*' (the raw JSON) first, then "
                f"the typed event, then derived events: expected {expected}, got {got}. "
                f"{ORDER_FIX}"
            )
        await transport.close()

    async def test_send_event_escape_hatch(self, kit: Kit) -> None:
        transport, recorder = await kit.connected()
        item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "x"}]}
        transport.send_event({"type": "conversation.item.create", "item": item})
        await recorder.wait_for("item_update")
        assert "conversation.item.create" in kit.client_types()
        await transport.close()
        validate_client_events(kit.emulator.client_events())

    # -- turns -------------------------------------------------------------------------------

    async def test_text_turn(self, kit: Kit) -> None:
        transport, recorder = await kit.connected(
            {"output_modalities": ["text"]}, requires=("supports_text",)
        )
        transport.send_message("What is the weather?")
        done = await recorder.wait_for("turn_done")
        text = "".join(e.delta for e in recorder.payloads("output_text_delta"))
        assert text, "a text turn must stream output_text_delta events"
        assert done.status == "completed" and done.usage.total_tokens > 0
        assert recorder.count("usage_update") == 1
        roles = [item.role for item in recorder.payloads("item_update") if item.type == "message"]
        assert "user" in roles and "assistant" in roles
        await transport.close()
        validate_client_events(kit.emulator.client_events())

    async def test_audio_turn_with_server_vad(self, kit: Kit) -> None:
        transport, recorder = await kit.connected(
            {"audio": {"input": {"turn_detection": {"type": "server_vad"}}}},
            requires=("sends_audio", "receives_audio_events"),
        )
        audio = speech_like_pcm16(0.6) + bytes(48 * 900)  # speech, then 900 ms of silence
        for start in range(0, len(audio), 4800):
            transport.send_audio(audio[start : start + 4800])
        await recorder.wait_for("input_audio_buffer.speech_started")
        await recorder.wait_for("turn_done", timeout=10)
        chunks: list[AudioEvent] = recorder.payloads("audio")
        assert chunks and all(isinstance(c.data, bytes) and c.data for c in chunks)
        assert all(c.response_id for c in chunks)
        assert recorder.count("audio_done") >= 1
        await transport.close()
        validate_client_events(kit.emulator.client_events())

    # -- interruption ------------------------------------------------------------------------

    async def test_interrupt_before_first_audio_cancels_without_truncate(self, kit: Kit) -> None:
        # The server waits 400 ms between response.created and the first audio: the window.
        async with EmulatorDriver(pace="realtime", response_latency_ms=400) as emulator:
            kit = kit.using(emulator)
            transport, recorder = await kit.connected(requires=("client_side_truncation",))
            transport.send_message("tell me a long story")
            await recorder.wait_for("turn_started")
            assert recorder.count("audio") == 0
            transport.interrupt()
            done = await recorder.wait_for("turn_done")
            types = kit.client_types()
            assert "response.cancel" in types
            assert "conversation.item.truncate" not in types
            assert recorder.count("audio_interrupted") == 0
            assert done.status == "cancelled"
            await transport.close()

    async def test_interrupt_mid_stream_truncates_at_what_was_heard(self, paced_kit: Kit) -> None:
        kit = paced_kit
        transport, recorder = await kit.connected(
            requires=("client_side_truncation", "receives_audio_events")
        )
        transport.send_message("tell me a long story")
        first = await recorder.wait_for("audio")
        await asyncio.sleep(0.25)
        transport.interrupt()
        transport.interrupt()  # a second interrupt is a no-op
        await recorder.wait_for("turn_done")
        events = kit.emulator.client_events()
        types = [e["type"] for e in events]
        assert types.count("response.cancel") == 1
        assert types.count("conversation.item.truncate") == 1
        assert types.index("response.cancel") < types.index("conversation.item.truncate")
        truncate = next(e for e in events if e["type"] == "conversation.item.truncate")
        heard = truncate["audio_end_ms"]
        assert isinstance(heard, int) and truncate["item_id"] == first.item_id
        assert 150 <= heard <= recorder.received_ms(first.item_id) + 1
        interrupted = recorder.payloads("audio_interrupted")
        assert len(interrupted) == 1 and interrupted[0].audio_end_ms == heard
        await recorder.wait_for("conversation.item.truncated")
        assert not [e for e in recorder.payloads("error") if e.source == "server"]
        await transport.close()
        validate_client_events(kit.emulator.client_events())

    async def test_interrupt_after_audio_done_truncates_unplayed_tail(self, kit: Kit) -> None:
        transport, recorder = await kit.connected(
            requires=("client_side_truncation", "receives_audio_events")
        )
        transport.send_message("say something")
        await recorder.wait_for("turn_done")  # fast pace: all audio arrived at once
        item_id = recorder.payloads("audio")[0].item_id
        transport.interrupt()
        await wait_until(lambda: "conversation.item.truncate" in kit.client_types())
        events = kit.emulator.client_events()
        truncate = next(e for e in events if e["type"] == "conversation.item.truncate")
        assert truncate["item_id"] == item_id
        assert 0 <= truncate["audio_end_ms"] <= recorder.received_ms(item_id)
        assert "response.cancel" not in kit.client_types()  # nothing was running
        await recorder.wait_for("conversation.item.truncated")
        await transport.close()

    async def test_interrupt_when_idle_sends_nothing(self, kit: Kit) -> None:
        transport, _ = await kit.connected(requires=("client_side_truncation",))
        sent = len(kit.emulator.client_events())
        transport.interrupt()
        await asyncio.sleep(0.1)
        assert len(kit.emulator.client_events()) == sent
        await transport.close()

    # -- sequencing --------------------------------------------------------------------------

    async def test_response_create_waits_for_the_running_response(self, paced_kit: Kit) -> None:
        kit = paced_kit
        transport, recorder = await kit.connected({"output_modalities": ["text"]})
        transport.send_message("first")
        transport.send_message("second")
        await wait_until(lambda: kit.client_types().count("conversation.item.create") == 2)
        creates = [
            t for t in kit.client_types() if t in ("conversation.item.create", "response.create")
        ]
        assert creates == [
            "conversation.item.create",
            "response.create",
            "conversation.item.create",
        ], (
            f"a second response.create was sent while the first response was still active "
            f"(client events: {creates}); the server refuses it with "
            f"conversation_already_has_active_response. {SEQUENCING_FIX}"
        )
        await recorder.wait_for("turn_done", count=2, timeout=15)
        assert kit.client_types().count("response.create") == 2
        assert not [e for e in recorder.payloads("error") if e.source == "server"]
        await transport.close()

    async def test_response_create_waits_for_response_done_after_audio(self, kit: Kit) -> None:
        """Audio variant: the line frees on ``response.done``, not on ``output_audio.done``. The
        server pauses 300 ms between them, so a create sent on ``output_audio.done`` would
        collide with the running response."""
        async with EmulatorDriver(
            pace="realtime",
            chunk_ms=20,
            response_done_delay_ms=300,
            script={"default": {"text": "Okay."}},  # short replies: paced audio stays brief
        ) as emu:
            kit = kit.using(emu)
            transport, recorder = await kit.connected(
                requires=("sends_audio", "receives_audio_events")
            )
            transport.send_message("first")
            await recorder.wait_for("turn_started")
            transport.send_message("second")
            await recorder.wait_for("audio_done")
            # the first response is still running: the second create must wait
            assert kit.client_types().count("response.create") == 1
            first_done = await recorder.wait_for("turn_done", timeout=10)
            assert first_done.status == "completed"
            await recorder.wait_for("turn_done", count=2, timeout=10)
            assert kit.client_types().count("response.create") == 2
            server_errors = [e for e in recorder.payloads("error") if e.source == "server"]
            assert not server_errors, [e.message for e in server_errors]
            await transport.close()

    # -- errors and robustness ---------------------------------------------------------------

    async def test_server_error_becomes_error_event_and_session_continues(self, kit: Kit) -> None:
        transport, recorder = await kit.connected({"output_modalities": ["text"]})
        transport.send_event({"type": "conversation.item.delete", "item_id": "item_missing"})
        error: ErrorEvent = await recorder.wait_for("error")
        assert error.source == "server" and error.message and error.error["type"] == "error"
        transport.send_message("still there?")
        await recorder.wait_for("turn_done")
        assert transport.status == "connected"
        await transport.close()

    async def test_malformed_and_unknown_frames_are_tolerated(self, kit: Kit) -> None:
        async with EmulatorDriver(faults="malformed_after:4,unknown_after:5") as emulator:
            kit = kit.using(emulator)
            transport, recorder = await kit.connected({"output_modalities": ["text"]})
            transport.send_message("hello")
            await recorder.wait_for("turn_done")
            await wait_until(lambda: any(e.source == "parse" for e in recorder.payloads("error")))
            raw_types = [e["type"] for e in recorder.payloads("*")]
            assert any(t not in emulator.known_server_event_types for t in raw_types)
            assert transport.status == "connected"
            await transport.close()

    async def test_drop_mid_response_disconnects_cleanly(self, kit: Kit) -> None:
        async with EmulatorDriver(faults="reset_after:9", response_latency_ms=50) as emulator:
            kit = kit.using(emulator)
            before = _tasks()
            transport, recorder = await kit.connected()
            transport.send_message("hello")
            disconnected = await recorder.wait_for("disconnected", hint=DISCONNECTED_FIX)
            assert disconnected.reason
            assert transport.status == "disconnected"
            assert any(e.source == "transport" for e in recorder.payloads("error"))
            with pytest.raises(TransportNotConnectedError, match="not connected"):
                transport.send_event({"type": "response.cancel"})
            sends_audio = (kit._capabilities or transport.capabilities).sends_audio
            if sends_audio:
                # dropped by the server, not closed by the app: audio is dropped and counted
                dropped = transport.dropped_audio_chunks
                transport.send_audio(b"\x00\x00" * 240)
                assert transport.dropped_audio_chunks == dropped + 1
            await transport.close()
            if sends_audio:
                with pytest.raises(TransportNotConnectedError):
                    transport.send_audio(b"\x00\x00" * 240)  # after close(): raises
            await _settle(before)

    async def test_api_key_never_in_logs_errors_or_exceptions(
        self, kit: Kit, caplog: pytest.LogCaptureFixture
    ) -> None:
        secret = "sk-conformance-SECRET-0123456789"
        caplog.set_level(logging.DEBUG)
        transport, recorder = kit.make()
        with pytest.raises(AuthenticationError) as info:  # the emulator takes only the test key
            await asyncio.wait_for(transport.connect(**kit.connect_kwargs(api_key=secret)), 10)
        texts = [str(info.value), repr(info.value), caplog.text]
        texts += [e.message for e in recorder.payloads("error")]
        for text in texts:
            assert secret not in text, "the API key leaked into a message"
        await transport.close()


def _status(transport: RealtimeTransportLayer) -> str:
    return str(transport.status)


def _tasks() -> set[asyncio.Task[Any]]:
    return {t for t in asyncio.all_tasks() if not t.done()}


async def _settle(before: set[asyncio.Task[Any]], timeout: float = 3.0) -> None:
    """Wait until no task created since ``before`` is still running (fail otherwise)."""
    current = asyncio.current_task()

    def leftovers() -> list[asyncio.Task[Any]]:
        return [t for t in _tasks() - before if t is not current and not _is_server_task(t)]

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while leftovers():  # polled inline: a wait_for() here would itself be a new task
        if loop.time() > deadline:
            names = ", ".join(sorted({repr(t.get_coro()) for t in leftovers()}))
            raise AssertionError(f"tasks still running after close(): {names}")
        await asyncio.sleep(0.01)


def _is_server_task(task: asyncio.Task[Any]) -> bool:
    coro = task.get_coro()
    module = getattr(getattr(coro, "cr_frame", None), "f_globals", {}).get("__name__", "")
    return bool(module) and module.startswith(
        ("realtime_transport_emulator", "websockets.asyncio.server", "uvicorn", "starlette")
    )
