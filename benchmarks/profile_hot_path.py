"""cProfile of a contender's hot paths: receiving deltas (server blasting) and sending chunks.

Runs the usual pinned trial with ``--profile`` and prints the top functions by own time, so a
gap in RESULTS.md comes with where the time goes. cProfile inflates per-call costs (roughly 2x
for small Python functions), so read the split, not the absolute numbers.

    python profile_hot_path.py [contender] [--top 18]
"""

from __future__ import annotations

import argparse
import io
import pstats
import tempfile
from pathlib import Path

from _harness import run_trial


def profile(
    contender: str, mode: str, *, top: int = 18, window: float = 3.0, loop: str = "asyncio"
) -> str:
    """Top functions by own time for one trial, as a text table."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "profile.out"
        result = run_trial(
            contender,
            mode=mode,
            warmup=0.5,
            window=window,
            loop=loop,
            extra_args=["--profile", str(path)],
            server_limit=None,
        )
        if not result.ok:
            return f"({mode} trial failed: {result.error})"
        stream = io.StringIO()
        stats = pstats.Stats(str(path), stream=stream)
        stats.strip_dirs().sort_stats("tottime").print_stats(top)
    per_event = result.client.get("received") or result.client.get("sent") or 0
    lines = [
        line.rstrip()
        for line in stream.getvalue().splitlines()
        if line.strip() and not line.startswith(("   Ordered by", "   List reduced"))
    ]
    body = "\n".join(line for line in lines if "profile.out" not in line)
    return f"{per_event} events in the profiled window\n{body}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("contender", nargs="?", default="ours-transport")
    parser.add_argument("--top", type=int, default=18)
    parser.add_argument("--loop", nargs="+", default=["asyncio", "uvloop"])
    parser.add_argument("--mode", nargs="+", default=["blast", "upblast"])
    args = parser.parse_args()
    titles = {"blast": "receiving deltas", "upblast": "sending chunks"}
    for loop in args.loop:
        for mode in args.mode:
            print(f"== {args.contender} on {loop}: {titles[mode]} ({mode}) ==")
            print(profile(args.contender, mode, top=args.top, loop=loop))
            print()


if __name__ == "__main__":
    main()
