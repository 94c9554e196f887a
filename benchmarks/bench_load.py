"""Overhead and latency at a fixed load: N duplex real-time sessions (default 100).

Reports the client's CPU per session (µs of CPU per session-second, i.e. millionths of a core)
and the p50/p99 delivery lateness: time from a delta's scheduled send (the server's tick) to the
contender's audio callback.

    python bench_load.py [contender ...] [--sessions 100 --warmup 2 --window 5]
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from _harness import CONTENDERS, LOOPS, available_contenders, log, run_trial


def load(
    contender: str,
    *,
    sessions: int = 100,
    warmup: float = 2.0,
    window: float = 5.0,
    loop: str = "asyncio",
) -> dict[str, Any]:
    result = run_trial(
        contender, mode="paced", sessions=sessions, warmup=warmup, window=window, loop=loop
    )
    if not result.ok:
        return {"error": result.error, "server_cpu_pct": result.server_cpu_pct}
    c = result.client
    out = {
        k: c[k]
        for k in (
            "sessions",
            "cpu_pct",
            "cpu_us_per_session_s",
            "cpu_us_per_event",
            "system_share",
            "p50_ms",
            "p99_ms",
            "max_ms",
            "delivered",
            "rss_mib",
        )
    }
    out["server_cpu_pct"] = result.server_cpu_pct
    log(f"  load {contender} on {loop} n={sessions}: {out}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("contenders", nargs="*", default=list(CONTENDERS))
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--window", type=float, default=5.0)
    parser.add_argument("--loop", default="asyncio", choices=LOOPS)
    args = parser.parse_args()
    found, missing = available_contenders(args.contenders)
    out: dict[str, Any] = dict(missing)
    for name in found:
        out[name] = load(
            name, sessions=args.sessions, warmup=args.warmup, window=args.window, loop=args.loop
        )
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
