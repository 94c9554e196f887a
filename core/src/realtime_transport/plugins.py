"""Plugin loading behind a typed facade: isolated entry points, allow/block lists, strict mode.

We do not call ``PluginManager.load_setuptools_entrypoints``: it stops at the first plugin that
fails to import, which would let one broken distribution take every transport down with it.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, replace
from importlib import metadata
from typing import Any, Literal

import pluggy

from . import hookspecs
from .errors import PluginError
from .hookspecs import ENV_PREFIX, PROJECT_NAME, PluginSettings, canonical_name

logger = logging.getLogger("realtime_transport.plugins")
PluginStatus = Literal["active", "blocked", "failed"]


@dataclass(frozen=True)
class PluginRecord:
    """One plugin (an entry point, or an object registered in-process) and how loading went."""

    name: str
    distribution: str | None = None
    version: str | None = None
    value: str | None = None
    status: PluginStatus = "active"
    reason: str | None = None


class PluginHost:
    """A fresh pluggy manager plus a record per plugin; the only code that touches pluggy."""

    def __init__(self, settings: PluginSettings | None = None) -> None:
        self.settings = settings if settings is not None else PluginSettings.from_env()
        self._pm = pluggy.PluginManager(PROJECT_NAME)
        self._pm.add_hookspecs(hookspecs)
        self._records: dict[str, PluginRecord] = {}
        self._names_seen: set[str] = set()
        if self.settings.trace:
            self._pm.trace.root.setwriter(sys.stderr.write)
            self._pm.enable_tracing()

    def load_entry_points(self) -> None:
        """Load every ``realtime_transport`` entry point, each in its own try/except."""
        seen: set[str] = set()
        for dist in metadata.distributions():
            dist_name = dist.metadata["Name"] or "?"
            if canonical_name(dist_name) in seen:  # shadowed by an earlier sys.path entry
                continue
            seen.add(canonical_name(dist_name))
            for ep in sorted(dist.entry_points, key=lambda e: e.name):
                if ep.group == PROJECT_NAME:
                    self._load(ep, dist_name, dist.version)
        for token in sorted((self.settings.allow or set()) - self._names_seen):
            logger.warning(
                "%sPLUGINS names %r but no installed plugin has that name", ENV_PREFIX, token
            )

    def _load(self, ep: metadata.EntryPoint, dist: str, version: str) -> None:
        name = canonical_name(ep.name)
        if name in self._records:  # another distribution uses the same entry-point name
            name = f"{canonical_name(dist)}:{name}"
        record = PluginRecord(name, dist, version, ep.value)
        keys = {name, canonical_name(ep.name), canonical_name(dist)}
        self._names_seen |= keys
        if not self._blocked(record, keys):
            self._records[name] = record
            try:
                self._pm.register(ep.load(), name=name)
            except Exception as exc:
                self.fail(name, exc)

    def _blocked(self, record: PluginRecord, keys: set[str], *, allow_list: bool = True) -> bool:
        """Apply the allow/block lists through ``set_blocked``; True if the plugin must not load."""
        allow = self.settings.allow if allow_list else None
        reason = f"not in {ENV_PREFIX}PLUGINS" if allow is not None and not keys & allow else None
        reason = f"listed in {ENV_PREFIX}DISABLE_PLUGINS" if keys & self.settings.block else reason
        if reason:
            self._pm.set_blocked(record.name)
            self._records[record.name] = replace(record, status="blocked", reason=reason)
        return reason is not None

    def register(self, plugin: object, name: str | None = None) -> str:
        """Register an in-process plugin (a module, class or object); its errors propagate."""
        name = name or self._pm.get_canonical_name(plugin)
        if not self._blocked(PluginRecord(name), {canonical_name(name)}, allow_list=False):
            self._pm.register(plugin, name=name)
            self._records[name] = PluginRecord(name)
        return name

    def unregister(self, name: str) -> None:
        if self._pm.has_plugin(name):
            self._pm.unregister(name=name)
        self._records.pop(name, None)

    def fail(self, name: str, exc: BaseException, *, strict: bool | None = None) -> None:
        """Record a broken plugin, unregister it and carry on (or re-raise in strict mode)."""
        if isinstance(exc, pluggy.PluginValidationError):  # keep pluggy's types out of our API
            cause, exc = exc, PluginError(str(exc))
            exc.__cause__ = cause
        record = self._records.get(name, PluginRecord(name))
        reason = f"{type(exc).__name__}: {exc}"
        self._records[name] = replace(record, status="failed", reason=reason)
        if self._pm.has_plugin(name):
            self._pm.unregister(name=name)
        where = f"{record.distribution} {record.version}" if record.distribution else "in-process"
        if self.settings.strict if strict is None else strict:
            raise exc
        logger.warning("plugin %r (%s) failed and was skipped: %s", name, where, reason)

    def check_pending(self, *, strict: bool | None = None) -> None:
        """Fail plugins that implement a hook no spec defines (a misspelt hook name)."""
        while True:
            try:
                self._pm.check_pending()
                return
            except pluggy.PluginValidationError as exc:
                name = self._pm.get_name(exc.plugin) or repr(exc.plugin)
                self._pm.unregister(exc.plugin)
                self.fail(name, exc, strict=strict)

    def call_register_transports(self, name: str) -> list[Any]:
        """Call the registration hook of one plugin only, so each result keeps its provider."""
        plugin = self._pm.get_plugin(name)
        others = [p for p in self._pm.get_plugins() if p is not plugin]
        caller = self._pm.subset_hook_caller("realtime_transport_register_transports", others)
        return list(caller())

    def hooks(self, name: str) -> tuple[str, ...]:
        """The hook names a registered plugin implements (empty when it is not registered)."""
        plugin = self._pm.get_plugin(name)
        callers = self._pm.get_hookcallers(plugin) if plugin is not None else None
        return tuple(sorted(c.name for c in callers or ()))

    def records(self) -> list[PluginRecord]:
        """Every plugin seen so far (active, blocked or failed), in load order."""
        return list(self._records.values())
