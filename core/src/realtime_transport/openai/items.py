"""Conversions between wire items (snake_case dicts) and :mod:`realtime_transport.events` items."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, cast

from .._json import loads
from ..errors import UserError
from ..events import (
    FunctionCallEvent,
    RealtimeItem,
    RealtimeMcpApprovalRequestItem,
    RealtimeMessageItem,
    RealtimeToolCallItem,
)

_LEGACY_ASSISTANT_PARTS = {"audio": "output_audio", "text": "output_text"}


def message_item(
    item: Mapping[str, Any], previous_item_id: str | None, default_status: str
) -> RealtimeMessageItem:
    """A wire message item as a :class:`RealtimeMessageItem` (tolerant of unknown part types)."""
    role = item.get("role")
    if role not in ("system", "user", "assistant"):
        role = "user"
    content = [dict(part) for part in item.get("content") or () if isinstance(part, Mapping)]
    if role == "assistant":
        for part in content:
            renamed = _LEGACY_ASSISTANT_PARTS.get(part.get("type", ""))
            if renamed:
                part["type"] = renamed
    status = item.get("status") or (default_status if role != "system" else None)
    return RealtimeMessageItem(
        item_id=str(item.get("id") or ""),
        role=cast(Literal["system", "user", "assistant"], role),
        content=content,
        status=status,
        previous_item_id=previous_item_id,
    )


def tool_call_item(
    item: Mapping[str, Any], previous_item_id: str | None, status: str
) -> RealtimeToolCallItem:
    return RealtimeToolCallItem(
        item_id=str(item.get("id") or ""),
        name=str(item.get("name") or ""),
        arguments=str(item.get("arguments") or ""),
        status=status,
        output=item.get("output"),
        previous_item_id=previous_item_id,
        type=item.get("type", "function_call"),
    )


def answered_call_item(call: FunctionCallEvent, output: str) -> RealtimeToolCallItem:
    """The history item of a function call once its output was sent."""
    return RealtimeToolCallItem(
        item_id=call.item_id,
        name=call.name,
        arguments=call.arguments,
        status="completed",
        output=output,
        previous_item_id=call.previous_item_id,
    )


def approval_request_item(
    item: Mapping[str, Any], previous_item_id: str | None
) -> RealtimeMcpApprovalRequestItem:
    raw_arguments = item.get("arguments") or "{}"
    try:
        arguments = loads(raw_arguments) if isinstance(raw_arguments, str) else raw_arguments
    except ValueError:
        arguments = {"_raw": raw_arguments}
    return RealtimeMcpApprovalRequestItem(
        item_id=str(item.get("id") or ""),
        server_label=str(item.get("server_label") or ""),
        name=str(item.get("name") or ""),
        arguments=arguments if isinstance(arguments, dict) else {"_value": arguments},
        approved=item.get("approved"),
        previous_item_id=previous_item_id,
    )


def user_message_event(
    message: str | Sequence[Mapping[str, Any]], other_event_data: Mapping[str, Any] | None
) -> dict[str, Any]:
    """``conversation.item.create`` for a user message (string or content parts)."""
    if isinstance(message, str):
        content: list[dict[str, Any]] = [{"type": "input_text", "text": message}]
    else:
        content = []
        for part in message:
            kind = part.get("type")
            if kind == "input_text":
                content.append({"type": "input_text", "text": part.get("text", "")})
            elif kind == "input_image":
                image = part.get("image") or part.get("image_url")
                extra = dict(part.get("provider_data") or {})
                image_part = {"type": "input_image", "image_url": image, **extra}
                if part.get("detail"):
                    image_part["detail"] = part["detail"]
                content.append(image_part)
            elif kind == "input_audio":
                content.append(dict(part))
            else:
                raise UserError(
                    f"unsupported message part type {kind!r}; use input_text, input_image or "
                    "input_audio parts (or a plain string)"
                )
    event: dict[str, Any] = {
        "type": "conversation.item.create",
        "item": {"type": "message", "role": "user", "content": content},
    }
    if other_event_data:
        event.update(other_event_data)
    return event


def mcp_approval_response_event(
    approval_item_id: str, approve: bool, reason: str | None = None
) -> dict[str, Any]:
    """``conversation.item.create`` answering a hosted MCP approval request."""
    item: dict[str, Any] = {
        "type": "mcp_approval_response",
        "approval_request_id": approval_item_id,
        "approve": approve,
    }
    if reason is not None:
        item["reason"] = reason
    return {"type": "conversation.item.create", "previous_item_id": approval_item_id, "item": item}


def history_sync_events(
    old: Sequence[RealtimeItem], new: Sequence[RealtimeItem]
) -> tuple[list[dict[str, Any]], list[str]]:
    """Events that turn the server conversation ``old`` into ``new``, order included.

    Deletes first (items gone, changed, or out of order), then creates in ``new``'s order, each
    with ``previous_item_id`` (the item before it, ``"root"`` for the first) so the server's
    conversation ends up in the order given. Returns the events and warnings (function-call
    items cannot be recreated and are skipped). Assistant audio cannot be replayed: raises
    :class:`UserError` before anything is sent.
    """
    old_by_id = {item.item_id: item for item in old}
    old_index = {item.item_id: index for index, item in enumerate(old)}
    new_ids = {item.item_id for item in new}
    removed = [item for item in old if item.item_id not in new_ids]
    recreate: set[str] = set()
    last_kept = -1
    for item in new:
        index = old_index.get(item.item_id)
        if index is None:
            recreate.add(item.item_id)
        elif _comparable(old_by_id[item.item_id]) != _comparable(item) or index < last_kept:
            recreate.add(item.item_id)  # changed, or moved before an item it used to follow
        else:
            last_kept = index
    for item in new:
        if item.item_id in recreate and isinstance(item, RealtimeMessageItem):
            if item.role == "assistant" and any(
                part.get("type") == "output_audio" for part in item.content
            ):
                raise UserError(
                    f"cannot replay assistant item {item.item_id!r}: it holds output_audio "
                    "content. Convert it to output_text before resetting the history."
                )
    events: list[dict[str, Any]] = [
        {"type": "conversation.item.delete", "item_id": item.item_id}
        for item in (
            *removed,
            *(i for i in new if i.item_id in recreate and i.item_id in old_index),
        )
    ]
    warnings: list[str] = []
    previous = "root"
    for item in new:
        if item.item_id in recreate:
            if not isinstance(item, RealtimeMessageItem):
                warnings.append(
                    f"skipped {item.type} item {item.item_id!r}: it cannot be recreated"
                )
                continue
            wire: dict[str, Any] = {
                "type": "message",
                "role": item.role,
                "content": item.content,
                "id": item.item_id,
            }
            if item.role != "system" and item.status:
                wire["status"] = item.status
            events.append(
                {"type": "conversation.item.create", "previous_item_id": previous, "item": wire}
            )
        previous = item.item_id
    return events, warnings


def _comparable(item: RealtimeItem) -> tuple[Any, ...]:
    if isinstance(item, RealtimeMessageItem):
        return (item.type, item.role, item.content, item.status)
    if isinstance(item, RealtimeToolCallItem):
        return (item.type, item.name, item.arguments, item.status, item.output)
    return (item.type, item.name, item.arguments, item.approved)
