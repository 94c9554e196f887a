"""The transport registry: names and aliases, duplicates, install hints and helpful lookup errors.

The registry is built on first use (never at import) and cached: plugins are loaded by
:class:`~realtime_transport.plugins.PluginHost`, each plugin's :class:`TransportSpec` records are
validated and indexed here in one place, and a transport's heavy code is imported only when it is
first asked for (``factory="module:attr"``).
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from .errors import (
    DuplicateTransportError,
    PluginError,
    TransportLoadError,
    TransportNotInstalledError,
    UnknownTransportError,
    UserError,
)
from .hookspecs import ENV_PREFIX, PluginSettings, canonical_name
from .plugins import PluginHost, PluginStatus
from .transport import TransportCapabilities

if TYPE_CHECKING:
    from .transport import RealtimeTransportLayer

#: Builds a transport from keyword options (usually the transport class itself).
TransportFactory = Callable[..., "RealtimeTransportLayer"]

#: First-party transport names (and aliases) -> the distribution that provides them.
FIRST_PARTY: dict[str, str] = {
    "websocket": "realtime-transport-websocket",
    "webrtc": "realtime-transport-webrtc",
    "sip": "realtime-transport-sip",
    "cloudflare": "realtime-transport-cloudflare",
    "fetch-upgrade": "realtime-transport-cloudflare",
    "twilio": "realtime-transport-twilio",
}

_PLUGINS_HINT = "run `realtime-transport plugins` to see every plugin and its status"


def normalize_transport_name(name: str) -> str:
    """``" Web_RTC "`` -> ``"web-rtc"``: case, surrounding space and ``_``/``-`` never matter."""
    return name.strip().lower().replace("_", "-")


@dataclass(frozen=True)
class TransportSpec:
    """One transport a plugin provides: its name, aliases, factory and capabilities.

    ``factory`` is a ``"module:attr"`` string (imported on first use, so listing transports never
    imports their dependencies) or a callable. ``distribution``, ``version`` and ``plugin`` are
    filled in by the registry from the plugin that returned the spec.
    """

    name: str
    factory: str | TransportFactory
    summary: str = ""
    aliases: tuple[str, ...] = ()
    capabilities: TransportCapabilities = field(default_factory=TransportCapabilities)
    distribution: str | None = None
    version: str | None = None
    plugin: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not normalize_transport_name(self.name):
            raise PluginError(f"TransportSpec.name must be a non-empty string, got {self.name!r}")
        aliases = (self.aliases,) if isinstance(self.aliases, str) else tuple(self.aliases)
        if not all(isinstance(a, str) and normalize_transport_name(a) for a in aliases):
            raise PluginError(f"TransportSpec {self.name!r}: aliases must be non-empty strings")
        name = normalize_transport_name(self.name)
        normalized = tuple(dict.fromkeys(normalize_transport_name(a) for a in aliases))
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "aliases", tuple(a for a in normalized if a != name))
        factory = self.factory
        if isinstance(factory, str):
            module, _, attr = factory.partition(":")
            if not module.strip() or not attr.strip():
                raise PluginError(
                    f"TransportSpec {name!r}: factory {factory!r} must look like "
                    "'package.module:Class'"
                )
        elif not callable(factory):
            raise PluginError(
                f"TransportSpec {name!r}: factory must be a 'module:attr' string or a callable, "
                f"got {type(factory).__name__}"
            )
        if not isinstance(self.capabilities, TransportCapabilities):
            raise PluginError(
                f"TransportSpec {name!r}: capabilities must be a TransportCapabilities instance"
            )

    @property
    def names(self) -> tuple[str, ...]:
        """The name followed by the aliases: every key this spec is found under."""
        return (self.name, *self.aliases)

    @property
    def provider(self) -> str:
        """``"dist 1.2.3"`` for installed plugins, ``"in-process plugin 'x'"`` otherwise."""
        if self.distribution:
            return f"{self.distribution} {self.version or '?'}".strip()
        return f"in-process plugin {self.plugin!r}" if self.plugin else "an unregistered spec"

    @property
    def factory_path(self) -> str:
        if isinstance(self.factory, str):
            return self.factory
        module = getattr(self.factory, "__module__", "?")
        return f"{module}:{getattr(self.factory, '__qualname__', repr(self.factory))}"

    def load_factory(self) -> TransportFactory:
        """Import the factory (once per registry, which caches it); a clear error if that fails."""
        if not isinstance(self.factory, str):
            return self.factory
        module_name, _, attr = self.factory.partition(":")
        try:
            obj: Any = importlib.import_module(module_name.strip())
            for part in attr.strip().split("."):
                obj = getattr(obj, part)
        except Exception as exc:
            fix = (
                f"reinstall it with `pip install --force-reinstall {self.distribution}` and check "
                "that its dependencies are installed"
                if self.distribution
                else "check the factory path"
            )
            raise TransportLoadError(
                f"Transport {self.name!r} (from {self.provider}) is registered, but its factory "
                f"{self.factory!r} failed to import: {type(exc).__name__}: {exc}. To fix: {fix}."
            ) from exc
        if not callable(obj):
            raise TransportLoadError(
                f"Transport {self.name!r} (from {self.provider}): factory {self.factory!r} is a "
                f"{type(obj).__name__}, not a class or callable."
            )
        return obj  # type: ignore[no-any-return]


@dataclass(frozen=True)
class PluginInfo:
    """One plugin as ``realtime-transport plugins`` shows it."""

    name: str
    distribution: str | None
    version: str | None
    entry_point: str | None
    status: PluginStatus
    reason: str | None
    hooks: tuple[str, ...] = ()
    transports: tuple[TransportSpec, ...] = ()

    @property
    def status_text(self) -> str:
        """``active``, ``blocked`` or ``failed: <reason>``."""
        return f"failed: {self.reason}" if self.status == "failed" else self.status

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view (used by ``realtime-transport plugins --json``)."""
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "entry_point": self.entry_point,
            "status": self.status_text,
            "reason": self.reason,
            "hooks": list(self.hooks),
            "transports": [
                {
                    "name": spec.name,
                    "aliases": list(spec.aliases),
                    "summary": spec.summary,
                    "factory": spec.factory_path,
                    "capabilities": spec.capabilities.as_dict(),
                }
                for spec in self.transports
            ],
        }


