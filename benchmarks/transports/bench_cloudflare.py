"""cloudflare transport vs our websocket transport, in the same run, on the shared harness.

Contenders (``benchmarks/client.py``), each against the same bench server on loopback:

* ``ours-transport``: the websocket transport (the baseline; the issue's target is >= 0.8x its
  density).
* ``ours-cloudflare``: the cloudflare transport as shipped: the upgrade through httpx, then the
  websocket transport's framing on the taken-over asyncio transport (plain TCP).
* ``ours-cloudflare-pump``: the same, forced onto the pump (websockets' sans-I/O parser fed
  through httpx's network stream by a reader and a writer task), which TLS and tunnels use.
* ``httpx-ws``: naive httpx-ws (wsproto over httpx's stream) + ``json``, the other candidate.

Single-session: deltas/s and CPU per delta downstream, CPU per sent chunk upstream
(``bench_throughput``). Density: the most paced duplex sessions one core holds (``bench_density``:
p99 <= 100 ms, >= 98 % delivered), for the baseline and the shipped path.

    python transports/bench_cloudflare.py            # full run, writes transports/cloudflare.md
    python transports/bench_cloudflare.py --smoke    # seconds, no thresholds (CI)
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path
from typing import Any

BENCHMARKS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BENCHMARKS))

from _harness import log, machine_info, run_trial  # noqa: E402
from bench_density import summary  # noqa: E402
from bench_throughput import throughput  # noqa: E402

OUT = Path(__file__).with_name("cloudflare.md")
BASELINE = "ours-transport"
SHIPPED = "ours-cloudflare"
THROUGHPUT = [BASELINE, SHIPPED, "ours-cloudflare-pump", "httpx-ws"]
DENSITY = [BASELINE, SHIPPED]
TARGET_DENSITY_RATIO = 0.8
LABELS = {
    BASELINE: "websocket transport (`OpenAIRealtimeWebSocket`), baseline",
    SHIPPED: "**cloudflare**: httpx upgrade, taken-over transport (shipped, plain TCP)",
    "ours-cloudflare-pump": "cloudflare: httpx upgrade, pumped stream (shipped for TLS/tunnels)",
    "httpx-ws": "naive `httpx-ws` + `json` (not used)",
}


def available(name: str) -> bool:
    return name != "httpx-ws" or importlib.util.find_spec("httpx_ws") is not None


def smoke() -> int:
    failures = []
    for name in (SHIPPED, "ours-cloudflare-pump"):
        result = run_trial(name, mode="smoke", timeout=60, server_limit=None)
        if result.ok:
            log(f"smoke {name}: ok ({result.client['blast']['events_per_s']:.0f} deltas/s)")
        else:
            failures.append(f"{name}: {result.error}")
            log(f"smoke {name}: FAILED {result.error}")
    return 1 if failures else 0


def full(loop: str) -> dict[str, Any]:
    started = time.monotonic()
    results: dict[str, Any] = {"machine": machine_info(), "loop": loop, "throughput": {}}
    for name in THROUGHPUT:
        if available(name):
            results["throughput"][name] = throughput(name, warmup=1.0, window=3.0, loop=loop)
    results["density"] = paired_density(loop)
    results["minutes"] = (time.monotonic() - started) / 60
    return results


#: Loads tried for density, both contenders at each (finer low: a busy shared machine).
LADDER = (50, 100, 150, 200, 250, 300, 400, 500, 600, 700, 800, 900, 1000, 1150, 1300, 1500)


def paired_density(loop: str) -> dict[str, Any]:
    """The largest load on the ladder each contender holds, tried in alternation.

    On a shared machine the load varies over minutes; running the baseline and the cloudflare
    transport back to back at each step gives both the same conditions (the shared harness's
    bisection runs one contender after the other). A failed load gets one retry, as there; a
    contender stops after failing two steps in a row.
    """
    best = {name: 0 for name in DENSITY}
    failures = {name: 0 for name in DENSITY}
    trials: list[dict[str, Any]] = []
    for n in LADDER:
        for name in DENSITY:
            if failures[name] >= 2:
                continue
            passed = False
            for _ in range(2):
                result = run_trial(
                    name, mode="paced", sessions=n, warmup=2.0, window=5.0, loop=loop
                )
                row = {"contender": name, **summary(result), "sessions": n}
                trials.append(row)
                log(f"  density {name} n={n}: {row['fail'] or 'ok'}")
                if not row["fail"]:
                    passed = True
                    break
            if passed:
                best[name], failures[name] = n, 0
            else:
                failures[name] += 1
        if all(count >= 2 for count in failures.values()):
            break
    return {
        name: {"sessions": best[name], "trials": [t for t in trials if t["contender"] == name]}
        for name in DENSITY
    }


def cpu_bound_estimate(density_result: dict[str, Any]) -> tuple[float, str] | None:
    """Sessions per core if the client's CPU were the only limit, from the largest passing load."""
    passing = [
        t
        for t in density_result["trials"]
        if not t["fail"] and isinstance(t.get("cpu_pct"), (int, float)) and t["cpu_pct"] > 0
    ]
    if not passing:
        return None
    top = max(passing, key=lambda t: t["sessions"])
    return 100 * top["sessions"] / top["cpu_pct"], f"{top['sessions']} at {top['cpu_pct']:.0f} %"


