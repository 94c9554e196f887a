"""``realtime-transport new-plugin``: the renderer, the command, and the template proving itself.

The fast tests check the renderer (names, refusals, every placeholder substituted, the output
compiles and is ruff- and mypy-clean). The self-test (``RT_TEMPLATE_SELFTEST=1``, run by
``tox -e template``) is the point: it installs core, the emulator and the websocket plugin as
wheels in a fresh venv, renders the template with that *installed* core (so the template must
ship in the wheel), installs the rendered plugin as a wheel and runs the plugin's own suite,
conformance kit included, as a third party would (STYLE lesson 12).
"""

from __future__ import annotations

import ast
import configparser
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from realtime_transport.cli import main as cli_main
from realtime_transport.errors import UserError
from realtime_transport.registry import FIRST_PARTY
from realtime_transport.scaffold import (
    MAX_DESCRIPTION_LENGTH,
    MAX_NAME_LENGTH,
    _render,
    render_plugin,
    template_context,
    template_files,
    validate_name,
)

ROOT = Path(__file__).resolve().parents[2]
LONGEST = "abcdefghijklmnopqrstuvwxyz" + "-a1b"  # longest names make the longest lines
assert len(LONGEST) == MAX_NAME_LENGTH

EXPECTED_FILES = {
    ".github/workflows/ci.yml",
    "CHANGELOG.md",
    "README.md",
    "tox.ini",
    "pyproject.toml",
    "src/realtime_transport_acme_phone/__init__.py",
    "src/realtime_transport_acme_phone/plugin.py",
    "src/realtime_transport_acme_phone/py.typed",
    "src/realtime_transport_acme_phone/transport.py",
    "tests/test_conformance.py",
    "tests/test_plugin.py",
    "tests/test_transport.py",
}


