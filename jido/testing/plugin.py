"""The pytest plugin, active wherever jido is installed (entry point ``pytest11: jido``).

Fixtures (for trio tests, under pytest-trio):

``jido_runtime``
    A :class:`~jido.Runtime` opened for the test and closed after it, with a :class:`~jido.TrioClock` wall clock
    (``jido_clock``). A test that uses it runs on trio's autojump clock (``MockClock(autojump_threshold=0)``)
    unless it asks for a clock fixture itself: timeouts, retries, schedules and cron ticks happen in virtual
    time, at once. Override ``jido_runtime_options`` to pass options to :func:`~jido.open_runtime`.
``jido_faults``
    The test's :class:`~jido.testing.FaultInjector`, installed before the runtime opens so that its agents
    see it. ``jido_faults.set_plan(FaultPlan([...]))`` injects faults; when the test fails, the plan and the
    faults that fired are shown in a ``jido faults`` section of the report.
``signal_recorder``
    A :class:`~jido.testing.SignalRecorder` of every signal published on the runtime (``rt.listen("**")``).
``jido_clock``
    The runtime's wall clock: a :class:`~jido.TrioClock` starting at :data:`~jido.testing.TEST_START`; override it to start
    elsewhere.

To wait without sleeping, use ``await wait_for_state(ref, predicate)`` and ``await wait_until(condition)``
from :mod:`jido.testing`, or ``ref.wait_state``.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable, Generator, Mapping
from typing import TYPE_CHECKING, Any, Final

import pytest

# pytest loads this module in every session of every project where jido is installed: it imports only pytest
# at first, and the runtime when a test uses a fixture (so an unrelated test suite pays nothing for it).
if TYPE_CHECKING:
    import trio

    from jido.clock import Clock, TrioClock
    from jido.runtime.runtime import Runtime
    from jido.testing.faults import FaultInjector
    from jido.testing.helpers import SignalRecorder

__all__ = [
    "jido_clock",
    "jido_faults",
    "jido_runtime",
    "jido_runtime_options",
    "run_with_autojump_clock",
    "signal_recorder",
]

_FAULTS: Final = pytest.StashKey["FaultInjector"]()
_ASYNC_FIXTURES: Final = ("jido_runtime", "signal_recorder", "jido_faults", "jido_clock")


def run_with_autojump_clock(
    fn: Callable[[], Any], *, clock: trio.abc.Clock | None = None, instruments: Any = ()
) -> Any:
    """``trio.run`` on an autojump clock unless the test brings its own clock (pytest-trio's ``run=``)."""
    import trio  # see the imports above
    import trio.testing

    if clock is None:
        clock = trio.testing.MockClock(autojump_threshold=0)
    return trio.run(fn, clock=clock, instruments=instruments)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the async tests that use ``jido_runtime`` on trio's autojump clock."""
    if not config.pluginmanager.hasplugin("trio"):
        return
    for item in items:
        if not isinstance(item, pytest.Function) or "jido_runtime" not in item.fixturenames:
            continue
        if hasattr(item.obj, "hypothesis") or not inspect.iscoroutinefunction(item.obj):
            continue  # the fixtures refuse Hypothesis tests and sync tests themselves, with a clear message
        # Prepended, so that pytest-trio finds this runner before the one trio mode adds.
        item.add_marker(pytest.mark.trio(run=run_with_autojump_clock), append=False)


_ASYNC_MARKERS: Final = ("trio", "anyio", "asyncio")


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Refuse the jido fixtures to Hypothesis tests, and say how to run an async one, at once."""
    if not isinstance(item, pytest.Function) or not hasattr(item.obj, "hypothesis"):
        return
    inner = getattr(item.obj.hypothesis, "inner_test", None)
    if (
        inspect.iscoroutinefunction(inner)
        and item.config.pluginmanager.hasplugin("trio")
        and not any(item.get_closest_marker(name) for name in _ASYNC_MARKERS)
    ):
        # Left alone, Hypothesis says it "doesn't know how to run async test functions", which sends users
        # looking for an executor when one line of configuration is missing.
        pytest.fail(
            f"{item.name} is an async Hypothesis test and nothing runs it on trio: set `trio_mode = true` "
            "under [tool.pytest.ini_options] (pytest-trio then runs every async test), or mark the test "
            "with @pytest.mark.trio",
            pytrace=False,
        )
    used = [name for name in item.fixturenames if name in _ASYNC_FIXTURES]
    if used:
        pytest.fail(
            f"{used[0]} cannot serve a Hypothesis test: pytest-trio sets async fixtures up once per test, not "
            "once per example. Open a runtime per example in the test instead: "
            "`async with jido.testing.open_test_runtime() as rt:`, with the `autojump_clock` fixture",
            pytrace=False,
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Add the fault plan and the faults that fired to the report of a failed test."""
    report = yield
    injector = item.stash.get(_FAULTS, None)
    if report.failed and injector is not None and (injector.plan.faults or injector.records):
        report.sections.append(("jido faults", injector.report()))
    return report


@pytest.fixture
async def jido_clock() -> TrioClock:
    """The runtime's wall clock: trio's clock (virtual in tests) from :data:`~jido.testing.TEST_START`."""
    from jido.clock import TrioClock  # see the imports above
    from jido.testing.helpers import TEST_START

    return TrioClock(start=TEST_START)


@pytest.fixture
def jido_runtime_options() -> Mapping[str, Any]:
    """Options for :func:`~jido.open_runtime` (override this fixture to change them); none by default."""
    return {}


@pytest.fixture
async def jido_faults(request: pytest.FixtureRequest) -> AsyncIterator[FaultInjector]:
    """The test's fault injector, with no faults until the test sets a plan."""
    from jido.testing.faults import FaultInjector  # see the imports above

    injector = FaultInjector()
    request.node.stash[_FAULTS] = injector
    with injector.install():
        yield injector


@pytest.fixture
async def jido_runtime(
    jido_faults: FaultInjector, jido_clock: Clock, jido_runtime_options: Mapping[str, Any]
) -> AsyncIterator[Runtime]:
    """A runtime for the test, on trio's autojump clock, closed after it."""
    from jido.runtime.runtime import open_runtime  # see the imports above

    async with open_runtime(clock=jido_clock, **jido_runtime_options) as runtime:
        yield runtime


@pytest.fixture
async def signal_recorder(jido_runtime: Runtime) -> AsyncIterator[SignalRecorder]:
    """Every signal published on ``jido_runtime`` while the test runs."""
    from jido.testing.helpers import SignalRecorder  # see the imports above

    async with SignalRecorder.open(jido_runtime) as recorder:
        yield recorder
