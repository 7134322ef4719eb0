"""``dbos workflow fork``: `DBOSClient.fork_workflow` from a terminal, with DBOS Transact 3.4's
fork options (the queue and partition the fork waits on, its timeout, replacement
children)."""

from __future__ import annotations

import click

from . import _render as render
from ._cli_actions import step_option
from ._cli_options import connection_options, current_settings, json_option, reported
from ._cli_workflow import workflow


def _replacements(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> dict[str, str]:
    """``--replace-child OLD=NEW`` (repeatable) as {OLD: NEW}."""
    pairs: dict[str, str] = {}
    for value in values:
        old, sep, new = value.partition("=")
        if not sep or not old or not new:
            raise click.BadParameter(
                f"{value!r} is not OLD=NEW (an old child workflow ID, '=', its new ID)",
                ctx=ctx,
                param=param,
            )
        if old in pairs:
            raise click.BadParameter(f"child {old!r} is replaced twice", ctx=ctx, param=param)
        pairs[old] = new
    return pairs


@workflow.command("fork")
@click.argument("workflow_id")
@connection_options
@step_option
@click.option(
    "-f",
    "--forked-id",
    "--forked-workflow-id",
    "forked_id",
    help="ID of the new workflow (default: a random UUID).",
)
@click.option(
    "-v",
    "--app-version",
    "--application-version",
    "app_version",
    help="Application version to run it on (default: the original's).",
)
@click.option("--queue", "queue_name", help="Queue to wait on (default: the internal queue).")
@click.option("--partition-key", help="Partition key on a partitioned --queue.")
@click.option(
    "--timeout",
    "timeout_seconds",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="The fork's own timeout in seconds (default: none).",
)
@click.option(
    "--replace-child",
    "replacement_children",
    multiple=True,
    metavar="OLD=NEW",
    callback=_replacements,
    help="Copied steps that started or awaited child OLD name child NEW instead (repeatable).",
)
@json_option
def fork(
    workflow_id: str,
    start_step: int | None,
    forked_id: str | None,
    app_version: str | None,
    queue_name: str | None,
    partition_key: str | None,
    timeout_seconds: float | None,
    replacement_children: dict[str, str],
    as_json: bool,
) -> None:
    """Start a new workflow that re-runs WORKFLOW_ID from a step; prints the new ID."""
    settings = current_settings()
    with reported(settings):
        # No --step: 0, before the first step under either numbering (nothing is reused).
        step = 0 if start_step is None else start_step
        handle = settings.client().fork_workflow(
            workflow_id,
            step,
            app_version,
            forked_workflow_id=forked_id,
            queue_name=queue_name,
            queue_partition_key=partition_key,
            timeout_seconds=timeout_seconds,
            replacement_children=replacement_children or None,
        )
        if as_json:
            click.echo(render.to_json({"workflow_id": handle.workflow_id}))
        else:
            click.echo(handle.workflow_id)
