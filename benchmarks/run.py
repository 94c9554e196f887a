"""Run every benchmark for every contender in one go and write RESULTS.md.

    python run.py            # full run (about 15-25 min on 2 cores), rewrites RESULTS.md
    python run.py --smoke    # every contender, every mode, tiny and short; no thresholds (CI)
    python run.py --only ours-transport agents-model --skip density

Ratios only mean something within one run: the machine, its noise and its load are shared.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

from _harness import (
    CONTENDERS,
    HERE,
    LABELS,
    available_contenders,
    log,
    machine_info,
    run_trial,
)
from bench_density import density
from bench_load import load
from bench_memory import bare_python_rss, memory
from bench_throughput import throughput

QUESTIONS = ("density", "load", "throughput", "memory", "profile", "transports")
NOTES = HERE / "NOTES.md"  # hand-written analysis, included in RESULTS.md
# One script per transport (``transports/bench_<name>.py``) measures that transport against its
# own baseline (bare aiortc, our websocket transport...). Each takes ``--smoke`` (CI: tiny, no
# thresholds, exit 0 when it worked) and otherwise writes ``transports/<name>.md``, a section
# that RESULTS.md includes under "Transports".
TRANSPORT_BENCHES = HERE / "transports"


def transport_benches() -> list[Path]:
    return sorted(TRANSPORT_BENCHES.glob("bench_*.py"))


def run_transport_benches(*, smoke: bool) -> list[str]:
    """Run every transport's script in its own interpreter; returns the failures."""
    import subprocess

    failures: list[str] = []
    for script in transport_benches():
        name = script.stem.removeprefix("bench_")
        args = [sys.executable, str(script), *(["--smoke"] if smoke else [])]
        started = time.monotonic()
        try:
            done = subprocess.run(args, cwd=HERE, timeout=300 if smoke else 3600, check=False)
        except subprocess.TimeoutExpired:
            failures.append(f"{name}: timed out")
            continue
        log(f"transport bench {name}: exit {done.returncode} ({time.monotonic() - started:.1f} s)")
        if done.returncode != 0:
            failures.append(f"{name}: exit {done.returncode}")
    return failures


def transport_sections() -> list[str]:
    sections = [path.read_text().strip() for path in sorted(TRANSPORT_BENCHES.glob("*.md"))]
    return ["", "## Transports", "", *("\n\n".join(sections).splitlines())] if sections else []


def smoke(contenders: list[str]) -> int:
    """Each contender once through every mode in one interpreter; fails only if one breaks."""
    started = time.monotonic()
    found, missing = available_contenders(contenders)
    failures = [f"{name}: {why}" for name, why in missing.items() if why.startswith("error")]
    for name, why in missing.items():
        log(f"smoke {name}: {why}")
    for name in found:
        result = run_trial(name, mode="smoke", timeout=45)
        if not result.ok:
            failures.append(f"{name}: {result.error}")
            log(f"smoke {name}: FAILED {result.error}")
            continue
        c = result.client
        log(
            f"smoke {name}: ok  import {c['import_rss_mib']:.0f} MiB, "
            f"paced p99 {c['paced']['p99_ms']:.1f} ms, "
            f"{c['blast']['events_per_s']:.0f} deltas/s, "
            f"{c['upblast']['cpu_us_per_chunk']:.1f} us/chunk ({result.wall_s:.1f} s)"
        )
    failures += run_transport_benches(smoke=True)
    log(f"smoke done in {time.monotonic() - started:.1f} s")
    if failures:
        log("FAILED: " + "; ".join(failures))
        return 1
    return 0


