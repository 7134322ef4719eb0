"""``dbos workflow stranded`` and ``dbos workflow move``: workflows of an application
version no live process serves, and handing them to another version (ours)."""

from __future__ import annotations

import click

from dbos.management import ActionResult, run_sync, served_versions

from . import _render as render
from ._cli_options import connection_options, current_settings, json_option, reported
from ._cli_workflow import report, workflow
from ._client import DBOSClient

#: Stranded workflows `dbos workflow move --from-version` moves per statement.
_MOVE_BATCH = 500


@workflow.command("stranded")
@connection_options
@json_option
def stranded(as_json: bool) -> None:
    """Count stranded workflows by application version: PENDING or ENQUEUED workflows of a
    version that no live process serves (its processes were stopped by a deploy, or died),
    which nothing will run until they are moved (`dbos workflow move`)."""
    settings = current_settings()
    with reported(settings):
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


@workflow.command("move")
@click.argument("workflow_ids", nargs=-1)
@connection_options
@click.option("--to-version", required=True, help="Application version to run them (a live one).")
@click.option(
    "--from-version",
    help="Move every stranded workflow of this version (instead of the IDs given).",
)
@json_option
def move(
    workflow_ids: tuple[str, ...], to_version: str, from_version: str | None, as_json: bool
) -> None:
    """Move workflows to another application version, whose processes continue each from
    its last recorded step: queued ones, and running ones whose process is gone. A workflow
    that a live process runs, or that finished, is not moved. Reports each workflow; exits 1
    if any was not found or not moved."""
    if bool(workflow_ids) == (from_version is not None):
        raise click.UsageError("give either workflow IDs or --from-version, not both")
    settings = current_settings()
    with reported(settings):
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
    report(results, "moved", as_json)


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
