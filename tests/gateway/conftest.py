"""A runtime with one Counter agent (id "counter") for the gateway tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from jido.runtime.runtime import Runtime, open_runtime

from .helpers import Counter


@pytest.fixture
async def runtime() -> AsyncIterator[Runtime]:
    async with open_runtime() as rt:
        await rt.start_agent(Counter, id="counter")
        yield rt
