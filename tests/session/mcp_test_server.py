"""A tiny MCP server over stdio for the session tests (the ``mcp`` package's MCPServer, the
FastMCP of mcp 1.x). Tools: ``lookup_order``, ``broken`` (an ``isError`` result), ``slow``
(sleeps past the client's timeout) and ``enable_refunds``, which adds ``refund`` and announces
the change with ``notifications/tools/list_changed``."""

from __future__ import annotations

import asyncio
import logging

from mcp.server.mcpserver import Context, MCPServer

app = MCPServer("orders")


@app.tool()
def lookup_order(order_id: str) -> str:
    """Look up an order by its id."""
    return f"order {order_id}: shipped on Monday"


@app.tool()
def broken(order_id: str) -> str:
    """A tool whose backend is down."""
    raise ValueError("orders database unavailable")


@app.tool()
async def slow(order_id: str) -> str:
    """A tool that takes far too long."""
    await asyncio.sleep(30)
    return "too late"


def refund(order_id: str, amount: float) -> str:
    """Refund part of an order."""
    return f"refunded {amount:.2f} on {order_id}"


@app.tool()
async def enable_refunds(ctx: Context) -> str:  # type: ignore[type-arg]
    """Turn on the refund tool."""
    app.add_tool(refund)
    await ctx.session.send_tool_list_changed()
    return "refunds enabled"


if __name__ == "__main__":
    logging.disable(logging.CRITICAL)  # no tracebacks rendered for the expected failures
    app.run("stdio")
