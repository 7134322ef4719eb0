"""The `dbos` command line: workflows and queues of an app, from a terminal.

Every command reads the system database URL from ``--db-url`` or ``DBOS_SYSTEM_DATABASE_URL``
and never prints its password. Errors go to stderr with exit code 1 (2 for usage errors).
"""

from __future__ import annotations

import importlib.metadata
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

import click

import dbos
from dbos import DBOSConfigError, DBOSException, JsonPickleSerializer, SystemStorage
from dbos.management import (
    DEFAULT_RETRY_TIMEOUT_S,
    ActionResult,
    Management,
    run_sync,
    served_versions,
    to_epoch_ms,
    validate_url,
)
from dbos.plugins import backend_for_url
from dbos.storage import (
    StorageOptions,
    WorkflowStatusString,
    scrub_exception,
    validate_schema_name,
)

from . import _render as render
from ._cli_queues import make_commands
from ._client import DBOSClient

F = TypeVar("F", bound=Callable[..., Any])

_STATUSES = [status.value for status in WorkflowStatusString]
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class Settings:
    """What the root command collected: the URL and schema, and a client opened on demand."""

    def __init__(
        self, url: str | None, schema: str, retry_timeout_s: float = DEFAULT_RETRY_TIMEOUT_S
    ) -> None:
        self.url = url
        self.schema = schema
        self.retry_timeout_s = retry_timeout_s
        self._client: DBOSClient | None = None

    def require_url(self) -> str:
        if not self.url:
            raise click.UsageError(
                "no system database URL: pass --db-url or set DBOS_SYSTEM_DATABASE_URL"
            )
        try:
            url = validate_url(self.url, "--db-url")
            # A URL no installed backend takes is a usage error too (building a storage
            # connects to nothing: backends connect at first use).
            backend_for_url(url, StorageOptions(system_schema=self.schema)).close()
        except DBOSConfigError as exc:
            raise click.BadParameter(str(exc), param_hint="--db-url") from exc
        return url

    def client(self) -> DBOSClient:
        if self._client is None:
            self._client = DBOSClient(
                self.require_url(),
                dbos_system_schema=self.schema,
                serializer=JsonPickleSerializer(strict=True),  # never unpickle in a terminal
                sys_db_retry_timeout_sec=self.retry_timeout_s,
            )
        return self._client

    def storage(self) -> SystemStorage:
        """The storage without the client's schema check (for migrate and reset)."""
        url = self.require_url()
        options = StorageOptions(system_schema=self.schema, pool_size=1, application_name="dbos")
        return backend_for_url(url, options)

    def close(self) -> None:
        if self._client is not None:
            self._client.destroy()


@contextmanager
def _reported(settings: Settings) -> Iterator[None]:
    """Turn library errors into a one-line message on stderr and exit code 1, without the
    URL's passwords (drivers may repeat them) in the message or in any chained exception."""
    try:
        yield
    except DBOSException as exc:
        if settings.url:
            scrub_exception(exc, settings.url)
        kind = type(exc).__name__
        raise click.ClickException(f"{exc} ({kind})") from exc
    except BaseException as exc:
        if settings.url:
            scrub_exception(exc, settings.url)
        raise
    finally:
        settings.close()


def _settings() -> Settings:
    settings = click.get_current_context().find_root().obj
    assert isinstance(settings, Settings)
    return settings


def _json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")(func)


def _time(value: str | None, option: str) -> int | None:
    """An ISO 8601 time, or a duration ago such as ``30d``, ``12h``, ``15m``."""
    if value is None:
        return None
    match = _DURATION.match(value.strip())
    if match:
        ago = timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})
        return int((datetime.now(timezone.utc) - ago).timestamp() * 1000)
    try:
        return to_epoch_ms(value, option)
    except DBOSException as exc:
        raise click.BadParameter(
            f"{value!r} is neither an ISO 8601 time (2025-04-22T03:00:00Z) nor a duration "
            "ago (30d, 12h, 15m, 90s, 2w)",
            param_hint=option,
        ) from exc


def _version() -> str:
    # dbos-core's version from the same source as `dbos.__version__`.
    return f"{_package_version('dbos-client')} (dbos-core {dbos.__version__})"


