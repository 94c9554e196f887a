"""Registry and plugin loading, on fresh registries.

Two kinds of plugins: in-process plugin objects (``TransportRegistry(autoload=False)`` plus
``register``), and real installed distributions written to a temporary ``site`` directory on
``sys.path`` (a ``*.dist-info`` with ``METADATA`` and ``entry_points.txt``, as pip leaves them),
found through ``importlib.metadata`` exactly as installed plugins are. Each test's allow-list is
the set of distributions it wrote, so plugins installed in the dev environment do not leak in.
"""

from __future__ import annotations

import itertools
import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import realtime_transport
from realtime_transport import TransportCapabilities, TransportSpec, hookimpl
from realtime_transport.errors import (
    DuplicateTransportError,
    PluginError,
    TransportLoadError,
    TransportNotInstalledError,
    UnknownTransportError,
    UserError,
)
from realtime_transport.hookspecs import PluginSettings
from realtime_transport.registry import (
    TransportRegistry,
    get_registry,
    list_plugin_distributions,
    list_transports,
    normalize_transport_name,
    reset_registry,
)

HOOK = "realtime_transport_register_transports"
_ids = itertools.count()


class Toy:
    """A stand-in transport factory: records the options it was built with."""

    def __init__(self, **options: Any) -> None:
        self.options = options


class Plugin:
    """An in-process plugin object returning the given specs."""

    def __init__(self, *specs: TransportSpec) -> None:
        self.specs = specs
        self.calls = 0

    @hookimpl
    def realtime_transport_register_transports(self) -> list[TransportSpec]:
        self.calls += 1
        return list(self.specs)


def spec(name: str, **kwargs: Any) -> TransportSpec:
    kwargs.setdefault("factory", Toy)
    return TransportSpec(name=name, **kwargs)


def fresh(*plugins: object, **settings: Any) -> TransportRegistry:
    registry = TransportRegistry(autoload=False, settings=PluginSettings(**settings))
    for plugin in plugins:
        registry.register(plugin)
    return registry


