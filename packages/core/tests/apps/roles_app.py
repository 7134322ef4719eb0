"""Workflows requiring roles, run in a process that is killed (with SIGKILL) part-way: the
recovered execution must run as the identity the workflow was started under."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dbos import DBOS, DBOSContextSetAuth


def _identity() -> dict[str, Any]:
    return {
        "user": DBOS.authenticated_user,
        "roles": DBOS.authenticated_roles,
        "assumed": DBOS.assumed_role,
    }


def _note(effects: str, where: str) -> dict[str, Any]:
    seen = {"where": where, **_identity()}
    with Path(effects).open("a") as log:
        log.write(json.dumps(seen) + "\n")
    return seen


@DBOS.step()
def observe(effects: str, where: str) -> dict[str, Any]:
    return _note(effects, where)


@DBOS.workflow(name="roles_app.guarded")
@DBOS.required_roles(["admin", "user"])
def guarded(effects: str) -> list[dict[str, Any]]:
    first = observe(effects, "before")
    second = observe(effects, "after")  # the killed process dies as this step starts
    return [first, second, {"where": "body", **_identity()}]


def run_guarded(effects: str) -> Any:
    """What the killed process runs: the workflow, started as alice."""
    with DBOSContextSetAuth("alice", ["user", "admin"]):
        return guarded(effects)


@DBOS.required_roles(["user"])
@DBOS.workflow(name="roles_app.guarded_async")
async def guarded_async(effects: str) -> list[dict[str, Any]]:
    first = await observe_async(effects, "before")
    second = await observe_async(effects, "after")
    return [first, second, {"where": "body", **_identity()}]


@DBOS.step()
async def observe_async(effects: str, where: str) -> dict[str, Any]:
    return _note(effects, where)


async def run_guarded_async(effects: str) -> Any:
    async with DBOSContextSetAuth("bob", ["user"]):
        return await guarded_async(effects)
