from __future__ import annotations

from datetime import datetime, timezone

import pytest

from dbos import DBOSException
from dbos.management._listing import build_query, to_epoch_ms


def test_times_accept_iso_strings_datetimes_and_epoch_ms() -> None:
    expected = int(datetime(2025, 4, 22, 3, 0, tzinfo=timezone.utc).timestamp() * 1000)
    assert to_epoch_ms("2025-04-22T03:00:00Z", "t") == expected
    assert to_epoch_ms(datetime(2025, 4, 22, 3, 0, tzinfo=timezone.utc), "t") == expected
    assert to_epoch_ms(expected, "t") == expected


def test_query_collects_filters() -> None:
    query = build_query(status="ERROR", name="wf", limit=5, sort_desc=True, load_input=False)
    assert query.statuses == ("ERROR",)
    assert query.name == "wf"
    assert query.limit == 5
    assert query.sort_desc
    assert not query.load_inputs


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"status": "DONE"}, "unknown workflow status 'DONE'"),
        ({"start_time": "yesterday"}, "not an ISO 8601"),
        ({"limit": -1}, "limit must be"),
    ],
)
def test_bad_filters_are_named(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(DBOSException, match=message):
        build_query(**kwargs)  # type: ignore[arg-type]
