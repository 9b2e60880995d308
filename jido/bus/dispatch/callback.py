"""The callback adapter: call a function of the signal, sync or async."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import ClassVar, final

import attrs

from jido.bus.dispatch.base import AdapterBase, DispatchError, checked, expect_callable
from jido.signal import Signal

__all__ = ["CallbackAdapter"]


def _describe(fn: object) -> str:
    return getattr(fn, "__qualname__", None) or repr(fn)


@final
@attrs.frozen(kw_only=True, eq=False)
class CallbackAdapter(AdapterBase):
    """Calls ``fn(signal)``; awaits the result when it is awaitable.

    A sync ``fn`` runs on the trio thread, so it should be quick; wrap slow blocking work in
    ``trio.to_thread.run_sync`` inside an async ``fn``. An async ``fn`` is cancelled with the delivery.

    Failures are retryable unless the exception says otherwise with a ``retryable = False`` attribute, the
    same rule the bus applies to a plain function given as a subscription target.

    Args:
        fn: the function to call with each signal.
    """

    name: ClassVar[str] = "callback"

    fn: Callable[[Signal], Awaitable[object] | object] = attrs.field(metadata=checked(expect_callable))

    async def deliver(self, signal: Signal) -> None:
        """Call ``fn`` with ``signal``.

        Raises:
            DispatchError: ``fn`` raised; its exception is the ``__cause__``.
        """
        try:
            result = self.fn(signal)
            if inspect.isawaitable(result):
                await result
        except Exception as exc:
            raise DispatchError(
                f"callback {_describe(self.fn)} raised {type(exc).__name__}: {exc}",
                adapter=self.name,
                retryable=getattr(exc, "retryable", True) is not False,
            ) from exc
