"""`DBOS`'s patching calls (DBOS Transact 3.4's API): a base class of `DBOS` over the
procedures of `_engine/patching.py`, which say what a patch point does in each history."""

from __future__ import annotations

from ._engine.effects import run_async, run_sync
from ._engine.patching import deprecate_patch, patch_procedure


class PatchingAPI:
    """Changing workflow code under executions that already ran part of it."""

    @classmethod
    def patch(cls, patch_name: str) -> bool:
        """In a workflow: True when this execution takes the patched code at this point (it
        reached the point with this code, and a marker ``DBOS.patch-<patch_name>`` is recorded
        at the next step ID, or it is a replay that recorded that marker); False when it is a
        replay of an execution that passed this point before the patch existed (nothing is
        recorded, no step ID consumed). DBOS Transact semantics, with no configuration needed.

        Use it as ``if DBOS.patch("name"): new code else: old code``.

        Raises:
            DBOSException: called outside a workflow (or from a step), or `patch_name` is not
                a non-empty string.
            DBOSPatchNondeterminismError: a concurrent execution of the same workflow recorded
                another operation where this one recorded the marker.
            DBOSWorkflowCancelledError: the workflow was cancelled before the marker was
                recorded.
        """
        return run_sync(patch_procedure("DBOS.patch", patch_name))

    @classmethod
    async def patch_async(cls, patch_name: str) -> bool:
        """`DBOS.patch` for async workflows (the marker is written without blocking the event
        loop)."""
        return await run_async(patch_procedure("DBOS.patch_async", patch_name))

    @classmethod
    def deprecate_patch(cls, patch_name: str) -> bool:
        """In a workflow, once every execution that ran the old code has finished: keep
        replaying executions that recorded patch `patch_name`'s marker (its step ID is
        consumed) without recording the marker in new ones. Always returns True; remove the
        call once no execution that recorded the marker is left. DBOS Transact semantics.

        Raises:
            DBOSException: called outside a workflow (or from a step), or `patch_name` is not
                a non-empty string.
        """
        return deprecate_patch("DBOS.deprecate_patch", patch_name)

    @classmethod
    async def deprecate_patch_async(cls, patch_name: str) -> bool:
        """`DBOS.deprecate_patch` for async workflows (it does no I/O)."""
        return deprecate_patch("DBOS.deprecate_patch_async", patch_name)
