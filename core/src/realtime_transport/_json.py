"""JSON in and out: orjson when installed (several times faster on the per-event path)."""

from __future__ import annotations

import json
from typing import Any

try:
    import orjson

    def dumps(obj: Any) -> bytes:
        """Serialise to UTF-8 JSON bytes (what a WebSocket text frame carries)."""
        return orjson.dumps(obj)

    def loads(data: str | bytes | bytearray | memoryview) -> Any:
        return orjson.loads(data)

    JSONDecodeError: type[ValueError] = orjson.JSONDecodeError

except ImportError:  # pragma: no cover - orjson is a dependency, this is a safety net

    def dumps(obj: Any) -> bytes:
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()

    def loads(data: str | bytes | bytearray | memoryview) -> Any:
        if isinstance(data, memoryview):
            data = bytes(data)
        return json.loads(data)

    JSONDecodeError = json.JSONDecodeError
