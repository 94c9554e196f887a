"""Run every benchmark for every contender in one go and write RESULTS.md.

    python run.py            # full run, both loops (about 35 min on 2 cores), rewrites RESULTS.md
    python run.py --smoke    # every contender, every mode, both loops, tiny; no thresholds (CI)
    python run.py --only ours-transport agents-model --skip density --loops uvloop

Every contender is measured on the default asyncio loop and on uvloop in the same run, question
by question and contender by contender, so slow drift of the machine's load is shared; ratios
compare like with like (ours on a loop ÷ the peer on the same loop). Ratios only mean something
within one run: the machine, its noise and its load are shared.
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
    LOOP_LABELS,
    LOOPS,
    SERVER_CPU_LIMIT_PCT,
    SERVER_LOOP,
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


def smoke(contenders: list[str], loops: list[str]) -> int:
    """Each contender once through every mode in one interpreter per loop; fails only if one
    breaks. No thresholds (the bench server's CPU limit included): CI machines vary."""
    started = time.monotonic()
    found, missing = available_contenders(contenders)
    failures = [f"{name}: {why}" for name, why in missing.items() if why.startswith("error")]
    for name, why in missing.items():
        log(f"smoke {name}: {why}")
    for name in found:
        for loop in loops:
            result = run_trial(name, mode="smoke", timeout=45, loop=loop, server_limit=None)
            if not result.ok:
                failures.append(f"{name} on {loop}: {result.error}")
                log(f"smoke {name} on {loop}: FAILED {result.error}")
                continue
            c = result.client
            log(
                f"smoke {name} on {loop}: ok  import {c['import_rss_mib']:.0f} MiB, "
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


def _density_hint(previous: dict[str, Any], loop: str, name: str) -> int | None:
    """Where to start a density search: the last run's result for this loop and contender."""
    value = previous.get("results", {}).get(loop, {}).get(name, {}).get("density", {})
    sessions = value.get("sessions") if isinstance(value, dict) else None
    return int(sessions) if isinstance(sessions, int) and sessions >= 20 else None


def full(
    contenders: list[str],
    skip: set[str],
    output: Path,
    *,
    loops: list[str],
    density_options: dict[str, Any],
    merge: bool = False,
) -> int:
    started = time.monotonic()
    info = machine_info()
    found, missing = available_contenders(contenders)
    for name, why in missing.items():
        log(f"{name}: {why}")
    results: dict[str, dict[str, dict[str, Any]]] = {loop: {n: {} for n in found} for loop in loops}
    previous: dict[str, Any] = {}
    results_path = HERE / "results.json"
    if results_path.exists():
        previous = json.loads(results_path.read_text())
        if not isinstance(previous.get("results", {}).get(LOOPS[0]), dict):
            previous = {}  # a one-loop file from before issue 10
    if merge:  # redo some questions/contenders/loops, keep the rest of the last run
        info = previous["machine"]
        missing = {**previous["missing"], **missing}
        for loop, by_name in previous["results"].items():
            kept = results.setdefault(loop, {})
            for name, value in by_name.items():
                kept[name] = {**value, **kept.get(name, {})} if name not in found else value
    info["loops"] = ", ".join(loops)
    info["server_loop"] = SERVER_LOOP
    # Interleave question by question, contender by contender, loop by loop, so slow drift of
    # the machine's load is shared by the contenders and by the two loops.
    if "memory" not in skip:
        info["bare_python_rss_mib"] = f"{bare_python_rss():.1f}"
        for name in found:
            for loop in loops:
                results[loop][name]["memory"] = memory(name, loop=loop)
    if "throughput" not in skip:
        for name in found:
            for loop in loops:
                results[loop][name]["throughput"] = throughput(name, loop=loop)
    if "load" not in skip:
        for name in found:
            for loop in loops:
                results[loop][name]["load"] = load(name, loop=loop)
    if "density" not in skip:
        for name in found:
            hint: int | None = None
            for loop in loops:
                # start where this contender was last time on this loop, else where it just
                # landed on the other loop, else doubling from the default start
                start = _density_hint(previous, loop, name) or hint
                log(f"density {name} on {loop} (start {start or 'default'}) ...")
                outcome = density(name, loop=loop, start_hint=start, **density_options)
                results[loop][name]["density"] = outcome
                hint = outcome.get("sessions") or hint
    profiles: dict[str, Any] = previous.get("profiles", {}) if merge else {}
    if "profile" not in skip and "ours-transport" in found:
        from profile_hot_path import profile

        for loop in loops:
            for mode in ("blast", "upblast"):
                profiles.setdefault(loop, {})[mode] = profile("ours-transport", mode, loop=loop)
    if "transports" not in skip:
        for failure in run_transport_benches(smoke=False):
            log(f"transport bench {failure}")
    if not merge:
        info["duration"] = f"{(time.monotonic() - started) / 60:.1f} min"
    raw = {"machine": info, "missing": missing, "results": results, "profiles": profiles}
    results_path.write_text(json.dumps(raw, indent=2) + "\n")
    output.write_text(render(info, results, missing, profiles))
    log(f"wrote {output} and results.json in {info.get('duration', '?')}")
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
    # header, question, key, digits, higher is better (each shown once per loop)
    ("density (sessions/core)", "density", "sessions", 0, True),
    ("CPU-time capacity @100 (sessions/core)", "load", "capacity", 0, True),
    ("µs CPU / received delta", "throughput", "cpu_us_per_delta", 1, False),
    ("µs CPU / sent chunk", "throughput", "cpu_us_per_chunk", 1, False),
    ("CPU per session @100 (µs/s)", "load", "cpu_us_per_session_s", 0, False),
    ("1-session deltas/s", "throughput", "events_per_s", 0, True),
    ("KiB / session @500", "memory", "kib_per_session_500", 1, False),
    ("p50 / p99 lateness @100 (ms)", "load", "p50_ms", 1, False),
]
RATIO_COLUMNS = COLUMNS[:-1]
SHORT = {"asyncio": "asyncio", "uvloop": "uvloop"}


def _cell(results: dict[str, Any], name: str, question: str, key: str, digits: int) -> str:
    if key == "p50_ms":
        p50 = _get(results, name, "load", "p50_ms")
        p99 = _get(results, name, "load", "p99_ms")
        delivered = _get(results, name, "load", "delivered")
        if delivered < 0.98:
            return f"overloaded ({100 * delivered:.0f} % delivered)"
        return f"{_fmt(p50, 1)} / {_fmt(p99, 1)}"
    if key == "cpu_us_per_session_s" and _get(results, name, "load", "delivered") < 0.98:
        return "overloaded"
    if key == "capacity":
        value = _capacity(results, name)
        return _fmt(value, 0)
    value = _get(results, name, question, key)
    capped = results.get(name, {}).get("density", {}).get("capped") and key == "sessions"
    return ("≥ " if capped else "") + _fmt(value, digits)


def _capacity(results: dict[str, Any], name: str) -> float:
    """Sessions one core could carry if CPU were the only limit: 1e6 µs / (CPU per event at 100
    sessions x 100 events per session-second). From process CPU time, so a busy machine changes
    it far less than the wall-clock density; it ignores lateness (GC pauses, bursts)."""
    per_event = _get(results, name, "load", "cpu_us_per_event")
    return math.nan if math.isnan(per_event) or per_event <= 0 else 1e6 / (100 * per_event)


def _metric(results: dict[str, Any], name: str, question: str, key: str) -> float:
    return _capacity(results, name) if key == "capacity" else _get(results, name, question, key)


def _grouped_header(
    first: list[str], columns: list[tuple[str, str, str, int, bool]], loops: list[str]
) -> list[str]:
    """A header with one column group per loop (markdown has no colspan: the loop is named in
    each header, and a ‖ column separates the groups)."""
    cells = list(first)
    for index, loop in enumerate(loops):
        if index:
            cells.append("‖")
        cells += [f"{c[0]}<br>*{SHORT.get(loop, loop)}*" for c in columns]
    align = ["---"] * len(first)
    for index, _loop in enumerate(loops):
        if index:
            align.append(":-:")
        align += ["---:"] * len(columns)
    return ["| " + " | ".join(cells) + " |", "|" + "|".join(align) + "|"]


def render(
    info: dict[str, str],
    results: dict[str, dict[str, Any]],
    missing: dict[str, str],
    profiles: dict[str, Any] | None = None,
) -> str:
    loops = [loop for loop in LOOPS if loop in results] + [x for x in results if x not in LOOPS]
    names = [n for n in CONTENDERS if any(n in results[loop] for loop in loops) or n in missing]
    lines = [
        "# Benchmarks: realtime-transport side by side with the peers",
        "",
        f"Measured {info['date']} in one run ({info.get('duration', '?')}), every contender on "
        f"both client event loops ({', '.join(LOOP_LABELS.get(x, x) for x in loops)}). "
        "Regenerate with `python benchmarks/run.py` (see *How to rerun*).",
        "",
        "## Machine",
        "",
        f"- CPU: {info['cpu']}, {info['cores']} cores (bench server pinned to core 0, "
        "each client under test to core 1, every trial in fresh interpreters)",
        f"- Python {info['python']} on {info['platform']}",
        f"- websockets {info['websockets']}, orjson {info['orjson']}, "
        f"pybase64 {info.get('pybase64', '?')}, uvloop {info.get('uvloop', '?')}, "
        f"openai {info['openai']}, openai-agents {info['openai-agents']}, "
        f"pydantic {info['pydantic']}, realtime-transport {info['realtime-transport']}",
        f"- bench server event loop: {info.get('server_loop', 'asyncio')}; a trial fails when the "
        f"server passes {SERVER_CPU_LIMIT_PCT:.0f} % of its core in the window",
        f"- bare `python -c pass` RSS: {info.get('bare_python_rss_mib', '?')} MiB",
        f"- load: {info['load']}" if info.get("load") else "",
        "",
        "## Results",
        "",
        "Import RSS does not depend on the loop (the loop is imported after it is measured).",
        "",
    ]
    lines += _grouped_header(["contender", "import RSS (MiB)"], COLUMNS, loops)
    for name in names:
        if name in missing:
            width = 1 + len(COLUMNS) * len(loops) + len(loops) - 1
            lines.append(f"| {LABELS[name]} | " + " | ".join([missing[name]] * width) + " |")
            continue
        first = results[loops[0]]
        cells = [_fmt(_get(first, name, "memory", "import_rss_mib"), 1)]
        for index, loop in enumerate(loops):
            if index:
                cells.append("‖")
            cells += [_cell(results[loop], name, q, k, d) for _h, q, k, d, _ in COLUMNS]
        lines.append(f"| {LABELS[name]} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "### Ratios, like with like (ours on a loop ÷ the peer on the same loop; for density "
        "and deltas/s higher is better, for CPU and memory lower is better)",
        "",
    ]
    lines += _grouped_header(["contender", "vs"], RATIO_COLUMNS, loops)
    for name in ("ours-transport", "ours-session"):
        if not any(name in results[loop] for loop in loops):
            continue
        for base in ("agents-model", "raw-websockets", "agents-session"):
            if not any(base in results[loop] for loop in loops):
                continue
            cells = []
            for index, loop in enumerate(loops):
                if index:
                    cells.append("‖")
                r = results[loop]
                cells += [
                    _ratio(_metric(r, name, q, k), _metric(r, base, q, k))
                    for _, q, k, _, _ in RATIO_COLUMNS
                ]
            lines.append(f"| {LABELS[name]} | {base} | " + " | ".join(cells) + " |")
    lines += ["", "## Targets (issue 10)", ""]
    for loop in loops:
        lines += [f"On {'the ' if loop == 'asyncio' else ''}{LOOP_LABELS.get(loop, loop)}:", ""]
        lines += targets(results[loop])
        lines.append("")
    lines += server_summary(results, loops)
    lines += ["", "## Density search (every trial)", ""]
    lines += [
        "Each trial: fresh server + fresh client, connect N sessions, warm-up, then the window; "
        "a failed load is retried once. "
        "`preempted` counts the client's involuntary context switches in the window (other "
        "processes on its core). "
        "`fail` is the first criterion missed; `server` is the bench server's share of its "
        f"core during the window (a trial fails when it passes {SERVER_CPU_LIMIT_PCT:.0f} %).",
        "",
    ]
    for loop in loops:
        for name in names:
            trials = results[loop].get(name, {}).get("density", {}).get("trials", [])
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
            lines.append(f"- {name} on {loop}: {row}")
    lines += transport_sections()
    if NOTES.exists():
        lines += ["", NOTES.read_text().strip()]
    for loop in loops:
        for mode, title in (("blast", "receiving deltas"), ("upblast", "sending chunks")):
            text = (profiles or {}).get(loop, {}).get(mode)
            if not text:
                continue
            lines += [
                "",
                f"### cProfile of our transport on {loop}, {title} (`{mode}`, sorted by own time)",
                "",
                "```",
                "\n".join(line for line in text.splitlines() if "profile.out" not in line),
                "```",
            ]
    lines += ["", METHOD]
    return "\n".join(line for line in lines if line is not None) + "\n"


def server_summary(results: dict[str, dict[str, Any]], loops: list[str]) -> list[str]:
    """The bench server's CPU over every measured trial: it must not have been the limit."""
    peaks: list[tuple[float, str]] = []
    for loop in loops:
        for name, questions in results[loop].items():
            for key, what in (("server_cpu_pct_down", "blast"), ("server_cpu_pct_up", "upblast")):
                value = questions.get("throughput", {}).get(key)
                if isinstance(value, (int, float)) and not math.isnan(value):
                    peaks.append((value, f"{name} {what} on {loop}"))
            value = questions.get("load", {}).get("server_cpu_pct")
            if isinstance(value, (int, float)) and not math.isnan(value):
                peaks.append((value, f"{name} load on {loop}"))
            for trial in questions.get("density", {}).get("trials", []):
                value = trial.get("server_cpu_pct")
                if isinstance(value, (int, float)) and not math.isnan(value) and not trial["fail"]:
                    peaks.append((value, f"{name} density {trial['sessions']} on {loop}"))
    if not peaks:
        return []
    top, where = max(peaks)
    return [
        f"Bench server CPU: at most **{top:.0f} %** of its core in any passing trial ({where}); "
        f"limit {SERVER_CPU_LIMIT_PCT:.0f} %. Trials over the limit failed and are listed below.",
    ]


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
            "density ≥ 3x openai-agents model",
            g(results, ours, "density", "sessions"),
            3 * g(results, agents, "density", "sessions"),
            True,
            " sessions",
        ),
        check(
            "density ≥ 2x raw websockets floor",
            g(results, ours, "density", "sessions"),
            2 * g(results, raw, "density", "sessions"),
            True,
            " sessions",
        ),
        check(
            "CPU-time capacity ≥ 3x openai-agents model (load-independent cross-check)",
            _capacity(results, ours),
            3 * _capacity(results, agents),
            True,
            " sessions",
        ),
        check(
            "CPU-time capacity ≥ 2x raw websockets floor (load-independent cross-check)",
            _capacity(results, ours),
            2 * _capacity(results, raw),
            True,
            " sessions",
        ),
        check(
            "CPU per received delta ≤ 0.5x raw floor",
            g(results, ours, "throughput", "cpu_us_per_delta"),
            0.5 * g(results, raw, "throughput", "cpu_us_per_delta"),
            False,
            " µs",
        ),
        check(
            "memory per session @500 ≤ 0.25x openai-agents model",
            g(results, ours, "memory", "kib_per_session_500"),
            0.25 * g(results, agents, "memory", "kib_per_session_500"),
            False,
            " KiB",
        ),
        check(
            f"import RSS unchanged (≤ {IMPORT_RSS_BEFORE_MIB} MiB measured before issue 10 "
            "+ 0.5 MiB)",
            g(results, ours, "memory", "import_rss_mib"),
            IMPORT_RSS_BEFORE_MIB + 0.5,
            False,
            " MiB",
        ),
    ]


