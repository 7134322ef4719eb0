"""DBOS Transact 3.4's commands beyond management: ``dbos version`` (here too), and
``start``, ``init``, ``postgres`` and ``rename-application``, which this implementation has
no counterpart for: each fails (exit 1) saying what to do instead, and does nothing."""

from __future__ import annotations

from collections.abc import Callable

import click

_INSTEAD = {
    "start": "there is no dbos-config.yaml here to read start commands from: start your app "
    "with its own command (for example `python app.py`); its configuration is the "
    "DBOSConfig it passes to DBOS(config=...)",
    "init": "there are no project templates here: start from the quickstart "
    "(docs/quickstart.md in the source) or a program under examples/",
    "postgres": "this command starts no Docker container: the SQLite default needs no "
    "server; for Postgres, run a server yourself (for example `docker run -d -p 5432:5432 "
    "-e POSTGRES_PASSWORD=... postgres:16`) and give its URL with -s/--sys-db-url",
    "rename-application": "no rows need re-owning here: no process claims, recovers or runs "
    "workflows by application name, so a renamed app goes on running the workflows stored "
    "under its old name; only the -a/--application-name listing filter still sees that name",
}


def version_command(version: Callable[[], str]) -> click.Command:
    @click.command("version")
    def show_version() -> None:
        """Print the versions of dbos-client and dbos-core (as `dbos --version`)."""
        click.echo(f"dbos {version()}")

    return show_version


def _not_here(name: str) -> click.Command:
    def refuse(args: tuple[str, ...]) -> None:
        raise click.ClickException(f"`dbos {name}` is not available here: {_INSTEAD[name]}")

    return click.Command(
        name,
        callback=refuse,
        params=[click.Argument(["args"], nargs=-1, type=click.UNPROCESSED)],
        context_settings={"ignore_unknown_options": True},
        short_help="DBOS Transact's; not available here (says what to do instead).",
        help=f"DBOS Transact 3.4's command; not available here: {_INSTEAD[name]}.",
    )


#: The commands above, added to the root group.
NOT_HERE = [_not_here(name) for name in _INSTEAD]
