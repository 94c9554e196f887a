"""The cloudflare transport inside the real Workers runtime: workerd hosting Pyodide.

workerd (npm ``workerd``) runs a JavaScript worker that loads npm ``pyodide`` with its wasm and
stdlib embedded in the worker config, installs our wheels (core, websocket, cloudflare; no
dependencies, plus pure-Python pluggy and websockets) and runs the Python the test posts. That
Python imports the transport by name, sees ``sys.platform == "emscripten"``, upgrades through
workerd's real ``fetch`` (via ``js.fetch``), accepts ``response.webSocket`` and holds a text turn
with the emulator on loopback. Not exercised: Cloudflare's ``WorkerEntrypoint``, ``env``
bindings and its ``workers`` module (Python Workers download their Pyodide bundle at startup,
which is impossible offline).
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from harness import Workerd, build_wheels, install_npm_packages
from realtime_transport_emulator import Emulator, Reply, Rule, Script

KEY = "sk-test-workerd-0123456789"
GREETING = Script(rules=(Rule(contains="hello", reply=Reply(text="Hi from the emulator.")),))

TURN = """
import asyncio, json, sys
from realtime_transport import RealtimeAgent, RealtimeSession

session = RealtimeSession(RealtimeAgent("edge", instructions="Be brief."), transport="cloudflare")
statuses = []
session.transport.on("connection_change", statuses.append)
ended = asyncio.get_running_loop().create_future()
session.on("agent_end", lambda e: None if ended.done() else ended.set_result(e.output))
await asyncio.wait_for(session.connect(api_key=KEY, url=URL), 20)
socket = type(session.transport.connection_state["websocket"]).__name__
session.send_message("hello there")
reply = await asyncio.wait_for(ended, 20)
await session.close()
compiled = sorted({m.split(".")[0] for m in sys.modules} & {
    "numpy", "pydantic", "pydantic_core", "orjson", "soxr", "httpx"})
json.dumps({"platform": sys.platform, "transport": type(session.transport).__name__,
            "socket": socket, "reply": reply, "statuses": statuses, "compiled": compiled})
"""


@pytest.fixture(scope="module")
def workerd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workerd]:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip(
            "Node.js/npm are not installed: this test runs workerd and Pyodide from npm "
            "(apt-get install nodejs npm; .ci/run does)"
        )
    modules = install_npm_packages()
    folder: Path = tmp_path_factory.mktemp("workerd")
    server = Workerd(modules, build_wheels(folder / "wheels"), folder / "worker")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with Emulator(script=GREETING, api_keys={KEY}) as emu:
        yield emu


async def run_python(server: Workerd, code: str) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=120) as client:
        response = await client.post(server.url, content=code.encode())
    answer: dict[str, Any] = response.json()
    assert answer["ok"], answer.get("error", "") + "\n" + "\n".join(answer.get("output", []))
    return answer


@pytest.mark.timeout(240)
async def test_text_turn_from_inside_workerd(workerd: Workerd, emulator: Emulator) -> None:
    code = TURN.replace("KEY", repr(KEY)).replace("URL", repr(emulator.ws_url))
    answer = await asyncio.wait_for(run_python(workerd, code), 200)
    result = json.loads(answer["result"])
    assert result == {
        "platform": "emscripten",
        "transport": "CloudflareRealtimeTransportLayer",
        "socket": "FetchedWebSocket",
        "reply": "Hi from the emulator.",
        "statuses": ["connecting", "connected", "disconnected"],
        "compiled": [],  # none of Pyodide's compiled packages (nor httpx) on the import path
    }
    (record,) = emulator.connections
    types = [event["type"] for event in record.client_events]
    assert types[0] == "session.update"
    assert "conversation.item.create" in types and "response.create" in types
