"""An outage is reported when it begins, now and then while it lasts, and when it ends: not on
every failed attempt."""

from __future__ import annotations

import logging
import time

import pytest

from dbos import DBOSConnectionError
from dbos._engine.outage import OutageReport


def _warnings(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "dbos" and r.levelno == logging.WARNING and text in r.getMessage()
    ]


def test_outage_reports_are_rare(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="dbos")
    report = OutageReport("db", report_every_s=0.2)
    error = DBOSConnectionError("down")
    for _ in range(50):
        report.failed("recv", error)
    assert len(_warnings(caplog, "unreachable")) == 1  # the first failure only
    time.sleep(0.25)
    report.failed("recv", error)
    report.failed("recv", error)
    still = _warnings(caplog, "still unreachable")
    assert len(still) == 1 and "51 failed attempts" in still[0]
    report.succeeded()
    report.succeeded()
    assert len(_warnings(caplog, "reachable again")) == 1


def test_a_call_that_began_before_the_outage_does_not_end_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="dbos")
    report = OutageReport("db")
    in_flight_since = time.monotonic()
    report.failed("recv", DBOSConnectionError("down"))
    report.succeeded(in_flight_since)  # finished on a connection it had before the outage
    report.failed("recv", DBOSConnectionError("down"))
    assert len(_warnings(caplog, "unreachable")) == 1
    assert _warnings(caplog, "reachable again") == []
    report.succeeded(time.monotonic())
    assert len(_warnings(caplog, "reachable again")) == 1


def test_the_outage_counts_from_when_its_first_failed_attempt_began(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A call can wait long for a connection before it fails (the pool's timeout): the
    reported length counts that wait (a user trial saw a 40 s outage reported as 30 s)."""
    caplog.set_level(logging.WARNING, logger="dbos")
    report = OutageReport("db")
    report.failed("record_step", DBOSConnectionError("down"), time.monotonic() - 10.0)
    begun = _warnings(caplog, "unreachable")
    assert len(begun) == 1 and "the attempt waited 10.0 s" in begun[0]
    report.succeeded(time.monotonic())
    ended = _warnings(caplog, "reachable again after")
    assert len(ended) == 1
    assert float(ended[0].split("after ")[1].split(" s")[0]) >= 10.0
