"""What every `dbos` command shares: the connection settings (the root group's ``--db-url``,
``--schema`` and ``--retry-timeout``, and each command's own ``-s/--sys-db-url`` and
``--schema``, as DBOS Transact 3.4 puts them on every command), error reporting, and the
parsing of times and statuses."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

import click

from dbos import DBOSConfigError, DBOSException, JsonPickleSerializer, SystemStorage
from dbos.management import DEFAULT_RETRY_TIMEOUT_S, to_epoch_ms, validate_url
from dbos.plugins import backend_for_url
from dbos.storage import (
    StorageOptions,
    WorkflowStatusString,
    scrub_exception,
    validate_schema_name,
)

from . import _render as render
from ._client import DBOSClient

F = TypeVar("F", bound=Callable[..., Any])

STATUSES = [status.value for status in WorkflowStatusString]
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}

#: Where the URL came from, as an error names it.
_FROM_ENV = "$DBOS_SYSTEM_DATABASE_URL"
_FROM_GROUP = "--db-url"
_FROM_COMMAND = "-s/--sys-db-url"


class Settings:
    """What the root command collected (the URL and schema, and a client opened on demand),
    updated by a command's own ``-s/--sys-db-url`` and ``--schema``."""

    def __init__(
        self,
        url: str | None,
        schema: str,
        retry_timeout_s: float = DEFAULT_RETRY_TIMEOUT_S,
        url_source: str = _FROM_GROUP,
    ) -> None:
        self.url = url
        self.url_source = url_source
        self.schema = schema
        self.retry_timeout_s = retry_timeout_s
        self._client: DBOSClient | None = None

    def require_url(self) -> str:
        if not self.url:
            raise click.UsageError(
                "no system database URL: pass -s/--sys-db-url URL (or `dbos --db-url URL "
                "COMMAND`), or set DBOS_SYSTEM_DATABASE_URL"
            )
        try:
            url = validate_url(self.url, self.url_source)
            # A URL no installed backend takes is a usage error too (building a storage
            # connects to nothing: backends connect at first use).
            backend_for_url(url, StorageOptions(system_schema=self.schema)).close()
        except DBOSConfigError as exc:
            raise click.BadParameter(str(exc), param_hint=self.url_source) from exc
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


def url_source(ctx: click.Context, param: str) -> str:
    """Whether the root's ``--db-url`` was given or came from the environment."""
    source = ctx.get_parameter_source(param)
    return _FROM_ENV if source == click.core.ParameterSource.ENVIRONMENT else _FROM_GROUP


@contextmanager
def reported(settings: Settings) -> Iterator[None]:
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


def current_settings() -> Settings:
    settings = click.get_current_context().find_root().obj
    assert isinstance(settings, Settings)
    return settings


def _set_url(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        settings = ctx.find_root().obj
        assert isinstance(settings, Settings)
        settings.url = value
        settings.url_source = _FROM_COMMAND


def _set_schema(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        settings = ctx.find_root().obj
        assert isinstance(settings, Settings)
        settings.schema = check_schema(ctx, param, value)


def check_schema(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        return validate_schema_name(value, "--schema")
    except DBOSConfigError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None


def connection_options(func: F) -> F:
    """``-s/--sys-db-url URL`` and ``--schema NAME`` on a command (DBOS Transact 3.4's
    spelling): given here, they win over the root group's ``--db-url`` and ``--schema`` and
    over $DBOS_SYSTEM_DATABASE_URL."""
    func = click.option(
        "--schema",
        callback=_set_schema,
        expose_value=False,
        metavar="NAME",
        help="Postgres schema of the system tables (wins over `dbos --schema`; default dbos).",
    )(func)
    return click.option(
        "-s",
        "--sys-db-url",
        callback=_set_url,
        expose_value=False,
        metavar="URL",
        help="System database URL (wins over `dbos --db-url` and $DBOS_SYSTEM_DATABASE_URL).",
    )(func)


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")(func)


def parse_time(value: str | None, option: str) -> int | None:
    """An ISO 8601 time, or a duration ago such as ``30d``, ``12h``, ``15m``: epoch ms."""
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


def time_arg(value: str | None, option: str) -> str | None:
    """`parse_time` as the ISO string the client's filters take."""
    epoch_ms = parse_time(value, option)
    return None if epoch_ms is None else render.iso(epoch_ms)


def _statuses(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> list[str] | None:
    """``-S/--status`` values, upper-cased and checked. DBOS Transact 3.4's DELAYED is not a
    status here: a delayed workflow is ENQUEUED until its delay passes."""
    found: list[str] = []
    for value in values:
        status = value.strip().upper()
        if status == "DELAYED":
            raise click.BadParameter(
                "DELAYED is not a status here: a workflow enqueued with a delay is ENQUEUED "
                "until its delay passes (its delay_until shows in --json); use -S ENQUEUED",
                ctx=ctx,
                param=param,
            )
        if status not in STATUSES:
            raise click.BadParameter(
                f"{value!r} is not a workflow status; one of {', '.join(STATUSES)}",
                ctx=ctx,
                param=param,
            )
        found.append(status)
    return found or None


def status_option(help_text: str) -> Callable[[F], F]:
    """``-S/--status S`` (repeatable), checked against the statuses a workflow can have."""
    return click.option(
        "-S",
        "--status",
        "statuses",
        multiple=True,
        callback=_statuses,
        metavar="STATUS",
        help=help_text,
    )


def listing_options(func: F) -> F:
    """The filters and paging that ``dbos workflow list`` and the queued-task listings share:
    ``-n/--name``, ``-t/--start-time``, ``-e/--end-time``, ``-a/--app`` (repeatable) and
    ``-o/--offset`` (DBOS Transact 3.4's letters)."""
    decorators = (
        click.option("-n", "--name", help="Only workflows of this registered name."),
        click.option(
            "-t", "--start-time", help="Created at or after (ISO 8601, or 2h, 3d... ago)."
        ),
        click.option("-e", "--end-time", help="Created at or before (ISO 8601, or 2h, 3d... ago)."),
        click.option(
            "-a",
            "--app",
            "--application-name",
            "applications",
            multiple=True,
            help="Only this app's (and unnamed) (repeatable).",
        ),
        click.option(
            "-o", "--offset", type=click.IntRange(min=0), default=None, help="Skip this many first."
        ),
    )
    for decorate in reversed(decorators):
        func = decorate(func)
    return func
