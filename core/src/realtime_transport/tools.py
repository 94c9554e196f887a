"""Function tools from plain Python functions, and hosted MCP tool definitions.

``@function_tool`` reads a function's signature and docstring and produces a
:class:`FunctionTool`: a JSON schema for the model (pydantic), argument validation, an async
invoker, a timeout and an approval policy. The session runs tools; nothing here does I/O.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import json
import re
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar, Union, get_origin, get_type_hints, overload

from ._json import loads
from .context import RealtimeContext, ToolContext
from .errors import ModelBehaviorError, RealtimeTransportError, UserError
from .tool_guardrails import ToolInputGuardrail, ToolOutputGuardrail

if TYPE_CHECKING:
    from .agent import RealtimeAgent

__all__ = [
    "BackgroundResult",
    "FunctionTool",
    "HostedMcpTool",
    "IsEnabled",
    "NeedsApproval",
    "ToolArgumentsError",
    "ToolTimeoutError",
    "background_result",
    "default_tool_error_function",
    "function_tool",
    "parse_tool_arguments",
    "stringify_tool_output",
    "tool",
]

#: ``needs_approval``: a fixed flag, or ``policy(ctx, arguments, call_id) -> bool`` (sync or
#: async). The policy only sees arguments that parsed as a JSON object; anything else always
#: needs approval (fail closed).
NeedsApproval = Union[
    bool, Callable[[RealtimeContext[Any], dict[str, Any], str], Union[bool, Awaitable[bool]]]
]

#: ``is_enabled``: a fixed flag, or ``check(ctx, agent) -> bool`` (sync or async), evaluated
#: each time the session builds the tool list and again when the model calls the tool.
IsEnabled = Union[
    bool, Callable[[RealtimeContext[Any], "RealtimeAgent"], Union[bool, Awaitable[bool]]]
]

F = TypeVar("F", bound=Callable[..., Any])


class ToolArgumentsError(ModelBehaviorError):
    """The model sent arguments that are not JSON or do not match the tool's schema."""


class ToolTimeoutError(RealtimeTransportError, TimeoutError):
    """A tool did not finish within its ``timeout``."""


@dataclass(frozen=True)
class BackgroundResult:
    """Wrap a tool result to answer the call without asking the model for a new response."""

    value: Any


def background_result(value: Any) -> BackgroundResult:
    """Return this from a tool to send its output without triggering a response."""
    return BackgroundResult(value)


def default_tool_error_function(ctx: ToolContext[Any], error: Exception) -> str:
    """The output the model gets when a tool raises (it can then apologise or retry). Never
    raises, even for an exception whose ``__str__`` does."""
    try:
        text = str(error)
    except Exception:
        text = type(error).__name__
    return f"An error occurred while running the tool. Please try again. Error: {text}"


