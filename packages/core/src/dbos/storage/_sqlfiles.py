"""Helpers for backends that keep their SQL in files: named query blocks and numbered
migrations with checksums. Pure text handling; no database driver here."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources

from .._base.errors import DBOSMigrationError

_BLOCK_LINE = re.compile(r"^--\s*(name|fragment):\s*([A-Za-z_][A-Za-z0-9_]*)\s*$", re.MULTILINE)
_FRAGMENT_REF = re.compile(r"\{@([A-Za-z_][A-Za-z0-9_]*)\}")
_MIGRATION_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


def _blocks(package: str, filename: str) -> tuple[dict[str, str], dict[str, str]]:
    """The file's query blocks and fragment blocks, each by name, as written."""
    text = resources.files(package).joinpath(filename).read_text(encoding="utf-8")
    found: dict[str, dict[str, str]] = {"name": {}, "fragment": {}}
    matches = list(_BLOCK_LINE.finditer(text))
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        kind, name = match.group(1), match.group(2)
        if name in found["name"] or name in found["fragment"]:
            raise ValueError(f"{filename}: {name!r} is defined twice")
        found[kind][name] = text[match.end() : end].strip()
    return found["name"], found["fragment"]


def _expand(
    text: str, fragments: dict[str, str], filename: str, within: str, seen: tuple[str, ...] = ()
) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in fragments:
            raise ValueError(f"{filename}: {within!r} uses {{@{name}}}, which no fragment defines")
        if name in seen:
            raise ValueError(f"{filename}: fragment {name!r} includes itself")
        return _expand(fragments[name], fragments, filename, name, (*seen, name))

    return _FRAGMENT_REF.sub(one, text)


def load_queries(package: str, filename: str) -> dict[str, str]:
    """Named blocks of a SQL file: each starts with a ``-- name: <query_name>`` line.

    A block that starts with ``-- fragment: <fragment_name>`` is not a query: it is text that
    queries share (a condition, a CTE, a checkpoint insert), written once and spliced into every
    query that says ``{@fragment_name}``; a fragment may use other fragments.

    Raises:
        ValueError: a name defined twice, or a query that uses a fragment the file lacks.
    """
    queries, fragments = _blocks(package, filename)
    return {name: _expand(text, fragments, filename, name) for name, text in queries.items()}


def load_fragments(package: str, filename: str) -> dict[str, str]:
    """The ``-- fragment: <name>`` blocks of a SQL file (see `load_queries`), by name, each with
    the fragments it uses spliced in: for statements a backend composes at run time (a listing
    filter) from the file's shared text.

    Raises:
        ValueError: as `load_queries`.
    """
    fragments = _blocks(package, filename)[1]
    return {name: _expand(text, fragments, filename, name) for name, text in fragments.items()}


@dataclass(frozen=True)
class Migration:
    """One numbered migration file, ``NNNN_name.sql``, as `load_migrations` reads it."""

    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        """SHA-256 of the file's text, hex: recorded when the migration is applied and compared by
        `pending_migrations`, so a released migration file that changes is caught."""
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class AppliedMigration:
    """A migration a system database records as applied (a row of the backend's migration
    ledger): its version, name and the checksum its file had then."""

    version: int
    name: str
    checksum: str


def load_migrations(package: str, folder: str = "migrations") -> list[Migration]:
    """The numbered migration files ``NNNN_name.sql`` of a package, in order."""
    migrations = []
    for entry in resources.files(package).joinpath(folder).iterdir():
        match = _MIGRATION_FILE.match(entry.name)
        if match:
            sql = entry.read_text(encoding="utf-8")
            migrations.append(Migration(int(match.group(1)), match.group(2), sql))
    migrations.sort(key=lambda migration: migration.version)
    versions = [migration.version for migration in migrations]
    if versions != list(range(1, len(versions) + 1)):
        raise DBOSMigrationError(
            f"{package}: migration files must be numbered 1..n, got {versions}"
        )
    return migrations


def pending_migrations(
    available: list[Migration], applied: list[AppliedMigration]
) -> list[Migration]:
    """The migrations still to apply; refuses a database that does not match this code.

    Raises:
        DBOSMigrationError: an applied migration's checksum differs from its file, or the
            database has migrations this code does not know (it is newer than this code).
    """
    known = {migration.version: migration for migration in available}
    for record in applied:
        migration = known.get(record.version)
        if migration is None:
            raise DBOSMigrationError(
                f"the system database has migration {record.version} ({record.name}), which "
                f"this version of the code does not know (it knows 1..{len(available)}); "
                "upgrade the library or use another database"
            )
        if migration.checksum != record.checksum:
            raise DBOSMigrationError(
                f"migration {record.version} ({record.name}) was applied with checksum "
                f"{record.checksum[:12]}..., but its file now has {migration.checksum[:12]}...; "
                "migration files must never change once released"
            )
    done = {record.version for record in applied}
    return [migration for migration in available if migration.version not in done]
