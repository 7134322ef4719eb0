"""A small app the debouncer crash test runs as a real subprocess (and kills with SIGKILL).

Usage: python debounce_app.py DATABASE_URL WORKDIR MODE

MODE ``bounce`` debounces three inputs under one key with a window of PERIOD seconds
(default 6), writes the target's workflow ID to WORKDIR/target-id, and waits to be killed.
MODE ``recover:<workflow ID>`` launches (recovering the debouncer) and prints that workflow's
result. The target appends its input to WORKDIR/effects.log each time it runs.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from dbos import DBOS, Debouncer

URL, WORKDIR, MODE = sys.argv[1], Path(sys.argv[2]), sys.argv[3]


@DBOS.workflow()
def process(value: str) -> str:
    with (WORKDIR / "effects.log").open("a") as log:
        log.write(f"{value} {os.getpid()}\n")
    return value.upper()


def main() -> None:
    DBOS(config={"name": "debounce-app", "system_database_url": URL})
    DBOS.launch()
    result: object = None
    if MODE == "bounce":
        period = float(os.environ.get("PERIOD", "6"))
        debouncer = Debouncer.create(process)
        handles = [debouncer.debounce("key", period, value) for value in ("a", "b", "c")]
        assert len({handle.workflow_id for handle in handles}) == 1
        # Written whole, then renamed: the test reads it as soon as the name appears.
        (WORKDIR / "target-id.tmp").write_text(handles[0].workflow_id)
        os.replace(WORKDIR / "target-id.tmp", WORKDIR / "target-id")
        time.sleep(600)  # killed long before
    elif MODE.startswith("recover:"):
        target = MODE.split(":", 1)[1]
        result = DBOS.retrieve_workflow(target, existing_workflow=False).get_result()
    print(json.dumps({"result": result, "pid": os.getpid()}), flush=True)
    DBOS.destroy()


if __name__ == "__main__":
    main()