class Site:
    """A temporary site directory on ``sys.path`` holding real (unpacked) distributions."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.dists: set[str] = set()
        self.modules: set[str] = set()

    def module(self, name: str, source: str) -> str:
        path = self.root / f"{name}.py"
        path.write_text(textwrap.dedent(source))
        self.modules.add(name)
        return name

    def dist(self, dist: str, version: str = "1.0", **entry_points: str) -> None:
        info = self.root / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        lines = "".join(f"{name} = {value}\n" for name, value in entry_points.items())
        (info / "entry_points.txt").write_text(f"[realtime_transport]\n{lines}")
        self.dists.add(dist)

    def plugin(self, dist: str, ep: str, *specs: str, version: str = "1.0") -> str:
        """A distribution whose plugin module returns specs built from the given source lines."""
        module = self.module(
            f"rt_test_plugin_{next(_ids)}",
            "from realtime_transport import TransportSpec, hookimpl\n"
            "@hookimpl\n"
            f"def {HOOK}():\n"
            f"    return [{', '.join(specs)}]\n",
        )
        self.dist(dist, version, **{ep: module})
        return module

    def registry(self, **settings: Any) -> TransportRegistry:
        settings.setdefault("allow", frozenset(self.dists))
        return TransportRegistry(settings=PluginSettings(**settings))


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    s = Site(root)
    yield s
    for name in s.modules:
        sys.modules.pop(name, None)


def toy_factory(site: Site) -> str:
    """A lazily imported factory module; returns its ``module:attr`` path."""
    module = site.module(
        f"rt_test_transport_{next(_ids)}",
        """
        class ToyTransport:
            def __init__(self, **options):
                self.options = options
        """,
    )
    return f"{module}:ToyTransport"


# -- TransportSpec -------------------------------------------------------------------------------


def test_names_and_aliases_are_normalised() -> None:
    s = spec(" Web_RTC ", aliases=("WEB-rtc", "Fetch_Upgrade", "fetch-upgrade", "web_rtc"))
    assert s.name == "web-rtc"
    assert s.aliases == ("fetch-upgrade",)  # duplicates and the name itself dropped
    assert s.names == ("web-rtc", "fetch-upgrade")
    assert normalize_transport_name("  My_Transport ") == "my-transport"


def test_a_single_alias_string_is_one_alias() -> None:
    assert spec("ws-x", aliases="ws").aliases == ("ws",)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "  "}, "non-empty string"),
        ({"name": 3}, "non-empty string"),
        ({"name": "x", "aliases": ("",)}, "aliases must be non-empty strings"),
        ({"name": "x", "factory": "no_colon"}, "must look like 'package.module:Class'"),
        ({"name": "x", "factory": "mod:"}, "must look like"),
        ({"name": "x", "factory": 42}, "'module:attr' string or a callable, got int"),
        ({"name": "x", "capabilities": {"sends_audio": True}}, "TransportCapabilities instance"),
    ],
)
def test_invalid_specs_are_rejected_with_a_clear_message(
    kwargs: dict[str, Any], message: str
) -> None:
    kwargs.setdefault("factory", Toy)
    with pytest.raises(PluginError, match=message):
        TransportSpec(**kwargs)


def test_spec_is_frozen_and_defaults_capabilities() -> None:
    s = spec("toy")
    assert s.capabilities == TransportCapabilities()
    with pytest.raises(AttributeError):
        s.name = "other"  # type: ignore[misc]


# -- lookup through in-process plugins -----------------------------------------------------------


def test_get_transport_builds_the_factory_with_options() -> None:
    registry = fresh(Plugin(spec("toy", aliases=("t",), summary="a toy")))
    transport = registry.get_transport("toy", model="m", url="ws://x")
    assert isinstance(transport, Toy)
    assert transport.options == {"model": "m", "url": "ws://x"}
    assert isinstance(registry.get_transport(" T "), Toy)  # alias, case and space
    assert registry.get_transport_class("TOY") is cast(object, Toy)
    resolved = registry.resolve("toy")
    assert resolved.summary == "a toy"
    assert resolved.distribution is None
    assert resolved.plugin is not None
    assert resolved.provider == f"in-process plugin {resolved.plugin!r}"


def test_underscores_and_dashes_are_the_same_name() -> None:
    registry = fresh(Plugin(spec("fetch-upgrade")))
    assert registry.resolve("FETCH_UPGRADE").name == "fetch-upgrade"


def test_list_transports_returns_each_spec_once_sorted() -> None:
    registry = fresh(Plugin(spec("zeta", aliases=("z1", "z2")), spec("alpha")))
    assert [s.name for s in registry.list_transports()] == ["alpha", "zeta"]


def test_non_string_name_is_a_user_error() -> None:
    with pytest.raises(UserError, match="must be a string, got int"):
        fresh().resolve(3)  # type: ignore[arg-type]


def test_registry_is_lazy_and_hooks_run_once() -> None:
    plugin = Plugin(spec("toy"))
    registry = fresh(plugin)
    assert plugin.calls == 0  # registering does not call the hook
    registry.get_transport("toy")
    registry.list_transports()
    registry.resolve("toy")
    assert plugin.calls == 1


def test_registering_later_reindexes() -> None:
    registry = fresh(Plugin(spec("one")))
    assert [s.name for s in registry.list_transports()] == ["one"]
    name = registry.register(Plugin(spec("two")), name="second")
    assert [s.name for s in registry.list_transports()] == ["one", "two"]
    registry.unregister(name)
    assert [s.name for s in registry.list_transports()] == ["one"]


def test_each_spec_is_attributed_to_the_plugin_that_returned_it() -> None:
    registry = TransportRegistry(autoload=False, settings=PluginSettings())
    registry.register(Plugin(spec("a")), name="plugin-a")
    registry.register(Plugin(spec("b1"), spec("b2")), name="plugin-b")
    by_plugin = {i.name: [s.name for s in i.transports] for i in registry.plugins()}
    assert by_plugin == {"plugin-a": ["a"], "plugin-b": ["b1", "b2"]}
    assert registry.resolve("b2").plugin == "plugin-b"
    info = next(i for i in registry.plugins() if i.name == "plugin-a")
    assert info.hooks == (HOOK,)
    assert info.status == "active" and info.status_text == "active"


def test_generator_hooks_are_accepted() -> None:
    class GeneratorPlugin:
        @hookimpl
        def realtime_transport_register_transports(self) -> Iterator[TransportSpec]:
            yield spec("gen")

    assert fresh(GeneratorPlugin()).resolve("gen").name == "gen"


# -- lazy factories ------------------------------------------------------------------------------


def test_string_factories_are_imported_on_first_lookup_only(site: Site) -> None:
    path = toy_factory(site)
    module = path.partition(":")[0]
    registry = fresh(Plugin(spec("lazy", factory=path)))
    assert [s.name for s in registry.list_transports()] == ["lazy"]
    assert module not in sys.modules  # listing never imports a transport
    transport = registry.get_transport("lazy", a=1)
    assert type(transport).__module__ == module
    assert transport.options == {"a": 1}  # type: ignore[attr-defined]
    assert registry.get_transport_class("lazy") is registry.get_transport_class("lazy")


def test_a_factory_that_fails_to_import_names_the_spec_and_the_error(site: Site) -> None:
    module = site.module(f"rt_heavy_{next(_ids)}", "import not_installed_heavy_dependency_xyz\n")
    site.plugin("rt-heavy", "heavy", f"TransportSpec(name='heavy', factory='{module}:Transport')")
    registry = site.registry()
    assert registry.resolve("heavy").distribution == "rt-heavy"  # listed fine
    with pytest.raises(TransportLoadError) as info:
        registry.get_transport("heavy")
    message = str(info.value)
    assert "Transport 'heavy' (from rt-heavy 1.0)" in message
    assert f"{module}:Transport" in message
    assert "ModuleNotFoundError" in message and "not_installed_heavy_dependency_xyz" in message
    assert "pip install --force-reinstall rt-heavy" in message
    assert isinstance(info.value, LookupError)


def test_a_factory_attribute_that_is_missing_or_not_callable(site: Site) -> None:
    module = site.module(f"rt_attr_{next(_ids)}", "NOT_CALLABLE = 3\n")
    registry = fresh(
        Plugin(
            spec("missing", factory=f"{module}:Nope"),
            spec("number", factory=f"{module}:NOT_CALLABLE"),
        )
    )
    with pytest.raises(TransportLoadError, match="AttributeError"):
        registry.get_transport("missing")
    with pytest.raises(TransportLoadError, match="is a int, not a class or callable"):
        registry.get_transport("number")


# -- isolation and strict mode -------------------------------------------------------------------


class RaisingPlugin:
    @hookimpl
    def realtime_transport_register_transports(self) -> list[TransportSpec]:
        raise RuntimeError("hook exploded")


def test_a_hook_that_raises_fails_only_its_plugin(caplog: pytest.LogCaptureFixture) -> None:
    registry = TransportRegistry(autoload=False, settings=PluginSettings())
    registry.register(RaisingPlugin(), name="bad")
    registry.register(Plugin(spec("good")), name="good")
    assert registry.get_transport("good")
    infos = {i.name: i for i in registry.plugins()}
    assert infos["bad"].status == "failed"
    assert infos["bad"].status_text == "failed: RuntimeError: hook exploded"
    assert infos["good"].status == "active"
    assert "plugin 'bad' (in-process) failed and was skipped" in caplog.text


def test_strict_mode_reraises_the_plugin_error() -> None:
    registry = fresh(RaisingPlugin(), Plugin(spec("good")), strict=True)
    with pytest.raises(RuntimeError, match="hook exploded"):
        registry.get_transport("good")


def test_a_hook_returning_something_else_fails_its_plugin() -> None:
    class Wrong:
        @hookimpl
        def realtime_transport_register_transports(self) -> list[object]:
            return ["websocket"]

    registry = TransportRegistry(autoload=False, settings=PluginSettings())
    registry.register(Wrong(), name="wrong")
    assert registry.list_transports() == []
    (info,) = registry.plugins()
    assert info.status_text == (
        "failed: PluginError: realtime_transport_register_transports returned a str; "
        "it must return TransportSpec records"
    )


def test_a_hook_returning_one_spec_or_nothing_is_accepted() -> None:
    class Lone:
        @hookimpl
        def realtime_transport_register_transports(self) -> TransportSpec:
            return spec("lone")

    class Nothing:
        @hookimpl
        def realtime_transport_register_transports(self) -> None:
            return None

    registry = fresh(Lone(), Nothing())
    assert [s.name for s in registry.list_transports()] == ["lone"]
    assert {i.status for i in registry.plugins()} == {"active"}


def test_a_hook_returning_a_non_iterable_fails_its_plugin() -> None:
    class Number:
        @hookimpl
        def realtime_transport_register_transports(self) -> int:
            return 3

    registry = TransportRegistry(autoload=False, settings=PluginSettings())
    registry.register(Number(), name="number")
    (info,) = registry.plugins()
    assert "returned a int; it must return TransportSpec records" in (info.reason or "")


def test_a_plugin_declaring_a_name_twice_fails() -> None:
    registry = TransportRegistry(autoload=False, settings=PluginSettings())
    registry.register(Plugin(spec("a"), spec("b", aliases=("a",))), name="twice")
    (info,) = registry.plugins()
    assert info.status == "failed"
    assert "declares the transport name(s) ['a'] twice" in (info.reason or "")


def test_broken_entry_point_is_isolated_and_recorded(site: Site) -> None:
    broken = site.module(f"rt_broken_{next(_ids)}", "raise RuntimeError('boom at import')\n")
    site.dist("rt-broken", "0.3", broken=broken)
    site.plugin("rt-good", "good", "TransportSpec(name='good', factory='builtins:dict')")
    registry = site.registry()
    assert isinstance(registry.get_transport("good"), dict)
    infos = {i.distribution: i for i in registry.plugins() if i.distribution in site.dists}
    assert infos["rt-broken"].status_text == "failed: RuntimeError: boom at import"
    assert infos["rt-broken"].version == "0.3"
    assert infos["rt-broken"].entry_point == broken
    assert infos["rt-good"].status == "active"


def test_strict_mode_reraises_entry_point_import_errors(site: Site) -> None:
    broken = site.module(f"rt_broken_{next(_ids)}", "raise RuntimeError('boom at import')\n")
    site.dist("rt-broken", broken=broken)
    with pytest.raises(RuntimeError, match="boom at import"):
        site.registry(strict=True).list_transports()


# -- check_pending -------------------------------------------------------------------------------


class Misspelt:
    @hookimpl
    def realtime_transport_register_transport(self) -> list[TransportSpec]:  # no trailing "s"
        return [spec("never")]


def test_misspelt_hook_in_process_is_an_error_at_registration() -> None:
    registry = fresh()
    with pytest.raises(PluginError, match="unknown hook 'realtime_transport_register_transport'"):
        registry.register(Misspelt(), name="misspelt")
    assert registry.list_transports() == []


def test_misspelt_hook_in_an_installed_plugin_fails_that_plugin(site: Site) -> None:
    module = site.module(
        f"rt_misspelt_{next(_ids)}",
        """
        from realtime_transport import hookimpl

        @hookimpl
        def realtime_transport_register_transport():
            return []
        """,
    )
    site.dist("rt-misspelt", misspelt=module)
    site.plugin("rt-ok", "ok", "TransportSpec(name='ok', factory='builtins:dict')")
    registry = site.registry()
    assert registry.resolve("ok").name == "ok"
    info = next(i for i in registry.plugins() if i.distribution == "rt-misspelt")
    assert info.status == "failed"
    assert "unknown hook 'realtime_transport_register_transport'" in (info.reason or "")
    with pytest.raises(PluginError, match="unknown hook"):
        site.registry(strict=True).list_transports()


def test_a_hook_with_an_unknown_argument_is_rejected() -> None:
    class BadSignature:
        @hookimpl
        def realtime_transport_register_transports(self, config: object) -> list[TransportSpec]:
            return []

    with pytest.raises(PluginError, match="config"):
        fresh().register(BadSignature())


# -- duplicates ----------------------------------------------------------------------------------


def test_two_distributions_claiming_one_name_raise_naming_both(site: Site) -> None:
    site.plugin("rt-dup-a", "dup-a", "TransportSpec(name='shared', factory='builtins:dict')")
    site.plugin(
        "rt-dup-b",
        "dup-b",
        "TransportSpec(name='b-main', aliases=('Shared',), factory='builtins:dict')",
        version="2.5",
    )
    site.plugin("rt-other", "other", "TransportSpec(name='other', factory='builtins:dict')")
    registry = site.registry()
    for name in ("shared", "SHARED", "b-main"):
        with pytest.raises(DuplicateTransportError) as info:
            registry.resolve(name)
        message = str(info.value)
        assert "'shared' is claimed by more than one plugin" in message
        assert "rt-dup-a 1.0 (transport 'shared')" in message
        assert "rt-dup-b 2.5 (alias of 'b-main')" in message
        assert "REALTIME_TRANSPORT_DISABLE_PLUGINS=rt-dup-b" in message
    assert isinstance(registry.get_transport("other"), dict)  # unrelated transports still work
    assert [s.name for s in registry.list_transports()] == ["other"]
    infos = {i.distribution: i for i in registry.plugins() if i.distribution in site.dists}
    assert infos["rt-dup-a"].status_text.startswith("failed: Transport name 'shared' is claimed")
    assert infos["rt-dup-b"].status == "failed"
    assert infos["rt-other"].status == "active"
    # Blocking one of the two resolves the conflict.
    fixed = site.registry(block=frozenset({"rt-dup-b"}))
    assert fixed.resolve("shared").distribution == "rt-dup-a"
    with pytest.raises(DuplicateTransportError):
        site.registry(strict=True).list_transports()


def test_in_process_duplicates_raise_too() -> None:
    registry = TransportRegistry(autoload=False, settings=PluginSettings())
    registry.register(Plugin(spec("same")), name="first")
    registry.register(Plugin(spec("same")), name="second")
    with pytest.raises(
        DuplicateTransportError,
        match=r"in-process plugin 'first' .* and in-process plugin 'second'",
    ):
        registry.get_transport("same")


def test_explicit_override_replaces_an_installed_transport(site: Site) -> None:
    site.plugin(
        "rt-base",
        "base",
        "TransportSpec(name='websocket', aliases=('ws',), factory='builtins:dict')",
    )
    registry = site.registry()
    assert registry.resolve("ws").distribution == "rt-base"
    registry.register(Plugin(spec("websocket")), name="mine", override=True)
    assert isinstance(registry.get_transport("websocket"), Toy)
    assert registry.resolve("websocket").plugin == "mine"
    with pytest.raises(UnknownTransportError):  # the shadowed spec is gone entirely
        registry.resolve("ws")


def test_two_overrides_of_one_name_still_conflict() -> None:
    registry = fresh()
    registry.register(Plugin(spec("x")), name="o1", override=True)
    registry.register(Plugin(spec("x")), name="o2", override=True)
    with pytest.raises(DuplicateTransportError):
        registry.resolve("x")


# -- lookup errors -------------------------------------------------------------------------------


def test_unknown_name_lists_installed_names_and_aliases() -> None:
    registry = fresh(Plugin(spec("websocket", aliases=("ws",)), spec("toy")))
    with pytest.raises(UnknownTransportError) as info:
        registry.get_transport("nope")
    message = str(info.value)
    assert isinstance(info.value, LookupError)
    assert not isinstance(info.value, TransportNotInstalledError)
    assert "Unknown transport 'nope' (the plugin providing it may not be installed)." in message
    assert "Installed transports: toy, websocket (aliases: ws)." in message
    assert (
        "First-party transports not installed: cloudflare, fetch-upgrade, sip, twilio, webrtc"
        in (message)
    )


def test_unknown_name_suggests_a_close_match() -> None:
    with pytest.raises(UnknownTransportError, match="Did you mean 'websocket'"):
        fresh(Plugin(spec("websocket"))).resolve("websockt")


def test_unknown_name_with_nothing_installed_says_so() -> None:
    with pytest.raises(UnknownTransportError) as info:
        fresh().resolve("nope")
    assert "Installed transports: none (no transport plugin is installed; for example: " in str(
        info.value
    )


@pytest.mark.parametrize(
    ("name", "dist"),
    [
        ("webrtc", "realtime-transport-webrtc"),
        ("WebRTC", "realtime-transport-webrtc"),
        ("websocket", "realtime-transport-websocket"),
        ("sip", "realtime-transport-sip"),
        ("twilio", "realtime-transport-twilio"),
        ("cloudflare", "realtime-transport-cloudflare"),
        ("fetch_upgrade", "realtime-transport-cloudflare"),
    ],
)
def test_first_party_name_not_installed_gives_the_exact_pip_line(name: str, dist: str) -> None:
    with pytest.raises(TransportNotInstalledError) as info:
        fresh(Plugin(spec("toy"))).get_transport(name)
    message = str(info.value)
    assert f"Transport {name!r} is not installed." in message
    assert f"\n    pip install {dist}\n" in message
    assert "Installed transports: toy." in message
    assert isinstance(info.value, UnknownTransportError)


def test_installed_plugin_that_failed_to_load_shows_its_error(site: Site) -> None:
    broken = site.module(f"rt_broken_{next(_ids)}", "raise ImportError('libfoo.so missing')\n")
    site.dist("realtime-transport-webrtc", "0.9", webrtc=broken)
    site.dist("rt-other-broken", "0.1", **{"my-transport": broken})
    registry = site.registry()
    with pytest.raises(TransportLoadError) as info:
        registry.get_transport("webrtc")  # matched by distribution and entry-point name
    message = str(info.value)
    assert "provided by plugin 'webrtc' (realtime-transport-webrtc 0.9)" in message
    assert "failed to load: ImportError: libfoo.so missing" in message
    assert "realtime-transport plugins" in message
    with pytest.raises(TransportLoadError, match=r"libfoo\.so missing"):
        registry.get_transport("My_Transport")  # matched by entry-point name
    with pytest.raises(UnknownTransportError, match=r"Plugins that failed to load: .*webrtc"):
        registry.get_transport("nope")


def test_blocked_plugin_name_says_it_is_blocked(site: Site) -> None:
    site.plugin("rt-blocked", "blocked", "TransportSpec(name='blocked', factory='builtins:dict')")
    registry = site.registry(block=frozenset({"rt-blocked"}))
    with pytest.raises(UnknownTransportError) as info:
        registry.resolve("blocked")
    assert "which is blocked (listed in REALTIME_TRANSPORT_DISABLE_PLUGINS)" in str(info.value)


# -- allow and block lists -----------------------------------------------------------------------


def test_settings_from_env() -> None:
    env = {
        "REALTIME_TRANSPORT_STRICT_PLUGINS": "1",
        "REALTIME_TRANSPORT_PLUGINS": " RT_Good , websocket,",
        "REALTIME_TRANSPORT_DISABLE_PLUGINS": "rt.bad",
        "REALTIME_TRANSPORT_TRACE_PLUGINS": "yes",
        "UNRELATED_PLUGINS": "x",
    }
    settings = PluginSettings.from_env(env)
    assert settings == PluginSettings(
        strict=True,
        allow=frozenset({"rt-good", "websocket"}),
        block=frozenset({"rt-bad"}),
        trace=True,
    )
    assert PluginSettings.from_env({}) == PluginSettings()
    assert PluginSettings.from_env({"REALTIME_TRANSPORT_PLUGINS": ""}).allow == frozenset()
    assert not PluginSettings.from_env({"REALTIME_TRANSPORT_STRICT_PLUGINS": "0"}).strict


def test_allow_list_by_distribution_or_entry_point_name(site: Site) -> None:
    site.plugin("rt-one", "one", "TransportSpec(name='one', factory='builtins:dict')")
    two = site.plugin("rt-two", "two-ep", "TransportSpec(name='two', factory='builtins:dict')")
    only_one = site.registry(allow=frozenset({"rt-one"}))
    assert [s.name for s in only_one.list_transports()] == ["one"]
    assert two not in sys.modules  # a blocked plugin is never imported
    info = next(i for i in only_one.plugins() if i.distribution == "rt-two")
    assert (info.status, info.reason) == ("blocked", "not in REALTIME_TRANSPORT_PLUGINS")
    assert info.transports == ()
    by_ep = site.registry(allow=frozenset({"two-ep"}))
    assert [s.name for s in by_ep.list_transports()] == ["two"]
    nothing = site.registry(allow=frozenset())
    assert nothing.list_transports() == []


def test_allow_list_warns_about_names_that_match_nothing(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    site.plugin("rt-one", "one", "TransportSpec(name='one', factory='builtins:dict')")
    site.registry(allow=frozenset({"rt-one", "rt-typo"})).list_transports()
    assert "REALTIME_TRANSPORT_PLUGINS names 'rt-typo' but no installed plugin" in caplog.text


def test_block_list_uses_set_blocked_for_installed_and_in_process(site: Site) -> None:
    site.plugin("rt-one", "one", "TransportSpec(name='one', factory='builtins:dict')")
    site.plugin("rt-two", "two", "TransportSpec(name='two', factory='builtins:dict')")
    registry = site.registry(block=frozenset({"two", "mine"}))
    registry.register(Plugin(spec("mine-transport")), name="mine")
    registry.register(Plugin(spec("kept")), name="kept")
    assert [s.name for s in registry.list_transports()] == ["kept", "one"]
    infos = {i.name: i for i in registry.plugins()}
    assert infos["two"].status == infos["mine"].status == "blocked"
    assert infos["two"].reason == "listed in REALTIME_TRANSPORT_DISABLE_PLUGINS"
    assert registry.host.hooks("mine") == ()


def test_in_process_plugins_ignore_the_allow_list() -> None:
    registry = fresh(Plugin(spec("mine")), allow=frozenset())
    assert registry.resolve("mine").name == "mine"


def test_the_same_distribution_twice_on_sys_path_loads_once(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site.plugin("rt-twice", "twice", "TransportSpec(name='twice', factory='builtins:dict')")
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    for info in site.root.glob("*.dist-info"):
        (shadow / info.name).mkdir()
        for file in info.iterdir():
            (shadow / info.name / file.name).write_text(file.read_text())
    monkeypatch.syspath_prepend(str(shadow))
    registry = site.registry()
    assert registry.resolve("twice").name == "twice"  # no duplicate with itself
    assert [i.name for i in registry.plugins() if i.distribution == "rt-twice"] == ["twice"]


def test_two_distributions_with_the_same_entry_point_name_both_load(site: Site) -> None:
    site.plugin("rt-x", "transport", "TransportSpec(name='x', factory='builtins:dict')")
    site.plugin("rt-y", "transport", "TransportSpec(name='y', factory='builtins:dict')")
    registry = site.registry()
    assert [s.name for s in registry.list_transports()] == ["x", "y"]
    names = {i.distribution: i.name for i in registry.plugins() if i.distribution in site.dists}
    first, second = sorted(names.values(), key=len)  # the later one is qualified by its dist
    assert first == "transport"
    assert second in {"rt-x:transport", "rt-y:transport"}


# -- tracing, listing, the default registry ------------------------------------------------------


def test_trace_prints_hook_calls(capsys: pytest.CaptureFixture[str]) -> None:
    fresh(Plugin(spec("traced")), trace=True).list_transports()
    assert HOOK in capsys.readouterr().err


def test_plugin_info_as_json(site: Site) -> None:
    site.plugin(
        "rt-json",
        "json",
        "TransportSpec(name='j', aliases=('jay',), summary='s', factory='builtins:dict', "
        "capabilities=__import__('realtime_transport').TransportCapabilities(supports_mute=True))",
        version="3.1",
    )
    (info,) = [i for i in site.registry().plugins() if i.distribution == "rt-json"]
    data = json.loads(json.dumps(info.as_dict()))
    assert data["distribution"] == "rt-json" and data["version"] == "3.1"
    assert data["status"] == "active" and data["reason"] is None
    assert data["hooks"] == [HOOK]
    (transport,) = data["transports"]
    assert transport["name"] == "j" and transport["aliases"] == ["jay"]
    assert transport["factory"] == "builtins:dict"
    assert transport["capabilities"]["supports_mute"] is True


def test_default_registry_is_cached_reads_env_and_resets(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    site.plugin("rt-env", "env", "TransportSpec(name='from-env', factory='builtins:dict')")
    monkeypatch.setenv("REALTIME_TRANSPORT_PLUGINS", "rt-env")
    reset_registry()
    try:
        assert get_registry() is get_registry()
        assert [s.name for s in list_transports()] == ["from-env"]
        assert isinstance(realtime_transport.get_transport("from-env"), dict)
        assert realtime_transport.list_transports() == list_transports()
        assert any(i.distribution == "rt-env" for i in list_plugin_distributions())
        monkeypatch.setenv("REALTIME_TRANSPORT_PLUGINS", "")
        assert [s.name for s in list_transports()] == ["from-env"]  # cached
        reset_registry()
        assert list_transports() == []
    finally:
        reset_registry()


def test_public_names_are_exported() -> None:
    for name in (
        "hookimpl",
        "hookspec",
        "TransportSpec",
        "TransportRegistry",
        "get_transport",
        "get_transport_class",
        "list_transports",
        "get_registry",
        "list_plugin_distributions",
    ):
        assert getattr(realtime_transport, name) is not None


def test_unknown_option_is_a_user_error_listing_the_valid_ones() -> None:
    class Strict:
        def __init__(self, *, model: str = "m", url: str | None = None) -> None:
            self.model = model

    registry = fresh(Plugin(spec("strict", factory=Strict), spec("loose")))
    with pytest.raises(UserError, match=r"does not take option\(s\) 'modle'.*model, url"):
        registry.get_transport("strict", modle="x")
    assert cast(Any, registry.get_transport("strict", model="x")).model == "x"
    assert cast(Any, registry.get_transport("loose", anything=1)).options == {"anything": 1}
