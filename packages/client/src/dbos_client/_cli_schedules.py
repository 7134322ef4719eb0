"""``dbos schedule``: list, pause, resume, trigger, backfill and delete stored schedules (the
`DBOSClient` schedule calls, from a terminal)."""

from __future__ import annotations

from datetime import datetime, timezone

import click

from dbos.management import WorkflowSchedule

from . import _render as render
from ._cli_options import connection_options, current_settings, json_option, parse_time, reported

_HEADERS = ["NAME", "WORKFLOW", "SCHEDULE", "TIME ZONE", "STATUS", "LAST FIRED", "QUEUE", "APP"]


def _row(schedule: WorkflowSchedule) -> list[object]:
    return [
        schedule["schedule_name"],
        schedule["workflow_name"],
        schedule["schedule"],
        schedule["cron_timezone"] or "UTC",
        schedule["status"],
        schedule["last_fired_at"],
        schedule["queue_name"],
        schedule["application_name"],
    ]


@click.group()
def schedule() -> None:
    """Inspect and manage stored schedules (see DBOS.create_schedule)."""


@schedule.command("list")
@connection_options
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice(["ACTIVE", "PAUSED"], case_sensitive=False),
    help="Only this status (repeatable).",
)
@click.option("--workflow", "workflow_names", multiple=True, help="Only this workflow name.")
@click.option("--prefix", "prefixes", multiple=True, help="Only names starting with this.")
@click.option(
    "--app", "applications", multiple=True, help="Only this application's (and unclaimed)."
)
@json_option
def list_schedules(
    statuses: tuple[str, ...],
    workflow_names: tuple[str, ...],
    prefixes: tuple[str, ...],
    applications: tuple[str, ...],
    as_json: bool,
) -> None:
    """List the stored schedules, by name."""
    settings = current_settings()
    with reported(settings):
        found = settings.client().list_schedules(
            status=[s.upper() for s in statuses] or None,
            workflow_name=list(workflow_names) or None,
            schedule_name_prefix=list(prefixes) or None,
            application_name=list(applications) or None,
        )
    if as_json:
        click.echo(render.to_json(found))
    elif found:
        click.echo(render.table(_HEADERS, [_row(schedule) for schedule in found]))
    else:
        click.echo("no schedules", err=True)


def _change(names: tuple[str, ...], action: str, as_json: bool) -> None:
    settings = current_settings()
    missing: list[str] = []
    with reported(settings):
        client = settings.client()
        for name in names:
            if client.get_schedule(name) is None:
                missing.append(name)
                continue
            if action == "paused":
                client.pause_schedule(name)
            elif action == "resumed":
                client.resume_schedule(name)
            else:
                client.delete_schedule(name)
    done = [name for name in names if name not in missing]
    if as_json:
        click.echo(render.to_json({action: done, "missing": missing}))
    else:
        for name in done:
            click.echo(f"{name}: {action}")
        for name in missing:
            click.echo(f"{name}: no such schedule", err=True)
    if missing:
        raise SystemExit(1)


@schedule.command("pause")
@connection_options
@click.argument("names", nargs=-1, required=True)
@json_option
def pause(names: tuple[str, ...], as_json: bool) -> None:
    """Pause schedules: no process starts their ticks until resumed. Exits 1 if a name is
    unknown (the others are paused)."""
    _change(names, "paused", as_json)


@schedule.command("resume")
@connection_options
@click.argument("names", nargs=-1, required=True)
@json_option
def resume(names: tuple[str, ...], as_json: bool) -> None:
    """Resume paused schedules from their next tick. Exits 1 if a name is unknown."""
    _change(names, "resumed", as_json)


@schedule.command("delete")
@connection_options
@click.argument("names", nargs=-1, required=True)
@json_option
def delete(names: tuple[str, ...], as_json: bool) -> None:
    """Delete schedules (the workflows they ran are kept). Exits 1 if a name is unknown."""
    _change(names, "deleted", as_json)


@schedule.command("trigger")
@connection_options
@click.argument("name")
@json_option
def trigger(name: str, as_json: bool) -> None:
    """Run schedule NAME's workflow once now; prints its workflow ID."""
    settings = current_settings()
    with reported(settings):
        handle = settings.client().trigger_schedule(name)
    click.echo(
        render.to_json({"workflow_id": handle.workflow_id}) if as_json else handle.workflow_id
    )


@schedule.command("backfill")
@connection_options
@click.argument("name")
@click.option("--start", required=True, help="Run ticks after this (ISO 8601, or 2h, 3d... ago).")
@click.option("--end", default=None, help="...and before this (default: now).")
@json_option
def backfill(name: str, start: str, end: str | None, as_json: bool) -> None:
    """Run each tick of schedule NAME strictly between --start and --end once: ticks that
    already ran are not run again. Prints the workflow IDs, one per tick."""
    start_ms = parse_time(start, "--start")
    end_ms = parse_time(end, "--end")
    assert start_ms is not None
    begin = datetime.fromtimestamp(start_ms / 1000, timezone.utc)
    finish = (
        datetime.now(timezone.utc)
        if end_ms is None
        else datetime.fromtimestamp(end_ms / 1000, timezone.utc)
    )
    settings = current_settings()
    with reported(settings):
        handles = settings.client().backfill_schedule(name, begin, finish)
    ids = [handle.workflow_id for handle in handles]
    if as_json:
        click.echo(render.to_json({"workflow_ids": ids}))
    else:
        for workflow_id in ids:
            click.echo(workflow_id)
        click.echo(
            f"{len(ids)} tick(s) of {name} enqueued (ticks that ran before keep their run)",
            err=True,
        )
