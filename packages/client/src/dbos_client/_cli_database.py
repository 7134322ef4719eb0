"""``dbos migrate``, ``dbos reset`` and ``dbos gc``: the system database itself, with DBOS
Transact 3.4's options (those this implementation has no counterpart for are refused with
what to do instead)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from dbos import DBOSException

from . import _render as render
from ._cli_options import connection_options, current_settings, parse_time, reported

F = TypeVar("F", bound=Callable[..., Any])

#: DBOS Transact 3.4's (and earlier releases') migrate options that have no counterpart
#: here, with what to do instead.
_REFUSED_MIGRATE_OPTIONS: dict[str, tuple[tuple[str, ...], bool, str]] = {
    "print_migrations": (
        ("--print-migrations",),
        False,
        "is not supported: `dbos migrate` applies the migrations itself, each in its own "
        "transaction and recorded with a checksum (the Postgres backend's SQL is in the "
        "dbos_postgres package, migrations/*.sql)",
    ),
    "print_user_role": (
        ("--print-user-role",),
        True,
        "is not supported: -r/--app-role makes the grants itself, in one transaction",
    ),
    "sharding": (
        ("--sharding",),
        True,
        "is not supported: an app has one system database here (no sharded schema)",
    ),
    "app_db_url": (
        ("-D", "--db-url"),
        False,
        "names an application database (DBOS Transact before 3.0), which this implementation "
        "does not have: give the system database with -s/--sys-db-url; a "
        "SQLAlchemyDatasource's tables are created by SQLAlchemyDatasource.migrate(url)",
    ),
}


def _refuse(ctx: click.Context, param: click.Parameter, value: object) -> None:
    if value not in (None, False):
        assert param.name is not None
        raise click.BadParameter(_REFUSED_MIGRATE_OPTIONS[param.name][2], ctx=ctx, param=param)


def _refused_migrate_options(func: F) -> F:
    for dest, (flags, is_flag, _) in reversed(_REFUSED_MIGRATE_OPTIONS.items()):
        func = click.option(
            *flags,
            dest,
            is_flag=is_flag,
            default=None if not is_flag else False,
            callback=_refuse,
            expose_value=False,
            help="DBOS Transact's; refused here, saying what to do instead.",
        )(func)
    return func


@click.command()
@connection_options
@click.option(
    "-r",
    "--app-role",
    metavar="ROLE",
    help="Postgres: then grant this role the use of the system schema (its tables, sequences "
    "and functions, and those later migrations add), so the app may run as it (DBOS "
    "Transact 3.4's grants; DBOS.migrate's application_role).",
)
@_refused_migrate_options
def migrate(app_role: str | None) -> None:
    """Create the system database if needed and apply pending migrations."""
    settings = current_settings()
    with reported(settings):
        storage = settings.storage()
        try:
            grant: Callable[[str], None] | None = None
            if app_role is not None:
                grant = getattr(storage, "grant_system_schema", None)
                if grant is None or not app_role:
                    raise click.BadParameter(
                        "needs a Postgres system database and a role name"
                        if app_role
                        else "needs a role name",
                        param_hint="'-r' / '--app-role'",
                    )
            try:
                pending: list[str] | None = storage.verify_schema()
            except DBOSException:  # no database (file) yet, or unreachable: setup says which
                pending = None
            storage.setup()
            where = f"system database {storage.url_for_display}"
            if pending == []:
                click.echo(f"{where} is up to date: no migration to apply")
            elif pending is None:
                click.echo(f"{where} created, all migrations applied")
            else:
                click.echo(
                    f"{where}: applied {len(pending)} migration(s) ({', '.join(pending)}); "
                    "it is up to date"
                )
            if grant is not None and app_role is not None:
                grant(app_role)
                click.echo(f"granted role {app_role!r} the use of the system schema")
        finally:
            storage.close()


@click.command()
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@connection_options
def reset(yes: bool) -> None:
    """Delete every workflow, step and DBOS table of the system database."""
    settings = current_settings()
    with reported(settings):
        storage = settings.storage()
        try:
            if not yes:
                click.confirm(
                    f"Delete ALL workflows and DBOS tables in {storage.url_for_display}?",
                    abort=True,
                )
            storage.reset_system_database()
            click.echo(
                f"reset {storage.url_for_display}; `dbos migrate` (or launching the app) "
                "creates the tables again"
            )
        finally:
            storage.close()


@click.command()
@connection_options
@click.option(
    "--before",
    required=True,
    help="Delete finished workflows created before this (ISO 8601, or 30d, 12h... ago).",
)
def gc(before: str) -> None:
    """Retention: delete finished workflows created before a time, with their steps.
    Queued and running workflows are kept."""
    settings = current_settings()
    cutoff = parse_time(before, "--before")
    assert cutoff is not None
    with reported(settings):
        deleted = settings.client().garbage_collect(cutoff)
        click.echo(f"deleted {deleted} workflow(s) created before {render.iso(cutoff)}")