@dataclass
class FunctionTool:
    """A tool the model can call. Build one with :func:`function_tool`, or directly.

    ``on_invoke_tool(ctx, arguments_json)`` runs the tool; it raises :class:`ToolArgumentsError`
    for arguments it cannot use. ``failure_error_function`` turns any other exception into the
    output the model sees (``None``: the error is only reported as a session ``error`` and no
    output is sent). ``timeout`` is in seconds; ``timeout_behavior="error_as_result"`` answers
    the model with a timeout message, ``"raise_exception"`` reports an ``error`` instead.
    """

    name: str
    description: str
    params_json_schema: dict[str, Any]
    on_invoke_tool: Callable[[ToolContext[Any], str], Awaitable[Any]]
    needs_approval: NeedsApproval = False
    is_enabled: IsEnabled = True
    timeout: float | None = None
    timeout_behavior: Literal["error_as_result", "raise_exception"] = "error_as_result"
    failure_error_function: Callable[[ToolContext[Any], Exception], str] | None = (
        default_tool_error_function
    )
    func: Callable[..., Any] | None = field(default=None, repr=False)
    """The decorated function, when built by :func:`function_tool` (still callable directly)."""
    tool_input_guardrails: list[ToolInputGuardrail] = field(default_factory=list)
    """Checks on each call's arguments before the tool runs (see ``tool_guardrails``)."""
    tool_output_guardrails: list[ToolOutputGuardrail] = field(default_factory=list)
    """Checks on the tool's result before the model gets it."""

    def __post_init__(self) -> None:
        if not self.name or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", self.name):
            raise UserError(
                f"tool name {self.name!r} is invalid: use 1-64 letters, digits, '_' or '-'"
            )
        if self.timeout is not None and not self.timeout > 0:
            raise UserError(f"tool {self.name!r}: timeout must be a positive number of seconds")
        if self.timeout_behavior not in ("error_as_result", "raise_exception"):
            raise UserError(
                f"tool {self.name!r}: timeout_behavior must be 'error_as_result' or "
                f"'raise_exception', not {self.timeout_behavior!r}"
            )
        self.tool_input_guardrails = _guardrail_list(
            self.name, "tool_input_guardrails", self.tool_input_guardrails, ToolInputGuardrail
        )
        self.tool_output_guardrails = _guardrail_list(
            self.name, "tool_output_guardrails", self.tool_output_guardrails, ToolOutputGuardrail
        )

    def definition(self) -> dict[str, Any]:
        """The wire definition sent in ``session.update`` (``type: function``)."""
        return {
            "type": "function",
            "name": self.name,
            "description": self.description,
            "parameters": self.params_json_schema,
        }

    def timeout_message(self) -> str:
        return f"Tool '{self.name}' timed out after {_format_seconds(self.timeout or 0)}."

    async def invoke(self, ctx: ToolContext[Any], arguments: str) -> Any:
        """Run the tool with its timeout. Raises :class:`ToolTimeoutError` when it expires."""
        if self.timeout is None:
            return await self.on_invoke_tool(ctx, arguments)
        try:
            return await asyncio.wait_for(self.on_invoke_tool(ctx, arguments), self.timeout)
        except asyncio.TimeoutError:
            raise ToolTimeoutError(self.timeout_message()) from None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the underlying Python function directly (handy in tests)."""
        if self.func is None:
            raise TypeError(f"tool {self.name!r} was not built from a Python function")
        return self.func(*args, **kwargs)


@dataclass
class HostedMcpTool:
    """A remote MCP server the Realtime API calls itself (``type: mcp`` in the session tools).

    ``require_approval`` is ``"never"``, ``"always"`` or a filter mapping as the API accepts;
    approval requests reach the session as ``tool_approval_requested`` events.
    """

    server_label: str
    server_url: str | None = None
    connector_id: str | None = None
    authorization: str | None = None
    headers: dict[str, str] | None = None
    allowed_tools: list[str] | dict[str, Any] | None = None
    require_approval: str | dict[str, Any] | None = None
    server_description: str | None = None
    is_enabled: IsEnabled = True

    @property
    def name(self) -> str:
        return self.server_label

    def definition(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "mcp", "server_label": self.server_label}
        for key in (
            "server_url",
            "connector_id",
            "authorization",
            "headers",
            "allowed_tools",
            "require_approval",
            "server_description",
        ):
            value = getattr(self, key)
            if value:
                out[key] = value
        return out


# ---------------------------------------------------------------------------------------------
# @function_tool
# ---------------------------------------------------------------------------------------------


@overload
def function_tool(func: F, /) -> FunctionTool: ...


@overload
def function_tool(
    *,
    name: str | None = None,
    description: str | None = None,
    needs_approval: NeedsApproval = False,
    is_enabled: IsEnabled = True,
    timeout: float | None = None,
    timeout_behavior: Literal["error_as_result", "raise_exception"] = "error_as_result",
    failure_error_function: Callable[[ToolContext[Any], Exception], str]
    | None = default_tool_error_function,
    run_in_thread: bool = False,
    tool_input_guardrails: Sequence[ToolInputGuardrail] = (),
    tool_output_guardrails: Sequence[ToolOutputGuardrail] = (),
) -> Callable[[F], FunctionTool]: ...


def function_tool(
    func: F | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    needs_approval: NeedsApproval = False,
    is_enabled: IsEnabled = True,
    timeout: float | None = None,
    timeout_behavior: Literal["error_as_result", "raise_exception"] = "error_as_result",
    failure_error_function: Callable[[ToolContext[Any], Exception], str]
    | None = default_tool_error_function,
    run_in_thread: bool = False,
    tool_input_guardrails: Sequence[ToolInputGuardrail] = (),
    tool_output_guardrails: Sequence[ToolOutputGuardrail] = (),
) -> FunctionTool | Callable[[F], FunctionTool]:
    """Turn a function (sync or async) into a :class:`FunctionTool`.

    The parameters' type hints become the JSON schema (pydantic), the docstring's first
    paragraph the description and its ``Args:`` (Google), ``:param x:`` (Sphinx) or
    ``Parameters`` (NumPy) entries the parameter descriptions. A first parameter annotated
    :class:`~realtime_transport.ToolContext` (or ``RealtimeContext``) receives the call context
    and is not part of the schema. Sync functions run on the event loop, so they must be quick;
    pass ``run_in_thread=True`` for a blocking one (or write it ``async``).

    ``tool_input_guardrails``/``tool_output_guardrails`` check each call's arguments before it
    runs and its result before the model sees it (:mod:`realtime_transport.tool_guardrails`).

    Usable bare (``@function_tool``) or with options (``@function_tool(timeout=5)``).
    """

    def build(fn: F, _localns: dict[str, Any] | None = None) -> FunctionTool:
        return _build_function_tool(
            fn,
            localns=_localns if _localns is not None else _caller_locals(),
            name=name,
            description=description,
            needs_approval=needs_approval,
            is_enabled=is_enabled,
            timeout=timeout,
            timeout_behavior=timeout_behavior,
            failure_error_function=failure_error_function,
            run_in_thread=run_in_thread,
            tool_input_guardrails=list(tool_input_guardrails),
            tool_output_guardrails=list(tool_output_guardrails),
        )

    if func is not None:
        return build(func, _caller_locals())
    return build


#: Short alias of :func:`function_tool`.
tool = function_tool


def _caller_locals() -> dict[str, Any]:
    """Locals of the scope that applied the decorator, so hints naming local classes resolve."""
    frame = sys._getframe(2)
    return dict(frame.f_locals)


def _build_function_tool(
    fn: Callable[..., Any],
    *,
    localns: dict[str, Any],
    name: str | None,
    description: str | None,
    needs_approval: NeedsApproval,
    is_enabled: IsEnabled,
    timeout: float | None,
    timeout_behavior: Literal["error_as_result", "raise_exception"],
    failure_error_function: Callable[[ToolContext[Any], Exception], str] | None,
    run_in_thread: bool,
    tool_input_guardrails: list[ToolInputGuardrail],
    tool_output_guardrails: list[ToolOutputGuardrail],
) -> FunctionTool:
    if not callable(fn):
        raise UserError(f"function_tool needs a function, got {type(fn).__name__}")
    tool_name: str = name or str(getattr(fn, "__name__", ""))
    summary, param_docs = _parse_docstring(inspect.getdoc(fn) or "")
    schema_model, takes_context, bindings = _signature_model(fn, tool_name, param_docs, localns)
    params_schema = _clean_schema(schema_model.model_json_schema())
    is_async = inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004 - callable objects with async __call__
    )

    async def on_invoke(ctx: ToolContext[Any], arguments: str) -> Any:
        data = parse_tool_arguments(tool_name, arguments)
        try:
            parsed = schema_model.model_validate(data)
        except Exception as exc:  # pydantic.ValidationError, kept lazy-import friendly
            raise ToolArgumentsError(
                f"invalid arguments for tool {tool_name!r}: {_validation_summary(exc)}"
            ) from exc
        args: list[Any] = [ctx] if takes_context else []
        kwargs: dict[str, Any] = {}
        for param_name, field_name, positional in bindings:
            value = getattr(parsed, field_name)
            if positional:
                args.append(value)
            else:
                kwargs[param_name] = value
        if is_async:
            return await fn(*args, **kwargs)
        if run_in_thread:
            result = await asyncio.to_thread(fn, *args, **kwargs)
        else:
            result = fn(*args, **kwargs)
        if inspect.isawaitable(result):  # a sync function returning an awaitable
            result = await result
        return result

    return FunctionTool(
        name=tool_name,
        description=description if description is not None else summary,
        params_json_schema=params_schema,
        on_invoke_tool=on_invoke,
        needs_approval=needs_approval,
        is_enabled=is_enabled,
        timeout=timeout,
        timeout_behavior=timeout_behavior,
        failure_error_function=failure_error_function,
        func=fn,
        tool_input_guardrails=tool_input_guardrails,
        tool_output_guardrails=tool_output_guardrails,
    )


GuardrailT = TypeVar("GuardrailT", ToolInputGuardrail, ToolOutputGuardrail)


def _guardrail_list(
    tool_name: str, option: str, value: Any, kind: type[GuardrailT]
) -> list[GuardrailT]:
    """``value`` as a list of ``kind``; anything else is a :class:`UserError` naming the fix."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise UserError(f"tool {tool_name!r}: {option} must be a list of {kind.__name__}")
    for item in value:
        if not isinstance(item, kind):
            decorator = (
                "@tool_input_guardrail"
                if kind is ToolInputGuardrail
                else ("@tool_output_guardrail")
            )
            raise UserError(
                f"tool {tool_name!r}: {option} must hold {kind.__name__} objects, got "
                f"{type(item).__name__} (decorate the function with {decorator})"
            )
    return list(value)


