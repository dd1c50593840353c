"""Constructor injection without decorators: a class's typed ``__init__`` parameters.

The parameters are read once per class; building an instance then costs one container
look-up per parameter and no introspection.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import injector

from facta.application.handlers import handler_name
from facta.errors import ConfigurationError

__all__ = ["Constructor", "FactoryProvider"]

T = TypeVar("T")


class Constructor(Generic[T]):
    """Builds instances of one class, resolving its ``__init__`` parameters by type.

    The parameters are read when the constructor is made; how to resolve each of them in
    ``container`` (its binding and scope) is worked out on the first ``create`` and kept,
    since an application's bindings do not change once it is built.
    """

    __slots__ = ("_resolvers", "cls", "container", "dependencies", "name")

    def __init__(
        self,
        target: type[T],
        container: injector.Injector,
        dependencies: tuple[tuple[str, Any], ...],
    ) -> None:
        self.cls = target
        self.container = container
        self.name = handler_name(target)
        self.dependencies = dependencies
        self._resolvers: tuple[tuple[str, Callable[[], Any]], ...] | None = None

    @classmethod
    def of(cls, target: type[T], container: injector.Injector) -> Constructor[T]:
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
        return cls(target, container, dependencies)

    def create(self) -> T:
        """A new instance, its dependencies taken from the container."""
        if not self.dependencies:
            return self.cls()
        resolvers = self._resolvers
        if resolvers is None:
            resolvers = self._resolvers = tuple(
                (name, _resolver(self.container, interface))
                for name, interface in self.dependencies
            )
        return self.cls(**{name: resolve() for name, resolve in resolvers})

    def create_with(self, *instances: object) -> T:
        """A new instance, each parameter whose type one of ``instances`` has taking that
        instance (a projection run inline gets the committing unit of work), the others
        from the container."""
        values: dict[str, Any] = {}
        for name, interface in self.dependencies:
            given = next(
                (
                    instance
                    for instance in instances
                    if isinstance(interface, type) and isinstance(instance, interface)
                ),
                None,
            )
            values[name] = given if given is not None else self.container.get(interface)
        return self.cls(**values)


def _resolver(container: injector.Injector, interface: Any) -> Callable[[], Any]:
    """What ``container.get(interface)`` does, with the binding look-ups done once."""
    binding, binder = container.binder.get_binding(interface)
    scope = binding.scope
    if isinstance(scope, injector.ScopeDecorator):
        scope = scope.scope
    scope_binding, _ = binder.get_binding(scope)
    scope_instance: injector.Scope = scope_binding.provider.get(container)
    provider = binding.provider

    def resolve() -> Any:
        return scope_instance.get(interface, provider).get(container)

    return resolve


class FactoryProvider(injector.Provider[T]):
    """An injector provider that calls ``build(container)``: no introspection per call."""

    def __init__(self, build: Callable[[injector.Injector], T]) -> None:
        self._build = build

    def get(self, injector: injector.Injector) -> T:
        return self._build(injector)
