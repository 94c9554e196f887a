"""Twilio messages from a ``websockets`` connection by callback: no reader task, no queue hop.

A ``websockets`` asyncio connection parses each frame inside its protocol's ``data_received``
and puts data frames into its message assembler (``connection.recv_messages``); ``recv()`` then
wakes a task through a future. At 100 Twilio messages a second per call (media in, mark echoes),
that wake-up (a future, a task step, one more event-loop iteration with its ``epoll_wait``, the
UTF-8 decode) cost more than the message itself. :class:`MessageTap` stands in for the
assembler while the transport reads: each complete message goes straight to a callback, still
inside ``data_received``. websockets keeps doing everything else (parsing, UTF-8-agnostic
framing checks, ping/pong, close, keepalive).

The tap is installed only when the connection has nothing queued (so no message can overtake
one received earlier) and removed when the transport stops reading: from then on ``recv()``
works as before, with any half-received fragmented message handed back to websockets.

:class:`BufferedReads` goes under the connection for the same reason: websockets' connection is
a plain ``asyncio.Protocol``, which the default loop reads with a fresh 256 KiB ``recv`` per
message (an ``mmap``/``munmap`` pair and page faults, more than the whole message costs). As a
``BufferedProtocol`` it reads into one reused buffer and hands websockets the same bytes.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any, cast

from websockets.frames import Opcode

__all__ = ["BufferedReads", "MessageTap", "OnClosed", "OnMessage"]

#: A complete text or binary message (UTF-8 is checked by the JSON parser, not here).
OnMessage = Callable[[bytes], None]
#: The connection is gone (closing handshake done or connection lost).
OnClosed = Callable[[], None]


class MessageTap:
    """The assembler of a ``websockets`` connection while the transport reads it."""

    __slots__ = ("_connection", "_fragments", "_inner", "_on_closed", "_on_message", "closed")

    def __init__(self, connection: Any, on_message: OnMessage, on_closed: OnClosed) -> None:
        self._connection = connection
        self._inner = connection.recv_messages
        self._on_message = on_message
        self._on_closed = on_closed
        self._fragments: list[Any] = []  # frames of a fragmented message (rare on Twilio)
        self.closed = False

    @staticmethod
    def can_install(connection: Any) -> bool:
        """True when ``connection`` has the assembler this tap replaces, with nothing queued
        and nobody in ``recv()`` (anything else: the caller reads with ``recv()``)."""
        inner = getattr(connection, "recv_messages", None)
        frames = getattr(inner, "frames", None)
        try:
            queued = len(frames)  # type: ignore[arg-type]
        except TypeError:
            return False
        return (
            queued == 0
            and getattr(inner, "get_in_progress", True) is False
            and getattr(inner, "closed", True) is False
            and callable(getattr(inner, "put", None))
        )

    def install(self) -> None:
        self._connection.recv_messages = self

    def uninstall(self) -> None:
        """Give the connection its assembler back (with any partial fragmented message)."""
        if self._connection.recv_messages is self:
            self._connection.recv_messages = self._inner
        fragments, self._fragments = self._fragments, []
        if not self.closed:
            for frame in fragments:
                self._inner.put(frame)

    # -- the assembler interface websockets' connection calls --------------------------------

    def put(self, frame: Any) -> None:
        """A data frame parsed by websockets (only text, binary and continuation get here)."""
        if self.closed:
            raise EOFError("stream of frames ended")
        continuation = frame.opcode is Opcode.CONT
        if frame.fin and not continuation and not self._fragments:
            self._on_message(bytes(frame.data))  # bytes(bytes) is the same object: no copy
            return
        fragments = self._fragments
        if continuation and not fragments:
            return  # websockets rejects this before it gets here; nothing to attach it to
        fragments.append(frame)  # websockets bounds the whole message by its max_size
        if frame.fin:
            self._fragments = []
            self._on_message(b"".join(bytes(f.data) for f in fragments))

    def close(self) -> None:
        """Called by websockets when the connection closes."""
        if self.closed:
            return
        self.closed = True
        self._inner.close()
        self._on_closed()

    def __getattr__(self, name: str) -> Any:
        # Anything else websockets (or its users) reach for is the real assembler's.
        return getattr(self._inner, name)


_READ_SIZE = 64 * 1024
_buffers = threading.local()


def _read_buffer() -> memoryview:
    """This thread's read buffer, shared by its connections: the loop calls
    ``buffer_updated`` right after filling it, before any other callback runs."""
    view: memoryview | None = getattr(_buffers, "view", None)
    if view is None:
        view = _buffers.view = memoryview(bytearray(_READ_SIZE))
    return view


class BufferedReads(asyncio.BufferedProtocol):
    """Between a transport and its plain protocol: reads into a reused buffer, passes on the
    bytes and every other callback unchanged (so the protocol sees exactly what it would)."""

    __slots__ = ("_inner", "_view")

    def __init__(self, inner: asyncio.Protocol) -> None:
        self._inner = inner
        self._view = _read_buffer()

    @classmethod
    def install(cls, transport: asyncio.BaseTransport) -> bool:
        """Put a reader under ``transport``'s protocol (once); False if it cannot be."""
        inner = transport.get_protocol()
        if isinstance(inner, BufferedReads):
            return True
        if isinstance(inner, asyncio.BufferedProtocol) or not callable(
            getattr(inner, "data_received", None)
        ):
            return False
        transport.set_protocol(cls(cast("asyncio.Protocol", inner)))
        return True

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._view

    def buffer_updated(self, nbytes: int) -> None:
        self._inner.data_received(self._view[:nbytes].tobytes())

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._inner.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()
