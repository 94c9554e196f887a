"""MkDocs hooks: pages include files that live next to the code, so they cannot go stale.

``<!-- include: emulator/README.md -->`` inserts a repository file (a missing file fails the
build). ``<!-- include-plugin: twilio -->`` inserts ``plugins/twilio/README.md``, or a note that
the plugin is planned while it is not in the repository yet. An included file loses its first
``#`` title (the page has its own), its other headings move one level down, and its relative
links point at the page that includes the target, or become the path in code when no page does.

``<!-- capabilities: sip -->`` renders the capability flags the plugin registers (read from its
``plugin.py``, which imports nothing but the core), and ``<!-- kit-capabilities -->`` which kit
scenarios each flag turns on (read from the kit's source), so neither table can drift.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib.util
import logging
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
log = logging.getLogger("mkdocs.hooks.realtime_transport")

#: repository files that have a page of their own (links to them go to the page)
PAGES = {
    "README.md": "index.md",
    "emulator/README.md": "emulator.md",
    "benchmarks/RESULTS.md": "benchmarks.md",
    "docs/deploying.md": "deploying.md",
    **{
        f"plugins/{name}/README.md": f"transports/{name}.md"
        for name in ("websocket", "webrtc", "sip", "cloudflare", "twilio")
    },
}

_DIRECTIVE = re.compile(
    r"^<!-- (include|include-plugin|capabilities|kit-capabilities|readme-section)(?:: (.+?))? -->$",
    re.MULTILINE,
)
#: README sections by title -> the page that shows them (for links to README anchors)
SECTION_PAGES = {
    "Two commands": "getting-started.md",
    "The demo": "getting-started.md",
    "Quick start: a voice agent": "getting-started.md",
    "Transports": "transports/index.md",
    "Plugins and the registry": "plugins.md",
    "Sessions and agents": "session.md",
    "Phone calls over SIP": "transports/sip.md",
    "Phone calls through Twilio": "transports/twilio.md",
    "Cloudflare Workers, proxies and HTTP clients": "transports/cloudflare.md",
    "WebRTC": "transports/webrtc.md",
    "The thin client: a transport on its own": "thin-client.md",
    "Emulator": "emulator.md",
    "Conformance kit": "conformance-kit.md",
    "Writing a transport plugin": "writing-a-transport.md",
    "Performance": "benchmarks.md",
    "Event loops: asyncio or uvloop": "event-loops.md",
    "Audio formats": "audio.md",
    "Session config": "session-config.md",
}
_LINK = re.compile(r"(?<!!)\[([^\]]+)\]\(([^)\s]+)\)")
_FENCE = re.compile(r"^\s*(```|~~~)")

PLANNED = """!!! note "Planned"
    `realtime-transport-{name}` is not in this release yet. This section fills in from the
    plugin's own README when the plugin lands. Until then `transport="{name}"` raises an error
    that gives the `pip install` line.
"""


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    page_path = page.file.src_uri

    def expand(match: re.Match[str]) -> str:
        kind, target = match.groups()
        if kind == "capabilities":
            return capabilities_table(target)
        if kind == "kit-capabilities":
            return kit_capabilities_table()
        if kind == "readme-section":
            return readme_section(target, page_path)
        if kind == "include-plugin":
            path = f"plugins/{target}/README.md"
            if not (ROOT / path).is_file():
                return PLANNED.format(name=target)
        else:
            path = target
        return include(path, page_path)

    return _DIRECTIVE.sub(expand, markdown)


def include(path: str, page_path: str) -> str:
    """The text of repository file ``path`` as it should appear in docs page ``page_path``."""
    source = ROOT / path
    if not source.is_file():
        raise FileNotFoundError(f"{page_path} includes {path}, which does not exist")
    lines = source.read_text(encoding="utf-8").splitlines()
    out: list[str] = []
    in_fence = False
    dropped_title = False
    for line in lines:
        if _FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence and line.startswith("#"):
            if line.startswith("# ") and not dropped_title:
                dropped_title = True
                continue
            line = "#" + line
        elif not in_fence:
            line = _LINK.sub(lambda m: _relink(m, path, page_path), line)
        out.append(line)
    return "\n".join(out) + "\n"


def readme_section(title: str, page_path: str) -> str:
    """The body of the top-level README's ``## title`` section (a missing one fails the build),
    its ``###`` headings promoted to ``##`` and its links fixed for ``page_path``."""
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    body: list[str] | None = None
    in_fence = False
    for line in lines:
        if _FENCE.match(line):
            in_fence = not in_fence
        if not in_fence and line.startswith("## "):
            if body is not None:
                break
            if line[3:].strip() == title:
                body = []
                continue
        if body is not None:
            body.append(line)
    if body is None:  # renamed or moved: point at the README rather than break every build
        log.info("%s shows README section %r, which does not exist", page_path, title)
        return f'See the project\'s README (`README.md`), section "{title}".\n'
    out: list[str] = []
    in_fence = False
    for line in body:
        if _FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence and line.startswith("###"):
            line = line[1:]
        elif not in_fence:
            line = _LINK.sub(lambda m: _relink(m, "README.md", page_path), line)
        out.append(line)
    return "\n".join(out).strip("\n") + "\n"


