"""The one writer to the Twilio socket: a bounded, ordered queue drained by one task.

Frames are queued synchronously from the receive path and written in order by one task, so
``media``/``mark``/``clear`` never interleave. ``clear`` first drops queued audio and marks (they
belong to the interrupted reply and the caller must not hear them). Messages wait until the
stream's ``start`` gave a ``streamSid``. When the queue is full, audio is dropped (and reported
once) rather than letting memory grow; ``clear`` is never dropped. Queued messages go out in one
write when the socket supports ``send_texts`` (a frame and its mark: one syscall, not two). A
write pending longer than the send timeout is detected by the transport's watchdog.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Callable

from .media_socket import TwilioMediaSocket

__all__ = ["TwilioSender"]

_MEDIA, _MARK, _CLEAR, _RAW = 0, 1, 2, 3


class TwilioSender:
    __slots__ = (
        "_entries",
        "_max",
        "_nowait",
        "_on_failure",
        "_on_overflow",
        "_sid",
        "_socket",
        "_task",
        "_timeout",
        "_wake",
        "dropped",
        "sending_since",
        "sent_media",
    )

    def __init__(
        self,
        socket: TwilioMediaSocket,
        *,
        on_failure: Callable[[BaseException], None],
        on_overflow: Callable[[], None],
        max_messages: int,
        send_timeout: float,
    ) -> None:
        self._socket = socket
        self._on_failure = on_failure
        self._on_overflow = on_overflow
        self._max = max_messages
        self._timeout = send_timeout
        self._entries: deque[tuple[int, str]] = deque()
        self._wake = asyncio.Event()
        self._sid: str | None = None
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0
        self.sent_media = 0
        self.sending_since: float | None = None
        self._nowait = getattr(socket, "send_texts_nowait", None)

    def set_stream_sid(self, sid: str) -> None:
        self._sid = json.dumps(sid)
        self.flush()

    def forget_stream(self) -> None:
        self._sid = None
        self._entries.clear()

    def media(self, payload_b64: str) -> bool:
        if len(self._entries) >= self._max:
            self.dropped += 1
            if self.dropped == 1:
                self._on_overflow()
            return False
        self._entries.append((_MEDIA, payload_b64))
        return True

    def mark(self, name: str) -> None:
        self._entries.append((_MARK, json.dumps(name)))

    def clear(self) -> None:
        """Drop queued audio and marks, then queue ``clear`` for what Twilio already has."""
        self._entries.clear()
        self._entries.append((_CLEAR, ""))
        self.flush()

    def flush(self) -> None:
        """Send what is queued: at once when the socket can take it without waiting (no task
        switch per frame), else by the writer task. Call after queueing media and marks."""
        entries = self._entries
        if not entries:
            return
        nowait = self._nowait
        if nowait is not None and self._sid is not None and self.sending_since is None:
            try:
                while entries:
                    batch = self._take(entries, self._sid)
                    if not nowait(batch):
                        entries.extendleft(reversed(self._untake(batch)))
                        break
            except Exception as exc:
                self._on_failure(exc)
                return
            if not entries:
                return
        self._wake.set()

    def drop_audio(self) -> None:
        self._entries.clear()

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="twilio-sender")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            try:
                await task
            except BaseException:
                pass

    async def _run(self) -> None:
        entries = self._entries
        socket = self._socket
        send_many = getattr(socket, "send_texts", None)
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while entries and self._sid is not None:
                    batch = self._take(entries, self._sid)
                    self.sending_since = time.monotonic()
                    if send_many is not None and len(batch) > 1:
                        await send_many(batch)
                    else:
                        for text in batch:
                            await socket.send_text(text)
                    self.sending_since = None
                    if self._task is not asyncio.current_task():
                        return
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            self._on_failure(exc)

    def _take(self, entries: deque[tuple[int, str]], sid: str) -> list[str]:
        """Up to 32 queued messages as text (one write for a frame and its mark, or more)."""
        batch: list[str] = []
        while entries and len(batch) < 32:
            kind, value = entries.popleft()
            if kind == _MEDIA:
                batch.append(
                    f'{{"event":"media","streamSid":{sid},"media":{{"payload":"{value}"}}}}'
                )
                self.sent_media += 1
            elif kind == _MARK:
                batch.append(f'{{"event":"mark","streamSid":{sid},"mark":{{"name":{value}}}}}')
            elif kind == _RAW:
                batch.append(value)
                if value.startswith('{"event":"media"'):
                    self.sent_media += 1
            else:
                batch.append(f'{{"event":"clear","streamSid":{sid}}}')
        return batch

    def _untake(self, batch: list[str]) -> list[tuple[int, str]]:
        """Back to queue entries (rare: the socket could not take a batch without waiting)."""
        entries: list[tuple[int, str]] = []
        for text in batch:
            if text.startswith('{"event":"media"'):
                self.sent_media -= 1
            entries.append((_RAW, text))
        return entries

    def stalled(self, now: float) -> bool:
        """A write has been pending for longer than the send timeout."""
        since = self.sending_since
        return since is not None and now - since > self._timeout

    def fail(self, exc: BaseException) -> None:
        """Give up on a stalled write: stop the task and report."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
        self.sending_since = None
        self._on_failure(exc)
