"""``dbos workflow``: the group, and its commands that read (``list``, ``get``, ``steps``),
with DBOS Transact 3.4's options and short flags beside ours; the helpers the commands that
act share (``report``, ``management``)."""

from __future__ import annotations

from typing import Any

import click

from dbos import DBOSException
from dbos.management import ActionResult, Management

from . import _render as render
from ._cli_options import (
    Settings,
    connection_options,
    current_settings,
    json_option,
    listing_options,
    reported,
    status_option,
    time_arg,
)
from ._client import DBOSClient


@click.group()
def workflow() -> None:
    """List, inspect, cancel, resume, fork and delete workflows."""


@workflow.command("list")
@connection_options
@click.option("--id", "workflow_ids", multiple=True, help="Only this workflow ID (repeatable).")
@click.option(
    "--prefix",
    "prefixes",
    multiple=True,
    help="Only workflow IDs starting with this (repeatable: any of them).",
)
@status_option("Only this status (repeatable).")
@listing_options
@click.option("--queue", "queue_name", help="Only workflows of this queue.")
@click.option("-v", "--app-version", "--application-version", help="Only this app version.")
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
    "-u", "--user", "users", multiple=True, help="Only workflows run as this user (repeatable)."
)
@click.option("--was-forked-from/--not-forked-from", default=None, help="Forked from or not.")
@click.option("-l", "--limit", type=click.IntRange(min=0), default=20, show_default=True)
@click.option(
    "--sort-desc/--sort-asc",
    "-d",
    default=True,
    show_default=True,
    help="Newest first (ours: DBOS Transact 3.4 lists oldest first unless -d).",
)
@click.option("--load-input", is_flag=True, help="Include inputs (with --json).")
@click.option("--load-output", is_flag=True, help="Include outputs and errors (with --json).")
@click.option(
    "--stranded",
    is_flag=True,
    help="Only PENDING or ENQUEUED workflows of a version no live process serves.",
)
@json_option
def list_workflows(
    workflow_ids: tuple[str, ...],
    prefixes: tuple[str, ...],
    statuses: list[str] | None,
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
    """List workflows, newest first, 20 at a time."""
    # Checked before connecting: a bad value is a usage error whatever the database.
    start, end = time_arg(start_time, "-t/--start-time"), time_arg(end_time, "-e/--end-time")
    settings = current_settings()
    with reported(settings):
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
            status=statuses,
            name=name,
            start_time=start,
            end_time=end,
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
            check_names_exist(client, name, queue_name)
        print_workflows(found, as_json)


def check_names_exist(client: DBOSClient, name: str | None, queue_name: str | None) -> None:
    """An empty listing for a name or queue no workflow ever had is most likely a typo. A
    lookup miss, not a configuration error: `DBOSException`, as for a missing schedule."""
    if name and not client.list_workflows(name=name, limit=1, load_input=False):
        raise DBOSException(f"no workflow named {name!r} was ever run on this database")
    if queue_name and not client.list_workflows(queue_name=queue_name, limit=1, load_input=False):
        raise DBOSException(f"no workflow was ever enqueued on a queue named {queue_name!r}")


def print_workflows(found: list[Any], as_json: bool) -> None:
    if as_json:
        click.echo(render.to_json([render.workflow_record(status) for status in found]))
    elif found:
        click.echo(render.table(render.WORKFLOW_HEADERS, [render.workflow_row(s) for s in found]))
    else:
        click.echo("no workflows match", err=True)


@workflow.command("get")
@click.argument("workflow_id")
@connection_options
@json_option
def get_workflow(workflow_id: str, as_json: bool) -> None:
    """Show one workflow: status, inputs, output or error."""
    settings = current_settings()
    with reported(settings):
        status = settings.client().retrieve_workflow(workflow_id).get_status()
        if as_json:
            click.echo(render.to_json(render.workflow_record(status)))
        else:
            click.echo(render.workflow_details(status))


@workflow.command("steps")
@click.argument("workflow_id")
@connection_options
@click.option("-l", "--limit", type=click.IntRange(min=0), default=None, help="At most this many.")
@click.option(
    "-o", "--offset", type=click.IntRange(min=0), default=None, help="Skip this many first."
)
@click.option(
    "--load-output/--no-output",
    default=True,
    show_default=True,
    help="Read and show each step's output or error.",
)
@json_option
def list_steps(
    workflow_id: str, limit: int | None, offset: int | None, load_output: bool, as_json: bool
) -> None:
    """List a workflow's recorded steps; step IDs count from 1 in the order they ran."""
    settings = current_settings()
    with reported(settings):
        steps = settings.client().list_workflow_steps(
            workflow_id, load_output=load_output, limit=limit, offset=offset
        )
        if as_json:
            click.echo(render.to_json([render.step_record(step) for step in steps]))
        elif steps:
            click.echo(render.table(render.STEP_HEADERS, [render.step_row(s) for s in steps]))
        else:
            click.echo(f"workflow {workflow_id} has no recorded steps", err=True)


def report(results: list[ActionResult], action: str, as_json: bool) -> None:
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


def management(settings: Settings) -> Management:
    client = settings.client()
    return Management(client.storage, client.codec)
