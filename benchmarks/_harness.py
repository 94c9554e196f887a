"""Shared pieces of the benchmarks: wire constants, pinning, trial orchestration, statistics.

Every trial runs the bench server and the client under test in two fresh interpreters, pinned to
separate cores (server on core 0, client on core 1) so that the client's cost is all that limits
it. The orchestrator (this module, run from the scripts) only reads their stdout.
"""

from __future__ import annotations

import json
import os
import platform
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable

# One 20 ms chunk of 24 kHz 16-bit mono PCM: what the server sends down and clients send up.
CHUNK_BYTES = 960
TICK_S = 0.020

SERVER_CORE = 0
CLIENT_CORE = 1

# Every contender runs on both client event loops in one run; the ratios compare like with like.
LOOPS = ("asyncio", "uvloop")
LOOP_LABELS = {"asyncio": "default asyncio loop", "uvloop": "uvloop"}
# The bench server always runs on the fastest loop it has (it is not what is measured), and a
# trial in which it passes this share of its core fails: the client must be the limit.
SERVER_LOOP = "uvloop"
SERVER_CPU_LIMIT_PCT = 80.0

# Contenders, in table order. "ours-session" needs realtime_transport.session.
CONTENDERS = (
    "raw-websockets",
    "ours-transport",
    "ours-session",
    "agents-model",
    "agents-session",
    "openai-client",
)
LABELS = {
    "raw-websockets": "raw `websockets`+`json`+`base64` (floor)",
    "ours-transport": "**ours**: `OpenAIRealtimeWebSocket` (thin client)",
    "ours-session": "**ours**: `RealtimeSession` over it",
    "agents-model": "`openai-agents` `OpenAIRealtimeWebSocketModel`",
    "agents-session": "`openai-agents` `RealtimeSession`",
    "openai-client": "`openai` `client.realtime.connect()`",
}


def cores() -> int:
    return os.cpu_count() or 1


def pin_prefix(core: int) -> list[str]:
    """Command prefix pinning a child to one core (nothing when the machine has one core)."""
    if cores() < 2:
        return []
    if shutil.which("taskset"):
        return ["taskset", "-c", str(core)]
    return [PYTHON, str(HERE / "_pin.py"), str(core)]


def proc_cpu_seconds(pid: int) -> float:
    """User+system CPU seconds of a live process (from /proc; 0 when unavailable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def percentile(sorted_values: Sequence[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q / 100 * (len(sorted_values) - 1))))
    return sorted_values[index]


@dataclass
class TrialResult:
    """A client's JSON result plus what the orchestrator measured of the server."""

    client: dict[str, Any]
    server: dict[str, Any]
    server_cpu_pct: float  # server CPU during the client's measurement window
    wall_s: float
    ok: bool
    error: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.client.get(key, default)


