"""The server events of one response's output: a message, then function calls, paced.

For each output item the sequence is the real server's: ``response.output_item.added`` (and
``conversation.item.added`` in the default conversation), a content part with its deltas
(audio chunks with transcript deltas in step, or text deltas, or function-call argument
deltas), the ``.done`` events, ``response.output_item.done``. Every step checks whether the
response was cancelled or failed, so a stop closes the open item at once with status
``incomplete``. Pacing is real time (``pace="realtime"``) or as fast as the socket takes it.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from realtime_transport_emulator.model.audio import bytes_for, duration_ms
from realtime_transport_emulator.model.script import FunctionCall, Reply
from realtime_transport_emulator.model.synth import Speech
from realtime_transport_emulator.session import errors
from realtime_transport_emulator.session.content import compose_message, fit_to_budget, word_deltas
from realtime_transport_emulator.session.conversation import Item
from realtime_transport_emulator.session.usage import tokens

if TYPE_CHECKING:
    from realtime_transport_emulator.session.responses import Response
    from realtime_transport_emulator.session.session import RealtimeSession

ARGUMENT_CHUNK = 16  # characters per function_call_arguments.delta


class ResponseStream:
    """Streams one response's output items; the response's closing events are the caller's."""

    def __init__(self, session: RealtimeSession, response: Response) -> None:
        self.session = session
        self.response = response

    async def run(self, reply: Reply, user_text: str) -> list[str]:
        """Stream the reply's message and calls; returns the call ids that were streamed."""
        response = self.response
        await response.sleep(self.session.options.response_latency_ms / 1000)
        budget = response.max_output_tokens if isinstance(response.max_output_tokens, int) else None
        output_index = 0
        if reply.echo or reply.text is not None:
            audio_format = response.output_format if "audio" in response.modalities else None
            text, speech = compose_message(reply, user_text, response.context, audio_format)
            if budget is not None:
                text, speech, budget, cut = fit_to_budget(text, speech, budget)
                if cut:
                    response.incomplete_reason = "max_output_tokens"
            if not response.stopped:
                await self._message(output_index, text, speech)
                output_index += 1
        call_ids: list[str] = []
        for call in reply.function_calls:
            if response.stopped:
                break
            if budget is not None:
                cost = tokens(str(call.arguments))
                if cost > budget:
                    response.incomplete_reason = "max_output_tokens"
                    break
                budget -= cost
            call_ids.append(await self._call(output_index, call))
            output_index += 1
        return call_ids

    # ------------------------------------------------------------------ output items

    async def _message(self, output_index: int, text: str, speech: Speech | None) -> None:
        item = self._new_item("message", role="assistant", content=[])
        previous = await self._open_item(output_index, item)
        ids = self._ids(output_index, item)
        if speech is not None:
            part: dict[str, Any] = {"type": "audio", "transcript": ""}
        else:
            part = {"type": "text", "text": ""}
        await self.session.send("response.content_part.added", **ids, content_index=0, part=part)
        start = asyncio.get_running_loop().time()
        if speech is not None:
            said = await self._speak(ids, item, speech, start)
            part = {"type": "audio", "transcript": said}
        else:
            said = await self._write(ids, item, text, start)
            part = {"type": "text", "text": said}
        self.response.output_text_tokens += tokens(said)
        await self.session.send("response.content_part.done", **ids, content_index=0, part=part)
        await self._close_item(output_index, item, previous)

    async def _speak(self, ids: dict[str, Any], item: Item, speech: Speech, start: float) -> str:
        """Audio chunks, each preceded by the transcript of the words that start in it."""
        session, response = self.session, self.response
        fmt = speech.fmt
        content: dict[str, Any] = {"type": "output_audio", "transcript": ""}
        item.wire["content"] = [content]
        item.audio[0] = bytearray()
        item.audio_format[0] = fmt
        chunk = max(fmt.sample_width, bytes_for(session.options.chunk_ms, fmt))
        words = list(speech.words)
        next_word = 0
        said = ""
        for offset in range(0, len(speech.audio), chunk):
            await self._pace(start, duration_ms(offset, fmt) / 1000)
            if response.stopped:
                break
            piece = speech.audio[offset : offset + chunk]
            end_ms = duration_ms(offset + len(piece), fmt)
            while next_word < len(words) and words[next_word][1] < end_ms:
                word = words[next_word][0]
                next_word += 1
                said += word
                content["transcript"] = said
                await self._transcript_delta(ids, word)
            await session.emit_audio(ids, piece, fmt)
            item.audio[0] += piece
            response.audio_ms += duration_ms(len(piece), fmt)
            session.assistant_audio_sent = True
            await self._maybe_fail()
        if not response.stopped:
            for word, _ in words[next_word:]:
                said += word
                await self._transcript_delta(ids, word)
        content["transcript"] = said
        await session.send("response.output_audio.done", **ids, content_index=0)
        await session.send(
            "response.output_audio_transcript.done", **ids, content_index=0, transcript=said
        )
        return said

    async def _transcript_delta(self, ids: dict[str, Any], word: str) -> None:
        await self.session.send(
            "response.output_audio_transcript.delta", **ids, content_index=0, delta=word
        )

    async def _write(self, ids: dict[str, Any], item: Item, text: str, start: float) -> str:
        """Text deltas, one word each."""
        session, response = self.session, self.response
        content = {"type": "output_text", "text": ""}
        item.wire["content"] = [content]
        said = ""
        for index, delta in enumerate(word_deltas(text)):
            await self._pace(start, index * session.options.text_delta_ms / 1000)
            if response.stopped:
                break
            if not delta:
                continue
            said += delta
            content["text"] = said
            await session.send("response.output_text.delta", **ids, content_index=0, delta=delta)
            await self._maybe_fail()
        await session.send("response.output_text.done", **ids, content_index=0, text=said)
        return said

    async def _call(self, output_index: int, call: FunctionCall) -> str:
        session, response = self.session, self.response
        call_id = call.call_id or session.ids.new("call")
        arguments = str(call.arguments)
        item = self._new_item("function_call", name=call.name, call_id=call_id, arguments="")
        previous = await self._open_item(output_index, item)
        ids = self._ids(output_index, item)
        start = asyncio.get_running_loop().time()
        sent = ""
        for index, offset in enumerate(range(0, len(arguments), ARGUMENT_CHUNK)):
            await self._pace(start, index * session.options.text_delta_ms / 1000)
            if response.stopped:
                break
            delta = arguments[offset : offset + ARGUMENT_CHUNK]
            sent += delta
            item.wire["arguments"] = sent
            await session.send(
                "response.function_call_arguments.delta", **ids, call_id=call_id, delta=delta
            )
            await self._maybe_fail()
        if not response.stopped:
            item.wire["arguments"] = arguments
            await session.send(
                "response.function_call_arguments.done",
                **ids,
                call_id=call_id,
                name=call.name,
                arguments=arguments,
            )
        response.output_text_tokens += tokens(str(item.wire["arguments"]))
        await self._close_item(output_index, item, previous)
        return call_id

    # ------------------------------------------------------------------ helpers

    def _new_item(self, kind: str, **fields: Any) -> Item:
        """An output item as ``response.output_item.added`` shows it."""
        item_id = self.session.ids.new("item")
        wire = {"id": item_id, "object": "realtime.item", "type": kind, "status": "in_progress"}
        return Item(wire={**wire, **fields})

    def _ids(self, output_index: int, item: Item) -> dict[str, Any]:
        return {"response_id": self.response.id, "item_id": item.id, "output_index": output_index}

    async def _open_item(self, output_index: int, item: Item) -> str | None:
        """Add the item to the output (and the conversation); returns the previous item id."""
        previous = None
        if self.response.default_conversation:
            previous = self.session.conversation.insert(item)
        self.response.output.append(item)
        await self._announce("added", output_index, item, previous)
        return previous

    async def _close_item(self, output_index: int, item: Item, previous: str | None) -> None:
        item.wire["status"] = "incomplete" if self.response.stopped else "completed"
        await self._announce("done", output_index, item, previous)

    async def _announce(
        self, stage: str, output_index: int, item: Item, previous: str | None
    ) -> None:
        """``response.output_item.<stage>``, then ``conversation.item.<stage>`` if it is in one."""
        response = self.response
        await self.session.send(
            f"response.output_item.{stage}",
            response_id=response.id,
            output_index=output_index,
            item=item.public(),
        )
        if response.default_conversation:
            await self.session.send(
                f"conversation.item.{stage}", previous_item_id=previous, item=item.public()
            )

    async def _pace(self, start: float, offset_s: float) -> None:
        """Wait until ``offset_s`` after ``start`` (realtime pace), else just yield."""
        if self.session.options.pace == "realtime":
            loop = asyncio.get_running_loop()
            await self.response.sleep(start + offset_s - loop.time())
        else:
            await asyncio.sleep(0)

    async def _maybe_fail(self) -> None:
        """Fault ``error_mid_response``: an ``error`` event after the first delta, then fail."""
        response = self.response
        response.deltas += 1
        if response.deltas == 1 and response.number == self.session.options.error_mid_response:
            error = errors.server_error()
            await self.session.send_error(error)
            response.fail({"type": error.type, "code": error.code, "message": error.message})
