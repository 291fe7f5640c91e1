"""The ways a batch can be refused, in the domain's own terms (no Temporal here)."""

from __future__ import annotations

import errno


class BadInput(Exception):
    """A table or the checkpoint is unreadable or inconsistent: retrying cannot help."""


class StaleBatch(Exception):
    """The batch was computed from a checkpoint that has since moved (another run committed)."""


# Storage that refuses writes needs an operator, not a retry: what each refusal asks of them.
OPERATOR_FIXES = {
    errno.ENOSPC: "free space on that file system, then run again",
    errno.EDQUOT: "free space or raise the quota, then run again",
    errno.EROFS: "remount it read-write or choose another data directory",
    errno.EACCES: "give the worker's user read and write access to it",
    errno.EPERM: "give the worker's user read and write access to it",
}