class TransportRegistry:
    """Transports by name, from installed plugins (``autoload``) and in-process registrations.

    Nothing happens at construction: entry points are loaded and indexed on first use. Tests and
    applications pass ``autoload=False`` and :meth:`register` plugin objects on a fresh registry.
    """

    def __init__(self, *, autoload: bool = True, settings: PluginSettings | None = None) -> None:
        self.autoload = autoload
        self._settings = settings
        self._host: PluginHost | None = None
        self._overrides: set[str] = set()
        self._index: dict[str, TransportSpec] | None = None
        self._specs: dict[str, tuple[TransportSpec, ...]] = {}
        self._conflicts: dict[str, str] = {}  # name/alias -> duplicate error message
        self._plugin_conflicts: dict[str, str] = {}  # plugin -> duplicate error message
        self._factories: dict[tuple[str | None, str], TransportFactory] = {}
        self._lock = threading.RLock()

    # -- plugins ------------------------------------------------------------------------------

    @property
    def host(self) -> PluginHost:
        """The plugin host, created (and entry points loaded, if ``autoload``) on first use."""
        with self._lock:
            if self._host is None:
                host = PluginHost(self._settings)
                if self.autoload:
                    host.load_entry_points()
                host.check_pending()
                self._host = host
            return self._host

    def register(self, plugin: object, *, name: str | None = None, override: bool = False) -> str:
        """Register a plugin object in-process (no entry point); returns its plugin name.

        ``override=True`` lets its transports replace installed ones with the same names or
        aliases, instead of raising :class:`DuplicateTransportError`.
        """
        with self._lock:
            host = self.host
            try:
                plugin_name = host.register(plugin, name)
                host.check_pending(strict=True)
            except Exception as exc:  # pluggy's validation errors, surfaced as ours
                raise PluginError(
                    f"could not register plugin {name or plugin!r}: {type(exc).__name__}: {exc}"
                ) from exc
            if override:
                self._overrides.add(plugin_name)
            self._index = None
            self._factories.clear()
            return plugin_name

    def unregister(self, name: str) -> None:
        with self._lock:
            self.host.unregister(name)
            self._overrides.discard(name)
            self._index = None
            self._factories.clear()

    # -- index --------------------------------------------------------------------------------

    def _ensure_index(self) -> dict[str, TransportSpec]:
        with self._lock:
            if self._index is None:
                self._index = self._build_index()
            return self._index

    def _build_index(self) -> dict[str, TransportSpec]:
        host = self.host
        self._specs = {}
        for record in host.records():
            if record.status != "active":
                continue
            try:
                self._specs[record.name] = self._validate(
                    record.name, host.call_register_transports(record.name)
                )
            except Exception as exc:
                host.fail(record.name, exc)
        specs = [s for group in self._specs.values() for s in group]
        # An explicit override shadows every other spec sharing a key with it (fsspec's clobber).
        won = {key for s in specs if s.plugin in self._overrides for key in s.names}
        live = [s for s in specs if s.plugin in self._overrides or not won & set(s.names)]
        claims: dict[str, list[TransportSpec]] = {}
        for spec in live:
            for key in spec.names:
                claims.setdefault(key, []).append(spec)
        self._conflicts, self._plugin_conflicts = {}, {}
        for key, claimants in sorted(claims.items()):
            if len(claimants) > 1:
                message = _duplicate_message(key, claimants)
                if host.settings.strict:
                    raise DuplicateTransportError(message)
                for spec in claimants:
                    self._plugin_conflicts.setdefault(spec.plugin or "?", message)
        for plugin, message in self._plugin_conflicts.items():
            for spec in self._specs.get(plugin, ()):
                for key in spec.names:
                    self._conflicts.setdefault(key, message)
        return {
            key: spec
            for spec in live
            if spec.plugin not in self._plugin_conflicts
            for key in spec.names
        }

    def _validate(self, plugin: str, results: list[Any]) -> tuple[TransportSpec, ...]:
        record = next(r for r in self.host.records() if r.name == plugin)
        specs: list[TransportSpec] = []
        keys: set[str] = set()
        items: list[object] = []
        for result in results:  # one per hook implementation: an iterable, or a lone spec
            if isinstance(result, TransportSpec):
                items.append(result)
            elif isinstance(result, Iterable) and not isinstance(result, (str, bytes)):
                items.extend(result)
            else:
                items.append(result)
        for item in items:
            if not isinstance(item, TransportSpec):
                raise PluginError(
                    f"realtime_transport_register_transports returned a {type(item).__name__}; "
                    "it must return TransportSpec records"
                )
            spec = replace(
                item, distribution=record.distribution, version=record.version, plugin=plugin
            )
            if keys & set(spec.names):
                raise PluginError(
                    f"it declares the transport name(s) {sorted(keys & set(spec.names))} twice"
                )
            keys |= set(spec.names)
            specs.append(spec)
        return tuple(specs)

    # -- lookup -------------------------------------------------------------------------------

    def resolve(self, name: str) -> TransportSpec:
        """The spec registered under ``name`` or an alias; otherwise the most helpful error."""
        if not isinstance(name, str):
            raise UserError(f"a transport name must be a string, got {type(name).__name__}")
        key = normalize_transport_name(name)
        index = self._ensure_index()
        if key in index:
            return index[key]
        if key in self._conflicts:
            raise DuplicateTransportError(self._conflicts[key])
        raise self._missing(name, key, index)

    def get_transport_class(self, name: str) -> TransportFactory:
        """The transport's factory (usually its class), imported on first use and cached."""
        spec = self.resolve(name)
        with self._lock:
            cache_key = (spec.plugin, spec.name)
            if cache_key not in self._factories:
                self._factories[cache_key] = spec.load_factory()
            return self._factories[cache_key]

    def get_transport(self, name: str, **options: Any) -> RealtimeTransportLayer:
        """A new transport instance: ``factory(**options)`` of the spec registered as ``name``.

        An option the transport does not take is a :class:`UserError` listing the ones it does.
        """
        factory = self.get_transport_class(name)
        unknown = _unknown_options(factory, options)
        if unknown:
            spec = self.resolve(name)
            valid = ", ".join(_option_names(factory)) or "none"
            raise UserError(
                f"transport {spec.name!r} does not take option(s) {', '.join(map(repr, unknown))}; "
                f"its options are: {valid}"
            )
        try:
            return factory(**options)
        except TypeError as exc:  # e.g. open_timeout="5": a wrong type, said as a UserError
            spec = self.resolve(name)
            raise UserError(f"transport {spec.name!r} rejected its options: {exc}") from exc

    def list_transports(self) -> list[TransportSpec]:
        """Every usable transport (one entry per spec, not per alias), sorted by name."""
        unique = {id(spec): spec for spec in self._ensure_index().values()}
        return sorted(unique.values(), key=lambda spec: spec.name)

    def plugins(self) -> list[PluginInfo]:
        """Every plugin seen, with its status and the transports it provides."""
        self._ensure_index()
        infos = []
        for record in self.host.records():
            status, reason = record.status, record.reason
            if record.name in self._plugin_conflicts:
                status, reason = "failed", self._plugin_conflicts[record.name]
            infos.append(
                PluginInfo(
                    name=record.name,
                    distribution=record.distribution,
                    version=record.version,
                    entry_point=record.value,
                    status=status,
                    reason=reason,
                    hooks=self.host.hooks(record.name),
                    transports=self._specs.get(record.name, ()) if status != "blocked" else (),
                )
            )
        return sorted(infos, key=lambda i: (i.distribution is None, i.distribution or "", i.name))

    def _installed_text(self, index: dict[str, TransportSpec]) -> str:
        specs = sorted({id(s): s for s in index.values()}.values(), key=lambda s: s.name)
        if not specs:
            return (
                "none (no transport plugin is installed; "
                "for example: pip install realtime-transport-websocket)"
            )
        return ", ".join(
            f"{s.name} (aliases: {', '.join(s.aliases)})" if s.aliases else s.name for s in specs
        )

    def _missing(
        self, name: str, key: str, index: dict[str, TransportSpec]
    ) -> UnknownTransportError:
        installed = f"Installed transports: {self._installed_text(index)}."
        dists = {f"realtime-transport-{key}", FIRST_PARTY.get(key)}
        for record in self.host.records():
            dist = canonical_name(record.distribution) if record.distribution else None
            if record.status == "active" or not (record.name == key or dist in dists):
                continue
            where = (
                f"{record.distribution} {record.version}" if record.distribution else "in-process"
            )
            if record.status == "failed":
                return TransportLoadError(
                    f"Transport {name!r} is provided by plugin {record.name!r} ({where}), which "
                    f"is installed but failed to load: {record.reason}. Fix or reinstall "
                    f"{record.distribution or 'the plugin'}; {_PLUGINS_HINT}. {installed}"
                )
            return UnknownTransportError(
                f"Transport {name!r} is provided by plugin {record.name!r} ({where}), which is "
                f"blocked ({record.reason}). Change {ENV_PREFIX}PLUGINS / "
                f"{ENV_PREFIX}DISABLE_PLUGINS to use it. {installed}"
            )
        if key in FIRST_PARTY:
            return TransportNotInstalledError(
                f"Transport {name!r} is not installed. It is provided by the distribution "
                f"{FIRST_PARTY[key]}; install it with:\n    pip install {FIRST_PARTY[key]}\n"
                f"{installed}"
            )
        message = f"Unknown transport {name!r} (the plugin providing it may not be installed)."
        close = difflib.get_close_matches(key, [*index, *FIRST_PARTY], n=1)
        if close:
            message += f" Did you mean {close[0]!r}?"
        message += f" {installed}"
        failed = [r.name for r in self.host.records() if r.status == "failed"]
        if failed:
            message += f" Plugins that failed to load: {', '.join(failed)}; {_PLUGINS_HINT}."
        missing = sorted(k for k in FIRST_PARTY if k not in index)
        if missing:
            message += (
                f" First-party transports not installed: {', '.join(missing)} "
                "(pip install realtime-transport-<name>; fetch-upgrade comes with cloudflare)."
            )
        return UnknownTransportError(message)