#: ours-transport's import RSS in the last run before issue 10 (bb7d025, 2026-11-25).
IMPORT_RSS_BEFORE_MIB = 27.9


METHOD = """## What is measured, and how

- **Event loops**: every trial names the client's loop (`client.py --loop asyncio|uvloop`); every
  contender runs unchanged on both, question by question in one run, and each ratio divides
  ours on a loop by the peer on the same loop.
- **Server** (`server.py`): one process pinned to core 0, on uvloop (it is not what is measured;
  `--loop asyncio` is there to compare); hand-parsed HTTP upgrade, pre-serialised GA events
  (`session.created`, `session.updated`), one ticker task writing the same pre-built
  `response.output_audio.delta` frame (20 ms of 24 kHz PCM16, 960 bytes, base64) to every paced
  connection every 20 ms (one write per connection per tick); the PCM's first 8 bytes carry the
  tick's scheduled `time.monotonic()`. Uplink appends are counted from their first 64 bytes (C
  unmasking of those bytes only), not JSON-parsed. The orchestrator reads the server's CPU time
  at the window's start and end: every trial reports it, and a trial in which it passed 80 % of
  the core fails (the server, not the client, may have been the limit).
- **Clients** (`client.py`): one process per trial pinned to core 1. Each contender's audio
  callback hands the decoded PCM to the same recorder; one pacing task sends one 960-byte chunk
  per session every 20 ms through the contender's own send API. Contenders:
  raw `websockets` asyncio client + `json` + `base64` (one reader task per session: the naive
  floor); our `OpenAIRealtimeWebSocket` (`typed_events="dict"`, `on("audio")`); our
  `RealtimeSession` over it (`on("audio")`); `openai-agents` `OpenAIRealtimeWebSocketModel`
  (a listener's `on_event`), its `RealtimeSession` (`async for event in session`); the official
  `openai` client's `client.realtime.connect()` (`async for event in connection`).
- **Density** (`bench_density.py`): from where the contender landed on the other loop (or
  doubling from 50), steps of 1.25x until a load fails or passes, then bisection to 5 %; pass =
  p99 lateness ≤ 100 ms, ≥ 98 % of deltas delivered and of appends sent, median lateness of the
  window's last quarter within 25 ms of its first quarter; 1.5 s warm-up, 4 s window, a failed
  load retried once (not when the server passed its limit).
- **CPU-time capacity**: 1e6 / (client CPU µs per event at 100 sessions x 100 events per
  session-second): the sessions one core could carry if CPU were the only limit. Process CPU
  time moves far less with the machine's load than wall-clock density, so it is the
  cross-check; it ignores lateness (GC pauses, bursts), which density does not.
- **Load** (`bench_load.py`): 100 duplex sessions; client CPU per session (µs of CPU per
  session-second = millionths of a core), CPU per event, the kernel's share of it, and lateness
  p50/p99 (scheduled send → callback).
- **Throughput** (`bench_throughput.py`): one session; server blasts deltas unpaced (flow
  controlled) → deltas/s reaching the callback and CPU per delta; client sends chunks as fast as
  it can (draining, never dropping) → CPU per sent chunk.
- **Memory** (`bench_memory.py`): RSS of a fresh interpreter after importing the contender
  (`client.py` itself imports asyncio/argparse/json first, same for all; no event loop is
  imported); RSS growth per idle connected session with 100 and 500 sessions open (after two
  warm-up sessions), on each loop.
- **Profiles** (`profile_hot_path.py`): cProfile on process CPU time (not wall time, so
  preemption by other jobs does not show up as slow calls); it inflates small Python functions
  about 2x, so read the split, not the absolute numbers.
- Noise: this is a shared 2-vCPU VM; expect ±10-30 % run to run. Compare within one run only.

## How to rerun

```bash
# from the repo root, with a venv holding core, emulator, the websocket plugin, openai-agents,
# openai, uvloop and pybase64 (or: tox -e bench for the smoke run)
.venv/bin/python benchmarks/run.py                 # full run, both loops (~35 min), this file
.venv/bin/python benchmarks/run.py --skip transports --density-window 3   # shorter
.venv/bin/python benchmarks/run.py --smoke         # CI smoke: both loops, no thresholds
.venv/bin/python benchmarks/run.py --render        # rewrite this file from results.json
.venv/bin/python benchmarks/bench_density.py ours-transport agents-model --loop uvloop
.venv/bin/python benchmarks/profile_hot_path.py --loop asyncio uvloop
```
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="short run of everything, for CI")
    parser.add_argument("--only", nargs="+", default=list(CONTENDERS), choices=CONTENDERS)
    parser.add_argument("--skip", nargs="+", default=[], choices=QUESTIONS)
    parser.add_argument("--loops", nargs="+", default=list(LOOPS), choices=LOOPS)
    parser.add_argument("--output", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument("--render", action="store_true", help="only rewrite RESULTS.md")
    parser.add_argument(
        "--merge",
        action="store_true",
        help="redo --only/--skip/--loops selection into results.json",
    )
    # Keeping the full run (two loops) near 30 minutes: the density search is most of it.
    group = parser.add_argument_group("density search")
    group.add_argument("--density-warmup", type=float, default=1.5, help="seconds (default 1.5)")
    group.add_argument("--density-window", type=float, default=4.0, help="seconds (default 4)")
    group.add_argument("--density-retries", type=int, default=1, help="per failed load (1)")
    group.add_argument(
        "--density-precision", type=float, default=0.05, help="bisect to this fraction (0.05)"
    )
    args = parser.parse_args()
    if args.render:
        sys.exit(rerender(args.output))
    if args.smoke:
        sys.exit(smoke(args.only, args.loops))
    density_options = {
        "warmup": args.density_warmup,
        "window": args.density_window,
        "retries": args.density_retries,
        "precision": args.density_precision,
    }
    sys.exit(
        full(
            args.only,
            set(args.skip),
            args.output,
            loops=args.loops,
            density_options=density_options,
            merge=args.merge,
        )
    )


if __name__ == "__main__":
    main()