def _n(value: Any, digits: int = 0) -> str:
    return f"{value:,.{digits}f}" if isinstance(value, (int, float)) else "n/a"


def report(results: dict[str, Any]) -> str:
    machine = results["machine"]
    through, dens = results["throughput"], results["density"]
    base_events = through.get(BASELINE, {}).get("events_per_s")
    base_density = dens[BASELINE]["sessions"]
    lines = [
        "### cloudflare",
        "",
        f"Measured {machine['date']} ({results['minutes']:.1f} min, {results['loop']} loop) by "
        "`python benchmarks/transports/bench_cloudflare.py`; "
        f"{machine['cpu']}, {machine['cores']} cores, Python {machine['python']}, "
        f"{machine['load']}.",
        "",
        "Method: the shared harness (bench server on core 0, each client in a fresh interpreter "
        "on core 1). Single session: the server writes 20 ms deltas unpaced (deltas/s reaching "
        "the audio callback, client CPU per delta) and the client sends 20 ms appends as fast "
        "as it can (CPU per chunk). Density: paced duplex sessions (one delta and one append "
        "per 20 ms each), the largest load on a ladder (50, 100, 150, ... 300, 400, ... 1000, "
        "1150, ...) with p99 lateness <= 100 ms and >= 98 % delivered, the two contenders "
        "tried in alternation at each step so both see the same machine. Baseline: our "
        "websocket transport.",
        "",
        "| contender | 1-session deltas/s | x baseline | µs CPU / delta | µs CPU / sent chunk "
        "| density (sessions/core) | x baseline |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name in THROUGHPUT:
        row = through.get(name)
        if row is None:
            continue
        events = row.get("events_per_s")
        ratio = f"{events / base_events:.2f}x" if events and base_events else "n/a"
        sessions = dens.get(name, {}).get("sessions")
        dratio = f"{sessions / base_density:.2f}x" if sessions and base_density else ""
        lines.append(
            f"| {LABELS[name]} | {_n(events)} | {ratio} | {_n(row.get('cpu_us_per_delta'), 1)} "
            f"| {_n(row.get('cpu_us_per_chunk'), 1)} | {_n(sessions) if sessions else '-'} "
            f"| {dratio} |"
        )
    shipped = dens[SHIPPED]["sessions"]
    ratio = shipped / base_density if base_density else 0.0
    verdict = "**met**" if ratio >= TARGET_DENSITY_RATIO else "**not met**"
    estimates = {name: cpu_bound_estimate(dens[name]) for name in DENSITY}
    if all(estimates.values()):
        base_estimate, shipped_estimate = estimates[BASELINE], estimates[SHIPPED]
        lines += [
            "",
            "CPU-bound estimate (what one core would hold if only the client's own CPU counted: "
            "sessions x 100 / client CPU % at the largest passing load, which discounts time "
            f"the machine gave to other jobs): baseline {base_estimate[0]:,.0f} sessions/core "
            f"({base_estimate[1]}), cloudflare {shipped_estimate[0]:,.0f} "
            f"({shipped_estimate[1]}) = {shipped_estimate[0] / base_estimate[0]:.2f}x.",
        ]
    starved = [
        t["cpu_pct"]
        for name in DENSITY
        for t in dens[name]["trials"]
        if t["fail"] and isinstance(t.get("cpu_pct"), (int, float))
    ]
    if starved and max(starved) < 70:
        lines += [
            "",
            f"Caution: at every failing load the client used at most {max(starved):.0f} % of its "
            "core, and it was preempted thousands of times: other jobs on this shared 2-core "
            "machine, not the transports, set these density figures. The CPU-per-event columns "
            "are the better comparison from this run.",
        ]
    lines += [
        "",
        f"Target (issue 13): density >= {TARGET_DENSITY_RATIO}x the websocket transport's: "
        f"{shipped} vs {base_density} sessions/core = {ratio:.2f}x, {verdict}.",
        "",
        "Density trials (load: verdict, client CPU %, times the client was preempted by "
        "other processes):",
        "",
        *(
            f"- {name}: "
            + ", ".join(
                f"{t['sessions']} {'ok' if not t['fail'] else t['fail']}"
                + (
                    f" [{_n(t.get('cpu_pct'))} %, preempted {t.get('preempted')}]"
                    if t.get("cpu_pct") is not None
                    else ""
                )
                for t in dens[name]["trials"]
            )
            for name in DENSITY
        ),
        "",
        "Framing choice: after httpx's 101 the shipped path makes the websocket transport's "
        "`FastWebSocket` the protocol of the asyncio transport under httpx's connection (plain "
        "TCP), so per-frame work is the websocket transport's. The pumped stream (one "
        "`stream.read()` per chunk through anyio, which pauses reading between reads) and "
        "httpx-ws (wsproto, a reader task and a queue per message) are measured above; the pump "
        "remains the path for TLS and proxy tunnels, where anyio does TLS over a memory BIO and "
        "there is no transport to take over.",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--loop", default="asyncio", choices=("asyncio", "uvloop"))
    args = parser.parse_args()
    if args.smoke:
        return smoke()
    results = full(args.loop)
    OUT.write_text(report(results))
    OUT.with_suffix(".json").write_text(json.dumps(results, indent=2, default=str))
    log(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
