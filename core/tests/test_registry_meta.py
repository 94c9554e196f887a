"""Meta-tests: every hook specification is prefixed, typed, documented with an example, tested,
and mentioned in the README, so the plugin surface cannot grow without those."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from realtime_transport import hookspecs
from realtime_transport.hookspecs import PROJECT_NAME

TESTS = Path(__file__).parent
README = Path(__file__).parents[2] / "README.md"


def _hookspecs() -> list[str]:
    return sorted(
        name
        for name, obj in vars(hookspecs).items()
        if inspect.isfunction(obj) and hasattr(obj, f"{PROJECT_NAME}_spec")
    )


def test_there_is_exactly_the_one_registration_hook() -> None:
    # Adding a hook is a decision (STYLE lesson 2): update this list, its docs and its tests.
    assert _hookspecs() == ["realtime_transport_register_transports"]


@pytest.mark.parametrize("name", _hookspecs())
def test_hookspec_is_prefixed_typed_and_documented(name: str) -> None:
    spec = getattr(hookspecs, name)
    assert name.startswith(f"{PROJECT_NAME}_")
    signature = inspect.signature(spec)
    assert signature.return_annotation is not inspect.Signature.empty
    assert all(p.annotation is not inspect.Parameter.empty for p in signature.parameters.values())
    doc = inspect.getdoc(spec) or ""
    assert "Example::" in doc and "@hookimpl" in doc, "document each hook with an example"
    assert ":return:" in doc
    for param in signature.parameters:
        assert f":param {param}:" in doc
    assert "firstresult" in doc and "historic" in doc, "say whether it is firstresult/historic"


@pytest.mark.parametrize("name", _hookspecs())
def test_hookspec_has_tests(name: str) -> None:
    here = Path(__file__).name
    users = [p.name for p in TESTS.glob("test_*.py") if p.name != here and name in p.read_text()]
    assert users, f"no test module implements or mentions {name}"


@pytest.mark.parametrize("name", _hookspecs())
def test_hookspec_is_documented_for_plugin_authors(name: str) -> None:
    """The plugin author's guide (docs/, which the README links to) names every hook."""
    guides = [README, *sorted((README.parent / "docs").glob("*.md"))]
    documented = [path.name for path in guides if path.exists() and name in path.read_text()]
    assert documented, f"neither README.md nor docs/*.md documents {name}"
