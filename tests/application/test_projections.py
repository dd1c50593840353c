"""What a projection class declares is read from its annotations and checked at build()."""

from __future__ import annotations

import pytest

from facta import (
    ApplicationBuilder,
    ConfigurationError,
    DomainEvent,
    Lifecycle,
    Projection,
    View,
)
from facta.application.projections import projection_info


class ThingCreated(DomainEvent):
    name: str


class ThingRenamed(ThingCreated):
    pass


class ThingView(View):
    name: str = ""


class OtherView(View):
    pass


def build(*handlers: type[object]) -> None:
    ApplicationBuilder().add_handler(*handlers).build()


def test_methods_are_found_by_the_event_class_they_are_annotated_with() -> None:
    class Things(Projection):
        views = (ThingView,)

        async def created(self, event: ThingCreated) -> None: ...

        async def renamed(self, event: ThingRenamed) -> None: ...

    info = projection_info(Things)

    assert info.method_for(ThingRenamed) == "renamed"
    assert info.method_for(ThingCreated) == "created"
    assert info.lifecycle is Lifecycle.ASYNC


def test_a_method_for_a_base_event_class_applies_to_its_subclasses() -> None:
    class Things(Projection):
        views = (ThingView,)

        async def any_thing(self, event: ThingCreated) -> None: ...

    assert projection_info(Things).method_for(ThingRenamed) == "any_thing"


class NoViews(Projection):
    async def created(self, event: ThingCreated) -> None: ...


class NoEvents(Projection):
    views = (ThingView,)


class NotAsync(Projection):
    views = (ThingView,)

    def created(self, event: ThingCreated) -> None: ...


class NotAnEvent(Projection):
    views = (ThingView,)

    async def created(self, event: str) -> None: ...


class TwoParameters(Projection):
    views = (ThingView,)

    async def created(self, event: ThingCreated, other: ThingCreated) -> None: ...


class TwoMethods(Projection):
    views = (ThingView,)

    async def created(self, event: ThingCreated) -> None: ...

    async def made(self, event: ThingCreated) -> None: ...


class NotAView(Projection):
    views = (str,)  # type: ignore[assignment]

    async def created(self, event: ThingCreated) -> None: ...


class Unresolvable(Projection):
    views = (ThingView,)

    async def created(self, event: NoSuchEvent) -> None: ...  # type: ignore[name-defined]  # noqa: F821


@pytest.mark.parametrize(
    ("projection", "message"),
    [
        pytest.param(NoViews, "keeps no views", id="no views"),
        pytest.param(NoEvents, "handles no event", id="no event method"),
        pytest.param(NotAsync, "is not async", id="a sync method"),
        pytest.param(NotAnEvent, "which is not a DomainEvent", id="not an event"),
        pytest.param(TwoParameters, "exactly one event", id="two parameters"),
        pytest.param(TwoMethods, "two methods for ThingCreated", id="two methods"),
        pytest.param(NotAView, "not a View class", id="not a view"),
        pytest.param(Unresolvable, "cannot be resolved", id="unresolvable annotation"),
    ],
)
def test_a_mistake_in_a_projection_is_reported_at_build_naming_the_fix(
    projection: type[Projection], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message) as raised:
        build(projection)

    assert projection.__qualname__ in str(raised.value)


def test_a_private_helper_method_is_not_taken_for_an_event_method() -> None:
    class Things(Projection):
        views = (ThingView,)

        async def created(self, event: ThingCreated) -> None:
            self._helper("x")

        def _helper(self, name: str) -> None: ...

    build(Things)


def test_a_view_kept_by_two_projections_is_refused() -> None:
    class First(Projection):
        views = (OtherView,)

        async def created(self, event: ThingCreated) -> None: ...

    class Second(Projection):
        views = (OtherView,)

        async def created(self, event: ThingCreated) -> None: ...

    with pytest.raises(ConfigurationError, match="kept by two projections"):
        build(First, Second)


def test_async_projections_are_event_handlers_and_inline_ones_are_not() -> None:
    class Live(Projection):
        views = (ThingView,)

        async def created(self, event: ThingCreated) -> None: ...

    class Inline(Projection):
        lifecycle = Lifecycle.INLINE
        views = (OtherView,)

        async def created(self, event: ThingCreated) -> None: ...

    app = ApplicationBuilder().add_handler(Live, Inline).build()

    assert app.registry.event_handlers(ThingRenamed) == (Live,)
    assert app.registry.inline_projections(ThingRenamed) == (Inline,)
    assert app.registry.projection("Inline") is projection_info(Inline)
