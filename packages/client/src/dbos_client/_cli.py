"""The `dbos` command line: workflows and queues of an app, from a terminal.

Every command reads the system database URL from its own ``-s/--sys-db-url`` (DBOS Transact
3.4's spelling), else the root group's ``--db-url``, else ``DBOS_SYSTEM_DATABASE_URL``, and
never prints its password. Errors go to stderr with exit code 1 (2 for usage errors). The
commands live in the ``_cli_*`` modules; this one is the root group and the dashboard.
"""

from __future__ import annotations

import importlib.metadata

import click

import dbos
from dbos.management import DEFAULT_RETRY_TIMEOUT_S
from dbos.plugins import install_hint

from . import _cli_actions, _cli_fork, _cli_stranded  # noqa: F401  (they add commands)
from ._cli_database import gc, migrate, reset
from ._cli_elsewhere import NOT_HERE, version_command
from ._cli_options import Settings, check_schema, current_settings, reported, url_source
from ._cli_queues import make_commands
from ._cli_schedules import schedule
from ._cli_tasks import queue_tasks
from ._cli_workflow import workflow


def _version() -> str:
    # dbos-core's version from the same source as `dbos.__version__`.
    return f"{_package_version('dbos-client')} (dbos-core {dbos.__version__})"


def _package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:  # running from a source tree
        return "0+unknown"


@click.group()
@click.version_option(
    _version(), "--version", "-V", prog_name="dbos", message="%(prog)s %(version)s"
)
@click.option(
    "--db-url",
    envvar="DBOS_SYSTEM_DATABASE_URL",
    help="System database URL (default: $DBOS_SYSTEM_DATABASE_URL); a command's own "
    "-s/--sys-db-url wins over it.",
    metavar="URL",
)
@click.option(
    "--schema",
    default="dbos",
    show_default=True,
    callback=check_schema,
    help="Postgres schema of the system tables; a command's own --schema wins over it.",
)
@click.option(
    "--retry-timeout",
    envvar="DBOS_SYS_DB_RETRY_TIMEOUT_SEC",
    type=click.FloatRange(min=0),
    default=DEFAULT_RETRY_TIMEOUT_S,
    show_default=True,
    metavar="SECONDS",
    help="How long a command retries while the database is unreachable before it fails "
    "(the config key sys_db_retry_timeout_sec; $DBOS_SYS_DB_RETRY_TIMEOUT_SEC).",
)
@click.pass_context
def cli(ctx: click.Context, db_url: str | None, schema: str, retry_timeout: float) -> None:
    """Manage the durable workflows of an app through its system database."""
    ctx.obj = Settings(db_url, schema, retry_timeout, url_source(ctx, "db_url"))


cli.add_command(workflow)


@cli.group()
def queue() -> None:
    """Inspect and change queues."""


for _command in [*make_commands(current_settings, reported), queue_tasks]:
    queue.add_command(_command)

for _command in [migrate, reset, gc, schedule, version_command(_version), *NOT_HERE]:
    cli.add_command(_command)


# --- the dashboard ------------------------------------------------------------------------

#: What `dbos ui` needs beyond dbos-client, as the message asks to install it.
UI_EXTRA = install_hint("dbos-client[ui]")


@cli.command()
@click.option("--db-url", "ui_db_url", metavar="URL", help="System database URL (as for `dbos`).")
@click.option(
    "-s", "--sys-db-url", "sys_db_url", metavar="URL", help="The same (DBOS Transact's spelling)."
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", type=click.IntRange(0, 65535), default=8700, show_default=True)
@click.option(
    "--token",
    envvar="DBOS_UI_TOKEN",
    help="Token that actions need ($DBOS_UI_TOKEN). Bound beyond loopback without one, a "
    "token is generated and printed.",
)
@click.option("--read-only", is_flag=True, help="Offer no actions, and refuse them.")
def ui(
    ui_db_url: str | None,
    sys_db_url: str | None,
    host: str,
    port: int,
    token: str | None,
    read_only: bool,
) -> None:
    """Serve the web dashboard: workflows, steps, queues, schedules and executors, with
    cancel, resume, fork and delete (needs the dbos-client[ui] extra)."""
    try:
        from .ui import serve
    except ImportError as exc:
        raise click.ClickException(
            f"the dashboard needs packages that are not installed ({exc.name}): {UI_EXTRA}"
        ) from None
    settings = current_settings()
    for given, source in ((ui_db_url, "--db-url"), (sys_db_url, "-s/--sys-db-url")):
        if given:
            settings.url, settings.url_source = given, source
    if token is not None and not token.strip():
        raise click.BadParameter("must not be empty", param_hint="--token")
    with reported(settings):
        serve(settings.client(), host, port, token, read_only, say=click.echo)


def main() -> None:
    """Entry point of the `dbos` console script."""
    cli(prog_name="dbos")


if __name__ == "__main__":  # pragma: no cover
    main()
