"""The workflow list's filters: from a page's query string to a `WorkflowQuery`, with a
clear message for each field a person typed wrong."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

from dbos import DBOSException
from dbos.management import to_epoch_ms
from dbos.storage import WorkflowQuery

from ._reading import STATUSES

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
#: Query-string fields of the workflow list, in the order of the filter form.
FIELDS = ("status", "name", "queue", "since", "until", "prefix", "attributes", "limit")
DEFAULT_LIMIT = 50
MAX_LIMIT = 500


@dataclass
class Filters:
    """The filters as typed (`values`), the query they make, and what was wrong with them."""

    values: dict[str, str]
    query: WorkflowQuery
    errors: dict[str, str] = field(default_factory=dict)

    def query_string(self) -> str:
        return urlencode({key: value for key, value in self.values.items() if value})


def _time(text: str) -> int:
    match = _DURATION.match(text)
    if match:
        ago = timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})
        return int((datetime.now(timezone.utc) - ago).timestamp() * 1000)
    epoch_ms = to_epoch_ms(text, "time")
    if epoch_ms is None:
        raise DBOSException(f"{text!r} is not a time")
    return epoch_ms


def parse(params: Mapping[str, str]) -> Filters:
    """The filters of a query string; a wrong field is reported and left out of the query."""
    values = {key: params.get(key, "").strip() for key in FIELDS}
    errors: dict[str, str] = {}
    statuses: tuple[str, ...] | None = None
    status = values["status"].upper()
    if status in STATUSES:
        statuses = (status,)
    elif status:
        errors["status"] = f"unknown status; expected one of {', '.join(STATUSES)}"
    times: dict[str, int | None] = {"since": None, "until": None}
    for key in times:
        if values[key]:
            try:
                times[key] = _time(values[key])
            except DBOSException:
                errors[key] = (
                    "expected an ISO 8601 time (2026-04-22T03:00:00Z) or a duration ago "
                    "(15m, 2h, 3d)"
                )
    attributes: str | None = None
    if values["attributes"]:
        try:
            parsed = json.loads(values["attributes"])
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            attributes = json.dumps(parsed)
        else:
            errors["attributes"] = 'expected a JSON object, such as {"customer": "acme"}'
    limit = DEFAULT_LIMIT
    if values["limit"]:
        if values["limit"].isdigit() and 0 < int(values["limit"]) <= MAX_LIMIT:
            limit = int(values["limit"])
        else:
            errors["limit"] = f"expected a number from 1 to {MAX_LIMIT}"
    query = WorkflowQuery(
        statuses=statuses,
        name=values["name"] or None,
        queue_name=values["queue"] or None,
        workflow_id_prefix=values["prefix"] or None,
        created_after_ms=times["since"],
        created_before_ms=times["until"],
        attributes_contain=attributes,
        limit=limit,
        sort_desc=True,
        load_inputs=False,
        load_output=False,
    )
    return Filters(values, query, errors)