def _signature_model(
    fn: Callable[..., Any],
    tool_name: str,
    param_docs: Mapping[str, str],
    localns: dict[str, Any],
) -> tuple[Any, bool, list[tuple[str, str, bool]]]:
    """A pydantic model for the parameters (fields aliased to the parameter names)."""
    from pydantic import BaseModel, ConfigDict, Field, create_model

    signature = inspect.signature(fn)
    try:
        hints = get_type_hints(fn, localns=localns)
    except Exception as exc:
        raise UserError(
            f"tool {tool_name!r}: cannot resolve the type hints of {fn!r} ({exc}); make every "
            "annotation importable at module level"
        ) from exc
    params = list(signature.parameters.values())
    takes_context = False
    if params and _is_context_annotation(hints.get(params[0].name)):
        takes_context = True
        params = params[1:]

    fields: dict[str, Any] = {}
    bindings: list[tuple[str, str, bool]] = []
    for index, param in enumerate(params):
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise UserError(
                f"tool {tool_name!r}: *args/**kwargs cannot be described to the model; declare "
                "each parameter explicitly"
            )
        if _is_context_annotation(hints.get(param.name)):
            raise UserError(
                f"tool {tool_name!r}: the context parameter {param.name!r} must come first"
            )
        annotation = hints.get(param.name, Any)
        default = ... if param.default is inspect.Parameter.empty else param.default
        field_name = f"p{index}"
        fields[field_name] = (
            annotation,
            Field(default, alias=param.name, description=param_docs.get(param.name)),
        )
        bindings.append((param.name, field_name, param.kind == param.POSITIONAL_ONLY))

    class _Base(BaseModel):
        model_config = ConfigDict(extra="forbid", populate_by_name=False)

    try:
        model = create_model(f"{tool_name}_arguments", __base__=_Base, **fields)
    except Exception as exc:
        raise UserError(f"tool {tool_name!r}: cannot build a schema for its parameters: {exc}")
    return model, takes_context, bindings


