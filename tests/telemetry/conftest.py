"""Telemetry test fixtures: a recorder of every event that checks each one against the catalogue."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from jido.telemetry import Event, attach, detach_all, validate_fields


class Recorder:
    """Every event emitted while attached, each checked to carry exactly its documented fields."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.problems: list[str] = []

    def __call__(self, event: Event) -> None:
        try:
            validate_fields(event.name, event.fields)
        except ValueError as exc:
            self.problems.append(str(exc))
        self.events.append(event)

    def named(self, name: str) -> list[dict[str, Any]]:
        """The fields of each recorded event called ``name``, in order."""
        return [dict(e.fields) for e in self.events if e.name == name]

    def one(self, name: str, **where: Any) -> dict[str, Any]:
        """The fields of the one recorded ``name`` event whose fields include ``where``."""
        found = [f for f in self.named(name) if all(f.get(k) == v for k, v in where.items())]
        assert len(found) == 1, f"{len(found)} {name} events match {where}: {self.named(name)}"
        return found[0]

    def names(self) -> list[str]:
        return [e.name for e in self.events]


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    recorder = Recorder()
    attachment = attach("**", recorder)
    yield recorder
    attachment.detach()
    assert recorder.problems == []


@pytest.fixture(autouse=True)
def _no_leftover_handlers() -> Iterator[None]:
    yield
    detach_all()
