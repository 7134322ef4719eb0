"""The ``dbos`` logger's out-of-the-box setup: a level from the configuration and a default
handler on stderr that an app's own logging configuration replaces cleanly.

Like DBOS Transact, a new `DBOS` logs at INFO to stderr with no setup. Unlike it, the default
handler steps aside (per record, so the order of setup does not matter) as soon as the app
has configured logging itself: a handler of its own on the ``dbos`` logger, or handlers on
the root logger that ``dbos`` records propagate to (``logging.basicConfig``, ``dictConfig``,
pytest's capture). Each line is then printed once, by the app's handlers, in the app's format.
"""

from __future__ import annotations

import logging
import sys

from ._distribution import core_version

#: The default handler's format: time, level, logger name, message.
DEFAULT_FORMAT = "%(asctime)s %(levelname)-8s %(name)s: %(message)s"
#: The ``dbos`` logger's level when the configuration gives no ``log_level`` (DBOS's default).
DEFAULT_LEVEL = "INFO"

logger = logging.getLogger("dbos")

# The level this module last set, so that a later DBOS(config=...) may change it again but a
# level the app set itself on the "dbos" logger is left alone.
_level_we_set: int | None = None


class DefaultHandler(logging.Handler):
    """Writes ``dbos`` records to the current ``sys.stderr``, unless the app configured
    logging for them (see the module docstring). Ours, in the spirit of DBOS Transact's."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter(DEFAULT_FORMAT))

    def emit(self, record: logging.LogRecord) -> None:
        if _app_configured():
            return
        try:
            stream = sys.stderr
            stream.write(self.format(record) + "\n")
            stream.flush()
        except Exception:
            self.handleError(record)


def _app_configured() -> bool:
    """True if a handler of the app's will print ``dbos`` records."""
    if any(not isinstance(handler, DefaultHandler) for handler in logger.handlers):
        return True
    return logger.propagate and bool(logging.getLogger().handlers)


def configure_logging(level: str | None, console_level: str | None = None) -> None:
    """Set up the ``dbos`` logger for a new `DBOS` instance.

    Args:
        level: A level name from the ``log_level`` config key (e.g. ``"DEBUG"``; validated
            by the config), or None for ``INFO`` unless the app already set a level on the
            ``dbos`` logger.
        console_level: The ``console_log_level`` config key: the level of the console handler
            this module installs (None: every record the logger passes).
    """
    global _level_we_set
    if level is not None:
        logger.setLevel(level.upper())
        _level_we_set = logger.level
    elif logger.level in (logging.NOTSET, _level_we_set):
        logger.setLevel(DEFAULT_LEVEL)
        _level_we_set = logger.level
    handler = next((h for h in logger.handlers if isinstance(h, DefaultHandler)), None)
    if handler is None:
        handler = DefaultHandler()
        logger.addHandler(handler)
    handler.setLevel(console_level or logging.NOTSET)


def library_version() -> str:
    """The installed version of dbos-core, for the launch line ("0+unknown" if not installed)."""
    return core_version()
