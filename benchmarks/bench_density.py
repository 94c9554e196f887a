"""Density: the most concurrent duplex sessions one client core sustains in real time.

Each session receives one 20 ms audio delta every 20 ms and sends one 20 ms append every 20 ms.
A load passes when, over the measurement window after warm-up: p99 delivery lateness <= 100 ms,
>= 98 % of the deltas due were delivered, >= 98 % of the appends due were sent, and the median
lateness of the window's last quarter is within 25 ms of its first quarter (no growing backlog).
Search: doubling from ``--start``, then bisection to within 5 %; a failed load is retried once
(best of two), the same for every contender. A trial in which the bench server passed 80 % of its
core fails (the server, not the client, may have been the limit) and is not retried.

    python bench_density.py [contender ...] [--loop uvloop --hint 800 --warmup 2 --window 5]
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from _harness import (
    CONTENDERS,
    LOOPS,
    SERVER_CPU_LIMIT_PCT,
    TrialResult,
    available_contenders,
    log,
    run_trial,
)

P99_LIMIT_MS = 100.0
DELIVERED_MIN = 0.98
DRIFT_LIMIT_MS = 25.0


def verdict(result: TrialResult) -> str:
    """'' when the load passed, else the first reason it did not."""
    if not result.ok:
        return result.error or "failed"
    c = result.client
    if c["delivered"] < DELIVERED_MIN:
        return f"delivered {100 * c['delivered']:.1f} %"
    if c["sent_rate"] < DELIVERED_MIN:
        return f"sent {100 * c['sent_rate']:.1f} % of appends"
    if c["p99_ms"] > P99_LIMIT_MS:
        return f"p99 {c['p99_ms']:.0f} ms"
    if c["drift_ms"] > DRIFT_LIMIT_MS:
        return f"backlog grows {c['drift_ms']:.0f} ms"
    return ""


def summary(result: TrialResult) -> dict[str, Any]:
    c = result.client
    keys = (
        "sessions",
        "delivered",
        "sent_rate",
        "p50_ms",
        "p99_ms",
        "drift_ms",
        "cpu_pct",
        "preempted",
    )
    out = {k: round(c[k], 3) if isinstance(c.get(k), float) else c.get(k) for k in keys}
    out["server_cpu_pct"] = round(result.server_cpu_pct, 1)
    out["fail"] = verdict(result)
    return out


def density(
    contender: str,
    *,
    start: int = 50,
    start_hint: int | None = None,
    warmup: float = 2.0,
    window: float = 5.0,
    max_sessions: int = 3200,
    precision: float = 0.05,
    retries: int = 1,
    loop: str = "asyncio",
) -> dict[str, Any]:
    """The largest passing load, bisected to ``precision``.

    Without a hint: doubling from ``start`` until a load fails. With ``start_hint`` (where the
    contender landed before): steps of 1.25x up from the hint until a load fails, or down from it
    until one passes; then bisection. The hint only saves trials: the same pass/fail rule decides.
    """
    trials: list[dict[str, Any]] = []

    def passes(n: int) -> bool:
        # A failed load gets one more try: on a shared machine a neighbour's burst can sink a
        # trial, and every contender gets the same second chance.
        for _ in range(1 + retries):
            result = run_trial(
                contender, mode="paced", sessions=n, warmup=warmup, window=window, loop=loop
            )
            row = summary(result)
            row["sessions"] = n
            trials.append(row)
            log(f"  density {contender} on {loop} n={n}: {row['fail'] or 'ok'} {row}")
            if not row["fail"]:
                return True
            if result.server_cpu_pct > SERVER_CPU_LIMIT_PCT:
                return False  # the server's limit will not change on a retry
        return False

    lo, hi = 0, 0
    if start_hint:
        n = max(4, start_hint)
        if passes(n):
            lo = n
            while not hi:
                n = math.ceil(n * 1.25)
                if n > max_sessions:
                    return _outcome(lo, True, trials)
                if passes(n):
                    lo = n
                else:
                    hi = n
        else:
            hi = n
            while not lo:
                n = int(n / 1.25)
                if n < 4:
                    break
                if passes(n):
                    lo = n
                else:
                    hi = n
    else:
        n = start
        while n <= max_sessions:
            if passes(n):
                lo, n = n, n * 2
            else:
                hi = n
                break
        if not hi:
            return _outcome(lo, True, trials)
    while hi - lo > max(4, precision * lo):
        mid = (lo + hi) // 2
        if passes(mid):
            lo = mid
        else:
            hi = mid
    return _outcome(lo, False, trials)


def _outcome(lo: int, capped: bool, trials: list[dict[str, Any]]) -> dict[str, Any]:
    at_limit = [t for t in trials if t["sessions"] == lo and not t["fail"]]
    return {
        "sessions": lo,
        "capped": capped,
        "server_cpu_pct_at_limit": at_limit[0]["server_cpu_pct"] if at_limit else None,
        "client_cpu_pct_at_limit": at_limit[0]["cpu_pct"] if at_limit else None,
        "trials": trials,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("contenders", nargs="*", default=list(CONTENDERS))
    parser.add_argument("--start", type=int, default=50)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--window", type=float, default=5.0)
    parser.add_argument("--hint", type=int, default=None, help="start the search here")
    parser.add_argument("--loop", default="asyncio", choices=LOOPS)
    args = parser.parse_args()
    found, missing = available_contenders(args.contenders)
    out: dict[str, Any] = dict(missing)
    for name in found:
        out[name] = density(
            name,
            start=args.start,
            start_hint=args.hint,
            warmup=args.warmup,
            window=args.window,
            loop=args.loop,
        )
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
