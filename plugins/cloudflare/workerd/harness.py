"""Run Pyodide inside workerd with our wheels installed, for the integration test.

``install_npm_packages`` puts ``workerd`` and ``pyodide`` (versions pinned in ``package.json``)
in a cache folder once; ``build_wheels`` builds our three distributions and packs pluggy and
websockets (their pure-Python files: Pyodide cannot fetch packages here); ``Workerd`` writes a
config that embeds Pyodide's wasm, stdlib and lock file and the wheels into ``worker.mjs``'s
worker, whose global outbound is a network service that allows local addresses (the emulator
listens on 127.0.0.1), and serves it on a free loopback port.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
CACHE = Path(
    os.environ.get("REALTIME_TRANSPORT_WORKERD_DIR")
    or Path.home() / ".cache" / "realtime-transport" / "workerd"
)
OUR_DISTRIBUTIONS = ("core", "plugins/websocket", "plugins/cloudflare")
PURE_DEPENDENCIES = ("pluggy", "websockets")
PYODIDE_ASSETS = (
    "pyodide.mjs",
    "pyodide.asm.mjs",
    "pyodide.asm.wasm",
    "python_stdlib.zip",
    "pyodide-lock.json",
)


def install_npm_packages() -> Path:
    """``npm install`` the pinned packages into the cache (a no-op when they are there)."""
    wanted = json.loads((HERE / "package.json").read_text())["dependencies"]
    modules = CACHE / "node_modules"
    if all(_installed_version(modules / name) == version for name, version in wanted.items()):
        return modules
    CACHE.mkdir(parents=True, exist_ok=True)
    shutil.copy(HERE / "package.json", CACHE / "package.json")
    subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=CACHE,
        check=True,
        timeout=600,
    )
    return modules


def _installed_version(package: Path) -> str | None:
    try:
        return str(json.loads((package / "package.json").read_text())["version"])
    except (OSError, ValueError, KeyError):
        return None


def build_wheels(out: Path) -> list[Path]:
    """Our wheels (built now, from this checkout) and pure-Python packs of the two deps."""
    out.mkdir(parents=True, exist_ok=True)
    for folder in OUR_DISTRIBUTIONS:
        subprocess.run(
            [sys.executable, "-m", "uv", "build", "--wheel", "--quiet", "--out-dir", str(out),
             str(REPO / folder)],
            check=True,
            timeout=300,
        )  # fmt: skip
    wheels = sorted(out.glob("*.whl"))
    wheels += [_pack_pure_python(name, out) for name in PURE_DEPENDENCIES]
    return wheels


def _pack_pure_python(name: str, out: Path) -> Path:
    """A wheel-shaped zip of an installed distribution's Python files and metadata.

    Pyodide here cannot download, and websockets' PyPI wheels carry a C speedup built for
    CPython on Linux; its pure-Python fallback is what runs in Pyodide.
    """
    distribution = importlib.metadata.distribution(name)
    target = out / f"{name}-{distribution.version}-pure.zip"
    with zipfile.ZipFile(target, "w") as archive:
        for file in distribution.files or ():
            if file.suffix in (".so", ".pyd", ".pyc", ".c") or "__pycache__" in file.parts:
                continue
            if str(file).startswith(".."):  # scripts outside site-packages
                continue
            archive.write(file.locate(), str(file))
    return target


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


CONFIG = """using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    # the worker's fetch() goes here: a network that may reach loopback, where the emulator is
    (name = "internet", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:{port}", http = (), service = "main")],
);

const worker :Workerd.Worker = (
  modules = [
    (name = "worker.mjs", esModule = embed "worker.mjs"),
    (name = "pyodide.mjs", esModule = embed "pyodide.mjs"),
    (name = "pyodide.asm.mjs", esModule = embed "pyodide.asm.mjs"),
    (name = "pyodide.asm.wasm", wasm = embed "pyodide.asm.wasm"),
    (name = "python_stdlib.zip", data = embed "python_stdlib.zip"),
    (name = "pyodide-lock.json", json = embed "pyodide-lock.json"),
    (name = "wheels.mjs", esModule = embed "wheels.mjs"),
{wheel_modules}
  ],
  compatibilityDate = "2025-09-01",
  compatibilityFlags = ["nodejs_compat"],
  globalOutbound = "internet",
);
"""


class Workerd:
    """workerd serving ``worker.mjs`` (Pyodide + our wheels) on a free loopback port."""

    def __init__(self, modules: Path, wheels: list[Path], folder: Path) -> None:
        self.binary = modules / ".bin" / "workerd"
        self.folder = folder
        self.port = free_port()
        folder.mkdir(parents=True, exist_ok=True)
        for asset in PYODIDE_ASSETS:
            (folder / asset).symlink_to(modules / "pyodide" / asset)
        (folder / "worker.mjs").symlink_to(HERE / "worker.mjs")
        names = [f"wheel{index}.zip" for index in range(len(wheels))]
        for name, wheel in zip(names, wheels, strict=True):
            (folder / name).symlink_to(wheel)
        (folder / "wheels.mjs").write_text(
            "".join(f'import w{i} from "./{name}";\n' for i, name in enumerate(names))
            + "export default ["
            + ", ".join(f'["{wheel.name}", w{i}]' for i, wheel in enumerate(wheels))
            + "];\n"
        )
        wheel_modules = "\n".join(f'    (name = "{n}", data = embed "{n}"),' for n in names)
        (folder / "config.capnp").write_text(
            CONFIG.replace("{port}", str(self.port)).replace("{wheel_modules}", wheel_modules)
        )
        self.log = folder / "workerd.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self, timeout: float = 30.0) -> None:
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [str(self.binary), "serve", "config.capnp"],
                cwd=self.folder,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"workerd exited: {self.log.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"workerd did not listen within {timeout:g} s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
