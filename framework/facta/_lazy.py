"""Lazy public faces: a package's names are imported when first used (PEP 562).

``import facta`` then costs next to nothing, and ``from facta import AggregateRoot``
imports the domain model but not the persistence and hosting layers or their
dependencies. A package lists its names twice: under ``if typing.TYPE_CHECKING:`` as
ordinary imports, which type checkers and IDEs read (they never see a module
``__getattr__``, so a misspelt name stays an error), and in the ``else:`` branch by
module, in the table it gives ``lazy_exports``, which runs; ``tests/test_public_api.py``
checks that the two agree. Once resolved, a name is stored in the package, so later uses
are plain attribute reads and ``facta.AggregateRoot is facta.domain.AggregateRoot``
holds as before.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, MutableMapping

__all__ = ["lazy_exports"]


def lazy_exports(
    namespace: MutableMapping[str, object], sources: Mapping[str, tuple[str, ...]]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """The module ``__getattr__`` and ``__dir__`` of a package whose globals are
    ``namespace``, exporting each name of ``sources`` (module name: names) from its module.

    A package assigns them: ``__getattr__, __dir__ = _lazy.lazy_exports(globals(), {...})``.
    An unknown name raises ``AttributeError`` as a module without ``__getattr__`` would.
    """
    package = str(namespace["__name__"])
    origins = {name: module for module, names in sources.items() for name in names}

    def __getattr__(name: str) -> object:
        module = origins.get(name)
        if module is None:
            raise AttributeError(
                f"module {package!r} has no attribute {name!r}",
                name=name,
                obj=sys.modules.get(package),
            )
        value: object = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *origins})

    return __getattr__, __dir__
