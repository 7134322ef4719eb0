"""Passwords in every form libpq accepts never reach exceptions (or their chained causes),
tracebacks, logs, reprs or the `dbos` command's output: fed to `DBOS`, `DBOSClient` and the
real `dbos` command against a Postgres address where nothing listens."""

from __future__ import annotations

import logging
import re
import socket
import subprocess
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest

from dbos import DBOS, DBOSException
from dbos_client import DBOSClient

DBOS_COMMAND = Path(sys.executable).parent / "dbos"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


PORT = _closed_port()

#: (form, connection string, the secrets it carries as they could be echoed)
FORMS = [
    (
        "url-userinfo",
        f"postgresql://app:Userinfo-s3cret@127.0.0.1:{PORT}/shop",
        ["Userinfo-s3cret"],
    ),
    (
        "url-userinfo-percent-encoded",
        f"postgresql://app:Pct%40s3cret%20x@127.0.0.1:{PORT}/shop",
        ["Pct@s3cret x", "Pct%40s3cret%20x"],
    ),
    (
        "url-query-password",
        f"postgresql://app@127.0.0.1:{PORT}/shop?password=Query-s3cret",
        ["Query-s3cret"],
    ),
    (
        "url-query-password-among-others",
        f"postgresql://app@127.0.0.1:{PORT}/shop?sslmode=disable&password=Qu%20ery2-s3cret",
        ["Qu ery2-s3cret", "Qu%20ery2-s3cret"],
    ),
    (
        "url-driver-suffix-multi-host",
        f"postgresql+psycopg://app:Multi-s3cret@127.0.0.1:{PORT},127.0.0.1:{PORT}/shop",
        ["Multi-s3cret"],
    ),
    (
        # libpq refuses the bad escape and quotes the whole token in its message.
        "url-malformed-percent-escape",
        f"postgresql://app:Bad%zzEscape-s3cret@127.0.0.1:{PORT}/shop",
        ["Bad%zzEscape-s3cret"],
    ),
    (
        # libpq splits at the first '@', Python at the last: refused before any parser runs.
        "url-unencoded-at-in-password",
        f"postgresql://app:hunter2@TopSecret@127.0.0.1:{PORT}/shop",
        ["hunter2", "TopSecret"],
    ),
    (
        "url-malformed-ipv6-host",
        f"postgresql://app:Ipv6-s3cret@[::1:{PORT}/shop",
        ["Ipv6-s3cret"],
    ),
    (
        "keyword-value",
        f"host=127.0.0.1 port={PORT} dbname=shop user=app password=Kv-s3cret",
        ["Kv-s3cret"],
    ),
    (
        "keyword-value-quoted-with-spaces",
        f"host=127.0.0.1 port={PORT} dbname=shop password='Quoted s3cret \\' here'",
        ["Quoted s3cret ' here", "s3cret"],
    ),
]
IDS = [form for form, _, _ in FORMS]


def _all_text(error: BaseException) -> str:
    """Everything a user may see of `error`: its message, its repr, and the full traceback
    with every chained cause and context."""
    return "\n".join(
        [str(error), repr(error), "".join(traceback.format_exception(error))]
        + [repr(e) for e in _chain(error)]
    )


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending += [current.__cause__, current.__context__]


def _assert_hidden(text: str, secrets: list[str]) -> None:
    for secret in secrets:
        assert secret not in text, f"{secret!r} leaked in:\n{text}"


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


@pytest.mark.parametrize(("form", "dsn", "secrets"), FORMS, ids=IDS)
def test_dbos_launch_never_shows_the_password(
    form: str,
    dsn: str,
    secrets: list[str],
    logs: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    DBOS.destroy()
    try:
        with pytest.raises(DBOSException) as info:
            DBOS(config={"name": "secret-app", "system_database_url": dsn})
            assert DBOS._instance is not None
            _assert_hidden(repr(DBOS._instance._settings), secrets)
            DBOS.launch()
    finally:
        DBOS.destroy()
    out, err = capfd.readouterr()
    _assert_hidden(_all_text(info.value) + logs.text + out + err, secrets)


@pytest.mark.parametrize(("form", "dsn", "secrets"), FORMS, ids=IDS)
def test_client_never_shows_the_password(
    form: str,
    dsn: str,
    secrets: list[str],
    logs: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(DBOSException) as info:
        DBOSClient(dsn)
    out, err = capfd.readouterr()
    _assert_hidden(_all_text(info.value) + logs.text + out + err, secrets)


@pytest.mark.slow
@pytest.mark.parametrize(("form", "dsn", "secrets"), FORMS, ids=IDS)
@pytest.mark.parametrize("how", ["--db-url", "environment"])
def test_cli_never_shows_the_password(form: str, dsn: str, secrets: list[str], how: str) -> None:
    args = ["--db-url", dsn] if how == "--db-url" else []
    env = {"DBOS_SYSTEM_DATABASE_URL": dsn} if how == "environment" else {}
    result = subprocess.run(
        [str(DBOS_COMMAND), *args, "workflow", "list"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", **env},
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert result.stderr.strip(), "the failure must be reported"
    _assert_hidden(result.stdout + result.stderr, secrets)


REFUSED = [
    (
        f"postgresql://app:hunter2@TopSecret@127.0.0.1:{PORT}/shop",
        "percent-encode '@'",
        ["hunter2", "TopSecret"],
    ),
    (f"postgresql://app:Ipv6-s3cret@[::1:{PORT}/shop", "Invalid IPv6 URL", ["Ipv6-s3cret"]),
]


@pytest.mark.parametrize(("dsn", "reason", "secrets"), REFUSED, ids=["at-sign", "ipv6"])
def test_ambiguous_or_malformed_urls_are_config_errors_everywhere(
    dsn: str, reason: str, secrets: list[str]
) -> None:
    """Refused up front with a DBOSConfigError naming the problem (not a bare ValueError, nor
    a driver error about a host made of the password's tail); the CLI exits 2 (usage)."""
    from dbos import DBOSConfigError

    DBOS.destroy()
    try:
        with pytest.raises(DBOSConfigError, match=re.escape(reason)) as launched:
            DBOS(config={"name": "secret-app", "system_database_url": dsn})
    finally:
        DBOS.destroy()
    with pytest.raises(DBOSConfigError, match=re.escape(reason)) as opened:
        DBOSClient(dsn)
    result = subprocess.run(
        [str(DBOS_COMMAND), "--db-url", dsn, "workflow", "list"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert reason in result.stderr and "Traceback" not in result.stderr
    assert "app:***@" in result.stderr
    _assert_hidden(
        _all_text(launched.value) + _all_text(opened.value) + result.stdout + result.stderr,
        secrets,
    )
