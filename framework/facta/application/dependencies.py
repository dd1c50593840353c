"""Constructor injection without decorators: a class's typed ``__init__`` parameters.

The parameters are read once per class; building an instance then costs one container
look-up per parameter and no introspection. ``check_dependencies`` decides, when the
application is built, whether each of them can be provided (see ``unbound_dependency``).
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

import injector

from facta.application.handlers import handler_name
from facta.application.operation import OperationScope
from facta.errors import ConfigurationError

__all__ = [
    "Constructor",
    "FactoryProvider",
    "check_dependencies",
    "resolver",
    "unbound_dependency",
]

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
                (name, resolver(self.container, interface)) for name, interface in self.dependencies
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


def resolver(container: injector.Injector, interface: Any) -> Callable[[], Any]:
    """What ``container.get(interface)`` does, with the binding look-ups done once: valid
    while the binding of ``interface`` stays the one it found."""
    binding, binder = container.binder.get_binding(interface)
    scope = binding.scope
    if isinstance(scope, injector.ScopeDecorator):
        scope = scope.scope
    scope_binding, _ = binder.get_binding(scope)
    scope_instance: injector.Scope = scope_binding.provider.get(container)
    provider = binding.provider
    if isinstance(scope_instance, OperationScope):
        return functools.partial(scope_instance.instance, interface, provider)
    if isinstance(scope_instance, injector.SingletonScope):
        # one instance per application: made on the first call, the same ever after
        made: list[Any] = []

        def singleton() -> Any:
            if not made:
                made.append(scope_instance.get(interface, provider).get(container))
            return made[0]

        return singleton

    def resolve() -> Any:
        return scope_instance.get(interface, provider).get(container)

    return resolve


class FactoryProvider(injector.Provider[T]):
    """An injector provider that calls ``build(container)``: no introspection per call."""

    def __init__(self, build: Callable[[injector.Injector], T]) -> None:
        self._build = build

    def get(self, injector: injector.Injector) -> T:
        return self._build(injector)


def check_dependencies(targets: Iterable[type[Any]], container: injector.Injector) -> None:
    """Raise ``ConfigurationError`` listing every constructor parameter of ``targets``
    (handlers, services) that the container cannot provide as the application means it.
    """
    problems: list[str] = []
    for target in targets:
        for parameter, interface in Constructor.of(target, container).dependencies:
            problem = unbound_dependency(interface, container.binder)
            if problem is not None:
                problems.append(f"{handler_name(target)}, parameter {parameter!r}: {problem}")
    if problems:
        raise ConfigurationError(
            f"{len(problems)} dependenc{'y' if len(problems) == 1 else 'ies'} cannot be "
            f"provided:\n- " + "\n- ".join(problems)
        )


def unbound_dependency(
    interface: Any, binder: injector.Binder, seen: frozenset[Any] = frozenset()
) -> str | None:
    """Why ``interface`` cannot be provided, with the fix; None when it can.

    A dependency is provided when it is bound (by a module, a back-end or facta), or when
    it is a concrete class that is either *stateless* (it has no constructor of its own),
    *assembled from bound services* (its ``__init__`` takes injected parameters only,
    ``@injector.inject``, each provided by this same rule), or declares its own scope
    (``@injector.singleton``, ``@operation_scope``). Anything else is refused rather than
    built anew for each handler: an abstract class or Protocol, a builtin such as
    ``str``, a class whose constructor injector cannot call, and a class with a
    constructor that takes nothing from the container and no scope, whose state would
    silently start afresh in every handler.
    """
    if binder.has_explicit_binding_for(interface) or interface in seen:
        return None
    origin = typing.get_origin(interface)
    if origin in (injector.ProviderOf, injector.AssistedBuilder):
        return None
    shown = getattr(interface, "__qualname__", repr(interface))
    if not isinstance(interface, type) or origin is not None:
        return f"{shown} is not a class facta can build: bind it in a module"
    if interface.__module__ == "builtins":
        return f"{shown} is a builtin type: bind a value for it, or ask for a class of yours"
    if inspect.isabstract(interface) or getattr(interface, "_is_protocol", False):
        return (
            f"{shown} is abstract and nothing is bound to it: bind an implementation, "
            f"`binder.bind({shown}, to=Implementation)`"
        )
    injected = injector.get_bindings(interface.__init__)  # type: ignore[misc]
    required = [
        name
        for name, parameter in inspect.signature(interface).parameters.items()
        if parameter.default is inspect.Parameter.empty
        and parameter.kind not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD)
        and name not in injected
    ]
    if required:
        return (
            f"{shown} is not bound and injector cannot call its constructor (it needs "
            f"{', '.join(required)}): bind it, or decorate its __init__ with @injector.inject"
        )
    stateless = interface.__init__ is object.__init__  # type: ignore[misc]
    if not injected and not stateless and getattr(interface, "__scope__", None) is None:
        return (
            f"{shown} is not bound and its constructor takes nothing from the container, so "
            f"a new one would be built for every handler and its state never shared: bind it, "
            f"`binder.bind({shown}, scope=injector.singleton)` for one per application "
            f"(or scope=operation_scope for one per operation, or no scope for a new one "
            f"each time), or decorate the class with @injector.singleton or @operation_scope"
        )
    for name, dependency in injected.items():
        problem = unbound_dependency(dependency, binder, seen | {interface})
        if problem is not None:
            return f"{shown} cannot be built: its parameter {name!r}: {problem}"
    return None
