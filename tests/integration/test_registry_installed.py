"""The registry against real installed distributions (tests/fixtures/*, built as wheels).

rt-toy-good provides ``toy`` (alias ``toy-alias``) and ``toy-heavy`` (whose dependency is
missing); rt-toy-broken raises at import; rt-toy-dup-a and rt-toy-dup-b both claim ``shared``.
Other plugins installed in the same environment (the tox env may add real ones) are ignored.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from installed_env import ROOT, InstalledEnv

# The first use builds and installs wheels into a fresh venv when not run under tox.
pytestmark = pytest.mark.timeout(300)

BROKEN = "RuntimeError: rt-toy-broken exploded at import"
FIRST_PARTY = ("webrtc", "sip", "twilio", "cloudflare", "websocket")


def test_core_is_installed_not_imported_from_the_sources(installed: InstalledEnv) -> None:
    core_file = Path(installed.probe()["core_file"]).resolve()
    assert ROOT / "core" / "src" not in core_file.parents


def test_discovery_lists_every_toy_with_status(installed: InstalledEnv) -> None:
    result = installed.cli("plugins", "--json")
    assert result.returncode == 0, result.stderr
    assert "plugin 'toy-broken' (rt-toy-broken 0.1.0) failed and was skipped" in result.stderr
    plugins = installed.plugins_json()
    assert set(plugins) == {"rt-toy-good", "rt-toy-broken", "rt-toy-dup-a", "rt-toy-dup-b"}
    good = plugins["rt-toy-good"]
    assert (good["status"], good["version"], good["entry_point"]) == (
        "active",
        "0.1.0",
        "rt_toy_good.plugin",
    )
    assert good["hooks"] == ["realtime_transport_register_transports"]
    assert [(t["name"], t["aliases"]) for t in good["transports"]] == [
        ("toy", ["toy-alias"]),
        ("toy-heavy", []),
    ]
    assert good["transports"][0]["capabilities"]["client_side_truncation"] is True
    assert plugins["rt-toy-broken"]["status"] == f"failed: {BROKEN}"
    for dist in ("rt-toy-dup-a", "rt-toy-dup-b"):
        status = plugins[dist]["status"]
        assert status.startswith("failed: Transport name 'shared' is claimed by more than one")
        assert "rt-toy-dup-a 0.1.0" in status and "rt-toy-dup-b 0.2.0" in status


def test_lookups_and_every_error(installed: InstalledEnv) -> None:
    names = ["toy", "TOY_ALIAS", "toy-heavy", "toy-broken", "shared", "dup-b-main", "nope"]
    data = installed.probe(*names)
    assert data["imported_after_listing"] == []  # listing imported no transport module
    toys = {t["name"]: t for t in data["transports"] if t["distribution"] == "rt-toy-good"}
    assert set(toys) == {"toy", "toy-heavy"}
    lookups = data["lookups"]

    for name in ("toy", "TOY_ALIAS"):
        assert lookups[name] == {
            "type": "rt_toy_good.transport.ToyTransport",
            "is_layer": True,
            "options": {"model": "m"},
        }

    heavy = lookups["toy-heavy"]
    assert heavy["error"] == "TransportLoadError"
    assert "Transport 'toy-heavy' (from rt-toy-good 0.1.0)" in heavy["message"]
    assert "toy_heavy_dependency_not_installed" in heavy["message"]

    broken = lookups["toy-broken"]
    assert broken["error"] == "TransportLoadError"
    assert "provided by plugin 'toy-broken' (rt-toy-broken 0.1.0)" in broken["message"]
    assert f"failed to load: {BROKEN}" in broken["message"]

    for name in ("shared", "dup-b-main"):
        duplicate = lookups[name]
        assert duplicate["error"] == "DuplicateTransportError"
        assert "rt-toy-dup-a 0.1.0 (transport 'shared')" in duplicate["message"]
        assert "rt-toy-dup-b 0.2.0 (alias of 'dup-b-main')" in duplicate["message"]

    unknown = lookups["nope"]
    assert unknown["error"] == "UnknownTransportError" and "LookupError" in unknown["mro"]
    assert "toy (aliases: toy-alias)" in unknown["message"]
    assert "toy-heavy" in unknown["message"]
    assert "Plugins that failed to load: toy-broken" in unknown["message"]


def test_first_party_name_not_installed_gives_the_pip_line(installed: InstalledEnv) -> None:
    listed = {t["name"] for t in installed.probe()["transports"]}
    missing = [name for name in FIRST_PARTY if name not in listed]
    if not missing:
        pytest.skip("every first-party transport is installed in this environment")
    lookup = installed.probe(missing[0])["lookups"][missing[0]]
    assert lookup["error"] in {"TransportNotInstalledError", "TransportLoadError"}
    if lookup["error"] == "TransportNotInstalledError":
        assert f"\n    pip install realtime-transport-{missing[0]}\n" in lookup["message"]


def test_allow_list(installed: InstalledEnv) -> None:
    env = {"REALTIME_TRANSPORT_PLUGINS": "rt-toy-good"}
    result = installed.cli("plugins", "--json", **env)
    assert "exploded" not in result.stderr  # the broken plugin is not even imported
    plugins = installed.plugins_json(**env)
    assert plugins["rt-toy-good"]["status"] == "active"
    for dist in ("rt-toy-broken", "rt-toy-dup-a", "rt-toy-dup-b"):
        assert plugins[dist]["status"] == "blocked"
        assert plugins[dist]["reason"] == "not in REALTIME_TRANSPORT_PLUGINS"
    lookups = installed.probe("toy", "toy-broken", "shared", **env)["lookups"]
    assert lookups["toy"]["type"] == "rt_toy_good.transport.ToyTransport"
    assert lookups["toy-broken"]["error"] == "UnknownTransportError"
    assert "blocked (not in REALTIME_TRANSPORT_PLUGINS)" in lookups["toy-broken"]["message"]
    assert lookups["shared"]["error"] == "UnknownTransportError"


def test_block_list_by_distribution_and_entry_point_name(installed: InstalledEnv) -> None:
    env = {"REALTIME_TRANSPORT_DISABLE_PLUGINS": "rt-toy-dup-b, toy-broken"}
    plugins = installed.plugins_json(**env)
    assert plugins["rt-toy-good"]["status"] == "active"
    assert plugins["rt-toy-dup-a"]["status"] == "active"
    assert plugins["rt-toy-dup-b"]["status"] == "blocked"
    assert plugins["rt-toy-broken"]["status"] == "blocked"
    lookups = installed.probe("shared", "toy", **env)["lookups"]
    assert lookups["shared"]["type"] == "builtins.dict"  # dup-a's, now uncontested
    assert lookups["toy"]["is_layer"] is True


def test_strict_mode_fails_loudly(installed: InstalledEnv) -> None:
    result = installed.cli("plugins", REALTIME_TRANSPORT_STRICT_PLUGINS="1")
    assert result.returncode != 0
    assert BROKEN in result.stderr
    # With the broken one blocked, the duplicate is the next error strict mode reports.
    result = installed.cli(
        "plugins",
        REALTIME_TRANSPORT_STRICT_PLUGINS="1",
        REALTIME_TRANSPORT_DISABLE_PLUGINS="rt-toy-broken",
    )
    assert result.returncode == 1
    assert "Transport name 'shared' is claimed by more than one plugin" in result.stderr


def test_plugins_table_and_version(installed: InstalledEnv) -> None:
    result = installed.cli("plugins")
    assert result.returncode == 0, result.stderr
    for text in (
        "rt-toy-good",
        "toy (aliases: toy-alias)",
        "client_side_truncation",
        "active",
        f"failed: {BROKEN}",
        "rt-toy-dup-b",
    ):
        assert text in result.stdout, text
    version = installed.cli("--version")
    assert version.returncode == 0 and version.stdout.startswith("realtime-transport ")


_HIDE_EMULATOR = """
import sys


class _HideEmulator:
    # As if realtime-transport-emulator were not installed (the tox env installs it).
    def find_spec(self, name, path=None, target=None):
        if name == "realtime_transport_emulator" or name.startswith("realtime_transport_emulator."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _HideEmulator())
"""


def test_emulator_command_without_the_emulator(installed: InstalledEnv, tmp_path: Path) -> None:
    """The installed console script, with the emulator distribution hidden from imports (a
    ``sitecustomize`` on PYTHONPATH) so this runs in every environment instead of skipping."""
    (tmp_path / "sitecustomize.py").write_text(_HIDE_EMULATOR)
    hidden = {"PYTHONPATH": str(tmp_path)}
    probe = "import importlib.util as u; print(u.find_spec('realtime_transport_emulator'))"
    check = installed.python(probe, **hidden)
    assert check.returncode != 0 and "ModuleNotFoundError" in check.stderr  # really hidden
    result = installed.cli("emulator", "--help", **hidden)
    assert result.returncode == 2, result.stderr
    assert "\n    pip install realtime-transport-emulator" in result.stderr
    assert "Traceback" not in result.stderr
