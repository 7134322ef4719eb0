"""DBOS Transact 3.4's `dbos` command lines: every option and short flag 3.4 accepts on a
command we also have is accepted there with the same meaning (checked on the click commands),
and 3.4-style command lines run through the installed console script against a database
holding real workflows, on every backend."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from dbos import DBOS, SetWorkflowID
from dbos_client import DBOSClient, EnqueueOptions
from dbos_client._cli import cli

Launch = Callable[..., None]
DBOS_COMMAND = Path(sys.executable).parent / "dbos"

#: The options of DBOS Transact 3.4.0's `dbos` commands that we also have, by command path
#: (read from its `dbos ... --help`).
OPTIONS_34: dict[tuple[str, ...], list[str]] = {
    ("migrate",): ["-s", "--sys-db-url", "-r", "--app-role", "--schema", "--print-migrations",
                   "--print-user-role", "--sharding"],
    ("reset",): ["-y", "--yes", "-s", "--sys-db-url"],
    ("workflow", "list"): ["-s", "--sys-db-url", "-l", "--limit", "-u", "--user", "-t",
                           "--start-time", "-e", "--end-time", "-S", "--status", "-v",
                           "--application-version", "-n", "--name", "-a", "--application-name",
                           "-d", "--sort-desc", "-o", "--offset", "--schema"],
    ("workflow", "get"): ["-s", "--sys-db-url", "--schema"],
    ("workflow", "steps"): ["-s", "--sys-db-url", "--schema"],
    ("workflow", "cancel"): ["-s", "--sys-db-url", "--schema"],
    ("workflow", "resume"): ["-s", "--sys-db-url", "--schema"],
    ("workflow", "fork"): ["-S", "--step", "-f", "--forked-workflow-id", "-v",
                           "--application-version", "-s", "--sys-db-url", "--schema"],
    ("workflow", "queue", "list"): ["-s", "--sys-db-url", "-l", "--limit", "-t", "--start-time",
                                    "-e", "--end-time", "-S", "--status", "-q", "--queue-name",
                                    "-n", "--name", "-a", "--application-name", "-d",
                                    "--sort-desc", "-o", "--offset", "--schema"],
    ("rename-application",): [],
    ("start",): [],
    ("init",): [],
    ("postgres",): [],
    ("version",): [],
}  # fmt: skip


def _command(path: tuple[str, ...]) -> click.Command:
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group), path
        found = command.commands.get(name)
        assert found is not None, f"dbos {' '.join(path)} is missing"
        command = found
    return command


@pytest.mark.parametrize("path", list(OPTIONS_34), ids=" ".join)
def test_every_34_option_is_accepted_on_the_same_command(path: tuple[str, ...]) -> None:
    ours = {opt for param in _command(path).params for opt in param.opts + param.secondary_opts}
    assert sorted(set(OPTIONS_34[path]) - ours) == []


def test_every_command_takes_its_own_connection_options() -> None:
    def walk(command: click.Command, path: tuple[str, ...]) -> list[tuple[str, ...]]:
        if isinstance(command, click.Group):
            return [p for n, c in command.commands.items() for p in walk(c, (*path, n))]
        return [path]

    not_here = {("start",), ("init",), ("postgres",), ("rename-application",), ("version",)}
    for path in walk(cli, ()):
        if path in not_here:
            continue
        opts = {opt for param in _command(path).params for opt in param.opts}
        assert {"-s", "--sys-db-url"} <= opts, path
        if path != ("ui",):
            assert "--schema" in opts, path


def _run(*args: str, env_url: str | None = None) -> subprocess.CompletedProcess[str]:
    """The installed `dbos` console script, with $DBOS_SYSTEM_DATABASE_URL only if given."""
    env = {key: value for key, value in os.environ.items() if key != "DBOS_SYSTEM_DATABASE_URL"}
    if env_url is not None:
        env["DBOS_SYSTEM_DATABASE_URL"] = env_url
    return subprocess.run(
        [str(DBOS_COMMAND), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def _json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _ids(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [row["workflow_id"] for row in _json(result)]


@pytest.fixture
def shop(launch: Launch, dbos_system_database_url: str) -> str:
    """Three finished orders (two succeeded, one failed) run by an app, then two tasks
    enqueued by a client while no process runs: the database a 3.4 script meets."""

    @DBOS.step()
    def reserve(order: int) -> int:
        return order * 10

    @DBOS.step()
    def charge(amount: int) -> int:
        if amount > 100:
            raise ValueError("card declined")
        return amount

    @DBOS.workflow(name="order")
    def order(n: int) -> int:
        return charge(reserve(n))

    launch()
    for n in (1, 2, 30):
        time.sleep(0.01)  # distinct creation times: listings sort by them
        with SetWorkflowID(f"order-{n}"), contextlib.suppress(ValueError):
            order(n)
    DBOS.destroy()
    with DBOSClient(dbos_system_database_url, application_name="shop") as client:
        for n in (4, 5):
            time.sleep(0.01)
            options: EnqueueOptions = {
                "workflow_name": "order",
                "queue_name": "orders",
                "workflow_id": f"queued-{n}",
                "authenticated_user": "alice",
            }
            client.enqueue(options, n)
    return dbos_system_database_url


def test_34_command_lines_on_real_workflows(shop: str) -> None:
    url = shop
    # Per-command -s, as 3.4 puts it; 3.4's short flags for the list filters.
    assert _ids(_run("workflow", "list", "-s", url, "--json")) == [
        "queued-5", "queued-4", "order-30", "order-2", "order-1"
    ]  # fmt: skip
    assert _ids(_run("workflow", "list", "-s", url, "-S", "SUCCESS", "-l", "1", "--json")) == [
        "order-2"
    ]
    assert _ids(_run("workflow", "list", "-s", url, "-S", "error", "-n", "order", "--json")) == [
        "order-30"
    ]
    assert _ids(_run("workflow", "list", "-s", url, "-u", "alice", "-a", "shop", "-o", "1",
                     "--json")) == ["queued-4"]  # fmt: skip
    window = ["-t", "2000-01-01T00:00:00Z", "-e", "2999-01-01T00:00:00Z"]
    assert len(_ids(_run("workflow", "list", "-s", url, *window, "-d", "--json"))) == 5
    assert _ids(_run("workflow", "list", "-s", url, "-e", "2000-01-01T00:00:00Z", "--json")) == []
    version = _json(_run("workflow", "get", "order-1", "-s", url, "--json"))["app_version"]
    assert _ids(_run("workflow", "list", "-s", url, "-v", version, "-S", "SUCCESS",
                     "--sort-asc", "--json")) == ["order-1", "order-2"]  # fmt: skip

    details = _json(_run("workflow", "get", "order-30", "-s", url, "--json"))
    assert (details["status"], details["error"]["message"]) == ("ERROR", "card declined")
    steps = _json(_run("workflow", "steps", "order-30", "-s", url, "--json"))
    assert [(s["step_id"], s["output"]) for s in steps] == [(1, 300), (2, None)]

    # 3.4's `workflow queue list`: all tasks, oldest first, with its filters.
    assert _ids(_run("workflow", "queue", "list", "-s", url, "--json")) == ["queued-4", "queued-5"]
    newest = _run("workflow", "queue", "list", "-s", url, "-q", "orders", "-S", "ENQUEUED",
                  "-n", "order", "-a", "shop", "-d", "-l", "1", "--json")  # fmt: skip
    assert _ids(newest) == ["queued-5"]
    assert _ids(_run("workflow", "queue", "list", "-s", url, "-o", "1", *window, "--json")) == [
        "queued-5"
    ]

    # fork -S/-f/-v, then cancel and resume by -s.
    forked = _run("workflow", "fork", "order-30", "-s", url, "-S", "2", "-f", "order-30-retry",
                  "-v", "v-next", "--json")  # fmt: skip
    assert _json(forked) == {"workflow_id": "order-30-retry"}
    fork = _json(_run("workflow", "get", "order-30-retry", "-s", url, "--json"))
    assert (fork["forked_from"], fork["app_version"], fork["status"]) == (
        "order-30", "v-next", "ENQUEUED"
    )  # fmt: skip
    copied = _json(_run("workflow", "steps", "order-30-retry", "-s", url, "--json"))
    assert copied[0]["output"] == 300
    cancelled = _json(_run("workflow", "cancel", "queued-4", "-s", url, "--json"))
    assert [(r["workflow_id"], r["status"]) for r in cancelled] == [("queued-4", "CANCELLED")]
    resumed = _json(_run("workflow", "resume", "queued-4", "-s", url, "--json"))
    assert [(r["workflow_id"], r["status"]) for r in resumed] == [("queued-4", "ENQUEUED")]

    # The command's -s wins over the root's --db-url and over the environment.
    elsewhere = "sqlite:////nonexistent-dir/nope.sqlite"
    wins = _run("--db-url", elsewhere, "workflow", "get", "order-1", "-s", url, "--json",
                env_url=elsewhere)  # fmt: skip
    assert _json(wins)["status"] == "SUCCESS"
    # ... and the root's options still work alone.
    assert _json(_run("--db-url", url, "workflow", "get", "order-1", "--json"))["name"] == "order"
    assert _json(_run("workflow", "get", "order-1", "--json", env_url=url))["name"] == "order"

    # migrate, then reset -y, by -s (and 3.4's --schema).
    migrated = _run("migrate", "-s", url, "--schema", "dbos")
    assert migrated.returncode == 0 and "up to date" in migrated.stdout, migrated.stderr
    reset = _run("reset", "-y", "-s", url)
    assert reset.returncode == 0, reset.stderr
    assert _run("migrate", "-s", url).returncode == 0
    assert _ids(_run("workflow", "list", "-s", url, "--json")) == []


def test_the_commands_own_schema_wins_on_postgres(shop: str) -> None:
    if not shop.startswith("postgres"):
        pytest.skip("SQLite has no schemas")
    assert _run("--schema", "elsewhere", "workflow", "get", "order-1", "-s", shop,
                "--schema", "dbos", "--json").returncode == 0  # fmt: skip
    wrong = _run("workflow", "get", "order-1", "-s", shop, "--schema", "elsewhere")
    assert wrong.returncode == 1 and "Error:" in wrong.stderr


def test_migrate_grants_the_app_role_on_postgres(shop: str) -> None:
    """`dbos migrate -r ROLE` (DBOS Transact 3.4): the role may then read and write the
    system tables; an unknown role is an error naming it."""
    if not shop.startswith("postgres"):
        pytest.skip("roles are a Postgres matter")
    import psycopg
    from psycopg import sql

    from dbos_testing.postgres import unique_name

    role = unique_name("dbos_cli_role")

    def admin(statement: str) -> None:
        with psycopg.connect(shop, autocommit=True) as conn:
            conn.execute(sql.SQL(statement).format(sql.Identifier(role)))

    admin("CREATE ROLE {} LOGIN")
    try:
        granted = _run("migrate", "-s", shop, "-r", role)
        assert granted.returncode == 0, granted.stderr
        assert f"granted role '{role}'" in granted.stdout
        as_role = psycopg.conninfo.make_conninfo(shop, user=role)
        with psycopg.connect(as_role) as conn:
            row = conn.execute("SELECT count(*) FROM dbos.workflow_status").fetchone()
        assert row is not None and row[0] == 5  # the shop's five workflows
        unknown = _run("migrate", "-s", shop, "-r", role + "_missing")
        assert unknown.returncode == 1 and f'role "{role}_missing" does not exist' in unknown.stderr
    finally:
        # The grants are owned objects: drop them with the role.
        with psycopg.connect(shop, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_values_are_checked_naming_the_option(tmp_path: Path) -> None:
    runner = CliRunner()
    url = f"sqlite:///{tmp_path}/none.sqlite"
    cases = [
        (["workflow", "list", "-s", url, "-S", "DONE"], "'-S' / '--status'", "not a workflow"),
        (["workflow", "list", "-s", url, "-S", "DELAYED"], "'-S' / '--status'", "use -S ENQUEUED"),
        (["workflow", "queue", "list", "-s", url, "-S", "nope"], "'-S' / '--status'", "status"),
        (["workflow", "list", "-s", url, "-l", "-1"], "'-l' / '--limit'", "-1"),
        (["workflow", "list", "-s", url, "-o", "-3"], "'-o' / '--offset'", "-3"),
        (["workflow", "list", "-s", url, "-t", "yesterday"], "-t/--start-time", "ISO 8601"),
        (["workflow", "queue", "list", "-s", url, "-e", "soon"], "-e/--end-time", "ISO 8601"),
        (["workflow", "fork", "x", "-s", url, "-S", "-2"], "'-S' / '--step'", "step ID"),
        (["workflow", "get", "x", "-s", url, "--schema", ""], "'--schema'", "schema"),
        (["workflow", "get", "x", "-s", "mysql://u:hunter2@h/db"], "-s/--sys-db-url", "mysql"),
        (["workflow", "get", "x"], "-s/--sys-db-url", "DBOS_SYSTEM_DATABASE_URL"),
        (["migrate", "-s", url, "-r", "app"], "'-r' / '--app-role'", "needs a Postgres"),
        (["migrate", "-s", url, "--print-migrations", "all"], "'--print-migrations'", "applies"),
        (["migrate", "-s", url, "--print-user-role"], "'--print-user-role'", "not supported"),
        (["migrate", "-s", url, "--sharding"], "'--sharding'", "one system database"),
        (["migrate", "-D", "postgresql://u:hunter2@h/app", "-s", url], "'-D' / '--db-url'",
         "SQLAlchemyDatasource.migrate"),
    ]  # fmt: skip
    for args, option, words in cases:
        result = runner.invoke(cli, args, env={"DBOS_SYSTEM_DATABASE_URL": ""})
        assert result.exit_code == 2, (args, result.output)
        assert option in result.output and words in result.output, (args, result.output)
        assert "hunter2" not in result.output
    assert not (tmp_path / "none.sqlite").exists()  # nothing was created


def test_a_password_in_a_commands_url_is_never_shown() -> None:
    # A server that refuses the connection: the error may echo the URL, never its password.
    url = "postgresql://app:s3cr3t-pw@127.0.0.1:1/app_sys?connect_timeout=2"
    for args in (["workflow", "list", "-s", url], ["workflow", "queue", "list", "-s", url],
                 ["reset", "-y", "-s", url], ["--db-url", url, "migrate"]):  # fmt: skip
        result = _run("--retry-timeout", "0", *args)
        assert result.returncode == 1, (args, result.stderr)
        assert "s3cr3t-pw" not in result.stdout + result.stderr
        assert "Error:" in result.stderr


def test_commands_of_34_we_do_not_have_say_what_to_do() -> None:
    for args, words in (
        (["start"], "python app.py"),
        (["init", "my-app", "-t", "dbos-toolbox"], "quickstart"),
        (["postgres", "start"], "docker run"),
        (["rename-application", "--to", "new", "-y"], "application name"),
    ):
        result = _run(*args)
        assert result.returncode == 1, result
        assert f"`dbos {args[0]}` is not available here" in result.stderr
        assert words in result.stderr
        assert result.stdout == ""
    version = _run("version")
    assert version.returncode == 0 and version.stdout == _run("--version").stdout
    assert version.stdout.startswith("dbos ")
