"""``multipart/form-data`` bodies parsed by python-multipart (the unified WebRTC calls flow).

:func:`parse_form` returns the parts by field name, or raises :class:`HttpError` with the API's
error shape (400 for a malformed body, 415 for another content type) so a handler never sees a
half-parsed form.
"""

from __future__ import annotations

from dataclasses import dataclass

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from realtime_transport_emulator.net.routing import HttpError, HttpRequest, HttpResponse

__all__ = ["FormPart", "parse_form"]

MAX_PARTS = 16


@dataclass(frozen=True)
class FormPart:
    name: str
    content_type: str
    data: bytes
    filename: str | None = None

    def text(self) -> str:
        """The part decoded as UTF-8 (SDP and JSON parts are text)."""
        try:
            return self.data.decode("utf-8")
        except UnicodeDecodeError:
            raise _bad(f"The '{self.name}' part is not UTF-8 text.") from None


def _bad(message: str, status: int = 400) -> HttpError:
    return HttpError(HttpResponse.error(status, message, code="invalid_multipart"))


class _Collector:
    """python-multipart callbacks gathering each part's headers and bytes."""

    def __init__(self) -> None:
        self.parts: list[FormPart] = []
        self.finished = False
        self._headers: dict[bytes, bytes] = {}
        self._field = bytearray()
        self._value = bytearray()
        self._data = bytearray()

    def on_part_begin(self) -> None:
        self._headers, self._data = {}, bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[bytes(self._field).lower()] = bytes(self._value)
        self._field, self._value = bytearray(), bytearray()

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        self._data += data[start:end]

    def on_part_end(self) -> None:
        if len(self.parts) >= MAX_PARTS:
            raise _bad(f"Too many parts in the form (limit {MAX_PARTS}).")
        disposition, options = parse_options_header(self._headers.get(b"content-disposition"))
        if disposition != b"form-data" or b"name" not in options:
            raise _bad("Each part needs 'Content-Disposition: form-data; name=\"...\"'.")
        content_type, _ = parse_options_header(self._headers.get(b"content-type"))
        filename = options.get(b"filename")
        self.parts.append(
            FormPart(
                options[b"name"].decode("utf-8", "replace"),
                content_type.decode("latin-1") or "text/plain",
                bytes(self._data),
                filename.decode("utf-8", "replace") if filename is not None else None,
            )
        )

    def on_end(self) -> None:
        self.finished = True


def parse_form(request: HttpRequest) -> dict[str, FormPart]:
    """The form's parts by name (the last wins for a repeated name)."""
    content_type, options = parse_options_header(request.header("Content-Type") or "")
    if content_type != b"multipart/form-data":
        raise _bad("Expected Content-Type: multipart/form-data; boundary=...", status=415)
    boundary = options.get(b"boundary")
    if not boundary:
        raise _bad("The multipart/form-data Content-Type has no boundary parameter.")
    collector = _Collector()
    callbacks = {
        "on_part_begin": collector.on_part_begin,
        "on_header_field": collector.on_header_field,
        "on_header_value": collector.on_header_value,
        "on_header_end": collector.on_header_end,
        "on_part_data": collector.on_part_data,
        "on_part_end": collector.on_part_end,
        "on_end": collector.on_end,
    }
    try:
        parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
        parser.write(request.body)
        parser.finalize()
    except MultipartParseError as exc:
        raise _bad(f"Malformed multipart body: {exc}.") from None
    if not collector.finished:
        raise _bad("The multipart body ended before its closing boundary.")
    return {part.name: part for part in collector.parts}
