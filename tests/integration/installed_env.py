"""Helpers to run commands inside the environment where core and the toy plugins are installed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
TOYS = {"rt-toy-good": "toy-good", "rt-toy-broken": "toy-broken"}
TOYS |= {"rt-toy-dup-a": "toy-dup-a", "rt-toy-dup-b": "toy-dup-b"}
PROBE = Path(__file__).with_name("probe.py")


@dataclass(frozen=True)
class InstalledEnv:
    python_path: Path
    scripts: Path

    def environ(self, **extra: str) -> dict[str, str]:
        """A clean environment: no plugin variables, no PYTHONPATH pointing at the sources."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("REALTIME_TRANSPORT_")}
        env.pop("PYTHONPATH", None)
        env["COLUMNS"] = "200"
        return {**env, **extra}

    def cli(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """Run the installed ``realtime-transport`` console script."""
        script = shutil.which("realtime-transport", path=str(self.scripts))
        assert script, f"the realtime-transport script is not installed in {self.scripts}"
        return run([script, *args], self.environ(**env))

    def plugins_json(self, **env: str) -> dict[str, dict[str, Any]]:
        """``realtime-transport plugins --json``, keyed by distribution (toy ones only)."""
        result = self.cli("plugins", "--json", **env)
        assert result.returncode == 0, result.stderr
        data = json.loads(result.stdout)
        return {p["distribution"]: p for p in data["plugins"] if p["distribution"] in TOYS}

    def python(self, code: str, **env: str) -> subprocess.CompletedProcess[str]:
        return run([str(self.python_path), "-c", code], self.environ(**env))

    def probe(self, *names: str, **env: str) -> dict[str, Any]:
        result = run([str(self.python_path), str(PROBE), *names], self.environ(**env))
        assert result.returncode == 0, result.stderr
        data: dict[str, Any] = json.loads(result.stdout)
        return data


def run(
    cmd: Sequence[str], env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(cmd), capture_output=True, text=True, env=env, timeout=timeout, check=False
    )


def installed_here() -> bool:
    """Are core (non-editable) and every toy distribution installed in this interpreter?"""
    try:
        for name in TOYS:
            metadata.distribution(name)
        core = metadata.distribution("realtime-transport")
    except metadata.PackageNotFoundError:
        return False
    direct_url = core.read_text("direct_url.json") or "{}"
    return not json.loads(direct_url).get("dir_info", {}).get("editable", False)


def find_uv() -> list[str] | None:
    found = shutil.which("uv")
    if found:
        return [found]
    try:
        import uv  # type: ignore[import-not-found]

        return [uv.find_uv_bin()]
    except ImportError:
        return None