def _is_context_annotation(annotation: Any) -> bool:
    candidate = get_origin(annotation) or annotation
    return isinstance(candidate, type) and issubclass(candidate, RealtimeContext)


def _clean_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Drop pydantic's generated titles (noise for the model) and forbid unknown keys."""
    schema = dict(schema)
    schema.pop("title", None)
    properties = schema.get("properties") or {}
    schema["properties"] = {
        key: {k: v for k, v in value.items() if k != "title"} if isinstance(value, dict) else value
        for key, value in properties.items()
    }
    schema.setdefault("required", [])
    schema["additionalProperties"] = False
    return schema


def parse_tool_arguments(tool_name: str, arguments: str) -> dict[str, Any]:
    """The call's arguments as a dict; :class:`ToolArgumentsError` if not a JSON object."""
    if not arguments or not arguments.strip():
        return {}
    try:
        data = loads(arguments)
    except ValueError as exc:
        raise ToolArgumentsError(
            f"arguments for tool {tool_name!r} are not valid JSON ({exc})"
        ) from exc
    if not isinstance(data, dict):
        raise ToolArgumentsError(
            f"arguments for tool {tool_name!r} must be a JSON object, got {type(data).__name__}"
        )
    return data


def _validation_summary(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return str(exc)
    parts = []
    for error in errors(include_url=False):
        loc = ".".join(str(x) for x in error.get("loc", ())) or "(arguments)"
        parts.append(f"{loc}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or str(exc)


def stringify_tool_output(value: Any) -> str:
    """What the model receives: strings as-is, models/dataclasses/JSON values as JSON."""
    if isinstance(value, str):
        return value
    dump = getattr(value, "model_dump_json", None)
    if callable(dump):
        return str(dump())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if value is None or isinstance(value, (dict, list, tuple, int, float, bool)):
        try:
            return json.dumps(value, default=str, ensure_ascii=False)
        except (TypeError, ValueError):
            return str(value)
    return str(value)


def _format_seconds(seconds: float) -> str:
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    return f"{seconds:g}s"


# ---------------------------------------------------------------------------------------------
# Docstrings
# ---------------------------------------------------------------------------------------------

_SECTION = re.compile(
    r"^(Args|Arguments|Parameters|Params|Keyword Args|Keyword Arguments|Returns?|Yields?|"
    r"Raises|Examples?|Notes?|See Also|Attributes)\s*:?\s*$"
)
_GOOGLE_PARAM = re.compile(r"^\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_SPHINX_PARAM = re.compile(r"^:param\s+(?:[^:]*\s)?(\w+)\s*:\s*(.*)$")
_NUMPY_PARAM = re.compile(r"^(\w+)\s*(?::.*)?$")


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """(summary, parameter descriptions) from a Google, Sphinx or NumPy style docstring."""
    lines = doc.expandtabs().splitlines()
    summary_lines: list[str] = []
    params: dict[str, str] = {}
    i = 0
    while i < len(lines) and not _is_section_start(lines, i):
        stripped = lines[i].strip()
        if stripped.startswith(":"):
            break
        summary_lines.append(stripped)
        i += 1
    summary = " ".join(" ".join(summary_lines).split())

    current: str | None = None  # the parameter whose description is being read
    current_indent = 0
    in_params = False
    numpy = False
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        i += 1
        sphinx = _SPHINX_PARAM.match(stripped)
        if sphinx:
            current, current_indent, in_params, numpy = sphinx.group(1), 1 << 30, False, False
            params[current] = sphinx.group(2).strip()
            continue
        if _is_section_start(lines, i - 1):
            section = stripped.rstrip(":").strip().lower()
            in_params = section in _PARAM_SECTIONS
            numpy = i < len(lines) and set(lines[i].strip()) == {"-"}
            if numpy:
                i += 1
            current = None
            continue
        if stripped.startswith(":"):  # another sphinx field (:returns: ...)
            current = None
            continue
        if not stripped:
            continue
        indent = len(line) - len(line.lstrip())
        if in_params:
            match = (_NUMPY_PARAM if numpy else _GOOGLE_PARAM).match(stripped)
            starts_entry = indent == 0 if numpy else current is None or indent <= current_indent
            if match and starts_entry:
                current, current_indent = match.group(1), indent
                params[current] = "" if numpy else match.group(2).strip()
                continue
        if current is not None:
            params[current] = f"{params[current]} {stripped}".strip()
    return summary, {k: " ".join(v.split()) for k, v in params.items()}


_PARAM_SECTIONS = frozenset(
    {"args", "arguments", "parameters", "params", "keyword args", "keyword arguments"}
)


def _is_section_start(lines: list[str], index: int) -> bool:
    stripped = lines[index].strip()
    if not _SECTION.match(stripped):
        return False
    if stripped.endswith(":"):
        return True
    following = lines[index + 1].strip() if index + 1 < len(lines) else ""
    return bool(following) and set(following) == {"-"}
