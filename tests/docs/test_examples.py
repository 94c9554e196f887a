"""Every documentation example marked runnable runs, and prints what the page says it prints.

In a page, ``<!-- runnable -->`` on the line before a fenced ``python`` block marks it; an
``<!-- output -->`` line before the next fenced ``text`` block (ahead of any other code block)
gives its exact standard output. Each example runs in its own interpreter (the emulator it
starts is on loopback), so examples are complete programs, as a reader would paste them.

Every other ``python`` block, in the pages and in the READMEs they include, must at least
compile (top-level ``await`` allowed); a block that is a fragment on purpose (a ``return`` from
the handler around it) says so with ``<!-- fragment -->`` on the line before it.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


@dataclass(frozen=True)
class Example:
    page: str
    line: int
    code: str
    output: str | None


def _fence(lines: list[str], start: int, language: str) -> tuple[str, int]:
    """The body of the fenced block opening at ``lines[start]`` and the index after it."""
    opening = lines[start].strip()
    if opening != f"```{language}":
        raise ValueError(f"expected a ```{language} block, found {opening!r}")
    for end in range(start + 1, len(lines)):
        if lines[end].strip() == "```":
            return "\n".join(lines[start + 1 : end]) + "\n", end + 1
    raise ValueError("unclosed code block")


def collect() -> list[Example]:
    found: list[Example] = []
    for path in sorted(DOCS.rglob("*.md")):
        lines = path.read_text(encoding="utf-8").splitlines()
        page = path.relative_to(DOCS).as_posix()
        for index, line in enumerate(lines):
            if line.strip() != "<!-- runnable -->":
                continue
            try:
                code, after = _fence(lines, index + 1, "python")
                output = None
                for look in range(after, len(lines)):
                    text = lines[look].strip()
                    if text == "<!-- output -->":
                        output, _ = _fence(lines, look + 1, "text")
                        break
                    if text.startswith("```") or text == "<!-- runnable -->":
                        break
            except ValueError as exc:
                raise AssertionError(f"{page}:{index + 1}: {exc}") from None
            found.append(Example(page, index + 1, code, output))
    return found


EXAMPLES = collect()


def test_the_docs_have_runnable_examples() -> None:
    pages = {example.page for example in EXAMPLES}
    assert {"getting-started.md", "writing-a-transport.md"} <= pages, pages


@pytest.mark.timeout(90)
@pytest.mark.parametrize("example", EXAMPLES, ids=[f"{e.page}:{e.line}" for e in EXAMPLES])
def test_example_runs(example: Example, tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(example.code, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=80,
        check=False,
    )
    where = f"{example.page}:{example.line}"
    assert result.returncode == 0, f"{where} failed:\n{result.stdout}\n{result.stderr}"
    if example.output is not None:
        assert result.stdout == example.output, f"{where} printed:\n{result.stdout}"


#: the pages, and the files their `<!-- include... -->` directives pull in
SOURCES = [
    *sorted(DOCS.rglob("*.md")),
    ROOT / "README.md",
    ROOT / "emulator" / "README.md",
    *sorted((ROOT / "plugins").glob("*/README.md")),
]


def python_blocks() -> list[tuple[str, str]]:
    blocks: list[tuple[str, str]] = []
    for path in SOURCES:
        lines = path.read_text(encoding="utf-8").splitlines()
        where = path.relative_to(ROOT).as_posix()
        index = 0
        while index < len(lines):
            if lines[index].strip() == "```python":
                fragment = index > 0 and lines[index - 1].strip() == "<!-- fragment -->"
                code, index = _fence(lines, index, "python")
                if not fragment:
                    blocks.append((f"{where}:{index}", code))
                continue
            index += 1
    return blocks


def test_every_python_block_compiles() -> None:
    blocks = python_blocks()
    assert len(blocks) >= 10, blocks
    problems = []
    for where, code in blocks:
        try:
            compile(code, where, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        except SyntaxError as exc:
            problems.append(f"{where}: {exc}")
    assert not problems, "\n".join(problems)
