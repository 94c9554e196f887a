"""The ``realtime-transport`` command.

Importing this module costs only ``argparse``: the registry, rich and the subcommands that other
distributions provide (``emulator``, ``demo``) are imported when their command runs, and so is
``new-plugin`` (the template renderer).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.table import Table

    from .registry import PluginInfo

# command -> (module with ``main(argv: list[str]) -> int``, distribution that ships it, help)
_DELEGATED: dict[str, tuple[str, str, str]] = {
    "emulator": (
        "realtime_transport_emulator.cli",
        "realtime-transport-emulator",
        "run the offline Realtime API emulator (prints the URL to use)",
    ),
    "demo": (
        "realtime_transport.demo",
        "realtime-transport",
        "run the demo voice agent against the emulator",
    ),
    "new-plugin": (
        "realtime_transport.scaffold",
        "realtime-transport",
        "create a transport plugin (realtime-transport-NAME) from the template",
    ),
}

_STATUS_STYLE = {"active": "green", "blocked": "yellow", "failed": "red"}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``realtime-transport`` script; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in _DELEGATED:  # hand everything after the command to its owner
        return _delegate(args[0], args[1:])
    parser = _parser()
    options = parser.parse_args(args)
    if options.command == "plugins":
        return _plugins(as_json=options.json)
    parser.print_help()
    return 0


def _parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="realtime-transport",
        description="Connect voice agents to realtime speech-to-speech APIs over any transport.",
    )
    parser.add_argument("--version", action="version", version=f"realtime-transport {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="<command>")
    plugins = commands.add_parser(
        "plugins",
        help="list installed transport plugins, their transports and status",
        description="List every installed transport plugin: distribution, version, the "
        "transports it provides (with aliases and capabilities) and its status (active, "
        "blocked, or failed with the reason). Honours REALTIME_TRANSPORT_PLUGINS, "
        "REALTIME_TRANSPORT_DISABLE_PLUGINS and REALTIME_TRANSPORT_STRICT_PLUGINS.",
    )
    plugins.add_argument("--json", action="store_true", help="print JSON instead of a table")
    for name, (_, _, help_text) in _DELEGATED.items():
        commands.add_parser(name, help=help_text, add_help=False)
    return parser


def _delegate(command: str, argv: list[str]) -> int:
    module_name, distribution, _ = _DELEGATED[command]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        # Only "the command's own module is missing" means not installed; a missing dependency
        # inside it is a real error and keeps its traceback.
        if exc.name is None or not module_name.startswith(exc.name):
            raise
        if distribution == "realtime-transport":  # shipped by core, so this core is too old
            hint = f"this realtime-transport has no {command}. Upgrade it with:\n    pip install -U"
        else:
            hint = f"this command needs the {distribution} distribution, which is not installed. "
            hint += "Install it with:\n    pip install"
        print(f"realtime-transport {command}: {hint} {distribution}", file=sys.stderr)
        return 2
    return int(module.main(argv))


def _plugins(*, as_json: bool) -> int:
    from . import __version__
    from .errors import PluginError
    from .registry import get_registry

    registry = get_registry()
    try:
        infos = registry.plugins()
    except PluginError as exc:  # strict mode turns plugin problems into errors
        print(f"realtime-transport plugins: {exc}", file=sys.stderr)
        return 1
    settings = registry.host.settings
    if as_json:
        import json

        payload: dict[str, Any] = {
            "realtime_transport": __version__,
            "settings": {
                "strict": settings.strict,
                "allow": None if settings.allow is None else sorted(settings.allow),
                "block": sorted(settings.block),
            },
            "plugins": [info.as_dict() for info in infos],
        }
        print(json.dumps(payload, indent=2))
        return 0
    _print_table(infos, __version__)
    return 0


def _print_table(infos: list[PluginInfo], version: str) -> None:
    from rich.console import Console

    # Piped or redirected (``plugins | cat``), rich would cut the table at 80 columns: print it
    # at its natural width instead, so no name or status is lost.
    console = Console() if sys.stdout.isatty() else Console(width=200, soft_wrap=True)
    if infos:
        console.print(_table(infos, version))
    if not any(info.status == "active" and info.transports for info in infos):
        console.print(_no_transport_hint(infos), soft_wrap=True)


def _no_transport_hint(infos: list[PluginInfo]) -> str:
    """What to do when no transport is usable: unblock installed plugins, fix failed ones, or
    install one (only when nothing is installed)."""
    blocked = [info.distribution or info.name for info in infos if info.status == "blocked"]
    if blocked:
        return (
            f"No transport is available: {', '.join(blocked)} "
            f"{'is' if len(blocked) == 1 else 'are'} installed but blocked by "
            "REALTIME_TRANSPORT_PLUGINS / REALTIME_TRANSPORT_DISABLE_PLUGINS. Unset them, or "
            "name the plugin, e.g. REALTIME_TRANSPORT_PLUGINS=websocket."
        )
    if infos:
        return "No transport is available (see the status column for why each plugin failed)."
    return (
        "No transport is available (no transport plugins installed). Install one, for example: "
        "pip install realtime-transport-websocket"
    )


def _table(infos: list[PluginInfo], version: str) -> Table:
    from rich.table import Table

    table = Table(title=f"realtime-transport {version}: transport plugins", title_justify="left")
    table.add_column("Distribution", overflow="fold")
    table.add_column("Version", no_wrap=True)
    table.add_column("Transports", overflow="fold")
    table.add_column("Capabilities", min_width=22, overflow="fold")
    table.add_column("Status", overflow="fold")
    for info in infos:
        names = [
            spec.name + (f" (aliases: {', '.join(spec.aliases)})" if spec.aliases else "")
            for spec in info.transports
        ]
        capabilities = [" ".join(spec.capabilities.enabled()) for spec in info.transports]
        distribution = info.distribution or f"(in-process: {info.name})"
        table.add_row(
            distribution,
            info.version or "-",
            "\n".join(names) or "-",
            "\n".join(capabilities) or "-",
            f"[{_STATUS_STYLE[info.status]}]{_escape(info.status_text)}[/]",
        )
    return table


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
