"""The transport's import path needs none of Pyodide's compiled packages.

On Pyodide, numpy, pydantic-core, orjson and soxr would come from a CDN that Workers (and this
sandbox) cannot reach. A child interpreter makes them unimportable, as they are there, then
imports the transport by name, connects to the emulator and holds a text turn; it must not even
try to import them (core falls back to ``json``, pydantic and numpy are lazy).
"""

from __future__ import annotations

import asyncio
import sys

from conftest import KEY
from realtime_transport_emulator import Emulator

COMPILED = ("numpy", "pydantic_core", "pydantic", "orjson", "soxr")

CHILD = """
import asyncio, sys

COMPILED = {compiled!r}
attempted = []

class Absent:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in COMPILED:
            attempted.append(name)
            raise ImportError(f"{{name}} is not available on this runtime")
        return None

sys.meta_path.insert(0, Absent())

from realtime_transport import get_transport

async def main():
    transport = get_transport("cloudflare")
    done = asyncio.get_running_loop().create_future()
    transport.on("turn_done", lambda event: None if done.done() else done.set_result(event))
    await transport.connect(api_key={key!r}, url={url!r})
    transport.send_message("hello there")
    await asyncio.wait_for(done, 10)
    await transport.close()

asyncio.run(main())
loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set(COMPILED))
print("attempted=" + ",".join(sorted(set(attempted))))
print("loaded=" + ",".join(loaded))
"""


async def test_turn_without_compiled_packages(emulator: Emulator) -> None:
    code = CHILD.format(compiled=COMPILED, key=KEY, url=emulator.ws_url)
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        code,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(child.communicate(), 50)
    assert child.returncode == 0, err.decode()
    lines = dict(line.split("=", 1) for line in out.decode().split())
    assert lines["loaded"] == "", f"compiled packages imported: {lines['loaded']}"
    # orjson is tried once and falls back to json; nothing else is even looked for
    assert set(filter(None, lines["attempted"].split(","))) <= {"orjson"}
