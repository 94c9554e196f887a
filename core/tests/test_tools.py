"""Function tools: schema from hints and docstrings, argument validation, invocation, timeouts."""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import time
from typing import Literal

import pydantic
import pytest
from realtime_transport import (
    FunctionTool,
    HostedMcpTool,
    RealtimeContext,
    ToolArgumentsError,
    ToolContext,
    ToolTimeoutError,
    UserError,
    function_tool,
    tool,
)
from realtime_transport.tools import _parse_docstring, stringify_tool_output


def make_ctx() -> ToolContext[dict[str, int]]:
    return ToolContext(context={"n": 1}, tool_name="t", call_id="c1")


def test_schema_and_description_from_google_docstring() -> None:
    @function_tool
    def get_weather(city: str, unit: Literal["c", "f"] = "c", days: int = 1) -> str:
        """Look up the weather forecast.

        Used by the assistant when the caller asks about weather.

        Args:
            city: The city to look up,
                for example "Oslo".
            unit: Temperature unit.
            days (int): How many days ahead.

        Returns:
            A short forecast.
        """
        return f"{city}:{unit}:{days}"

    assert get_weather.name == "get_weather"
    assert get_weather.description == (
        "Look up the weather forecast. Used by the assistant when the caller asks about weather."
    )
    schema = get_weather.params_json_schema
    assert schema["type"] == "object"
    assert schema["required"] == ["city"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["city"] == {
        "type": "string",
        "description": 'The city to look up, for example "Oslo".',
    }
    assert schema["properties"]["unit"]["enum"] == ["c", "f"]
    assert schema["properties"]["unit"]["default"] == "c"
    assert schema["properties"]["days"]["description"] == "How many days ahead."
    assert "title" not in schema and "title" not in schema["properties"]["city"]
    assert get_weather.definition() == {
        "type": "function",
        "name": "get_weather",
        "description": get_weather.description,
        "parameters": schema,
    }


@pytest.mark.parametrize(
    "doc",
    [
        "Add numbers.\n\n:param a: first number\n:param b: second\n    number\n:returns: sum",
        "Add numbers.\n\nParameters\n----------\na : int\n    first number\nb : int\n    second\n"
        "    number\n\nReturns\n-------\nint",
        "Add numbers.\n\nArgs:\n    a: first number\n    b: second\n        number\n",
    ],
    ids=["sphinx", "numpy", "google"],
)
def test_docstring_styles(doc: str) -> None:
    summary, params = _parse_docstring(doc)
    assert summary == "Add numbers."
    assert params == {"a": "first number", "b": "second number"}


def test_overrides_and_alias() -> None:
    @tool(name="lookup", description="Custom.")
    def something(x: int) -> int:
        return x

    assert isinstance(something, FunctionTool)
    assert (something.name, something.description) == ("lookup", "Custom.")
    assert something(3) == 3  # still callable directly


async def test_invoke_sync_async_and_context() -> None:
    seen: list[object] = []

    @function_tool
    def add(a: int, b: int = 2) -> int:
        return a + b

    @function_tool
    async def greet(ctx: ToolContext[dict[str, int]], name: str) -> str:
        seen.append(ctx.context)
        await asyncio.sleep(0)
        return f"hi {name}"

    assert await add.invoke(make_ctx(), '{"a": 1}') == 3
    assert await add.invoke(make_ctx(), '{"a": "4", "b": 5}') == 9  # lax coercion like pydantic
    assert await greet.invoke(make_ctx(), '{"name": "Ada"}') == "hi Ada"
    assert seen == [{"n": 1}]
    assert "ctx" not in greet.params_json_schema["properties"]


async def test_plain_run_context_annotation_is_accepted() -> None:
    @function_tool
    def who(ctx: RealtimeContext[str]) -> str:
        return str(ctx.context)

    assert who.params_json_schema["properties"] == {}
    assert await who.invoke(ToolContext(context="me"), "") == "me"


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ("{}", "a: Field required"),
        ('{"a": "x"}', "a: Input should be a valid integer"),
        ('{"a": 1, "zzz": 2}', "zzz: Extra inputs are not permitted"),
    ],
)
async def test_bad_arguments_raise_tool_arguments_error(arguments: str, fragment: str) -> None:
    called = []

    @function_tool
    def add(a: int) -> int:
        called.append(a)
        return a

    with pytest.raises(ToolArgumentsError) as info:
        await add.invoke(make_ctx(), arguments)
    assert fragment in str(info.value)
    assert called == []


async def test_nested_models_enums_and_keywords_named_like_model_attributes() -> None:
    class Color(enum.Enum):
        RED = "red"
        BLUE = "blue"

    class Address(pydantic.BaseModel):
        street: str
        number: int

    @function_tool
    def ship(address: Address, color: Color, json: str = "", schema: int = 0) -> str:
        return f"{address.street} {address.number} {color.value} {json} {schema}"

    props = ship.params_json_schema["properties"]
    assert set(props) == {"address", "color", "json", "schema"}
    out = await ship.invoke(
        make_ctx(), '{"address": {"street": "Main", "number": 3}, "color": "red", "json": "j"}'
    )
    assert out == "Main 3 red j 0"


async def test_timeout() -> None:
    @function_tool(timeout=0.01)
    async def slow() -> str:
        await asyncio.sleep(5)
        return "late"

    with pytest.raises(ToolTimeoutError, match="timed out after 10ms"):
        await slow.invoke(make_ctx(), "{}")
    assert slow.timeout_message() == "Tool 'slow' timed out after 10ms."


async def test_run_in_thread_does_not_block_the_loop() -> None:
    @function_tool(run_in_thread=True)
    def blocking() -> str:
        time.sleep(0.2)
        return "done"

    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    assert await blocking.invoke(make_ctx(), "{}") == "done"
    task.cancel()
    assert ticks >= 5


def test_invalid_definitions_are_user_errors() -> None:
    with pytest.raises(UserError, match="invalid"):

        @function_tool(name="has space")
        def a() -> None: ...

    with pytest.raises(UserError, match=r"\*args"):

        @function_tool
        def b(*items: int) -> None: ...

    with pytest.raises(UserError, match="must come first"):

        @function_tool
        def c(x: int, ctx: ToolContext[None]) -> None: ...

    with pytest.raises(UserError, match="timeout"):

        @function_tool(timeout=0)
        def d() -> None: ...


def test_stringify_tool_output() -> None:
    @dataclasses.dataclass
    class Point:
        x: int

    class Model(pydantic.BaseModel):
        y: int

    assert stringify_tool_output("plain") == "plain"
    assert stringify_tool_output({"a": 1}) == '{"a": 1}'
    assert stringify_tool_output([1, "é"]) == '[1, "é"]'
    assert stringify_tool_output(None) == "null"
    assert stringify_tool_output(Point(1)) == '{"x": 1}'
    assert stringify_tool_output(Model(y=2)) == '{"y":2}'
    assert stringify_tool_output(3.5) == "3.5"


def test_hosted_mcp_definition_omits_unset_fields() -> None:
    mcp = HostedMcpTool(
        server_label="docs", server_url="https://mcp.example", require_approval="never"
    )
    assert mcp.definition() == {
        "type": "mcp",
        "server_label": "docs",
        "server_url": "https://mcp.example",
        "require_approval": "never",
    }
