"""The ``realtime-transport`` command: ``--version``, ``plugins`` (table and JSON), lazy dispatch.

Plugins here are real unpacked distributions in a temporary directory on ``sys.path``; the
allow-list (``REALTIME_TRANSPORT_PLUGINS``) keeps whatever else is installed out of the output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import types
from collections.abc import Iterator
from pathlib import Path

import pytest
from realtime_transport import __version__
from realtime_transport.cli import main
from realtime_transport.registry import reset_registry

GOOD = """
from realtime_transport import TransportCapabilities, TransportSpec, hookimpl

@hookimpl
def realtime_transport_register_transports():
    return [
        TransportSpec(
            name="cli-toy",
            aliases=("toy-alias",),
            factory="builtins:dict",
            summary="a toy",
            capabilities=TransportCapabilities(supports_mute=True),
        )
    ]
"""


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """rt-cli-good (works) and rt-cli-broken (raises at import), installed on sys.path."""
    root = tmp_path / "site"
    root.mkdir()
    (root / "rt_cli_good.py").write_text(GOOD)
    (root / "rt_cli_broken.py").write_text("raise RuntimeError('cli plugin exploded')\n")
    for dist, ep, module in [
        ("rt-cli-good", "cli-toy", "rt_cli_good"),
        ("rt-cli-broken", "cli-broken", "rt_cli_broken"),
    ]:
        info = root / f"{dist.replace('-', '_')}-0.4.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.4\n")
        (info / "entry_points.txt").write_text(f"[realtime_transport]\n{ep} = {module}\n")
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setenv("REALTIME_TRANSPORT_PLUGINS", "rt-cli-good,rt-cli-broken")
    monkeypatch.delenv("REALTIME_TRANSPORT_STRICT_PLUGINS", raising=False)
    monkeypatch.delenv("REALTIME_TRANSPORT_DISABLE_PLUGINS", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    reset_registry()
    yield root
    reset_registry()
    for name in ("rt_cli_good", "rt_cli_broken"):
        sys.modules.pop(name, None)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"realtime-transport {__version__}"


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "plugins" in out and "emulator" in out and "demo" in out


def test_plugins_json(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugins", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["realtime_transport"] == __version__
    assert data["settings"] == {
        "strict": False,
        "allow": ["rt-cli-broken", "rt-cli-good"],
        "block": [],
    }
    plugins = {p["distribution"]: p for p in data["plugins"] if p["status"] != "blocked"}
    assert set(plugins) == {"rt-cli-good", "rt-cli-broken"}
    good, broken = plugins["rt-cli-good"], plugins["rt-cli-broken"]
    assert good["status"] == "active" and good["version"] == "0.4"
    assert good["hooks"] == ["realtime_transport_register_transports"]
    assert good["transports"] == [
        {
            "name": "cli-toy",
            "aliases": ["toy-alias"],
            "summary": "a toy",
            "factory": "builtins:dict",
            "capabilities": {
                "sends_audio": True,
                "receives_audio_events": True,
                "owns_media": False,
                "client_side_truncation": False,
                "supports_mute": True,
                "supports_call_id": False,
                "supports_images": True,
                "supports_text": True,
                "uses_openai_protocol": True,
            },
        }
    ]
    assert broken["status"] == "failed: RuntimeError: cli plugin exploded"
    assert broken["reason"] == "RuntimeError: cli plugin exploded"
    assert broken["entry_point"] == "rt_cli_broken" and broken["transports"] == []


def test_plugins_table(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    for text in (
        "Distribution",
        "Capabilities",
        "rt-cli-good",
        "rt-cli-broken",
        "0.4",
        "cli-toy (aliases: toy-alias)",
        "supports_mute",
        "active",
        "failed: RuntimeError: cli plugin exploded",
    ):
        assert text in out, text
    assert "owns_media" not in out  # only enabled capabilities are shown


def test_plugins_table_with_no_plugins(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REALTIME_TRANSPORT_PLUGINS", "")
    reset_registry()
    try:
        assert main(["plugins"]) == 0
    finally:
        reset_registry()
    out = capsys.readouterr().out
    assert "No transport is available" in out
    assert "pip install realtime-transport-websocket" in out


def test_plugins_blocked_status(
    site: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REALTIME_TRANSPORT_DISABLE_PLUGINS", "rt-cli-broken")
    reset_registry()
    assert main(["plugins", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    broken = next(p for p in data["plugins"] if p["distribution"] == "rt-cli-broken")
    assert broken["status"] == "blocked"
    assert broken["reason"] == "listed in REALTIME_TRANSPORT_DISABLE_PLUGINS"
    assert "rt_cli_broken" not in sys.modules


def test_plugins_in_strict_mode_raises_the_plugin_error(
    site: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REALTIME_TRANSPORT_STRICT_PLUGINS", "1")
    reset_registry()
    with pytest.raises(RuntimeError, match="cli plugin exploded"):
        main(["plugins"])  # strict mode is for plugin authors: the real traceback


# -- lazily dispatched commands ------------------------------------------------------------------


def test_emulator_missing_prints_the_install_hint(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "realtime_transport_emulator", None)  # as if not installed
    assert main(["emulator", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "needs the realtime-transport-emulator distribution, which is not installed" in err
    assert "\n    pip install realtime-transport-emulator" in err


def _stand_in_emulator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> None:
    package = tmp_path / "stand_in" / "realtime_transport_emulator"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "cli.py").write_text(textwrap.dedent(body))
    for name in [m for m in sys.modules if m.startswith("realtime_transport_emulator")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.syspath_prepend(str(package.parent))


def test_emulator_is_dispatched_with_the_remaining_arguments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _stand_in_emulator(
        tmp_path,
        monkeypatch,
        """
        seen = []
        def main(argv):
            seen.append(argv)
            return 7
        """,
    )
    try:
        assert main(["emulator", "--port", "0", "--help"]) == 7
        assert sys.modules["realtime_transport_emulator.cli"].seen == [["--port", "0", "--help"]]
    finally:
        for name in [m for m in sys.modules if m.startswith("realtime_transport_emulator")]:
            del sys.modules[name]


def test_a_missing_dependency_inside_a_command_is_not_mistaken_for_a_missing_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _stand_in_emulator(tmp_path, monkeypatch, "import not_installed_dependency_xyz\n")
    try:
        with pytest.raises(ModuleNotFoundError, match="not_installed_dependency_xyz"):
            main(["emulator"])
    finally:
        for name in [m for m in sys.modules if m.startswith("realtime_transport_emulator")]:
            del sys.modules[name]


def test_demo_is_dispatched(monkeypatch: pytest.MonkeyPatch) -> None:
    demo = types.ModuleType("realtime_transport.demo")
    calls: list[list[str]] = []

    def demo_main(argv: list[str]) -> int:
        calls.append(argv)
        return 0

    demo.main = demo_main  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "realtime_transport.demo", demo)
    assert main(["demo", "--fast"]) == 0
    assert calls == [["--fast"]]


def test_demo_missing_says_to_upgrade(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "realtime_transport.demo", None)
    assert main(["demo"]) == 2
    assert "pip install -U realtime-transport" in capsys.readouterr().err


# -- the real process ----------------------------------------------------------------------------


def _run(
    code: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_importing_the_cli_is_cheap() -> None:
    heavy = [
        "rich",
        "pluggy",
        "pydantic",
        "numpy",
        "realtime_transport.registry",
        "importlib.metadata",
    ]
    result = _run(
        "import sys, realtime_transport.cli\n"
        f"loaded = [m for m in {heavy!r} if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    assert result.returncode == 0, result.stderr


def test_plugins_json_in_a_subprocess(site: Path) -> None:
    result = _run(
        "from realtime_transport.cli import main; raise SystemExit(main())",
        "plugins",
        "--json",
        env={"PYTHONPATH": str(site), "REALTIME_TRANSPORT_PLUGINS": "rt-cli-good,rt-cli-broken"},
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    statuses = {p["distribution"]: p["status"] for p in data["plugins"] if p["status"] != "blocked"}
    assert statuses == {
        "rt-cli-good": "active",
        "rt-cli-broken": "failed: RuntimeError: cli plugin exploded",
    }
    assert "plugin 'cli-broken' (rt-cli-broken 0.4) failed and was skipped" in result.stderr


def test_plugins_piped_prints_the_whole_table_and_names_blocked_plugins(site: Path) -> None:
    """``plugins | cat``: no 80-column cut; a plugin that is installed but blocked is named
    (with how to unblock it) instead of a `pip install` hint for something already there."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("COLUMNS", "REALTIME_TRANSPORT_DISABLE_PLUGINS")
    }
    env["PYTHONPATH"] = os.pathsep.join([str(site), *sys.path])
    env["REALTIME_TRANSPORT_PLUGINS"] = "rt-cli-good"
    env["REALTIME_TRANSPORT_DISABLE_PLUGINS"] = "rt-cli-good"
    code = "import sys; from realtime_transport.cli import main; sys.exit(main(['plugins']))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout  # a pipe, not a terminal
    assert "rt-cli-good" in out and "blocked" in out
    assert "installed but blocked" in out and "pip install" not in out
    env["REALTIME_TRANSPORT_DISABLE_PLUGINS"] = ""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert "cli-toy (aliases: toy-alias)" in result.stdout  # not folded at 80 columns
    assert max(map(len, result.stdout.splitlines())) > 80
