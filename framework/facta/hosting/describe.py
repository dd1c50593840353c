"""The message flow of an application, as facta sees it after discovery.

``describe(app)`` answers event-driven code's classic question, "what happens when X?":
each command and query with its handler and the events its handler's aggregates can
record; each domain event with the handlers that react to it and the events those can
record in turn; each integration contract with its CloudEvent type and version; each
integration event handler. ``as_text`` prints it; ``as_mermaid`` draws it.

It also finds the event-driven style's known traps (``Flow.ghost_handlers``,
``Flow.unused_events``): a handler of an event that nothing records any more, still
waiting for old events, and an event recorded that nothing reacts to.

Which events a handler can cause is read from its code: the aggregate classes it names,
the methods of theirs it calls, and the domain events those methods (and the methods they
call on ``self``) create. A refused call records nothing, so this is what *may* happen.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import FunctionType
from typing import Any

from facta.application import CommandHandler, HandlerRegistry, handler_name
from facta.application.handlers import declared_types
from facta.application.integration import type_version
from facta.domain import AggregateRoot, DomainEvent
from facta.hosting.application import Application

__all__ = ["Flow", "HandlerFlow", "describe"]


@dataclass(frozen=True)
class HandlerFlow:
    """One handler: what it handles and which events it can cause to be recorded.

    ``inline`` marks an inline projection, which runs in the committing unit of work.
    """

    name: str
    handles: str
    records: tuple[str, ...]
    inline: bool = False


@dataclass(frozen=True)
class Flow:
    """The whole message flow of one application."""

    commands: tuple[HandlerFlow, ...]
    queries: tuple[HandlerFlow, ...]
    events: dict[str, tuple[HandlerFlow, ...]] = field(default_factory=dict)
    contracts: tuple[tuple[str, str, str, int], ...] = ()
    integration_handlers: tuple[HandlerFlow, ...] = ()
    recorded: frozenset[str] = frozenset()
    """Every event the application can record: in any method of its aggregates, or
    caused by any of its handlers (of a command, an event or an ingested CloudEvent)."""
    kinds: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """For an event, the event types it is (itself and its base classes): a handler of a
    base class handles it."""

    def as_text(self) -> str:
        """The flow as indented plain text."""
        lines: list[str] = []
        for title, flows in (("Commands", self.commands), ("Queries", self.queries)):
            lines.append(f"{title}:")
            for flow in flows:
                lines.append(f"  {flow.handles} -> {_short(flow.name)}")
                lines.extend(f"      records {event}" for event in flow.records)
            if not flows:
                lines.append("  (none)")
        lines.append("Domain events:")
        for event, flows in self.events.items():
            lines.append(f"  {event}")
            for flow in flows:
                lines.append(f"    -> {_short(flow.name)}{' (inline)' if flow.inline else ''}")
                lines.extend(f"         records {recorded}" for recorded in flow.records)
            if not flows:
                lines.append("    (no handler)")
        lines.append("Integration contracts:")
        for event, cloudevent_type, contract, version in self.contracts:
            lines.append(f"  {event} => {cloudevent_type} (v{version}) by {_short(contract)}")
        if not self.contracts:
            lines.append("  (none)")
        lines.append("Integration event handlers:")
        for flow in self.integration_handlers:
            lines.append(f"  {flow.handles} -> {_short(flow.name)}")
            lines.extend(f"      records {event}" for event in flow.records)
        if not self.integration_handlers:
            lines.append("  (none)")
        return "\n".join(lines) + "\n"

    def as_mermaid(self) -> str:
        """The flow as a Mermaid flowchart (commands, events, handlers, CloudEvents)."""
        lines = ["flowchart LR"]
        seen: set[str] = set()

        def node(name: str, label: str, shape: str) -> str:
            key = _node_id(name)
            if key not in seen:
                seen.add(key)
                opening, closing = {"cmd": ("[", "]"), "evt": ("([", "])"), "ce": ("{{", "}}")}[
                    shape
                ]
                lines.append(f'    {key}{opening}"{label}"{closing}')
            return key

        for flow in (*self.commands, *self.integration_handlers):
            source = node(f"msg:{flow.handles}", flow.handles, "cmd")
            for event in flow.records:
                lines.append(f"    {source} --> {node(f'evt:{event}', event, 'evt')}")
        for event, flows in self.events.items():
            origin = node(f"evt:{event}", event, "evt")
            for flow in flows:
                for recorded in flow.records:
                    target = node(f"evt:{recorded}", recorded, "evt")
                    lines.append(f"    {origin} -- {_short(flow.name)} --> {target}")
        for event, cloudevent_type, _, _ in self.contracts:
            origin = node(f"evt:{event}", event, "evt")
            lines.append(
                f"    {origin} -.-> {node(f'ce:{cloudevent_type}', cloudevent_type, 'ce')}"
            )
        return "\n".join(lines) + "\n"

    @property
    def ghost_handlers(self) -> tuple[tuple[str, str], ...]:
        """``(event, handler)`` for each handler of an event type that nothing the
        application records is: it waits for events that never come."""
        live = {kind for event in self.recorded for kind in self.kinds.get(event, (event,))}
        return tuple(
            (event, flow.name)
            for event, flows in self.events.items()
            if event not in live
            for flow in flows
        )

    @property
    def unused_events(self) -> tuple[str, ...]:
        """The events recorded that no handler reacts to and no contract publishes."""
        used = {contract[0] for contract in self.contracts}
        used.update(event for event, flows in self.events.items() if flows)
        return tuple(
            sorted(
                event
                for event in self.recorded
                if not used.intersection(self.kinds.get(event, (event,)))
            )
        )


def describe(app: Application) -> Flow:
    """The message flow of ``app``, from its registry."""
    registry = app.registry
    commands: list[HandlerFlow] = []
    queries: list[HandlerFlow] = []
    for message_type, handlers in sorted(
        registry.request_types.items(), key=lambda item: item[0].__name__
    ):
        for handler in handlers:
            flow = _handler_flow(handler, message_type.__name__)
            (commands if _is_command(handler) else queries).append(flow)
    events: dict[str, tuple[HandlerFlow, ...]] = {}
    for name, event_type in sorted(registry.event_types.items()):
        inline = registry.inline_projections(event_type)
        events[name] = tuple(
            HandlerFlow(handler_name(projection), name, (), inline=True) for projection in inline
        ) + tuple(_handler_flow(handler, name) for handler in registry.event_handlers(event_type))
    contracts = []
    for event_type in sorted(registry.event_types.values(), key=lambda t: t.event_type):
        for contract in registry.contracts(event_type):
            data_type = declared_types(contract)[1]
            cloudevent_type = str(getattr(data_type, "cloudevent_type", ""))
            contracts.append(
                (
                    event_type.event_type,
                    cloudevent_type,
                    handler_name(contract),
                    type_version(cloudevent_type),
                )
            )
    integration = [
        _handler_flow(handler, cloudevent_type)
        for cloudevent_type in sorted(_integration_types(registry))
        for handler in registry.integration_handlers(cloudevent_type)
    ]
    every = (*commands, *queries, *integration, *(f for fs in events.values() for f in fs))
    recorded = _recorded_by_aggregates(registry) | {e for flow in every for e in flow.records}
    kinds = {
        name: tuple(
            base.event_type
            for base in event_type.__mro__
            if isinstance(base, type) and issubclass(base, DomainEvent) and base is not DomainEvent
        )
        for name, event_type in registry.event_types.items()
    }
    return Flow(
        tuple(commands),
        tuple(queries),
        events,
        tuple(contracts),
        tuple(integration),
        frozenset(recorded),
        kinds,
    )


def _recorded_by_aggregates(registry: HandlerRegistry) -> frozenset[str]:
    """The events any method of the application's aggregates records: the aggregates its
    handlers name, and those defined beside its handlers and its events."""
    modules: dict[str, Any] = {}
    handlers: list[type[Any]] = [h for hs in registry.request_types.values() for h in hs]
    for event_type in registry.event_types.values():
        handlers.extend(registry.event_handlers(event_type))
        modules.update({event_type.__module__: inspect.getmodule(event_type)})
    for cloudevent_type in _integration_types(registry):
        handlers.extend(registry.integration_handlers(cloudevent_type))
    aggregates: list[type[Any]] = []
    for handler in handlers:
        modules.update({handler.__module__: inspect.getmodule(handler)})
        tree, names = _handler_code(handler)
        aggregates.extend(_classes_named(tree, names, AggregateRoot))
    for module in modules.values():
        if module is None:
            continue
        aggregates.extend(
            value
            for value in vars(module).values()
            if isinstance(value, type)
            and issubclass(value, AggregateRoot)
            and value is not AggregateRoot
        )
    return frozenset(
        event
        for aggregate in set(aggregates)
        for events in _events_by_method(aggregate).values()
        for event in events
    )


def _is_command(handler: type[Any]) -> bool:
    return issubclass(handler, CommandHandler)


def _integration_types(registry: HandlerRegistry) -> Iterable[str]:
    return [t for t in registry.handled_cloudevent_types if registry.integration_handlers(t)]


def _handler_flow(handler: type[Any], handles: str) -> HandlerFlow:
    tree, names = _handler_code(handler)
    called: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            receiver = node.func.value
            on_class = isinstance(receiver, ast.Name) and isinstance(names.get(receiver.id), type)
            if on_class or node.func.attr not in _REPOSITORY_METHODS:
                called.add(node.func.attr)
    records: list[str] = []
    for aggregate in _classes_named(tree, names, AggregateRoot):
        recorded_by = _events_by_method(aggregate)
        for method in sorted(called & recorded_by.keys()):
            records.extend(event for event in recorded_by[method] if event not in records)
    return HandlerFlow(handler_name(handler), handles, tuple(records))


def _handler_code(handler: type[Any]) -> tuple[ast.AST, dict[str, Any]]:
    """The code a handler runs: its classes (not facta's) and the module functions they call."""
    body: list[ast.stmt] = []
    names: dict[str, Any] = {}
    for klass in handler.__mro__:
        if klass.__module__.startswith("facta.") or klass is object:
            continue
        tree, module_names = _parsed(klass)
        body.extend(getattr(tree, "body", []))
        names.update(module_names)
    pending = [body]
    seen: set[str] = set()
    while pending:
        for node in ast.walk(ast.Module(body=pending.pop(), type_ignores=[])):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                function = names.get(node.func.id)
                if inspect.isfunction(function) and node.func.id not in seen:
                    seen.add(node.func.id)
                    tree, _ = _parsed(function)
                    body.extend(getattr(tree, "body", []))
                    pending.append(list(getattr(tree, "body", [])))
    return ast.Module(body=body, type_ignores=[]), names


def _parsed(klass: type[Any] | FunctionType) -> tuple[ast.AST, dict[str, Any]]:
    """The syntax tree of a class or function and the names its module defines."""
    module = inspect.getmodule(klass)
    names = dict(vars(module)) if module is not None else {}
    try:
        return ast.parse(textwrap.dedent(inspect.getsource(klass))), names
    except (OSError, TypeError, SyntaxError):
        return ast.Module(body=[], type_ignores=[]), names


def _classes_named(tree: ast.AST, names: dict[str, Any], base: type[Any]) -> list[type[Any]]:
    found: list[type[Any]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            candidate = names.get(node.id)
            if isinstance(candidate, type) and issubclass(candidate, base):
                if candidate is not base and candidate not in found:
                    found.append(candidate)
    return found


def _events_by_method(aggregate: type[AggregateRoot]) -> dict[str, list[str]]:
    """For each method of an aggregate, the events it (or a method it calls) creates."""
    direct: dict[str, list[str]] = {}
    calls: dict[str, set[str]] = {}
    for klass in reversed(aggregate.__mro__):
        if klass is AggregateRoot or not issubclass(klass, AggregateRoot):
            continue
        tree, names = _parsed(klass)
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            events = [event.event_type for event in _classes_named(node, names, DomainEvent)]
            direct[node.name] = events
            calls[node.name] = {
                call.func.attr
                for call in ast.walk(node)
                if isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and isinstance(call.func.value, ast.Name)
                and call.func.value.id in {"self", "cls"}
            }
    closure: dict[str, list[str]] = {}
    for method in direct:
        seen, pending, events = {method}, [method], []
        while pending:
            current = pending.pop()
            events.extend(event for event in direct.get(current, ()) if event not in events)
            for callee in calls.get(current, ()):
                if callee in direct and callee not in seen:
                    seen.add(callee)
                    pending.append(callee)
        closure[method] = events
    return closure


_REPOSITORY_METHODS = frozenset({"get", "find", "add", "remove", "repository"})


def _short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _node_id(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name)
