"""``dbos workflow`` commands that act on workflows: cancel, resume, delete, rewind and
set-delay (fork has its own module, and so do stranded and move)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from dbos.management import run_sync

from . import _render as render
from ._cli_options import connection_options, current_settings, json_option, reported
from ._cli_workflow import management, report, workflow

F = TypeVar("F", bound=Callable[..., Any])


@workflow.command("cancel")
@click.argument("workflow_ids", nargs=-1, required=True)
@connection_options
@click.option(
    "--cancel-children",
    is_flag=True,
    help="Cancel their descendants too, in the same transaction (ours; as the API's "
    "cancel_children=True).",
)
@json_option
def cancel(workflow_ids: tuple[str, ...], cancel_children: bool, as_json: bool) -> None:
    """Cancel queued or running workflows (they stop at their next step). Reports each
    workflow's status afterwards, then each descendant cancelled with them; exits 1 if any
    was not found or had already finished."""
    settings = current_settings()
    with reported(settings):
        results = run_sync(
            management(settings).cancel_each(workflow_ids, cancel_children=cancel_children)
        )
    report(results, "cancelled", as_json)


@workflow.command("resume")
@click.argument("workflow_ids", nargs=-1, required=True)
@connection_options
@click.option(
    "--queue",
    "queue_name",
    default=None,
    help="Put them on this queue instead of the internal one (ours; as the API's queue_name=).",
)
@json_option
def resume(workflow_ids: tuple[str, ...], queue_name: str | None, as_json: bool) -> None:
    """Resume cancelled or failed workflows from their last completed step (an app process
    with their code runs them). Reports each workflow's status afterwards; exits 1 if any was
    not found or had already succeeded."""
    settings = current_settings()
    with reported(settings):
        results = run_sync(management(settings).resume_each(workflow_ids, queue_name=queue_name))
    report(results, "resumed", as_json)


@workflow.command("delete")
@click.argument("workflow_ids", nargs=-1, required=True)
@connection_options
@click.option("--children", is_flag=True, help="Delete their child workflows too.")
@json_option
def delete(workflow_ids: tuple[str, ...], children: bool, as_json: bool) -> None:
    """Delete workflows and everything recorded for them. Reports each workflow (and each
    child deleted with them); exits 1 if any was not found."""
    settings = current_settings()
    with reported(settings):
        results = run_sync(management(settings).delete_each(workflow_ids, delete_children=children))
    report(results, "deleted", as_json)


def step_option(func: F) -> F:
    """``-S/--step N`` of fork and rewind: a step ID as ``dbos workflow steps`` shows it
    (from 1, as in DBOS Transact 3.4, whose fork spells it ``-S``). Not given: the first
    step, whatever the workflow's numbering (passed as None to rewind, as 0 to fork: before
    the first step either way)."""
    return click.option(
        "-S",
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
@connection_options
@step_option
@click.option("--queue", "queue_name", help="Queue to wait on (default: the internal queue).")
@click.option("--partition-key", help="Partition key on a partitioned --queue.")
@click.option(
    "-v",
    "--app-version",
    "--application-version",
    help="Application version to run it on (default: its own).",
)
@json_option
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
    settings = current_settings()
    with reported(settings):
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
@connection_options
@click.option("--seconds", type=click.FloatRange(min=0), help="Start no sooner than this from now.")
@click.option("--until-ms", type=click.IntRange(min=0), help="Start no sooner than this epoch ms.")
@json_option
def set_delay(workflow_id: str, seconds: float | None, until_ms: int | None, as_json: bool) -> None:
    """Change when a delayed queued workflow may start (give one of --seconds, --until-ms).
    Exits 1 if WORKFLOW_ID is not delayed (not queued with a delay that has yet to pass)."""
    settings = current_settings()
    with reported(settings):
        changed = settings.client().set_workflow_delay(
            workflow_id, delay_seconds=seconds, delay_until_epoch_ms=until_ms
        )
    if as_json:
        click.echo(render.to_json({"workflow_id": workflow_id, "changed": changed}))
    else:
        click.echo(f"{workflow_id}: {'delay set' if changed else 'not delayed, left as it is'}")
    if not changed:
        raise SystemExit(1)