def full(contenders: list[str], skip: set[str], output: Path, *, merge: bool = False) -> int:
    started = time.monotonic()
    info = machine_info()
    found, missing = available_contenders(contenders)
    for name, why in missing.items():
        log(f"{name}: {why}")
    results: dict[str, dict[str, Any]] = {name: {} for name in found}
    previous: dict[str, Any] = {}
    if merge:  # redo some questions/contenders, keep the rest of the last run
        previous = json.loads((HERE / "results.json").read_text())
        info = previous["machine"]
        missing = {**previous["missing"], **missing}
        results = {
            **previous["results"],
            **{name: previous["results"].get(name, {}) for name in found},
        }
    # Interleave contenders question by question, so slow drift of the machine's load is shared.
    if "memory" not in skip:
        info["bare_python_rss_mib"] = f"{bare_python_rss():.1f}"
        for name in found:
            results[name]["memory"] = memory(name)
    if "throughput" not in skip:
        for name in found:
            results[name]["throughput"] = throughput(name)
    if "load" not in skip:
        for name in found:
            results[name]["load"] = load(name)
    if "density" not in skip:
        for name in found:
            log(f"density {name} ...")
            results[name]["density"] = density(name)
    profiles: dict[str, str] = previous.get("profiles", {})
    if "profile" not in skip and "ours-transport" in found:
        from profile_hot_path import profile

        for mode in ("blast", "upblast"):
            profiles[mode] = profile("ours-transport", mode)
    if "transports" not in skip:
        for failure in run_transport_benches(smoke=False):
            log(f"transport bench {failure}")
    if not merge:
        info["duration"] = f"{(time.monotonic() - started) / 60:.1f} min"
    raw = {"machine": info, "missing": missing, "results": results, "profiles": profiles}
    (HERE / "results.json").write_text(json.dumps(raw, indent=2) + "\n")
    output.write_text(render(info, results, missing, profiles))
    log(f"wrote {output} and results.json in {info['duration']}")
    return 0


def rerender(output: Path) -> int:
    """Rewrite RESULTS.md from results.json (after editing the notes or the layout)."""
    raw = json.loads((HERE / "results.json").read_text())
    output.write_text(
        render(raw["machine"], raw["results"], raw["missing"], raw.get("profiles", {}))
    )
    return 0


# -- rendering -----------------------------------------------------------------------------------


def _get(results: dict[str, Any], name: str, question: str, key: str) -> float:
    value = results.get(name, {}).get(question, {}).get(key)
    return float(value) if isinstance(value, (int, float)) else math.nan


def _fmt(value: float, digits: int = 0) -> str:
    return "-" if math.isnan(value) else f"{value:,.{digits}f}"


def _ratio(value: float, base: float) -> str:
    if math.isnan(value) or math.isnan(base) or base == 0:
        return "-"
    return f"{value / base:.2f}x"


COLUMNS: list[tuple[str, str, str, int, bool]] = [
    # header, question, key, digits, higher is better
    ("density (sessions/core)", "density", "sessions", 0, True),
    ("CPU per session @100 (µs/s)", "load", "cpu_us_per_session_s", 0, False),
    ("µs CPU / received delta", "throughput", "cpu_us_per_delta", 1, False),
    ("µs CPU / sent chunk", "throughput", "cpu_us_per_chunk", 1, False),
    ("1-session deltas/s", "throughput", "events_per_s", 0, True),
    ("KiB / session @100", "memory", "kib_per_session_100", 1, False),
    ("KiB / session @500", "memory", "kib_per_session_500", 1, False),
    ("import RSS (MiB)", "memory", "import_rss_mib", 1, False),
    ("p50 / p99 lateness @100 (ms)", "load", "p50_ms", 1, False),
]


