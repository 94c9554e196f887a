"""The conformance kit fails a broken transport and says what is wrong and how to fix it.

Renders the plugin template, adds three broken variants of its transport (``broken_plugin/``:
typed events before ``*``, no ``disconnected`` event, ``response.create`` while a response is
active) and runs the whole kit against each in a subprocess, as a plugin author would. Each run
must fail, in the scenario that covers the defect, with a message naming the defect and the fix.
Slow (three kit runs): only with ``RT_TEMPLATE_SELFTEST=1`` (``tox -e template``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from realtime_transport.scaffold import _render, render_plugin, template_context

BROKEN = Path(__file__).resolve().parent / "broken_plugin"
NAME = "broken-phone"

#: variant -> (the kit scenario that must fail, fragments its failure message must contain)
CASES = {
    "TypedBeforeRaw": (
        "test_raw_event_order_star_then_typed_then_derived",
        [
            "must be emitted '*' (the raw JSON) first, then the typed event, then derived events",
            "got ['typed:response.created', '*:response.created'",
            "Fix: for every inbound frame emit '*' before anything else",
        ],
    ),
    "NeverDisconnected": (
        "test_connect_and_close",
        [
            "close() must emit exactly one 'disconnected' event, got 0",
            "Fix: change the status only through self._set_status(...)",
        ],
    ),
    "EagerResponseCreate": (
        "test_response_create_waits_for_the_running_response",
        [
            "a second response.create was sent while the first response was still active",
            "conversation_already_has_active_response",
            "Fix: queue response requests until the running response is done",
        ],
    ),
}

pytestmark = pytest.mark.skipif(
    os.environ.get("RT_TEMPLATE_SELFTEST") != "1",
    reason="slow: runs the kit three times; set RT_TEMPLATE_SELFTEST=1 (tox -e template)",
)


@pytest.fixture(scope="module")
def plugin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = render_plugin(NAME, tmp_path_factory.mktemp("broken"))
    context = template_context(NAME)
    overlay = {
        f"src/{context['package']}/broken.py": "broken.py.tmpl",
        "tests/test_broken_conformance.py": "test_broken_conformance.py.tmpl",
    }
    for relative, source in overlay.items():
        text = _render((BROKEN / source).read_text(encoding="utf-8"), context)
        (target / relative).write_text(text, encoding="utf-8")
    return target


@pytest.mark.timeout(240)
@pytest.mark.parametrize("variant", sorted(CASES))
def test_kit_fails_the_broken_transport_and_says_how_to_fix_it(plugin: Path, variant: str) -> None:
    scenario, fragments = CASES[variant]
    env = {
        k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "RT_TEMPLATE_SELFTEST")
    }
    env.update(
        PYTHONPATH=str(plugin / "src"),
        BROKEN_TRANSPORT=variant,
        REALTIME_TRANSPORT_TEST_LOOPS="asyncio",  # one loop is enough to see the failure
    )
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rf"]
    result = subprocess.run(
        [*cmd, "tests/test_broken_conformance.py"],
        cwd=plugin,
        env=env,
        capture_output=True,
        text=True,
        timeout=220,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, f"the kit should fail {variant}:\n{output}"
    failed = set(re.findall(r"^FAILED \S+::(test_\w+)", result.stdout, re.MULTILINE))
    assert scenario in failed, f"{scenario} should fail for {variant}; failed: {failed}\n{output}"
    for fragment in fragments:
        assert fragment in output, f"missing {fragment!r} in the kit's output:\n{output}"
