"""Memory: RSS of importing each contender, and RSS per connected session at 100 and 500.

Per session = (RSS with N more idle sessions open - RSS after two warm-up sessions) / N, in a
fresh interpreter per point, so lazy imports and first-use caches are not counted per session.

    python bench_memory.py [contender ...] [--sessions 100 500]
"""

from __future__ import annotations

import argparse
import json
import subprocess
from typing import Any

from _harness import (
    CONTENDERS,
    LOOPS,
    PYTHON,
    available_contenders,
    import_rss,
    log,
    run_trial,
)


def bare_python_rss() -> float:
    code = (
        "import sys\n"
        "for l in open('/proc/self/status'):\n"
        "    l.startswith('VmRSS:') and print(int(l.split()[1]) / 1024)"
    )
    out = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def memory(
    contender: str, *, sizes: tuple[int, ...] = (100, 500), loop: str = "asyncio"
) -> dict[str, Any]:
    out: dict[str, Any] = {"import_rss_mib": import_rss(contender)}
    for n in sizes:
        result = run_trial(contender, mode="memory", sessions=n, warmup=0.5, window=0, loop=loop)
        if result.ok:
            out[f"kib_per_session_{n}"] = result.client["kib_per_session"]
            out[f"rss_mib_{n}"] = result.client["rss_mib"]
        else:
            out[f"error_{n}"] = result.error
    log(f"  memory {contender} on {loop}: {out}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("contenders", nargs="*", default=list(CONTENDERS))
    parser.add_argument("--sessions", type=int, nargs="+", default=[100, 500])
    parser.add_argument("--loop", default="asyncio", choices=LOOPS)
    args = parser.parse_args()
    found, missing = available_contenders(args.contenders)
    out: dict[str, Any] = {"bare_python_rss_mib": bare_python_rss(), **missing}
    for name in found:
        out[name] = memory(name, sizes=tuple(args.sessions), loop=args.loop)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
