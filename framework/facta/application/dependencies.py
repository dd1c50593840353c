"""Constructor injection without decorators: a class's typed ``__init__`` parameters.

The parameters are read once per class; building an instance then costs one container
look-up per parameter and no introspection.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import injector

from facta.application.handlers import handler_name
from facta.errors import ConfigurationError

__all__ = ["Constructor", "FactoryProvider"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Constructor(Generic[T]):
    """Builds instances of one class, resolving its ``__init__`` parameters by type."""

    cls: type[T]
    name: str
    dependencies: tuple[tuple[str, Any], ...]

    @classmethod
    def of(cls, target: type[T]) -> Constructor[T]:
        """Read the dependencies of ``target`` from its constructor's type hints."""
        init = target.__init__
        dependencies: tuple[tuple[str, Any], ...] = ()
        if init is not object.__init__:
            try:
                hints = typing.get_type_hints(init)
            except NameError as error:
                raise ConfigurationError(
                    f"cannot resolve the constructor types of {handler_name(target)}: "
                    f"{error}; import the types it names at module level"
                ) from error
            hints.pop("return", None)
            dependencies = tuple(hints.items())
        return cls(target, handler_name(target), dependencies)

    def create(self, container: injector.Injector) -> T:
        """A new instance, its dependencies taken from ``container``."""
        if not self.dependencies:
            return self.cls()
        return self.cls(**{name: container.get(interface) for name, interface in self.dependencies})


class FactoryProvider(injector.Provider[T]):
    """An injector provider that calls ``build(container)``: no introspection per call."""

    def __init__(self, build: typing.Callable[[injector.Injector], T]) -> None:
        self._build = build

    def get(self, injector: injector.Injector) -> T:
        return self._build(injector)
