r"""The checks every identifier given by a caller goes through where it enters: workflow IDs,
and the other strings stored as keys (event and stream keys, message topics, deduplication
IDs, queue names, partition keys, listing filters).

Ours, not DBOS Transact's. A string that no database can store as text (a lone surrogate such
as ``"\udce9"``, left by decoding bytes with ``errors="surrogateescape"``; a NUL character,
which Postgres refuses) would otherwise reach the driver and fail there with a bare
``UnicodeEncodeError`` that names no argument.
"""

from __future__ import annotations

from collections.abc import Iterable

from .errors import DBOSException


def check_text(value: object, what: str) -> None:
    """Raise if `value` is a string that cannot be stored as text.

    Args:
        value: The caller's value; anything but a string passes (its type is checked, if at
            all, where it is used).
        what: What the value is, for the message (e.g. ``"the event key"``).

    Raises:
        DBOSException: `value` holds a lone surrogate or a NUL character.
    """
    if not isinstance(value, str):
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise DBOSException(
            f"{what} {value!r} is not valid text: it has a lone surrogate "
            f"({value[exc.start]!r}) at index {exc.start}, which cannot be stored as UTF-8 "
            "(decode bytes with errors='replace', or encode them, e.g. as hex)"
        ) from None
    if "\x00" in value:
        raise DBOSException(
            f"{what} {value!r} is not valid text: it has a NUL character ('\\x00') at index "
            f"{value.index(chr(0))}"
        )


def check_texts(values: Iterable[tuple[str, object]]) -> None:
    """`check_text` for each (what, value) pair; lists and tuples of strings are checked item
    by item."""
    for what, value in values:
        if isinstance(value, (list, tuple)):
            for item in value:
                check_text(item, what)
        else:
            check_text(value, what)


def check_workflow_id(value: object, what: str = "a workflow ID") -> str:
    """Return `value` if it can be a workflow ID: a string with a non-whitespace character
    that can be stored as text (`check_text`).

    An empty or blank ID is always a mistake (an unset variable, a form field left empty),
    and accepted it would be stored, or silently replaced by a random ID, far from where the
    mistake was made.

    Args:
        value: The ID given by the caller.
        what: What the value is, for the message (e.g. ``"SetWorkflowID"``).

    Raises:
        DBOSException: `value` is not a string, is empty or only whitespace, or cannot be
            stored.
    """
    if not isinstance(value, str) or not value.strip():
        raise DBOSException(
            f"{what} must be a non-empty string with a non-whitespace character, got {value!r}"
        )
    check_text(value, what)
    return value