def render(
    info: dict[str, str],
    results: dict[str, Any],
    missing: dict[str, str],
    profiles: dict[str, str] | None = None,
) -> str:
    names = [n for n in CONTENDERS if n in results or n in missing]
    lines = [
        "# Benchmarks: realtime-transport side by side with the peers",
        "",
        f"Measured {info['date']} in one run ({info.get('duration', '?')}). "
        "Regenerate with `python benchmarks/run.py` (see *How to rerun*).",
        "",
        "## Machine",
        "",
        f"- CPU: {info['cpu']}, {info['cores']} cores (bench server pinned to core 0, "
        "each client under test to core 1, every trial in fresh interpreters)",
        f"- Python {info['python']} on {info['platform']}",
        f"- websockets {info['websockets']}, orjson {info['orjson']}, openai {info['openai']}, "
        f"openai-agents {info['openai-agents']}, pydantic {info['pydantic']}, "
        f"realtime-transport {info['realtime-transport']}",
        f"- bare `python -c pass` RSS: {info.get('bare_python_rss_mib', '?')} MiB",
        "",
        "## Results",
        "",
        "| contender | " + " | ".join(c[0] for c in COLUMNS) + " |",
        "|---|" + "---:|" * len(COLUMNS),
    ]
    for name in names:
        if name in missing:
            lines.append(f"| {LABELS[name]} | " + " | ".join([missing[name]] * len(COLUMNS)) + " |")
            continue
        cells = []
        for _header, question, key, digits, _ in COLUMNS:
            if key == "p50_ms":
                p50 = _get(results, name, "load", "p50_ms")
                p99 = _get(results, name, "load", "p99_ms")
                delivered = _get(results, name, "load", "delivered")
                if delivered < 0.98:
                    cells.append(f"overloaded ({100 * delivered:.0f} % delivered)")
                else:
                    cells.append(f"{_fmt(p50, 1)} / {_fmt(p99, 1)}")
            elif key == "cpu_us_per_session_s" and _get(results, name, "load", "delivered") < 0.98:
                cells.append("overloaded")
            else:
                value = _get(results, name, question, key)
                capped = results[name].get("density", {}).get("capped") and key == "sessions"
                cells.append(("≥ " if capped else "") + _fmt(value, digits))
        lines.append(f"| {LABELS[name]} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "### Ratios (ours ÷ peer; for density and deltas/s higher is better, "
        "for CPU and memory lower is better)",
        "",
        "| contender | vs | " + " | ".join(c[0] for c in COLUMNS[:-1]) + " |",
        "|---|---|" + "---:|" * (len(COLUMNS) - 1),
    ]
    for name in ("ours-transport", "ours-session"):
        if name not in results:
            continue
        for base in ("agents-model", "raw-websockets", "agents-session"):
            if base not in results:
                continue
            cells = [
                _ratio(_get(results, name, q, k), _get(results, base, q, k))
                for _, q, k, _, _ in COLUMNS[:-1]
            ]
            lines.append(f"| {LABELS[name]} | {base} | " + " | ".join(cells) + " |")
    lines += ["", "## Targets (issue 7)", ""]
    lines += targets(results)
    lines += ["", "## Density search (every trial)", ""]
    lines += [
        "Each trial: fresh server + fresh client, connect N sessions, 2 s warm-up, 5 s window; "
        "a failed load is retried once. "
        "`preempted` counts the client's involuntary context switches in the window (other "
        "processes on its core). "
        "`fail` is the first criterion missed; `server CPU` is the bench server's share of its "
        "core during the window (it must stay well below 100 % for the client to be the limit).",
        "",
    ]
    for name in names:
        trials = results.get(name, {}).get("density", {}).get("trials", [])
        if not trials:
            continue
        row = ", ".join(
            f"{t['sessions']}{'✓' if not t['fail'] else '✗ (' + t['fail'] + ')'}"
            f" [client {t['cpu_pct']:.0f} %, server {t['server_cpu_pct']:.0f} %"
            f"{', preempted ' + str(t['preempted']) if t.get('preempted') else ''}]"
            if isinstance(t.get("cpu_pct"), (int, float))
            else f"{t['sessions']}✗ ({t['fail']})"
            for t in trials
        )
        lines.append(f"- {name}: {row}")
    lines += transport_sections()
    if NOTES.exists():
        lines += ["", NOTES.read_text().strip()]
    for mode, title in (("blast", "receiving deltas"), ("upblast", "sending chunks")):
        if profiles and mode in profiles:
            lines += [
                "",
                f"### cProfile of our transport, {title} (`{mode}`, sorted by own time)",
                "",
                "```",
                "\n".join(
                    line for line in profiles[mode].splitlines() if "profile.out" not in line
                ),
                "```",
            ]
    lines += ["", METHOD]
    return "\n".join(lines) + "\n"


def targets(results: dict[str, Any]) -> list[str]:
    ours, agents, raw = "ours-transport", "agents-model", "raw-websockets"
    if ours not in results:
        return ["Our transport was not measured."]

    def check(label: str, value: float, limit: float, higher: bool, unit: str = "") -> str:
        if math.isnan(value) or math.isnan(limit):
            return f"- {label}: not measured"
        met = value >= limit if higher else value <= limit
        sign = "≥" if higher else "≤"
        return f"- {label}: {value:,.2f}{unit} (target {sign} {limit:,.2f}{unit}) — " + (
            "**met**" if met else "**not met**"
        )

    g = _get
    return [
        check(
            "density ≥ 2x openai-agents model",
            g(results, ours, "density", "sessions"),
            2 * g(results, agents, "density", "sessions"),
            True,
            " sessions",
        ),
        check(
            "CPU per received delta ≤ raw floor",
            g(results, ours, "throughput", "cpu_us_per_delta"),
            g(results, raw, "throughput", "cpu_us_per_delta"),
            False,
            " µs",
        ),
        check(
            "CPU per sent chunk ≤ raw floor",
            g(results, ours, "throughput", "cpu_us_per_chunk"),
            g(results, raw, "throughput", "cpu_us_per_chunk"),
            False,
            " µs",
        ),
        check(
            "memory per session @500 ≤ 0.5x openai-agents model",
            g(results, ours, "memory", "kib_per_session_500"),
            0.5 * g(results, agents, "memory", "kib_per_session_500"),
            False,
            " KiB",
        ),
        check(
            "import RSS ≤ 40 MiB",
            g(results, ours, "memory", "import_rss_mib"),
            40.0,
            False,
            " MiB",
        ),
        "- truncation error ≤ 20 ms: not measured here (needs the Twilio carrier simulator).",
    ]