def _duplicate_message(key: str, claimants: list[TransportSpec]) -> str:
    def role(spec: TransportSpec) -> str:
        return f"transport {spec.name!r}" if spec.name == key else f"alias of {spec.name!r}"

    who = " and ".join(f"{spec.provider} ({role(spec)})" for spec in claimants)
    block = next((s.distribution or s.plugin for s in reversed(claimants)), "?")
    return (
        f"Transport name {key!r} is claimed by more than one plugin: {who}. Uninstall one of "
        f"them, or block one with {ENV_PREFIX}DISABLE_PLUGINS={block}."
    )


_default: TransportRegistry | None = None
_default_lock = threading.Lock()


def get_registry() -> TransportRegistry:
    """The process-wide registry, built from the installed plugins on first use, then cached."""
    global _default
    with _default_lock:
        if _default is None:
            _default = TransportRegistry()
        return _default


def reset_registry() -> None:
    """Forget the cached registry (tests; or after installing plugins at runtime)."""
    global _default
    with _default_lock:
        _default = None


def _option_names(factory: TransportFactory) -> list[str]:
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return []
    kinds = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [p.name for p in parameters if p.kind in kinds]


def _unknown_options(factory: TransportFactory, options: dict[str, Any]) -> list[str]:
    """Option names ``factory`` cannot accept (none when it takes ``**kwargs`` or is opaque)."""
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return []
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return []
    known = set(_option_names(factory))
    return sorted(name for name in options if name not in known)


def get_transport(name: str, **options: Any) -> RealtimeTransportLayer:
    """A new transport instance by name: ``get_transport("websocket", **options)``."""
    return get_registry().get_transport(name, **options)


def get_transport_class(name: str) -> TransportFactory:
    """The factory (usually the class) of the transport registered under ``name``."""
    return get_registry().get_transport_class(name)


def resolve_transport(name: str) -> TransportSpec:
    """The :class:`TransportSpec` registered under ``name`` or one of its aliases."""
    return get_registry().resolve(name)


def list_transports() -> list[TransportSpec]:
    """Every installed, usable transport, sorted by name."""
    return get_registry().list_transports()


def list_plugin_distributions() -> list[PluginInfo]:
    """Every installed plugin with its distribution, version, status and transports."""
    return get_registry().plugins()
