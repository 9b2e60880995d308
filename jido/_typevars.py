"""The type variable of an agent's state, shared by the layers that carry it (actions, agents, the runtime).

``Agent[Counter]``, ``AgentRef[Counter]`` and ``ActionContext[Counter]`` hold a ``Counter`` state, so a type
checker knows ``ref.state.count`` is an int. Unparametrized (``Agent``), the state is ``Any``: hand-written
specs and code written before these types keep checking as they did.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["S"]

if TYPE_CHECKING:
    # The default (PEP 696) is what keeps a bare ``Agent`` meaning ``Agent[Any]`` under ``mypy --strict``;
    # typing.TypeVar takes a default only from Python 3.13, and checkers read typing_extensions' without it
    # being installed at run time (nothing at run time looks at a default).
    from typing_extensions import TypeVar

    S = TypeVar("S", default=Any)
else:
    from typing import TypeVar

    S = TypeVar("S")
