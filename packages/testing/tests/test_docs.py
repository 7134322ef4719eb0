"""The documentation runs: every ```python block of the repository's markdown files is
executed, and every relative link points at a file (and heading) that exists.

How a page's blocks run (CONTRIBUTING.md, "Documentation examples are tested", says it for
contributors):

- Every ```python block runs unless the HTML comment right before it says
  ``<!-- not-run: why -->`` (the reason is required).
- A page's blocks run in order as one program, so later blocks see earlier blocks' names.
- Code hidden in an HTML comment, ``<!-- setup`` or ``<!-- check`` followed by a ```python
  block and ``-->``, runs at its place in that program without being shown to readers.
- A page whose program defines ``test_*`` functions runs with pytest (the dbos_testing
  fixtures on SQLite); any other page runs with ``python``.
- Each page runs once (on SQLite, whatever backend the suite runs on) in its own subprocess,
  in a temporary working directory (so ``DBOS(config={"name": ...})`` gets a fresh SQLite
  file there), with a timeout.

The program keeps each block on its markdown line numbers, so a traceback points at the line
of the page.
"""

from __future__ import annotations

import ast
import itertools
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

ROOT = Path(__file__).resolve().parents[3]
PAGE_TIMEOUT_S = 180
_NOT_RUN = re.compile(r"^<!--\s*not-run:(?P<reason>.*?)-->\s*$", re.DOTALL)
_HIDDEN = re.compile(r"^<!--\s*(setup|check)\s*\n(?P<body>.*?)-->\s*$", re.DOTALL)


def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark").enable("table")


def markdown_files() -> list[Path]:
    """Every markdown file of the repository, outside hidden and build folders."""
    skip = {"node_modules", "build", "dist", "__pycache__"}
    return sorted(
        path
        for path in ROOT.rglob("*.md")
        if not any(part.startswith(".") or part in skip for part in path.relative_to(ROOT).parts)
    )


@dataclass(frozen=True)
class Block:
    line: int  # 0-based line of the code's first line in the page
    code: str


def _is_python(token: Token) -> bool:
    return token.type == "fence" and token.info.split()[:1] == ["python"]


def runnable_blocks(text: str, page: str = "<page>") -> list[Block]:
    """The python code of a page that runs, in page order: unmarked blocks and hidden ones."""
    tokens = _markdown().parse(text)
    blocks: list[Block] = []
    for index, token in enumerate(tokens):
        if token.type == "html_block" and token.map is not None:
            hidden = _HIDDEN.match(token.content.strip())
            if hidden:
                offset = token.content.index(hidden["body"])
                first = token.map[0] + token.content[:offset].count("\n")
                blocks.extend(
                    Block(first + b.line, b.code) for b in runnable_blocks(hidden["body"], page)
                )
        if not _is_python(token) or token.map is None:
            continue
        previous = tokens[index - 1] if index else None
        if previous is not None and previous.type == "html_block":
            marked = _NOT_RUN.match(previous.content.strip())
            if marked:
                if not marked["reason"].strip():
                    raise ValueError(f"{page}:{token.map[0] + 1}: not-run needs a reason")
                continue
        blocks.append(Block(token.map[0] + 1, token.content))
    return blocks


def program(blocks: list[Block]) -> str:
    """The blocks as one module, each code line on its markdown line number."""
    lines: list[str] = []
    for block in blocks:
        lines.extend([""] * (block.line - len(lines)))
        lines.extend(block.code.splitlines())
    return "\n".join(lines) + "\n"


def defines_tests(source: str) -> bool:
    tree = ast.parse(source)
    return any(
        isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_")
        for node in tree.body
    )


@cache
def _pages_with_code() -> list[Path]:
    return [path for path in markdown_files() if runnable_blocks(path.read_text(), str(path))]


