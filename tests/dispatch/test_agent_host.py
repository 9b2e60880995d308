"""The agent adapter speaks to a protocol (``AgentHost``) that the runtime satisfies, not to the runtime."""

from __future__ import annotations

import pytest
import trio.testing

from jido.bus.dispatch.agent import AgentAdapter, AgentHost
from jido.runtime.runtime import open_runtime


async def test_runtime_is_an_agent_host(autojump_clock: trio.testing.MockClock) -> None:
    async with open_runtime() as rt:
        host: AgentHost = rt  # checked by mypy: Runtime satisfies the protocol
        assert isinstance(host, AgentHost)
        assert AgentAdapter(target="x", runtime=rt).runtime is rt


@pytest.mark.parametrize("value", [{}, {"get": 1}, "rt", None, object()])
def test_other_values_are_refused(value: object) -> None:
    """A mapping has get() but no whereis(): not mistaken for a runtime."""
    with pytest.raises(Exception, match=r"expected a jido Runtime"):
        AgentAdapter(target="x", runtime=value)  # type: ignore[arg-type]
