"""Every public name of every package has a docstring.

ruff's pydocstyle rules (D1xx, "missing docstring") cannot be this gate: they treat everything
defined in a private module (`dbos/_dbos.py`, `dbos_client/_client.py`) as non-public, and that is
where nearly all of the public API lives; the packages' `__init__.py` only re-export it. So this
test walks what users actually import: the `__all__` of each public module, and the public
methods and properties that each exported class defines itself.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import importlib
import importlib.util
import inspect
import types
from collections.abc import Iterator
from typing import Any, is_typeddict

PUBLIC_MODULES = [
    "dbos",
    "dbos.storage",
    "dbos.management",
    "dbos.plugins",
    "dbos_client",
    "dbos_client.ui",
    "dbos_sqlite",
    "dbos_postgres",
    "dbos_testing",
]


#: Modules that need an optional extra: checked where it is installed.
EXTRAS = {"dbos_client.ui": ("starlette", "jinja2", "uvicorn")}


def _installed(name: str) -> bool:
    # `nox -s core_without_driver` runs core's tests without dbos-postgres installed.
    needed = (name.partition(".")[0], *EXTRAS.get(name, ()))
    return all(importlib.util.find_spec(package) is not None for package in needed)


def _own_doc(obj: object) -> str:
    """The docstring `obj` itself carries, never one inherited or generated for it."""
    if inspect.isclass(obj):
        doc = obj.__dict__.get("__doc__")
        if dataclasses.is_dataclass(obj) and doc is not None:
            # A dataclass without a docstring gets its signature as one: "Name(a: int, ...)".
            generated = obj.__name__ + str(inspect.signature(obj)).replace(" -> None", "")
            if doc == generated:
                return ""
    else:
        doc = getattr(obj, "__doc__", None)
    return doc.strip() if isinstance(doc, str) else ""


def _documentable(member: object) -> object | None:
    """The function whose docstring documents a class attribute, or None for a plain value."""
    if isinstance(member, (staticmethod, classmethod)):
        return member.__func__
    if isinstance(member, property):
        return member.fget
    if isinstance(member, types.FunctionType):
        return member
    if isinstance(member, functools.cached_property):
        return member.func
    return None


def _is_machinery(cls: type) -> bool:
    """Classes whose members are generated, not written: nothing of theirs to document."""
    return is_typeddict(cls) or issubclass(cls, enum.Enum)


def _public_objects() -> Iterator[tuple[str, Any]]:
    seen: set[int] = set()
    for module_name in PUBLIC_MODULES:
        if not _installed(module_name):
            continue
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if isinstance(obj, types.GenericAlias):
                continue  # a type alias (Python 3.10's inspect.isclass says True for these)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)) or id(obj) in seen:
                continue  # constants, type aliases, re-exports already checked
            seen.add(id(obj))
            yield f"{module_name}.{name}", obj


def undocumented() -> list[str]:
    """Every public class, function, method and property without a docstring of its own."""
    missing = []
    for qualified, obj in _public_objects():
        if not _own_doc(obj):
            missing.append(qualified)
        if not inspect.isclass(obj) or _is_machinery(obj):
            continue
        for attr, member in vars(obj).items():
            function = _documentable(member)
            if attr.startswith("_") or function is None:
                continue
            if not _own_doc(function):
                missing.append(f"{qualified}.{attr}")
    return missing


def test_every_public_name_has_a_docstring() -> None:
    missing = undocumented()
    assert not missing, f"{len(missing)} public names have no docstring:\n  " + "\n  ".join(missing)


def test_the_check_sees_a_missing_docstring() -> None:
    class Documented:
        """Has one."""

        def method(self) -> None:
            """Has one."""

    @dataclasses.dataclass
    class Bare:
        size: int

        @property
        def doubled(self) -> int:
            return self.size * 2

    assert _own_doc(Documented) and _own_doc(Documented.method)
    assert not _own_doc(Bare)
    assert not _own_doc(_documentable(vars(Bare)["doubled"]))
