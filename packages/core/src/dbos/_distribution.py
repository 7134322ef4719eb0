"""What is installed: this package's version, and DBOS Inc.'s `dbos` distribution beside it."""

from __future__ import annotations

import warnings
from importlib import metadata

#: The version reported when dbos-core is imported from a source tree without being installed
#: (a valid PEP 440 version, so tools that compare versions do not fail on it).
UNKNOWN_VERSION = "0+unknown"

#: The distribution name of DBOS Inc.'s DBOS Transact, which provides the same import name
#: (`dbos`) and the same console command (`dbos`) as this implementation.
OTHER_DISTRIBUTION = "dbos"


def core_version() -> str:
    """The installed version of dbos-core, or `UNKNOWN_VERSION` when it is not installed."""
    try:
        return metadata.version("dbos-core")
    except metadata.PackageNotFoundError:
        return UNKNOWN_VERSION


def conflict_message() -> str | None:
    """A warning's text when DBOS Inc.'s `dbos` distribution is installed in this environment.

    Looks up installed metadata only (one `importlib.metadata` lookup, no import).
    """
    try:
        other = metadata.distribution(OTHER_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return None
    where = other.locate_file("")
    return (
        f"DBOS Inc.'s 'dbos' distribution (version {other.version}, in {where}) is installed in "
        "the same environment as 'dbos-core', the independent implementation this 'import dbos' "
        "loaded. Both provide the import name 'dbos' and the 'dbos' command, so one overwrites "
        "or hides the other and the code imported may be a mix of both. Keep one of them: "
        "uninstall both ('pip uninstall dbos dbos-core'; they may share files, so removing one "
        "can damage the other), then reinstall the one you mean with "
        "'pip install --force-reinstall'."
    )


def warn_if_shadowed() -> None:
    """Warn (`UserWarning`, category `DistributionConflictWarning`) when DBOS Inc.'s `dbos`
    distribution is installed beside this one."""
    message = conflict_message()
    if message is not None:
        warnings.warn(message, DistributionConflictWarning, stacklevel=3)


class DistributionConflictWarning(UserWarning):
    """DBOS Inc.'s `dbos` distribution and this implementation share one environment."""
