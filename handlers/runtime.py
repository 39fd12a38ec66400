"""A project's use cases and the Slack-facing pieces that report for it, each found by its type.

The composition root (bot.compose.runtimes) registers one of each per project, as svcs
registers services; a piece of command or click work names in its signature the few it
calls, and `ProjectRuntime.run` hands it exactly those. No listener holds the whole project,
so none can reach through it to another's parts.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol, TypeVar

from bot.project import Project

T = TypeVar("T")
R = TypeVar("R")


class ProjectRuntime:
    """Everything that acts and reports in one project, by type."""

    def __init__(self, project: Project, services: Iterable[object] = ()) -> None:
        self.project = project
        self._services: dict[type, object] = {}
        for service in services:
            self.add(service)

    def add(self, service: object) -> None:
        """Register one service, found later by its own class."""
        kind = type(service)
        if kind in self._services:
            raise ValueError(f"two {kind.__name__} in project {self.project.alias}")
        self._services[kind] = service

    def get(self, kind: type[T]) -> T:
        """The project's one `kind` (a use case, a reporter)."""
        service = self._services.get(kind)
        if not isinstance(service, kind):
            raise LookupError(f"project {self.project.alias} has no {kind.__name__}")
        return service

    async def run(self, work: Callable[..., Awaitable[R]], *given: Any) -> R:
        """`work(*given, ...)` with each parameter after those given (and without a default)
        filled with this project's service of the parameter's type."""
        services: dict[str, object] = {
            name: self.get(kind) for name, kind in _needs(work, len(given))
        }
        return await work(*given, **services)


@functools.cache
def _needs(work: Callable[..., object], given: int) -> tuple[tuple[str, type], ...]:
    """What `work` asks of a project: its parameters after the first `given`, by type."""
    parameters = list(inspect.signature(work, eval_str=True).parameters.values())[given:]
    needs = []
    for parameter in parameters:
        if parameter.default is not inspect.Parameter.empty:
            continue  # bound already (functools.partial), or optional
        if not isinstance(parameter.annotation, type):
            raise TypeError(f"{work!r}: parameter {parameter.name} needs a class annotation")
        needs.append((parameter.name, parameter.annotation))
    return tuple(needs)


class Runtimes(Protocol):
    """The projects' runtimes (built by the composition root, bot.compose.runtimes)."""

    async def for_project(self, project: Project) -> ProjectRuntime: ...

    async def for_scope(self, scope: str) -> ProjectRuntime | None: ...

    async def legacy(self) -> ProjectRuntime | None:
        """The project of buttons posted before the bot served several: the one the
        CONVOY_* variables name (or the only one)."""
        ...
