"""``realtime-transport new-plugin NAME``: render the transport plugin template.

The template lives in this package (``plugin_template/``) so that it ships in the core wheel and
an installed core can render it without a source checkout. Files end in ``.tmpl`` (so no tool
mistakes them for this package's code) and hold ``{{key}}`` placeholders, in paths too. The
substitution is strict: an unknown key is an error, so a typo in the template never renders.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .errors import UserError
from .registry import FIRST_PARTY

if TYPE_CHECKING:
    if sys.version_info >= (3, 11):
        from importlib.resources.abc import Traversable
    else:
        from importlib.abc import Traversable

#: ``acme-phone``: lower-case letters and digits, words joined by single hyphens, a letter first.
NAME_PATTERN = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
MAX_NAME_LENGTH = 30  # the rendered code stays within 100 columns
MAX_DESCRIPTION_LENGTH = 76  # one line: the TransportSpec summary, shown by `plugins`
#: Names with a distribution of this project behind them (``realtime-transport-emulator``).
RESERVED_NAMES = {"emulator": "realtime-transport-emulator"}
_TAKEN = {**FIRST_PARTY, **RESERVED_NAMES}

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_SUFFIX = ".tmpl"
_SKIP = {"__pycache__", ".DS_Store"}


def validate_name(name: str) -> str:
    """Return ``name`` if it can name a transport plugin, else raise :class:`UserError`."""
    if not NAME_PATTERN.fullmatch(name):
        suggestion = re.sub(r"[^a-z0-9]+", "-", name.strip().lower()).strip("-")
        usable = NAME_PATTERN.fullmatch(suggestion) and suggestion not in _TAKEN
        hint = f" (for example {suggestion!r})" if usable else ""
        raise UserError(
            f"invalid plugin name {name!r}: use lower-case letters, digits and single hyphens, "
            f"starting with a letter{hint}"
        )
    if len(name) > MAX_NAME_LENGTH:
        raise UserError(f"plugin name {name!r} is too long (at most {MAX_NAME_LENGTH} characters)")
    taken = _TAKEN.get(name)
    if taken:
        raise UserError(
            f"{name!r} is a first-party name of realtime-transport (provided by {taken}); "
            "choose another name for your plugin, for example 'acme-phone'"
        )
    return name


def template_context(
    name: str, *, author: str | None = None, description: str | None = None
) -> dict[str, str]:
    """The values of the template's placeholders for plugin ``name``."""
    validate_name(name)
    words = name.split("-")
    title = " ".join(word.capitalize() for word in words)
    if description is None:
        description = f"{title} transport for realtime-transport"
    description = description.strip()
    if not description or "\n" in description or "\r" in description:
        raise UserError("the description must be one non-empty line")
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise UserError(
            f"the description is {len(description)} characters; keep it to one line of at most "
            f"{MAX_DESCRIPTION_LENGTH} (it is the summary shown by `realtime-transport plugins`)"
        )
    return {
        "name": name,
        "distribution": f"realtime-transport-{name}",
        "package": "realtime_transport_" + "_".join(words),
        "class_name": "".join(word.capitalize() for word in words) + "Transport",
        "title": title,
        "description": description,
        # A JSON string literal is also a valid TOML basic string and Python string literal.
        "description_literal": _literal(description),
        "authors_toml": _authors_toml(author),
        "core_version": __version__,
    }


def render_plugin(
    name: str,
    output: str | os.PathLike[str] = ".",
    *,
    author: str | None = None,
    description: str | None = None,
) -> Path:
    """Render the template into ``output/realtime-transport-<name>`` and return that directory.

    Refuses to touch an existing path. Files are written to a temporary sibling directory first
    and renamed into place, so a failure never leaves a half-rendered plugin behind.
    """
    context = template_context(name, author=author, description=description)
    parent = Path(output)
    target = parent / context["distribution"]
    if target.exists() or target.is_symlink():
        raise UserError(f"{target} already exists; remove it or choose another --output")
    rendered = [
        (_render(relative, context), _render(text, context)) for relative, text in _template()
    ]
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=parent))
    try:
        for relative, text in rendered:
            path = staging.joinpath(*relative.split("/"))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="\n")
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def template_files() -> list[str]:
    """Relative paths of the template files (with placeholders, without ``.tmpl``)."""
    return [relative for relative, _ in _template()]