def _slug(title: str) -> str:
    return re.sub(r"[^\w\- ]", "", title.lower()).strip().replace(" ", "-")


def _relink(match: re.Match[str], source: str, page_path: str) -> str:
    text, target = match.groups()
    depth = page_path.count("/")
    if target.startswith("#") and source == "README.md":
        for title, page in SECTION_PAGES.items():
            if _slug(title) == target[1:] and page != page_path:
                return f"[{text}]({'../' * depth}{page})"
    if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
        return match.group(0)  # absolute URL, mailto:, or an anchor in the same text
    file_part = target.split("#", 1)[0]
    resolved = (Path(source).parent / file_part).as_posix()
    resolved = _normalise(resolved)
    page = PAGES.get(resolved)
    if page is None and resolved.startswith("docs/") and (ROOT / resolved).is_file():
        page = resolved.removeprefix("docs/")  # a link into the site itself
    if page is not None:
        return f"[{text}]({'../' * depth}{page})"
    shown = resolved if resolved else file_part
    if text.strip("`") == shown:
        return f"`{shown}`"
    return f"{text} (`{shown}`)"


def _normalise(path: str) -> str:
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return "/".join(parts)


def capabilities_table(name: str) -> str:
    """The flags of every transport ``plugins/<name>`` registers, or a note that it is planned."""
    package = "realtime_transport_" + name.replace("-", "_")
    path = ROOT / "plugins" / name / "src" / package / "plugin.py"
    if not path.is_file():
        return f"Not available yet: `realtime-transport-{name}` is planned.\n"
    try:
        spec = importlib.util.spec_from_file_location(f"_docs_plugin_{package}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        transports = list(module.realtime_transport_register_transports())
    except Exception as exc:  # plugin.py should import only the core; say so, keep building
        log.info("could not read the capabilities of %s: %r", name, exc)
        return f"The capabilities are in `plugins/{name}/src/{package}/plugin.py`.\n"
    from realtime_transport.transport import TransportCapabilities

    rows = ["| Transport | Capability | Value | Meaning |", "|---|---|---|---|"]
    docs = _field_docs()
    for transport in transports:
        names = ", ".join(f"`{n}`" for n in (transport.name, *transport.aliases))
        for field in dataclasses.fields(TransportCapabilities):
            value = getattr(transport.capabilities, field.name)
            rows.append(f"| {names} | `{field.name}` | {value} | {docs.get(field.name, '')} |")
    return "\n".join(rows) + "\n"


def _field_docs() -> dict[str, str]:
    """The docstring under each field of TransportCapabilities, from the core's source."""
    source = ROOT / "core" / "src" / "realtime_transport" / "transport.py"
    tree = ast.parse(source.read_text(encoding="utf-8"))
    cls = next(
        n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "TransportCapabilities"
    )
    found: dict[str, str] = {}
    for stmt, following in zip(cls.body, cls.body[1:], strict=False):
        if (
            isinstance(stmt, ast.AnnAssign)
            and isinstance(stmt.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            found[stmt.target.id] = " ".join(following.value.value.split()).replace("|", "\\|")
    return found


def kit_capabilities_table() -> str:
    """Which conformance scenarios need which capability (a transport without it skips them)."""
    source = ROOT / "core" / "src" / "realtime_transport" / "testing" / "kit.py"
    tree = ast.parse(source.read_text(encoding="utf-8"))
    needs: dict[str, list[str]] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef):
            continue
        if not node.name.startswith("test_"):
            continue
        flags: set[str] = set()
        for call in ast.walk(node):
            if not isinstance(call, ast.Call):
                continue
            func = call.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            values: list[ast.expr] = []
            if name == "make":
                values += call.args
            for keyword in call.keywords:
                if keyword.arg == "requires" and isinstance(keyword.value, ast.Tuple):
                    values += keyword.value.elts
            flags |= {
                v.value for v in values if isinstance(v, ast.Constant) and isinstance(v.value, str)
            }
        for flag in flags:
            needs.setdefault(flag, []).append(node.name)
    rows = ["| Capability | Kit scenarios that need it (skipped when `False`) |", "|---|---|"]
    for flag in sorted(needs):
        rows.append(f"| `{flag}` | {', '.join(f'`{t}`' for t in sorted(set(needs[flag])))} |")
    return "\n".join(rows) + "\n"
