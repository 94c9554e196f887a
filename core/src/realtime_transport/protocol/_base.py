"""The base model: unknown fields are kept (and dumped back), so nothing the server adds is lost."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class RealtimeModel(BaseModel):
    """Base of every protocol model: ``extra="allow"``, snake_case field names as on the wire.

    ``model_dump(exclude_unset=True)`` gives back exactly the keys that were given (including
    unknown ones), which is what the wire needs: unset keys omitted, explicit ``None`` kept.
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    def to_wire(self) -> dict[str, Any]:
        """The JSON-ready dict for the wire: only the keys that were set, ``None`` kept."""
        return self.model_dump(mode="json", exclude_unset=True)
