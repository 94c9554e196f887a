"""Single-session throughput and CPU per event, both directions.

Downlink: the server writes audio deltas unpaced (as fast as the socket drains); we count the
deltas that reach the contender's audio callback per second and the client CPU per delta.
Uplink: the client sends 20 ms appends as fast as it can (draining, never dropping); we report
the client CPU per sent chunk.

    python bench_throughput.py [contender ...] [--warmup 1 --window 3]
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from _harness import CONTENDERS, LOOPS, available_contenders, log, run_trial


def throughput(
    contender: str, *, warmup: float = 1.0, window: float = 3.0, loop: str = "asyncio"
) -> dict[str, Any]:
    down = run_trial(contender, mode="blast", warmup=warmup, window=window, loop=loop)
    up = run_trial(contender, mode="upblast", warmup=warmup, window=window, loop=loop)
    out: dict[str, Any] = {}
    if down.ok:
        out.update(
            events_per_s=down.client["events_per_s"],
            cpu_us_per_delta=down.client["cpu_us_per_delta"],
            server_cpu_pct_down=down.server_cpu_pct,
        )
    else:
        out.update(error_down=down.error, server_cpu_pct_down=down.server_cpu_pct)
    if up.ok:
        out.update(
            chunks_per_s=up.client["chunks_per_s"],
            cpu_us_per_chunk=up.client["cpu_us_per_chunk"],
            dropped=up.client["dropped"],
            server_appends=up.server.get("appends"),
            server_cpu_pct_up=up.server_cpu_pct,
        )
    else:
        out.update(error_up=up.error, server_cpu_pct_up=up.server_cpu_pct)
    log(f"  throughput {contender} on {loop}: {out}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("contenders", nargs="*", default=list(CONTENDERS))
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--window", type=float, default=3.0)
    parser.add_argument("--loop", default="asyncio", choices=LOOPS)
    args = parser.parse_args()
    found, missing = available_contenders(args.contenders)
    out: dict[str, Any] = dict(missing)
    for name in found:
        out[name] = throughput(name, warmup=args.warmup, window=args.window, loop=args.loop)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
