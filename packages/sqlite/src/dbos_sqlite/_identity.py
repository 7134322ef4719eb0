"""Noticing that the database file was deleted or replaced under an open connection.

SQLite keeps writing to the file it opened, even once the path leads elsewhere (or nowhere):
an unlinked file takes every checkpoint with it when the process exits, and a replaced one
means the app writes to a database nobody will read again. The connection's file is identified
by device and inode when it is opened; before each write commits, the path is checked to still
lead to that file (one ``stat`` per write transaction).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from dbos.storage import DBOSStorageError


class SQLiteFileChangedError(DBOSStorageError):
    """The SQLite database file was deleted or replaced while this process had it open.

    Ours, not DBOS Transact's. Not a `DBOSConnectionError`: retrying cannot help (the data
    written so far is in a file the path no longer leads to), so the write fails at once and
    the workflow that made it fails with this error. Restart the app on a database file that
    stays in place.

    Attributes:
        path: The database file's path, as configured.
    """

    fatal = True  # the background services stop (see DBOSStorageError.fatal)

    def __init__(self, path: str, what: str) -> None:
        self._reduce_args = (path, what)
        super().__init__(
            f"the SQLite database file {path!r} was {what} while the app had it open; writes "
            "since then would be lost, so they are refused: restart the app with the database "
            "file in place"
        )
        self.path = path


@dataclass(frozen=True)
class FileIdentity:
    """Which file `path` led to when the database was opened (`st_dev`, `st_ino`).

    `path` is absolute: SQLite resolved a relative one against the working directory of the
    moment, and an app may change directory afterwards.
    """

    path: str
    device: int
    inode: int

    @classmethod
    def of(cls, path: Path) -> FileIdentity:
        """The identity of the file at `path` now. Raises `OSError` if there is none."""
        absolute = os.path.abspath(path)
        stat = os.stat(absolute)
        return cls(absolute, stat.st_dev, stat.st_ino)

    def check(self) -> None:
        """Raise `SQLiteFileChangedError` unless the path still leads to this file.

        Raises:
            SQLiteFileChangedError: the path is gone ("deleted") or leads to another file
                ("replaced").
        """
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            raise SQLiteFileChangedError(self.path, "deleted") from None
        if (stat.st_dev, stat.st_ino) != (self.device, self.inode):
            raise SQLiteFileChangedError(self.path, "replaced by another file")
