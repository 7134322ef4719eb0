"""The one check every workflow ID given by a caller goes through."""

from __future__ import annotations

from ._errors import DBOSException


def check_workflow_id(value: object, what: str = "a workflow ID") -> str:
    """Return `value` if it can be a workflow ID: a string with a non-whitespace character.

    Ours, not DBOS Transact's (which accepts any string): an empty or blank ID is always a
    mistake (an unset variable, a form field left empty), and accepted it would be stored, or
    silently replaced by a random ID, far from where the mistake was made.

    Args:
        value: The ID given by the caller.
        what: What the value is, for the message (e.g. ``"SetWorkflowID"``).

    Raises:
        DBOSException: `value` is not a string, or is empty or only whitespace.
    """
    if not isinstance(value, str) or not value.strip():
        raise DBOSException(
            f"{what} must be a non-empty string with a non-whitespace character, got {value!r}"
        )
    return value
