"""Imported first by the modules built on Hypothesis, so that without it their import says what to install.

jido's pytest plugin is active wherever jido is installed, and a user's test suite that never asked for
Hypothesis must not need it; only the helpers that use it (``check_invariant``, ``RuntimeStateMachine``,
``jido.testing.strategies``) do.
"""

from __future__ import annotations

INSTALL_HINT = (
    "jido.testing's property-testing helpers (check_invariant, RuntimeStateMachine, jido.testing.strategies) "
    "need Hypothesis, which is not installed: pip install hypothesis"
)

try:
    import hypothesis  # noqa: F401  # the module that imports this one needs it next anyway
except ModuleNotFoundError:
    raise ModuleNotFoundError(INSTALL_HINT, name="hypothesis") from None
