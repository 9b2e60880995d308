"""Error policies: what an agent does when handling a signal produced an error."""

from __future__ import annotations

from typing import Literal, TypeAlias

import attrs

__all__ = ["ErrorPolicy", "StopAfter", "check_error_policy"]


@attrs.frozen
class StopAfter:
    """Error policy: log errors and keep going, but stop the agent (normally) at the ``errors``-th one."""

    errors: int

    def __attrs_post_init__(self) -> None:
        if isinstance(self.errors, bool) or not isinstance(self.errors, int) or self.errors < 1:
            raise ValueError(f"StopAfter(errors=...) must be an int >= 1, got {self.errors!r}")


ErrorPolicy: TypeAlias = Literal["crash", "log"] | StopAfter
"""What an agent does when handling a signal produced an error: ``"crash"`` (the default: dead-letter the
signal, fail the server task, let the supervisor restart it from the last committed state), ``"log"`` (log,
commit what succeeded, keep going), or :class:`StopAfter` (log, and stop at the n-th error)."""


def check_error_policy(policy: object) -> ErrorPolicy:
    """``policy`` if it is an error policy.

    Raises:
        ValueError: it is not ``"crash"``, ``"log"`` or a :class:`StopAfter`.
    """
    if policy in ("crash", "log") or isinstance(policy, StopAfter):
        return policy
    raise ValueError(f"error_policy must be 'crash', 'log' or StopAfter(n), got {policy!r}")
