"""Build every distribution and check what a user would install (the tox ``pkg`` env).

Editable installs hide missing package data and entry points; this checks the built wheels:
each has ``py.typed`` and its metadata, each plugin declares its ``realtime_transport`` entry
point, the core ships the conformance kit's ``pytest11`` entry point and the plugin template.
"""

from __future__ import annotations

import configparser
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DISTRIBUTIONS = {
    "core": (
        "realtime_transport",
        {"console_scripts": {"realtime-transport"}, "pytest11": {"realtime_transport"}},
    ),
    "emulator": (
        "realtime_transport_emulator",
        {"console_scripts": {"realtime-transport-emulator"}},
    ),
    "plugins/websocket": ("realtime_transport_websocket", {"realtime_transport": {"websocket"}}),
    "plugins/cloudflare": ("realtime_transport_cloudflare", {"realtime_transport": {"cloudflare"}}),
    "plugins/sip": ("realtime_transport_sip", {"realtime_transport": {"sip"}}),
    "plugins/twilio": ("realtime_transport_twilio", {"realtime_transport": {"twilio"}}),
    "plugins/webrtc": ("realtime_transport_webrtc", {"realtime_transport": {"webrtc"}}),
}


def template_files() -> set[str]:
    """Wheel paths of every file of the plugin template (its one home: core's package)."""
    root = ROOT / "core" / "src"
    found = {
        path.relative_to(root).as_posix()
        for path in (root / "realtime_transport" / "plugin_template").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert len(found) >= 9, f"the plugin template looks empty: {sorted(found)}"
    return found


def entry_points(wheel: zipfile.ZipFile) -> dict[str, set[str]]:
    name = next(n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt"))
    parser = configparser.ConfigParser()
    parser.read_string(wheel.read(name).decode())
    return {section: set(parser[section]) for section in parser.sections()}


def check(folder: str, package: str, expected: dict[str, set[str]], out: Path) -> list[str]:
    subprocess.run(
        ["uv", "build", "--quiet", "--out-dir", str(out), str(ROOT / folder)], check=True
    )
    wheels = sorted(out.glob(f"{package}-*.whl"))
    if not wheels:
        return [f"{folder}: no wheel was built"]
    problems: list[str] = []
    with zipfile.ZipFile(wheels[-1]) as wheel:
        names = set(wheel.namelist())
        if f"{package}/py.typed" not in names:
            problems.append(f"{folder}: py.typed missing from the wheel")
        found = entry_points(wheel)
        for group, wanted in expected.items():
            missing = wanted - found.get(group, set())
            if missing:
                problems.append(f"{folder}: entry points missing in [{group}]: {sorted(missing)}")
        if package == "realtime_transport":
            missing = sorted(template_files() - names)
            if missing:
                problems.append(f"{folder}: template files missing from the wheel: {missing}")
    return problems


def main() -> int:
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        for folder, (package, expected) in DISTRIBUTIONS.items():
            problems += check(folder, package, expected, out)
        artifacts = sorted(str(p) for p in out.iterdir() if p.suffix in (".whl", ".gz"))
        subprocess.run([sys.executable, "-m", "twine", "check", "--strict", *artifacts], check=True)
    for problem in problems:
        print("FAIL:", problem)
    print("all distributions OK" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
