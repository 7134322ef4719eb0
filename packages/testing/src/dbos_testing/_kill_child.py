"""The child process of `kill_at_step`: runs one workflow and stops dead at a chosen step,
waiting there for the parent's SIGKILL."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import sys
import time
from pathlib import Path
from typing import Any

from dbos import DBOS, SetWorkflowID, hookimpl
from dbos.plugins import plugin_manager


class _StopAtStep:
    def __init__(self, workflow_id: str, step: int, marker: Path) -> None:
        self.workflow_id, self.step, self.marker = workflow_id, step, marker

    @hookimpl
    def dbos_before_step(self, workflow_id: str, function_id: int, name: str) -> None:
        if workflow_id == self.workflow_id and function_id == self.step:
            self.marker.touch()
            while True:  # the parent sends SIGKILL now
                time.sleep(1)


def main(spec: dict[str, Any]) -> None:
    sys.path[:0] = spec["sys_path"]
    module_name, _, attribute = spec["target"].partition(":")
    function = importlib.import_module(module_name)
    for part in attribute.split("."):
        function = getattr(function, part)
    config: dict[str, Any] = {
        "name": "dbos-kill-at-step",
        "system_database_url": spec["database_url"],
        "executor_id": spec["executor_id"],
    }
    if spec["application_version"]:
        config["application_version"] = spec["application_version"]
    plugin_manager().register(_StopAtStep(spec["workflow_id"], spec["step"], Path(spec["marker"])))
    DBOS(config=config)  # type: ignore[arg-type]
    DBOS.launch()
    with SetWorkflowID(spec["workflow_id"]):
        result = function(*spec["args"])  # type: ignore[operator]
        if inspect.iscoroutine(result):  # an async workflow
            asyncio.run(result)
    raise SystemExit(f"workflow {spec['workflow_id']} finished without reaching the step")


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