def _files(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def _toml(text: str) -> dict[str, Any]:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    data: dict[str, Any] = tomllib.loads(text)
    return data


# -- names -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["acme-phone", "x", "x9", "azure-openai2", "a-1", LONGEST])
def test_valid_names(name: str) -> None:
    assert validate_name(name) == name


@pytest.mark.parametrize(
    "name",
    ["", "Acme", "acme_phone", "-acme", "acme-", "acme--phone", "9lives", "acmé", "acme phone"],
)
def test_invalid_names_are_refused_with_the_rule(name: str) -> None:
    with pytest.raises(UserError, match="lower-case letters, digits and single hyphens"):
        validate_name(name)


def test_invalid_name_suggests_a_valid_one() -> None:
    with pytest.raises(UserError, match="for example 'acme-phone'"):
        validate_name("Acme_Phone")


def test_too_long_name() -> None:
    with pytest.raises(UserError, match=f"at most {MAX_NAME_LENGTH}"):
        validate_name(LONGEST + "x")


@pytest.mark.parametrize("name", [*sorted(FIRST_PARTY), "emulator"])
def test_first_party_names_are_refused(name: str) -> None:
    with pytest.raises(UserError, match="first-party name") as info:
        validate_name(name)
    expected = FIRST_PARTY.get(name, "realtime-transport-emulator")
    assert expected in str(info.value)


def test_first_party_is_never_suggested() -> None:
    with pytest.raises(UserError) as info:
        validate_name("WebSocket")
    assert "for example 'websocket'" not in str(info.value)


# -- context -----------------------------------------------------------------------------------


def test_context_names() -> None:
    context = template_context("acme-phone")
    assert context["distribution"] == "realtime-transport-acme-phone"
    assert context["package"] == "realtime_transport_acme_phone"
    assert context["class_name"] == "AcmePhoneTransport"
    assert context["description"] == "Acme Phone transport for realtime-transport"
    assert context["authors_toml"] == "[]"


@pytest.mark.parametrize(
    ("author", "expected"),
    [
        ("Ada Lovelace <ada@example.org>", [{"name": "Ada Lovelace", "email": "ada@example.org"}]),
        ("<ada@example.org>", [{"email": "ada@example.org"}]),
        ('Ada "Countess" L.', [{"name": 'Ada "Countess" L.'}]),
        ("", []),
    ],
)
def test_author_becomes_valid_toml(author: str, expected: list[dict[str, str]]) -> None:
    context = template_context("acme-phone", author=author)
    assert _toml(f"authors = {context['authors_toml']}")["authors"] == expected


@pytest.mark.parametrize("author", ["Ada <no-at-sign>", "Ada\nLovelace"])
def test_bad_author_is_refused(author: str) -> None:
    with pytest.raises(UserError, match="--author"):
        template_context("acme-phone", author=author)


@pytest.mark.parametrize(
    "description",
    ["", "two\nlines", "x" * (MAX_DESCRIPTION_LENGTH + 1)],
    ids=["empty", "nl", "long"],
)
def test_bad_description_is_refused(description: str) -> None:
    with pytest.raises(UserError, match="description"):
        template_context("acme-phone", description=description)


def test_unknown_placeholder_is_an_error() -> None:
    with pytest.raises(UserError, match="unknown placeholder"):
        _render("x = {{ nope }}", template_context("acme-phone"))


# -- rendering ---------------------------------------------------------------------------------


def test_renders_every_template_file(tmp_path: Path) -> None:
    target = render_plugin("acme-phone", tmp_path)
    assert target == tmp_path / "realtime-transport-acme-phone"
    files = _files(target)
    assert set(files) == EXPECTED_FILES
    assert len(template_files()) == len(EXPECTED_FILES)
    assert [p.name for p in tmp_path.iterdir()] == [target.name]  # no staging directory left
    for path, text in files.items():
        # GitHub Actions' own ${{ matrix.env }} (a dotted name) is not a template placeholder
        assert not re.search(r"\{\{\s*\w+\s*\}\}", path + text), path


def test_generated_python_compiles(tmp_path: Path) -> None:
    target = render_plugin(LONGEST, tmp_path)
    sources = {p: t for p, t in _files(target).items() if p.endswith(".py")}
    assert len(sources) == 6
    for path, text in sources.items():
        compile(text, path, "exec")


def test_quotes_in_values_survive_toml_and_python(tmp_path: Path) -> None:
    description = 'Says "hi" \\ then ünïcode'
    target = render_plugin("acme-phone", tmp_path, description=description, author='A "B" <a@b.c>')
    project = _toml((target / "pyproject.toml").read_text())["project"]
    assert project["description"] == description
    assert project["authors"] == [{"name": 'A "B"', "email": "a@b.c"}]
    assert project["entry-points"] == {
        "realtime_transport": {"acme-phone": "realtime_transport_acme_phone.plugin"}
    }
    assert project["name"] == "realtime-transport-acme-phone"
    assert "realtime-transport>=0.1.0" in project["dependencies"]
    assert "realtime-transport-emulator>=0.1.0" in project["optional-dependencies"]["test"]
    plugin = ast.parse((target / "src/realtime_transport_acme_phone/plugin.py").read_text())
    summaries = [
        ast.literal_eval(node.value)
        for node in ast.walk(plugin)
        if isinstance(node, ast.keyword) and node.arg == "summary"
    ]
    assert summaries == [description]
    assert description in (target / "README.md").read_text()


def test_rendered_tox_and_ci_run_the_same_envs(tmp_path: Path) -> None:
    """tox.ini tests at the lowest and highest allowed versions plus lint and type; the
    GitHub Actions workflow runs exactly those envs, and publishes only from a tag."""
    yaml = pytest.importorskip("yaml")
    target = render_plugin("acme-phone", tmp_path)
    tox = configparser.ConfigParser(interpolation=None)
    tox.read_string((target / "tox.ini").read_text())
    envs = tox["tox"]["env_list"].split()
    assert envs == ["lowest", "highest", "lint", "type"]
    resolution = tox["testenv"]["uv_resolution"]
    assert "lowest: lowest-direct" in resolution and "highest: highest" in resolution
    assert tox["testenv"]["extras"].strip() == "test"
    workflow = yaml.safe_load((target / ".github/workflows/ci.yml").read_text())
    job = workflow["jobs"]["tox"]
    assert job["strategy"]["matrix"]["env"] == envs
    assert any("tox run -e ${{ matrix.env }}" in step.get("run", "") for step in job["steps"])
    publish = workflow["jobs"]["publish"]
    assert publish["needs"] == "tox" and "refs/tags/v" in publish["if"]
    changelog = (target / "CHANGELOG.md").read_text()
    assert changelog.startswith("# Changelog") and "## Unreleased" in changelog
    assert "realtime-transport-acme-phone" in changelog and "`acme-phone` transport" in changelog


def test_refuses_to_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "realtime-transport-acme-phone"
    target.mkdir()
    (target / "mine.txt").write_text("keep me")
    with pytest.raises(UserError, match="already exists"):
        render_plugin("acme-phone", tmp_path)
    assert _files(target) == {"mine.txt": "keep me"}
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def _tool(module: str) -> list[str]:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed here")
    return [sys.executable, "-m", module]


def _check(cmd: Sequence[str], cwd: Path, timeout: float = 120) -> None:
    result = subprocess.run(
        list(cmd), cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, f"{' '.join(cmd)}:\n{result.stdout}\n{result.stderr}"


@pytest.mark.parametrize("name", ["acme-phone", LONGEST])
def test_rendered_code_is_ruff_clean(tmp_path: Path, name: str) -> None:
    ruff = _tool("ruff")
    target = render_plugin(name, tmp_path, description="d" * MAX_DESCRIPTION_LENGTH)
    # The rendered pyproject.toml holds the ruff settings (100 columns, the project's rules).
    _check([*ruff, "check", "--no-cache", "."], target)
    _check([*ruff, "format", "--check", "--no-cache", "."], target)


@pytest.mark.timeout(120)
def test_rendered_code_is_mypy_strict_clean(tmp_path: Path) -> None:
    mypy = _tool("mypy")
    if importlib.util.find_spec("realtime_transport_websocket") is None:
        pytest.skip("the rendered transport extends realtime-transport-websocket")
    target = render_plugin(LONGEST, tmp_path)
    _check([*mypy, "--strict", "--cache-dir", str(tmp_path / "cache"), "src", "tests"], target)


# -- the command -------------------------------------------------------------------------------


def test_cli_renders_and_prints_next_steps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli_main(["new-plugin", "acme-phone", "--author", "Ada <ada@example.org>"]) == 0
    out = capsys.readouterr().out
    assert 'pip install -e "./realtime-transport-acme-phone[test]"' in out
    assert "pytest" in out
    assert set(_files(tmp_path / "realtime-transport-acme-phone")) == EXPECTED_FILES


def test_cli_output_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "new" / "place"
    assert cli_main(["new-plugin", "acme-phone", "--output", str(out_dir)]) == 0
    assert (out_dir / "realtime-transport-acme-phone" / "pyproject.toml").is_file()
    assert str(out_dir.resolve() / "realtime-transport-acme-phone") in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["websocket"], "first-party name"),
        (["Acme"], "invalid plugin name"),
        (["acme", "--description", "a\nb"], "one non-empty line"),
    ],
)
def test_cli_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert cli_main(["new-plugin", *argv, "--output", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert captured.err.startswith("realtime-transport new-plugin: error:")
    assert list(tmp_path.iterdir()) == []


def test_cli_refuses_existing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["new-plugin", "acme-phone", "--output", str(tmp_path)]) == 0
    assert cli_main(["new-plugin", "acme-phone", "--output", str(tmp_path)]) == 2
    assert "already exists" in capsys.readouterr().err


def test_cli_lists_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main([]) == 0
    assert "new-plugin" in capsys.readouterr().out


# -- the template proves itself ----------------------------------------------------------------


def _uv() -> list[str]:
    found = shutil.which("uv")
    if found:
        return [found]
    try:
        import uv  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        pytest.skip("the template self-test needs uv (pip install uv)")
    return [str(uv.find_uv_bin())]


def _run(
    cmd: Sequence[str], env: dict[str, str], cwd: Path | None = None, timeout: float = 120
) -> str:
    result = subprocess.run(
        list(cmd), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, f"{' '.join(cmd)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.mark.skipif(
    os.environ.get("RT_TEMPLATE_SELFTEST") != "1",
    reason="slow: installs into a fresh venv; set RT_TEMPLATE_SELFTEST=1 (tox -e template)",
)
@pytest.mark.timeout(600)
def test_rendered_plugin_passes_its_own_suite(tmp_path: Path) -> None:
    uv = _uv()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REALTIME_TRANSPORT_")}
    for key in ("VIRTUAL_ENV", "PYTHONPATH", "RT_TEMPLATE_SELFTEST", "PYTEST_ADDOPTS"):
        env.pop(key, None)
    env["REALTIME_TRANSPORT_STRICT_PLUGINS"] = "1"  # a plugin that fails to load fails the run
    venv = tmp_path / "venv"
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = str(bin_dir / ("python.exe" if os.name == "nt" else "python"))
    first_party = [str(ROOT / "core"), str(ROOT / "emulator"), str(ROOT / "plugins" / "websocket")]

    _run([*uv, "venv", "--quiet", "--python", sys.executable, str(venv)], env)
    _run([*uv, "pip", "install", "--quiet", "--python", python, *first_party], env)  # wheels

    # Render with the installed core: the template has to be inside the wheel for this to work.
    out = tmp_path / "out"
    script = shutil.which("realtime-transport", path=str(bin_dir))
    assert script, "the core wheel installed no realtime-transport script"
    printed = _run(
        [script, "new-plugin", "selftest-phone", "--output", str(out), "--author", "CI <ci@x.io>"],
        env,
    )
    plugin = out / "realtime-transport-selftest-phone"
    assert "pip install -e" in printed and plugin.is_dir()

    # The rendered plugin as a wheel (not editable), with its test extra; first-party
    # distributions come from this checkout, everything else from the index (or uv's cache).
    _run(
        [*uv, "pip", "install", "--quiet", "--python", python, *first_party, f"{plugin}[test]"], env
    )
    listing = json.loads(_run([script, "plugins", "--json"], env))
    [info] = [p for p in listing["plugins"] if p["distribution"] == plugin.name]
    assert info["status"] == "active"

    # The plugin's own tox, as its CI runs it: tests at the lowest and the highest versions its
    # pyproject.toml allows, lint and type. First-party wheels come from a local folder.
    wheels = tmp_path / "wheels"
    for folder in first_party:
        _run([*uv, "build", "--wheel", "--quiet", "--out-dir", str(wheels), folder], env)
    tox_env = {k: v for k, v in env.items() if not k.startswith("TOX_")}
    tox_env["UV_FIND_LINKS"] = str(wheels)
    output = _run(
        [sys.executable, "-m", "tox", "run", "-e", "lowest,highest,lint,type"],
        tox_env,
        cwd=plugin,
        timeout=480,
    )
    summaries = re.findall(r"^=+ (.* in [0-9.]+s.*) =+$", output, re.MULTILINE)
    assert len(summaries) == 2, output  # lowest and highest
    for summary in summaries:
        assert " passed" in summary and "failed" not in summary and "error" not in summary, output
        # Nothing skipped: a missing emulator would otherwise skip the whole kit and "pass".
        assert "skipped" not in summary, output
        assert int(summary.split(" passed")[0].split()[-1]) >= 20, output
    for name in ("lowest", "highest", "lint", "type"):
        assert re.search(rf"^  {name}: OK", output, re.MULTILINE), output
