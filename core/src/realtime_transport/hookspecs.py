"""The hooks a transport plugin implements: one on purpose; add hooks only when a plugin needs one.

A plugin is a module (or any object) with functions marked ``@hookimpl``, published under the
``realtime_transport`` entry-point group::

    # pyproject.toml of realtime-transport-mytransport
    [project.entry-points.realtime_transport]
    mytransport = "realtime_transport_mytransport.plugin"

The hook names, the pluggy markers, the plugin manager, the entry-point group and the environment
variable prefix (``REALTIME_TRANSPORT_``) all use the one name :data:`PROJECT_NAME`; the settings
those variables control live here too, next to the name they derive from.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from .registry import TransportSpec

#: The one project name: pluggy markers, PluginManager, entry-point group and hook prefix.
PROJECT_NAME = "realtime_transport"
#: Environment variables that steer plugin loading all start with this.
ENV_PREFIX = "REALTIME_TRANSPORT_"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


def canonical_name(name: str) -> str:
    """Distribution/entry-point names compared the PEP 503 way (``Foo_Bar.x`` == ``foo-bar-x``)."""
    return re.sub(r"[-_.\s]+", "-", name.strip().lower())


@dataclass(frozen=True)
class PluginSettings:
    """How plugins load; :meth:`from_env` reads ``REALTIME_TRANSPORT_<X>`` for each field.

    ``strict`` (``STRICT_PLUGINS=1``): re-raise plugin errors instead of recording them.
    ``allow`` (``PLUGINS``): only these distribution or entry-point names load (``None``: all;
    empty: none). ``block`` (``DISABLE_PLUGINS``): never load these. ``trace``
    (``TRACE_PLUGINS=1``): print every hook call to stderr.
    """

    strict: bool = False
    allow: frozenset[str] | None = None
    block: frozenset[str] = frozenset()
    trace: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PluginSettings:
        env = os.environ if environ is None else environ

        def names(key: str) -> frozenset[str]:
            return frozenset(canonical_name(n) for n in env.get(key, "").split(",") if n.strip())

        def flag(key: str) -> bool:
            return env.get(key, "").strip().lower() in {"1", "true", "yes", "on"}

        allow = names(ENV_PREFIX + "PLUGINS") if ENV_PREFIX + "PLUGINS" in env else None
        block = names(ENV_PREFIX + "DISABLE_PLUGINS")
        return cls(
            flag(ENV_PREFIX + "STRICT_PLUGINS"), allow, block, flag(ENV_PREFIX + "TRACE_PLUGINS")
        )


@hookspec
def realtime_transport_register_transports() -> Iterable[TransportSpec]:
    """Return the transports this plugin provides, as :class:`TransportSpec` records.

    Called once per plugin when the registry is first built (not firstresult, not historic).
    The core validates the records, stamps them with the plugin's distribution name and version,
    normalises names and aliases, and rejects names another distribution already claims.

    Keep the plugin module cheap to import: give ``factory`` as a ``"module:attr"`` string so
    heavy dependencies load only when the transport is first asked for.

    :return: any iterable (a list or a generator) of :class:`TransportSpec`.

    Example::

        from realtime_transport import TransportCapabilities, TransportSpec, hookimpl

        @hookimpl
        def realtime_transport_register_transports():
            return [
                TransportSpec(
                    name="websocket",
                    aliases=("ws",),
                    factory="realtime_transport_websocket.transport:OpenAIRealtimeWebSocket",
                    summary="OpenAI Realtime over a WebSocket; PCM16 audio as events",
                    capabilities=TransportCapabilities(client_side_truncation=True),
                )
            ]
    """
    return ()  # a specification: pluggy calls the plugins' implementations, never this body