def _package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:  # running from a source tree
        return "0+unknown"


def _schema_option(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        return validate_schema_name(value, "--schema")
    except DBOSConfigError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None


@click.group()
@click.version_option(
    _version(), "--version", "-V", prog_name="dbos", message="%(prog)s %(version)s"
)
@click.option(
    "--db-url",
    envvar="DBOS_SYSTEM_DATABASE_URL",
    help="System database URL (default: $DBOS_SYSTEM_DATABASE_URL).",
    metavar="URL",
)
@click.option(
    "--schema",
    default="dbos",
    show_default=True,
    callback=_schema_option,
    help="Postgres schema of the system tables.",
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
    ctx.obj = Settings(db_url, schema, retry_timeout)


# --- workflows ----------------------------------------------------------------------------


@cli.group()
def workflow() -> None:
    """List, inspect, cancel, resume, fork and delete workflows."""


@workflow.command("list")
@click.option("--id", "workflow_ids", multiple=True, help="Only this workflow ID (repeatable).")
@click.option(
    "--prefix",
    "prefixes",
    multiple=True,
    help="Only workflow IDs starting with this (repeatable: any of them).",
)
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice(_STATUSES, case_sensitive=False),
    help="Only this status (repeatable).",
)
@click.option("--name", help="Only workflows of this registered name.")
@click.option("--start-time", help="Created at or after (ISO 8601, or 2h, 3d... ago).")
@click.option("--end-time", help="Created at or before (ISO 8601, or 2h, 3d... ago).")
@click.option("--queue", "queue_name", help="Only workflows of this queue.")
@click.option("--app-version", help="Only this application version.")
@click.option("--executor", "executor_id", help="Only this executor ID.")
@click.option(
    "--parent", "parents", multiple=True, help="Only children of this workflow (repeatable)."
)
@click.option(
    "--has-parent/--no-parent",
    default=None,
    help="Only child workflows / only top-level workflows (default: both).",
)
@click.option("--forked-from", help="Only forks of this workflow.")
@click.option("--schedule", "schedule_name", help="Only workflows run by this schedule.")
@click.option(
    "--user", "users", multiple=True, help="Only workflows run as this user (repeatable)."
)
@click.option("--app", "applications", multiple=True, help="Only this app's (and unnamed).")
@click.option("--was-forked-from/--not-forked-from", default=None, help="Forked from or not.")
@click.option("--limit", type=click.IntRange(min=0), default=20, show_default=True)
@click.option("--offset", type=click.IntRange(min=0), default=None)
@click.option("--sort-desc/--sort-asc", default=True, show_default=True, help="Newest first?")
@click.option("--load-input", is_flag=True, help="Include inputs (with --json).")
@click.option("--load-output", is_flag=True, help="Include outputs and errors (with --json).")
@click.option(
    "--stranded",
    is_flag=True,
    help="Only PENDING or ENQUEUED workflows of a version no live process serves.",
)
@_json_option
def list_workflows(
    workflow_ids: tuple[str, ...],
    prefixes: tuple[str, ...],
    statuses: tuple[str, ...],
    name: str | None,
    start_time: str | None,
    end_time: str | None,
    queue_name: str | None,
    app_version: str | None,
    executor_id: str | None,
    parents: tuple[str, ...],
    has_parent: bool | None,
    forked_from: str | None,
    schedule_name: str | None,
    users: tuple[str, ...],
    applications: tuple[str, ...],
    was_forked_from: bool | None,
    limit: int,
    offset: int | None,
    sort_desc: bool,
    load_input: bool,
    load_output: bool,
    stranded: bool,
    as_json: bool,
) -> None:
    """List workflows, newest first."""
    settings = _settings()
    with _reported(settings):
        client = settings.client()
        found = client.list_workflows(
            workflow_ids=list(workflow_ids) or None,
            workflow_id_prefix=list(prefixes) or None,
            parent_workflow_id=list(parents) or None,
            has_parent=has_parent,
            forked_from=forked_from,
            schedule_name=schedule_name,
            user=list(users) or None,
            application_name=list(applications) or None,
            was_forked_from=was_forked_from,
            status=[s.upper() for s in statuses] or None,
            name=name,
            start_time=_time_arg(start_time, "--start-time"),
            end_time=_time_arg(end_time, "--end-time"),
            queue_name=queue_name,
            app_version=app_version,
            executor_id=executor_id,
            limit=limit,
            offset=offset,
            sort_desc=sort_desc,
            load_input=load_input,
            load_output=load_output,
            stranded=stranded,
        )
        if not found:
            _check_names_exist(client, name, queue_name)
        _print_workflows(found, as_json)


@workflow.command("stranded")
@_json_option
def stranded(as_json: bool) -> None:
    """Count stranded workflows by application version: PENDING or ENQUEUED workflows of a
    version that no live process serves (its processes were stopped by a deploy, or died),
    which nothing will run until they are moved (`dbos workflow move`)."""
    settings = _settings()
    with _reported(settings):
        client = settings.client()
        counts = client.count_stranded_workflows()
        served = run_sync(served_versions(client.storage))
    if as_json:
        click.echo(render.to_json({"stranded": counts, "served_versions": served}))
        return
    if counts:
        click.echo(render.table(render.STRANDED_HEADERS, [render.stranded_row(c) for c in counts]))
    else:
        click.echo("no stranded workflows", err=True)
    click.echo("versions served by live processes: " + (", ".join(served) or "none"), err=True)
    if counts and served:
        click.echo(
            f"move them with: dbos workflow move --from-version VERSION --to-version {served[-1]}",
            err=True,
        )


#: Stranded workflows `dbos workflow move --from-version` moves per statement.
_MOVE_BATCH = 500


@workflow.command("move")
@click.argument("workflow_ids", nargs=-1)
@click.option("--to-version", required=True, help="Application version to run them (a live one).")
@click.option(
    "--from-version",
    help="Move every stranded workflow of this version (instead of the IDs given).",
)
@_json_option
def move(
    workflow_ids: tuple[str, ...], to_version: str, from_version: str | None, as_json: bool
) -> None:
    """Move workflows to another application version, whose processes continue each from
    its last recorded step: queued ones, and running ones whose process is gone. A workflow
    that a live process runs, or that finished, is not moved. Reports each workflow; exits 1
    if any was not found or not moved."""
    if bool(workflow_ids) == (from_version is not None):
        raise click.UsageError("give either workflow IDs or --from-version, not both")
    settings = _settings()
    with _reported(settings):
        client = settings.client()
        if from_version is not None:
            moved = _move_stranded(client, from_version, to_version)
            wanted = moved
        else:
            moved = client.move_workflows_to_version(list(workflow_ids), to_version)
            wanted = list(dict.fromkeys(workflow_ids))
        rows = client.list_workflows(workflow_ids=wanted, load_input=False, load_output=False)
    after = {row.workflow_id: row.status for row in rows}
    done = set(moved)
    results = [
        ActionResult(i, "moved", after.get(i), True)
        if i in done
        else ActionResult(i, "not_found", None, False)
        if i not in after
        else ActionResult(i, "not_movable", after[i], False)
        for i in wanted
    ]
    if not results:
        click.echo(f"no stranded workflows of version {from_version}", err=True)
        return
    _report(results, "moved", as_json)


def _move_stranded(client: DBOSClient, from_version: str, to_version: str) -> list[str]:
    moved: list[str] = []
    while True:
        batch = client.list_workflows(
            stranded=True,
            app_version=from_version,
            limit=_MOVE_BATCH,
            load_input=False,
            load_output=False,
        )
        done = client.move_workflows_to_version([w.workflow_id for w in batch], to_version)
        moved.extend(done)
        # A batch that moved nothing would come back the same: stop rather than loop.
        if len(batch) < _MOVE_BATCH or not done:
            return moved


def _time_arg(value: str | None, option: str) -> str | None:
    epoch_ms = _time(value, option)
    return None if epoch_ms is None else render.iso(epoch_ms)


def _check_names_exist(client: DBOSClient, name: str | None, queue_name: str | None) -> None:
    """An empty listing for a name or queue no workflow ever had is most likely a typo. A
    lookup miss, not a configuration error: `DBOSException`, as for a missing schedule."""
    if name and not client.list_workflows(name=name, limit=1, load_input=False):
        raise DBOSException(f"no workflow named {name!r} was ever run on this database")
    if queue_name and not client.list_workflows(queue_name=queue_name, limit=1, load_input=False):
        raise DBOSException(f"no workflow was ever enqueued on a queue named {queue_name!r}")


def _print_workflows(found: list[Any], as_json: bool) -> None:
    if as_json:
        click.echo(render.to_json([render.workflow_record(status) for status in found]))
    elif found:
        click.echo(render.table(render.WORKFLOW_HEADERS, [render.workflow_row(s) for s in found]))
    else:
        click.echo("no workflows match", err=True)


@workflow.command("get")
@click.argument("workflow_id")
@_json_option
def get_workflow(workflow_id: str, as_json: bool) -> None:
    """Show one workflow: status, inputs, output or error."""
    settings = _settings()
    with _reported(settings):
        status = settings.client().retrieve_workflow(workflow_id).get_status()
        if as_json:
            click.echo(render.to_json(render.workflow_record(status)))
        else:
            click.echo(render.workflow_details(status))


@workflow.command("steps")
@click.argument("workflow_id")
@click.option("--limit", type=click.IntRange(min=0), default=None, help="At most this many.")
@click.option("--offset", type=click.IntRange(min=0), default=None, help="Skip this many first.")
@click.option(
    "--load-output/--no-output",
    default=True,
    show_default=True,
    help="Read and show each step's output or error.",
)
@_json_option
def list_steps(
    workflow_id: str, limit: int | None, offset: int | None, load_output: bool, as_json: bool
) -> None:
    """List a workflow's recorded steps; step IDs count from 1 in the order they ran."""
    settings = _settings()
    with _reported(settings):
        steps = settings.client().list_workflow_steps(
            workflow_id, load_output=load_output, limit=limit, offset=offset
        )
        if as_json:
            click.echo(render.to_json([render.step_record(step) for step in steps]))
        elif steps:
            click.echo(render.table(render.STEP_HEADERS, [render.step_row(s) for s in steps]))
        else:
            click.echo(f"workflow {workflow_id} has no recorded steps", err=True)


def _report(results: list[ActionResult], action: str, as_json: bool) -> None:
    """Print one line per workflow (what happened, its status now) and exit 1 if any was
    not found or could not be acted on."""
    if as_json:
        click.echo(render.to_json([render.action_record(result) for result in results]))
    else:
        click.echo(render.table(render.ACTION_HEADERS, [render.action_row(r) for r in results]))
    failed = [result for result in results if not result.ok]
    if failed:
        raise click.ClickException(
            f"{len(failed)} of {len(results)} workflow(s) could not be {action}: "
            f"{', '.join(render.printable(result.workflow_id) for result in failed)}"
        )


def _management(settings: Settings) -> Management:
    client = settings.client()
    return Management(client.storage, client.codec)


@workflow.command("cancel")
@click.argument("workflow_ids", nargs=-1, required=True)
@click.option(
    "--cancel-children",
    is_flag=True,
    help="Cancel their descendants too, in the same transaction (ours; as the API's "
    "cancel_children=True).",
)
@_json_option
def cancel(workflow_ids: tuple[str, ...], cancel_children: bool, as_json: bool) -> None:
    """Cancel queued or running workflows (they stop at their next step). Reports each
    workflow's status afterwards, then each descendant cancelled with them; exits 1 if any
    was not found or had already finished."""
    settings = _settings()
    with _reported(settings):
        management = _management(settings)
        results = run_sync(management.cancel_each(workflow_ids, cancel_children=cancel_children))
    _report(results, "cancelled", as_json)


@workflow.command("resume")
@click.argument("workflow_ids", nargs=-1, required=True)
@click.option(
    "--queue",
    "queue_name",
    default=None,
    help="Put them on this queue instead of the internal one (ours; as the API's queue_name=).",
)
@_json_option
def resume(workflow_ids: tuple[str, ...], queue_name: str | None, as_json: bool) -> None:
    """Resume cancelled or failed workflows from their last completed step (an app process
    with their code runs them). Reports each workflow's status afterwards; exits 1 if any was
    not found or had already succeeded."""
    settings = _settings()
    with _reported(settings):
        results = run_sync(_management(settings).resume_each(workflow_ids, queue_name=queue_name))
    _report(results, "resumed", as_json)


@workflow.command("delete")
@click.argument("workflow_ids", nargs=-1, required=True)
@click.option("--children", is_flag=True, help="Delete their child workflows too.")
@_json_option
def delete(workflow_ids: tuple[str, ...], children: bool, as_json: bool) -> None:
    """Delete workflows and everything recorded for them. Reports each workflow (and each
    child deleted with them); exits 1 if any was not found."""
    settings = _settings()
    with _reported(settings):
        results = run_sync(
            _management(settings).delete_each(workflow_ids, delete_children=children)
        )
    _report(results, "deleted", as_json)


def _step_option(func: F) -> F:
    """``--step N`` of fork and rewind: a step ID as ``dbos workflow steps`` shows it
    (from 1, as in DBOS Transact 3.4). Not given: the first step, whatever the workflow's
    numbering (passed as None to rewind, as 0 to fork: before the first step either way)."""
    return click.option(
        "--step",
        "start_step",
        type=int,
        default=None,
        callback=_check_step,
        metavar="N",
        help=(
            "Step ID to run again from, as `dbos workflow steps` shows it (from 1; the steps "
            "before it are reused). Default: the first step, re-running the whole workflow. "
            "A workflow numbered from 0 by an earlier release shows its first step as 0, and "
            "takes 0."
        ),
    )(func)


def _check_step(ctx: click.Context, param: click.Parameter, value: int | None) -> int | None:
    """A step ID: an integer >= 1, or 0 (the first step of a workflow an earlier release
    numbered from 0; docs/guides/upgrading.md). None: not given."""
    if value is not None and value < 0:
        raise click.BadParameter(
            f"{value} is not a step ID: step IDs count from 1 (0 only for the first step of "
            "a workflow numbered from 0 by an earlier release)",
            ctx=ctx,
            param=param,
        )
    return value


@workflow.command("rewind")
@click.argument("workflow_id")
@_step_option
@click.option("--queue", "queue_name", help="Queue to wait on (default: the internal queue).")
@click.option("--partition-key", help="Partition key on a partitioned --queue.")
@click.option("--app-version", help="Application version to run it on (default: its own).")
@_json_option
def rewind(
    workflow_id: str,
    start_step: int | None,
    queue_name: str | None,
    partition_key: str | None,
    app_version: str | None,
    as_json: bool,
) -> None:
    """Run finished workflow WORKFLOW_ID again, in place (same ID), from a step: its steps
    from there, their events and the messages they consumed are discarded (see
    `DBOS.rewind_workflow`). Refuses a workflow that is queued or running."""
    settings = _settings()
    with _reported(settings):
        handle = settings.client().rewind_workflow(
            workflow_id,
            start_step=start_step,
            application_version=app_version,
            queue_name=queue_name,
            queue_partition_key=partition_key,
        )
        if as_json:
            click.echo(render.to_json({"workflow_id": handle.workflow_id}))
        else:
            click.echo(handle.workflow_id)


@workflow.command("set-delay")
@click.argument("workflow_id")
@click.option("--seconds", type=click.FloatRange(min=0), help="Start no sooner than this from now.")
@click.option("--until-ms", type=click.IntRange(min=0), help="Start no sooner than this epoch ms.")
@_json_option
def set_delay(workflow_id: str, seconds: float | None, until_ms: int | None, as_json: bool) -> None:
    """Change when a delayed queued workflow may start (give one of --seconds, --until-ms).
    Exits 1 if WORKFLOW_ID is not delayed (not queued with a delay that has yet to pass)."""
    settings = _settings()
    with _reported(settings):
        changed = settings.client().set_workflow_delay(
            workflow_id, delay_seconds=seconds, delay_until_epoch_ms=until_ms
        )
    if as_json:
        click.echo(render.to_json({"workflow_id": workflow_id, "changed": changed}))
    else:
        click.echo(f"{workflow_id}: {'delay set' if changed else 'not delayed, left as it is'}")
    if not changed:
        raise SystemExit(1)


# --- queues -------------------------------------------------------------------------------


@cli.group()
def queue() -> None:
    """Inspect and change queues."""


for _command in make_commands(_settings, _reported):
    queue.add_command(_command)


@queue.command("tasks")
@click.option("--queue", "queue_name", help="Only this queue.")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice(_STATUSES, case_sensitive=False),
    help="Only this status (repeatable; default ENQUEUED and PENDING).",
)
@click.option("--name", help="Only workflows of this registered name.")
@click.option("--limit", type=click.IntRange(min=0), default=50, show_default=True)
@_json_option
def list_queued(
    queue_name: str | None,
    statuses: tuple[str, ...],
    name: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """List the tasks waiting on or running from queues, oldest first (`dbos queue list`
    lists the queues themselves)."""
    settings = _settings()
    with _reported(settings):
        client = settings.client()
        found = client.list_queued_workflows(
            queue_name=queue_name,
            status=[s.upper() for s in statuses] or None,
            name=name,
            limit=limit,
            load_input=False,
        )
        if not found:
            _check_names_exist(client, name, queue_name)
        _print_workflows(found, as_json)


# --- the database -------------------------------------------------------------------------


@cli.command()
def migrate() -> None:
    """Create the system database if needed and apply pending migrations."""
    settings = _settings()
    with _reported(settings):
        storage = settings.storage()
        try:
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
        finally:
            storage.close()


@cli.command()
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def reset(yes: bool) -> None:
    """Delete every workflow, step and DBOS table of the system database."""
    settings = _settings()
    with _reported(settings):
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


@cli.command()
@click.option(
    "--before",
    required=True,
    help="Delete finished workflows created before this (ISO 8601, or 30d, 12h... ago).",
)
def gc(before: str) -> None:
    """Retention: delete finished workflows created before a time, with their steps.
    Queued and running workflows are kept."""
    settings = _settings()
    cutoff = _time(before, "--before")
    assert cutoff is not None
    with _reported(settings):
        deleted = settings.client().garbage_collect(cutoff)
        click.echo(f"deleted {deleted} workflow(s) created before {render.iso(cutoff)}")


# --- the dashboard ------------------------------------------------------------------------

#: What `dbos ui` needs beyond dbos-client, as the message asks to install it.
UI_EXTRA = "pip install 'dbos-client[ui]'"


@cli.command()
@click.option("--db-url", "ui_db_url", metavar="URL", help="System database URL (as for `dbos`).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", type=click.IntRange(0, 65535), default=8700, show_default=True)
@click.option(
    "--token",
    envvar="DBOS_UI_TOKEN",
    help="Token that actions need ($DBOS_UI_TOKEN). Bound beyond loopback without one, a "
    "token is generated and printed.",
)
@click.option("--read-only", is_flag=True, help="Offer no actions, and refuse them.")
def ui(ui_db_url: str | None, host: str, port: int, token: str | None, read_only: bool) -> None:
    """Serve the web dashboard: workflows, steps, queues, schedules and executors, with
    cancel, resume, fork and delete (needs the dbos-client[ui] extra)."""
    try:
        from .ui import serve
    except ImportError as exc:
        raise click.ClickException(
            f"the dashboard needs packages that are not installed ({exc.name}): {UI_EXTRA}"
        ) from None
    settings = _settings()
    if ui_db_url:
        settings.url = ui_db_url
    if token is not None and not token.strip():
        raise click.BadParameter("must not be empty", param_hint="--token")
    with _reported(settings):
        serve(settings.client(), host, port, token, read_only, say=click.echo)


# The schedule commands and ``workflow fork`` live in their own modules, which use the
# helpers above (importing _cli_fork adds its command to the workflow group).
from . import _cli_fork  # noqa: E402, F401
from ._cli_schedules import schedule  # noqa: E402

cli.add_command(schedule)


def main() -> None:
    """Entry point of the `dbos` console script."""
    cli(prog_name="dbos")


if __name__ == "__main__":  # pragma: no cover
    main()