def _clean_environment() -> dict[str, str]:
    """This environment without the variables that would point the page at another database
    or backend than a fresh SQLite file."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("DBOS_", "PYTEST_"))}


@pytest.fixture
def only_once(request: pytest.FixtureRequest) -> None:
    """Pages run on SQLite in a subprocess: once per test matrix, in its SQLite pass."""
    backend = request.config.getoption("--dbos-backend") or os.environ.get(
        "DBOS_TEST_BACKENDS", "all"
    )
    if "sqlite" not in backend and backend != "all":
        pytest.skip("documentation examples run in the SQLite pass")


@pytest.mark.slow
@pytest.mark.parametrize("page", _pages_with_code(), ids=lambda path: str(path.relative_to(ROOT)))
def test_page_examples_run(page: Path, tmp_path: Path, only_once: None) -> None:
    source = program(runnable_blocks(page.read_text(), str(page)))
    code_dir, work_dir = tmp_path / "code", tmp_path / "work"
    code_dir.mkdir()
    work_dir.mkdir()
    stem = re.sub(r"\W", "_", str(page.relative_to(ROOT)).removesuffix(".md"))
    if defines_tests(source):
        script = code_dir / f"test_{stem}.py"
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        command += ["--dbos-backend=sqlite", f"--rootdir={code_dir}", "-W", "error", str(script)]
    else:
        script = code_dir / f"{stem}.py"
        command = [sys.executable, str(script)]
    script.write_text(source)
    try:
        done = subprocess.run(
            command,
            check=False,
            cwd=work_dir,
            env=_clean_environment(),
            capture_output=True,
            text=True,
            timeout=PAGE_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as exc:
        output = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout
        pytest.fail(f"{page.name}'s examples did not finish in {PAGE_TIMEOUT_S} s:\n{output}")
    if done.returncode != 0:
        pytest.fail(
            f"{page.relative_to(ROOT)}'s examples failed (line numbers are the page's):\n"
            f"{done.stdout}\n{done.stderr}",
            pytrace=False,
        )


def test_an_unmarked_block_runs_and_a_marked_one_does_not() -> None:
    page = (
        "# Title\n\n```python\nx = 1\n```\n\n<!-- not-run: needs a server -->\n"
        "```python\nraise SystemExit(1)\n```\n\n<!-- setup\n```python\ny = x + 1\n```\n-->\n\n"
        "```bash\nexit 1\n```\n"
    )
    blocks = runnable_blocks(page)
    assert [b.code for b in blocks] == ["x = 1\n", "y = x + 1\n"]
    source = program(blocks)
    assert source.splitlines()[3] == "x = 1"  # markdown line 4
    assert source.splitlines()[13] == "y = x + 1"  # markdown line 14, inside the comment
    with pytest.raises(ValueError, match="needs a reason"):
        runnable_blocks("<!-- not-run: -->\n```python\npass\n```\n")


def test_pages_with_test_functions_run_with_pytest() -> None:
    assert defines_tests("def test_x(dbos):\n    pass\n")
    assert not defines_tests("def helper():\n    pass\nhelper()\n")


# Links ---------------------------------------------------------------------------------------


def _plain_text(inline: Token) -> str:
    return "".join(c.content for c in inline.children or () if c.type in ("text", "code_inline"))


@cache
def heading_anchors(path: Path) -> frozenset[str]:
    """The anchors GitHub gives the headings of a markdown file."""
    tokens = _markdown().parse(path.read_text())
    anchors: set[str] = set()
    for opening, inline in itertools.pairwise(tokens):
        if opening.type != "heading_open":
            continue
        slug = re.sub(r"[^\w\- ]", "", _plain_text(inline).strip().lower()).replace(" ", "-")
        candidate, count = slug, 0
        while candidate in anchors:
            count += 1
            candidate = f"{slug}-{count}"
        anchors.add(candidate)
    return frozenset(anchors)


def _links(tokens: list[Token]) -> list[tuple[int, str]]:
    """(line, target) of every link and image, lines counting from 1."""
    found: list[tuple[int, str]] = []
    for token in tokens:
        if token.map is None:
            continue
        line = token.map[0] + 1
        for child in token.children or ():
            if child.type in ("softbreak", "hardbreak"):
                line += 1
            target = child.attrGet("href") if child.type == "link_open" else None
            if child.type == "image":
                target = child.attrGet("src")
            if isinstance(target, str):
                found.append((line, target))
    return found


def broken_links(page: Path, root: Path = ROOT) -> list[str]:
    problems: list[str] = []
    for line, target in _links(_markdown().parse(page.read_text())):
        parts = urlsplit(target)
        if parts.scheme or parts.netloc:
            continue  # an external address: not checked offline
        where = f"{page.relative_to(root)}:{line}: {target}"
        path = (page.parent / unquote(parts.path)).resolve() if parts.path else page
        if not path.exists():
            problems.append(f"{where}: no such file")
        elif root not in path.parents and path != root:
            problems.append(f"{where}: outside the repository")
        elif (
            parts.fragment and path.suffix == ".md" and parts.fragment not in heading_anchors(path)
        ):
            problems.append(f"{where}: no heading with that anchor")
    return problems


def test_relative_links_point_at_what_exists() -> None:
    problems = [problem for page in markdown_files() for problem in broken_links(page)]
    assert problems == []


def test_the_link_check_finds_missing_files_and_anchors(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "b.md").write_text("# B page\n\n## Two words `code`\n\n## B page\n")
    (tmp_path / "a.md").write_text(
        "[ok](docs/b.md#two-words-code) [ok](docs/b.md#b-page-1) [ok](#a) [web](https://x.y/z)\n"
        "[gone](docs/c.md) [anchor](docs/b.md#three)\n\n| t |\n| - |\n| [up](x.md) |\n\n# A\n"
    )
    problems = broken_links(tmp_path / "a.md", root=tmp_path)
    assert problems == [
        "a.md:2: docs/c.md: no such file",
        "a.md:2: docs/b.md#three: no heading with that anchor",
        "a.md:6: x.md: no such file",
    ]
