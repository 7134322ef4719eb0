"""The tasks of queues (workflows enqueued on one, waiting or running): ours as
``dbos queue tasks``, and DBOS Transact 3.4's ``dbos workflow queue list``, one command
with two defaults."""

from __future__ import annotations

import click

from ._cli_options import (
    connection_options,
    current_settings,
    json_option,
    listing_options,
    reported,
    status_option,
    time_arg,
)
from ._cli_workflow import check_names_exist, print_workflows, workflow


def tasks_command(name: str, default_limit: int | None, doc: str) -> click.Command:
    """A command listing queued workflows, oldest first, at most `default_limit` (None: all)
    unless ``-l`` says otherwise."""

    @click.command(name, help=doc)
    @connection_options
    @click.option("-q", "--queue", "--queue-name", "queue_name", help="Only this queue.")
    @status_option("Only this status (repeatable; default ENQUEUED and PENDING).")
    @listing_options
    @click.option(
        "-l",
        "--limit",
        type=click.IntRange(min=0),
        default=default_limit,
        show_default=default_limit is not None,
        help=None if default_limit is not None else "At most this many (default: all).",
    )
    @click.option(
        "--sort-desc/--sort-asc",
        "-d",
        default=False,
        help="Newest first (default: oldest first).",
    )
    @json_option
    def list_tasks(
        queue_name: str | None,
        statuses: list[str] | None,
        name: str | None,
        start_time: str | None,
        end_time: str | None,
        applications: tuple[str, ...],
        limit: int | None,
        offset: int | None,
        sort_desc: bool,
        as_json: bool,
    ) -> None:
        start, end = time_arg(start_time, "-t/--start-time"), time_arg(end_time, "-e/--end-time")
        settings = current_settings()
        with reported(settings):
            client = settings.client()
            found = client.list_queued_workflows(
                queue_name=queue_name,
                status=statuses,
                name=name,
                start_time=start,
                end_time=end,
                application_name=list(applications) or None,
                limit=limit,
                offset=offset,
                sort_desc=sort_desc,
                load_input=False,
            )
            if not found:
                check_names_exist(client, name, queue_name)
            print_workflows(found, as_json)

    return list_tasks


#: ``dbos queue tasks``: ours, 50 at a time.
queue_tasks = tasks_command(
    "tasks",
    50,
    "List the tasks waiting on or running from queues, oldest first, 50 at a time (`dbos "
    "queue list` lists the queues themselves).",
)


@workflow.group("queue")
def workflow_queue() -> None:
    """Tasks of queues, as DBOS Transact 3.4 spells it (`dbos queue` has more)."""


workflow_queue.add_command(
    tasks_command(
        "list",
        None,
        "List the tasks waiting on or running from queues, oldest first, all of them unless "
        "-l (DBOS Transact 3.4's command; the same as `dbos queue tasks` but for that "
        "default).",
    )
)
