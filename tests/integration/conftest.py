"""An environment with core and the toy plugin distributions really installed (non-editable).

Under ``tox -e integration`` the tox env already is that environment (its deps install core and
``tests/fixtures/*`` as wheels), so the tests use the running interpreter. Run any other way (e.g.
``pytest tests/integration`` from the dev venv), a temporary venv is built with ``uv`` instead.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from pathlib import Path

import pytest
from installed_env import FIXTURES, ROOT, TOYS, InstalledEnv, find_uv, installed_here, run


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> InstalledEnv:
    if installed_here():
        return InstalledEnv(Path(sys.executable), Path(sysconfig.get_path("scripts")))
    uv = find_uv()
    if uv is None:
        pytest.skip("needs uv (pip install uv) or the tox 'integration' env")
    venv = tmp_path_factory.mktemp("installed") / "venv"
    scripts = venv / ("Scripts" if os.name == "nt" else "bin")
    python = scripts / ("python.exe" if os.name == "nt" else "python")
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    packages = [str(ROOT / "core"), *(str(FIXTURES / d) for d in TOYS.values())]
    steps = [
        [*uv, "venv", "--quiet", "--python", sys.executable, str(venv)],
        [*uv, "pip", "install", "--quiet", "--python", str(python), *packages],  # wheels
    ]
    for step in steps:
        result = run(step, env, timeout=240)
        assert result.returncode == 0, f"{' '.join(step)} failed:\n{result.stderr}"
    return InstalledEnv(python, scripts)
