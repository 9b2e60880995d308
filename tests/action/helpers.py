"""Small helpers shared by the action tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jido.action.spec import ActionSpec


class Recorder:
    """Records every call of an action's ``run`` (or ``compensate``) and answers with ``answer(*args)``."""

    def __init__(self, answer: Callable[..., Any] = lambda *args: None) -> None:
        self.answer = answer
        self.calls: list[tuple[Any, ...]] = []

    def __call__(self, *args: Any) -> Any:
        self.calls.append(args)
        return self.answer(*args)


def raising(exc: BaseException) -> Callable[..., Any]:
    def answer(*args: Any) -> Any:
        raise exc

    return answer


def spec_of(run: Callable[..., Any], **options: Any) -> ActionSpec:
    options.setdefault("name", "act")
    return ActionSpec(run=run, **options)
