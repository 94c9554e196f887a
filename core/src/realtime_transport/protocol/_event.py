"""Base class of client and server event models."""

from __future__ import annotations

from typing import Any

from ._base import RealtimeModel


class EventModel(RealtimeModel):
    """An event: ``type`` is always part of the dump, even when it came from the default.

    Subclasses declare ``type: Literal["…"] = "…"`` so ``ResponseCancelEvent()`` works, and
    ``to_wire()`` / ``model_dump(exclude_unset=True)`` still carry ``type``.
    """

    def model_post_init(self, context: Any, /) -> None:
        self.__pydantic_fields_set__.add("type")
