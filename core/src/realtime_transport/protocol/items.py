"""Conversation items, content parts, the response object, usage and error details (GA)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag

from ._base import RealtimeModel
from .session import AudioFormat, Prompt, Reasoning, ToolChoice, ToolDefinition, Voice

__all__ = [
    "CachedTokenDetails",
    "ClientConversationItem",
    "ContentPart",
    "ConversationItem",
    "ConversationRef",
    "ErrorDetail",
    "FunctionCallItem",
    "FunctionCallOutputItem",
    "InputTokenDetails",
    "ItemReference",
    "LogProb",
    "McpApprovalRequestItem",
    "McpApprovalResponseItem",
    "McpCallItem",
    "McpListToolsItem",
    "McpListedTool",
    "MessageItem",
    "OutputTokenDetails",
    "RateLimit",
    "RealtimeResponse",
    "ResponseAudio",
    "ResponseAudioOutput",
    "ResponseCreateParams",
    "ResponseInputItem",
    "ResponseStatusDetails",
    "ResponseUsage",
    "TranscriptionUsage",
    "UnknownItem",
]


class ContentPart(RealtimeModel):
    """A message content part or a ``response.content_part.*`` part.

    ``type``: ``input_text | input_audio | input_image`` (user/system), ``output_text |
    output_audio`` (assistant), ``text | audio`` (content-part events; also beta-era assistant
    content, which :func:`find_beta_fields` reports).
    """

    type: str | None = None
    text: str | None = None
    audio: str | None = None
    transcript: str | None = None
    image_url: str | None = None
    detail: str | None = None


class _Item(RealtimeModel):
    id: str | None = None
    object: str | None = None
    status: str | None = None


class MessageItem(_Item):
    """``{type: "message", role: system | user | assistant, content: [...]}``."""

    type: Literal["message"]
    role: str
    content: list[ContentPart] = Field(default_factory=list)


class FunctionCallItem(_Item):
    """A function call from the model; ``arguments`` is a JSON string (``""`` while streaming)."""

    type: Literal["function_call"]
    name: str
    arguments: str = ""
    call_id: str | None = None


class FunctionCallOutputItem(_Item):
    """The result of a function call, sent by the client."""

    type: Literal["function_call_output"]
    call_id: str
    output: str


class McpListedTool(RealtimeModel):
    name: str
    input_schema: Any = None
    description: str | None = None
    annotations: Any = None


class McpListToolsItem(_Item):
    type: Literal["mcp_list_tools"]
    server_label: str
    tools: list[McpListedTool] = Field(default_factory=list)


class McpCallItem(_Item):
    type: Literal["mcp_call"]
    name: str
    server_label: str
    arguments: str = ""
    approval_request_id: str | None = None
    output: str | None = None
    error: dict[str, Any] | None = None


class McpApprovalRequestItem(_Item):
    type: Literal["mcp_approval_request"]
    name: str
    server_label: str
    arguments: str = ""


class McpApprovalResponseItem(_Item):
    type: Literal["mcp_approval_response"]
    approval_request_id: str
    approve: bool
    reason: str | None = None


class ItemReference(_Item):
    """``{type: "item_reference", id}``: only valid inside ``response.create`` ``input``."""

    type: Literal["item_reference"]
    id: str


class UnknownItem(_Item):
    """An item of a type this library does not model (server events only; kept as given)."""

    type: str


_ITEM_TYPES = (
    "message",
    "function_call",
    "function_call_output",
    "mcp_list_tools",
    "mcp_call",
    "mcp_approval_request",
    "mcp_approval_response",
)


def _item_kind(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return kind if kind in _ITEM_TYPES else "unknown"


#: An item in a server event: unknown item types parse as :class:`UnknownItem`.
ConversationItem = Annotated[
    Annotated[MessageItem, Tag("message")]
    | Annotated[FunctionCallItem, Tag("function_call")]
    | Annotated[FunctionCallOutputItem, Tag("function_call_output")]
    | Annotated[McpListToolsItem, Tag("mcp_list_tools")]
    | Annotated[McpCallItem, Tag("mcp_call")]
    | Annotated[McpApprovalRequestItem, Tag("mcp_approval_request")]
    | Annotated[McpApprovalResponseItem, Tag("mcp_approval_response")]
    | Annotated[UnknownItem, Tag("unknown")],
    Discriminator(_item_kind),
]

#: An item a client may create: the known types only (the server rejects anything else).
ClientConversationItem = Annotated[
    MessageItem
    | FunctionCallItem
    | FunctionCallOutputItem
    | McpListToolsItem
    | McpCallItem
    | McpApprovalRequestItem
    | McpApprovalResponseItem,
    Field(discriminator="type"),
]

#: An entry of ``response.create`` ``input``: a client item or an item reference.
ResponseInputItem = Annotated[
    MessageItem
    | FunctionCallItem
    | FunctionCallOutputItem
    | McpListToolsItem
    | McpCallItem
    | McpApprovalRequestItem
    | McpApprovalResponseItem
    | ItemReference,
    Field(discriminator="type"),
]


class ErrorDetail(RealtimeModel):
    """``{type, code?, message, param?, event_id?}`` of an ``error`` event (or a failure)."""

    type: str | None = None
    code: str | None = None
    message: str | None = None
    param: str | None = None
    event_id: str | None = None


class CachedTokenDetails(RealtimeModel):
    text_tokens: int | None = None
    audio_tokens: int | None = None
    image_tokens: int | None = None


class InputTokenDetails(RealtimeModel):
    text_tokens: int | None = None
    audio_tokens: int | None = None
    image_tokens: int | None = None
    cached_tokens: int | None = None
    cached_tokens_details: CachedTokenDetails | None = None


class OutputTokenDetails(RealtimeModel):
    text_tokens: int | None = None
    audio_tokens: int | None = None


class ResponseUsage(RealtimeModel):
    """Token usage on ``response.done`` (cached tokens are a subset of input tokens)."""

    total_tokens: int | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    input_token_details: InputTokenDetails | None = None
    output_token_details: OutputTokenDetails | None = None


class ResponseStatusDetails(RealtimeModel):
    """``{type, reason?, error?}``: why a response ended (``turn_detected``…)."""

    type: str | None = None
    reason: str | None = None
    error: ErrorDetail | None = None


class ResponseAudioOutput(RealtimeModel):
    format: AudioFormat | None = None
    voice: Voice | None = None


class ResponseAudio(RealtimeModel):
    output: ResponseAudioOutput | None = None


class RealtimeResponse(RealtimeModel):
    """The response object of ``response.created`` / ``response.done``."""

    id: str | None = None
    object: str | None = None
    status: str | None = None
    status_details: ResponseStatusDetails | None = None
    output: list[ConversationItem] | None = None
    conversation_id: str | None = None
    output_modalities: list[str] | None = None
    max_output_tokens: int | Literal["inf"] | None = None
    audio: ResponseAudio | None = None
    metadata: dict[str, Any] | None = None
    usage: ResponseUsage | None = None


class ResponseCreateParams(RealtimeModel):
    """Per-response overrides of ``response.create`` (all optional)."""

    output_modalities: list[str] | None = None
    instructions: str | None = None
    audio: ResponseAudio | None = None
    tools: list[ToolDefinition] | None = None
    tool_choice: ToolChoice | None = None
    max_output_tokens: int | Literal["inf"] | None = None
    prompt: Prompt | None = None
    metadata: dict[str, Any] | None = None
    conversation: str | None = None
    input: list[ResponseInputItem] | None = None
    parallel_tool_calls: bool | None = None
    reasoning: Reasoning | None = None


class TranscriptionUsage(RealtimeModel):
    """``{type: "tokens", input_tokens, output_tokens, total_tokens}`` or
    ``{type: "duration", seconds}``."""

    type: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    seconds: float | None = None
    input_token_details: dict[str, Any] | None = None


class LogProb(RealtimeModel):
    token: str
    logprob: float
    bytes: list[int] | None = None


class RateLimit(RealtimeModel):
    name: str | None = None
    limit: int | None = None
    remaining: int | None = None
    reset_seconds: float | None = None


class ConversationRef(RealtimeModel):
    """``{id, object: "realtime.conversation"}`` of ``conversation.created``."""

    id: str | None = None
    object: str | None = None
