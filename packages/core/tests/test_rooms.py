"""Core's rooms and who may import whom (issue 10; docs/design/architecture.md draws it).

A room is a subpackage of `dbos` (`_base`, `storage`, `plugins`, `_engine`, `management`);
the modules directly in `dbos` are the public face. Rooms are layered: a module may import
(at run time: anywhere but under ``if TYPE_CHECKING:``) only from its own room or from rooms
below it, so no import circle joins two rooms, and a change in a room can break only the
rooms above it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import dbos

SRC = Path(dbos.__file__).parent

#: Bottom to top. The plugin manager sits above the backend kit: it wraps the backend it finds
#: (`with_wakeups`); the pluggy markers both offer live in the base room.
LAYERS = ("_base", "storage", "plugins", "_engine", "_datasource", "management", "face")


def _room(module: str) -> str:
    parts = module.split(".")
    if len(parts) > 2 or ((SRC / parts[-1]).is_dir() and len(parts) == 2):
        return parts[1]
    return "face"


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _runtime_imports(source: str, module: str, is_package: bool) -> list[tuple[int, str]]:
    """The `dbos` modules that `source` (the text of `module`) imports outside
    ``if TYPE_CHECKING:`` blocks, with their line numbers."""
    tree = ast.parse(source, module)
    package = module if is_package else module.rpartition(".")[0]
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in node.body:
                skipped.update(id(n) for n in ast.walk(inner))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("dbos"):
                continue
            if node.module is None or target.count(".") < 2:
                # `from . import x` / `from .room import x`: the names may be modules
                for alias in node.names:
                    candidate = f"{target}.{alias.name}"
                    path_of = SRC.parent / candidate.replace(".", "/")
                    exists = path_of.with_suffix(".py").exists() or path_of.is_dir()
                    found.append((node.lineno, candidate if exists else target))
            else:
                found.append((node.lineno, target))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, a.name) for a in node.names if a.name.startswith("dbos"))
    return found


def test_every_module_sits_in_a_known_room() -> None:
    rooms = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert rooms == set(LAYERS) - {"face"}


def test_rooms_import_only_downwards() -> None:
    wrong = []
    for path in sorted(SRC.rglob("*.py")):
        module = _module_name(path)
        here = _room(module)
        imports = _runtime_imports(path.read_text(), module, path.name == "__init__.py")
        for line, target in imports:
            there = "face" if target == "dbos" else _room(target)
            if LAYERS.index(there) > LAYERS.index(here):
                wrong.append(f"{path.relative_to(SRC)}:{line} ({here}) imports {target} ({there})")
    assert not wrong, "imports that point up a layer:\n" + "\n".join(wrong)


def test_the_check_sees_an_upward_import() -> None:
    """The checker itself: an engine module importing the face (at run time, not under
    TYPE_CHECKING) is seen, and so is a lazy import inside a function."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "from .queues import declared_queues\n"
        "if TYPE_CHECKING:\n"
        "    from .._handle import WorkflowHandle\n"
        "def f():\n"
        "    from .._queue import Queue\n"
    )
    imports = _runtime_imports(source, "dbos._engine.fake", is_package=False)
    assert imports == [(2, "dbos._engine.queues"), (6, "dbos._queue")]
    assert _room("dbos._engine.fake") == "_engine"
    assert LAYERS.index(_room("dbos._queue")) > LAYERS.index("_engine")


#: Issue 10's bound: a module past it does more than one job and should be split.
MAX_MODULE_LINES = 800


def test_no_module_outgrows_its_job() -> None:
    packages = Path(__file__).resolve().parents[2]  # packages/
    sources = sorted(packages.glob("*/src/**/*.py"))
    assert len(sources) > 50  # the walk found the workspace's packages, not an install
    long = {
        str(path.relative_to(packages)): lines
        for path in sources
        if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"
