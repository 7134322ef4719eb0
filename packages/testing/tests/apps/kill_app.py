"""A workflow for the kill_at_step tests: each step appends its name to a side-effect file."""

from __future__ import annotations

from pathlib import Path

from dbos import DBOS


def _note(path: str, name: str) -> None:
    with Path(path).open("a") as effects:
        effects.write(name + "\n")


@DBOS.step()
def kill_app_first(path: str) -> None:
    _note(path, "first")


@DBOS.step()
def kill_app_second(path: str) -> None:
    _note(path, "second")


@DBOS.step()
def kill_app_third(path: str) -> None:
    _note(path, "third")


@DBOS.workflow()
def kill_app_workflow(path: str) -> str:
    kill_app_first(path)
    kill_app_second(path)
    kill_app_third(path)
    return "done"