class BenchServer:
    """The bench server in its own pinned interpreter; ``port`` once it is listening."""

    def __init__(self) -> None:
        cmd = [*pin_prefix(SERVER_CORE), PYTHON, "-u", str(HERE / "server.py")]
        cmd += ["--loop", SERVER_LOOP]
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=HERE
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("READY "):
            self.proc.kill()
            raise RuntimeError(f"bench server did not start: {line!r}")
        self.port = int(line.split()[1])
        self.url = f"ws://127.0.0.1:{self.port}"  # the client adds /<mode>/v1/realtime

    def cpu(self) -> float:
        return proc_cpu_seconds(self.proc.pid)

    def stop(self) -> dict[str, Any]:
        """Ask the server to exit (stdin EOF) and return its final stats."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.close()
            out = self.proc.stdout.read()
            self.proc.wait(timeout=10)
        except (subprocess.TimeoutExpired, OSError):
            self.proc.kill()
            self.proc.wait()
            return {}
        for line in reversed(out.splitlines()):
            if line.startswith("{"):
                return dict(json.loads(line))
        return {}


def run_trial(
    contender: str,
    *,
    mode: str,
    sessions: int = 1,
    warmup: float = 1.0,
    window: float = 3.0,
    timeout: float | None = None,
    extra_args: Sequence[str] = (),
    loop: str = "asyncio",
    server_limit: float | None = SERVER_CPU_LIMIT_PCT,
) -> TrialResult:
    """One trial: fresh server + fresh client interpreter; the client prints JSON lines.

    The trial fails when the bench server used more than ``server_limit`` % of its core during
    the client's window: then the server, not the client under test, may have been the limit."""
    server = BenchServer()
    started = time.monotonic()
    cmd = [
        *pin_prefix(CLIENT_CORE),
        PYTHON,
        "-u",
        str(HERE / "client.py"),
        "--contender",
        contender,
        "--mode",
        mode,
        "--url",
        server.url,
        "--sessions",
        str(sessions),
        "--warmup",
        str(warmup),
        "--window",
        str(window),
        "--loop",
        loop,
        *extra_args,
    ]
    limit = timeout if timeout is not None else 60 + sessions * 0.1 + warmup + window
    client = subprocess.Popen(cmd, stdout=subprocess.PIPE, cwd=HERE)
    assert client.stdout is not None
    result: dict[str, Any] = {}
    cpu0 = cpu1 = 0.0
    t0 = t1 = 0.0
    error = ""
    deadline = [time.monotonic() + limit]
    try:
        for message in _json_lines(client.stdout.fileno(), deadline):
            event = message.get("event")
            if event == "window_start":
                cpu0, t0 = server.cpu(), time.monotonic()
            elif event == "window_end":
                cpu1, t1 = server.cpu(), time.monotonic()
            elif event in ("measured", "result"):
                result = {**result, **message}
                if mode != "smoke":  # closing gets 15 s more, then the client is killed
                    deadline[0] = min(deadline[0], time.monotonic() + 15)
        if client.poll() is None and not result:
            error = "timeout"
        client.wait(timeout=max(0.1, deadline[0] - time.monotonic()))
    except subprocess.TimeoutExpired:
        error = "" if result else "timeout"
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()
        stats = server.stop()
    if not result and not error:
        error = f"client exited with {client.returncode} and no result"
    if result.get("error"):
        error = str(result["error"])
    server_pct = 100 * (cpu1 - cpu0) / (t1 - t0) if t1 > t0 else float("nan")
    if not error and server_limit is not None and server_pct > server_limit:
        error = f"bench server at {server_pct:.0f} % CPU (limit {server_limit:.0f} %)"
    return TrialResult(
        client=result,
        server=stats,
        server_cpu_pct=server_pct,
        wall_s=time.monotonic() - started,
        ok=not error,
        error=error,
    )


def _json_lines(fd: int, deadline: list[float]) -> Iterator[dict[str, Any]]:
    """JSON lines from a child's stdout until EOF or ``deadline[0]`` (never blocks past it)."""
    pending = b""
    while True:
        left = deadline[0] - time.monotonic()
        if left <= 0:
            return
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            return
        chunk = os.read(fd, 65536)
        if not chunk:
            return
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            if line.startswith(b"{"):
                yield dict(json.loads(line))


def import_rss(contender: str) -> float:
    """RSS (MiB) of a fresh interpreter right after importing what the contender needs."""
    out = subprocess.run(
        [PYTHON, str(HERE / "client.py"), "--contender", contender, "--mode", "import"],
        capture_output=True,
        text=True,
        cwd=HERE,
        timeout=120,
        check=True,
    ).stdout
    for line in out.splitlines():
        if line.startswith("{"):
            return float(json.loads(line)["rss_mib"])
    raise RuntimeError(f"no import result for {contender}")


def available_contenders(names: Sequence[str] = CONTENDERS) -> tuple[list[str], dict[str, str]]:
    """The contenders to run, and the ones left out with the reason.

    ``ours-session`` is "n/a (not landed)" while ``realtime_transport.session`` does not exist.
    Any other contender that fails to import fails its trials (with the import error)."""
    import importlib.util

    found: list[str] = []
    missing: dict[str, str] = {}
    for name in names:
        if (
            name == "ours-session"
            and importlib.util.find_spec("realtime_transport.session") is None
        ):
            missing[name] = "n/a (not landed)"
        else:
            found.append(name)
    return found, missing


def machine_info() -> dict[str, str]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    from importlib import metadata

    for dist in (
        "websockets",
        "orjson",
        "pybase64",
        "uvloop",
        "openai",
        "openai-agents",
        "pydantic",
        "realtime-transport",
    ):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    load = os.getloadavg()
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load": f"load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1/5/15 min) at start",
        "cpu": model,
        "cores": str(cores()),
        "python": platform.python_version(),
        "platform": platform.platform(),
        **versions,
    }


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