def _template() -> list[tuple[str, str]]:
    root = files("realtime_transport").joinpath("plugin_template")
    found = sorted(_walk(root, ""))
    if not found:
        raise UserError(
            "the plugin template is missing from this realtime-transport installation; "
            "reinstall it (pip install --force-reinstall realtime-transport)"
        )
    return found


def _walk(folder: Traversable, prefix: str) -> Iterator[tuple[str, str]]:
    for entry in folder.iterdir():
        if entry.name in _SKIP:
            continue
        relative = f"{prefix}{entry.name}"
        if entry.is_dir():
            yield from _walk(entry, relative + "/")
        else:
            relative = relative.removesuffix(_SUFFIX)
            yield relative, entry.read_text(encoding="utf-8")


def _render(text: str, context: dict[str, str]) -> str:
    def substitute(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in context:
            raise UserError(f"the plugin template uses an unknown placeholder {{{{{key}}}}}")
        return context[key]

    return _PLACEHOLDER.sub(substitute, text)


def _literal(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _authors_toml(author: str | None) -> str:
    """``"Ada <ada@example.org>"`` -> ``[{ name = "Ada", email = "ada@example.org" }]``."""
    if author is None or not author.strip():
        return "[]"
    author = author.strip()
    if "\n" in author or "\r" in author:
        raise UserError("--author must be one line: 'Name' or 'Name <email>'")
    match = re.fullmatch(r"(.*?)\s*<([^<>\s]+@[^<>\s]+)>", author)
    if match is None:
        if "<" in author or ">" in author:
            raise UserError(f"--author {author!r} is not 'Name' or 'Name <email>'")
        return f"[{{ name = {_literal(author)} }}]"
    name, email = match.groups()
    fields = ([f"name = {_literal(name)}"] if name else []) + [f"email = {_literal(email)}"]
    return "[{ " + ", ".join(fields) + " }]"


def main(argv: Sequence[str] | None = None) -> int:
    """``realtime-transport new-plugin``; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="realtime-transport new-plugin",
        description="Create a transport plugin distribution (realtime-transport-NAME) from the "
        "template: the registration hook, a working transport to adapt, and tests that run the "
        "conformance kit.",
    )
    parser.add_argument("name", metavar="NAME", help="transport name, e.g. acme-phone")
    parser.add_argument(
        "--output",
        "-o",
        default=".",
        metavar="DIR",
        help="where to create realtime-transport-NAME/ (default: the current directory)",
    )
    parser.add_argument("--author", help="'Name' or 'Name <email>' for pyproject.toml")
    parser.add_argument(
        "--description",
        help=f"one-line summary, at most {MAX_DESCRIPTION_LENGTH} characters",
    )
    options = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        target = render_plugin(
            options.name, options.output, author=options.author, description=options.description
        )
    except UserError as exc:
        print(f"realtime-transport new-plugin: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"realtime-transport new-plugin: error: could not write: {exc}", file=sys.stderr)
        return 1
    shown = _shown(target)
    print(f"Created {shown}/ (transport {options.name!r}).")
    print()
    print("Next steps:")
    print(f'  pip install -e "{shown}[test]"')
    print(f"  cd {shown} && pytest")
    print()
    print(
        f"Then adapt {shown}/src/realtime_transport_{options.name.replace('-', '_')}/"
        "transport.py (look for CUSTOMISE)."
    )
    return 0


def _shown(path: Path) -> str:
    """``./realtime-transport-x`` under the current directory, else the absolute path."""
    try:
        relative = path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return str(path.resolve())
    return f"./{relative.as_posix()}"