METHOD = """## What is measured, and how

- **Server** (`server.py`): one process pinned to core 0; hand-parsed HTTP upgrade, pre-serialised
  GA events (`session.created`, `session.updated`), one ticker task writing the same pre-built
  `response.output_audio.delta` frame (20 ms of 24 kHz PCM16, 960 bytes, base64) to every paced
  connection every 20 ms; the PCM's first 8 bytes carry the tick's scheduled `time.monotonic()`.
  Uplink frames are counted (C unmasking, substring test), not JSON-parsed.
- **Clients** (`client.py`): one process per trial pinned to core 1. Each contender's audio
  callback hands the decoded PCM to the same recorder; one pacing task sends one 960-byte chunk
  per session every 20 ms through the contender's own send API. Contenders:
  raw `websockets` asyncio client + `json` + `base64` (one reader task per session: the naive
  floor); our `OpenAIRealtimeWebSocket` (`typed_events="dict"`, `on("audio")`); our
  `RealtimeSession` over it (`on("audio")`); `openai-agents` `OpenAIRealtimeWebSocketModel`
  (a listener's `on_event`), its `RealtimeSession` (`async for event in session`); the official
  `openai` client's `client.realtime.connect()` (`async for event in connection`).
- **Density** (`bench_density.py`): doubling from 50 then bisection to 5 %; pass = p99 lateness
  ≤ 100 ms, ≥ 98 % of deltas delivered and of appends sent, median lateness of the window's
  last quarter within 25 ms of its first quarter.
- **Load** (`bench_load.py`): 100 duplex sessions; client CPU per session (µs of CPU per
  session-second = millionths of a core) and lateness p50/p99 (scheduled send → callback).
- **Throughput** (`bench_throughput.py`): one session; server blasts deltas unpaced (flow
  controlled) → deltas/s reaching the callback and CPU per delta; client sends chunks as fast as
  it can (draining, never dropping) → CPU per sent chunk.
- **Memory** (`bench_memory.py`): RSS of a fresh interpreter after importing the contender
  (`client.py` itself imports asyncio/argparse/json first, same for all); RSS growth per idle
  connected session with 100 and 500 sessions open (after two warm-up sessions).
- Noise: this is a shared 2-vCPU VM; expect ±10-30 % run to run. Compare within one run only.

## How to rerun

```bash
# from the repo root, with the dev venv (or: tox -e bench for the smoke run)
.venv/bin/python benchmarks/run.py                 # full run, rewrites this file + results.json
.venv/bin/python benchmarks/run.py --smoke         # CI smoke: seconds per contender, no thresholds
.venv/bin/python benchmarks/bench_density.py ours-transport agents-model   # one question
.venv/bin/python benchmarks/profile_hot_path.py    # cProfile of our transport's hot paths
```
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="short run of everything, for CI")
    parser.add_argument("--only", nargs="+", default=list(CONTENDERS), choices=CONTENDERS)
    parser.add_argument("--skip", nargs="+", default=[], choices=QUESTIONS)
    parser.add_argument("--output", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument("--render", action="store_true", help="only rewrite RESULTS.md")
    parser.add_argument(
        "--merge", action="store_true", help="redo --only/--skip selection into results.json"
    )
    args = parser.parse_args()
    if args.render:
        sys.exit(rerender(args.output))
    if args.smoke:
        sys.exit(smoke(args.only))
    sys.exit(full(args.only, set(args.skip), args.output, merge=args.merge))


if __name__ == "__main__":
    main()
