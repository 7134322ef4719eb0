"""A workflow that catches a step's exception by class and uses its attributes: a replay
(after a SIGKILL, or in a fork) must take the same `except` branch as the first run."""

from __future__ import annotations

import sys
from pathlib import Path

from dbos import DBOS


class BadInit(Exception):
    """An exception whose constructor takes other arguments than its `args`."""

    def __init__(self, code: int, detail: str) -> None:
        super().__init__(f"error {code}: {detail}")
        self.code = code
        self.detail = detail


@DBOS.step()
def validate(order_id: str) -> None:
    raise BadInit(422, f"order {order_id} is malformed")


@DBOS.step()
def report(text: str, effects: str) -> str:
    with Path(effects).open("a") as log:
        log.write(f"report {text}\n")
    return text


@DBOS.workflow()
def checked_order(order_id: str, effects: str) -> str:
    try:
        validate(order_id)
    except BadInit as error:
        outcome = f"rejected {error.code} ({error.detail})"
    else:
        outcome = "accepted"
    return report(outcome, effects)


if __name__ == "__main__":  # pragma: no cover - run by hand
    DBOS(config={"name": "error-app", "system_database_url": sys.argv[1]})
    DBOS.launch()
    print(checked_order(sys.argv[2], sys.argv[3]))
