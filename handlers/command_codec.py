"""Commands as JSON-safe data and back: what the inbox keeps of a request until the core has run it."""
from __future__ import annotations

import dataclasses
import types
import typing
from functools import cache
from typing import Any

from handlers.commands import Command


def encode(cmd: Command) -> dict[str, Any]:
    return {"type": type(cmd).__name__, "fields": _plain(cmd)}


def decode(data: dict[str, Any]) -> Command:
    cls = _command_classes().get(data.get("type", ""))
    if cls is None:
        raise ValueError(f"unknown command type {data.get('type')!r}")
    command = _build(cls, data["fields"])
    assert isinstance(command, Command)
    return command


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value


def _build(tp: Any, value: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        return _build(next(a for a in typing.get_args(tp) if a is not type(None)), value)
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_build(args[0], v) for v in value)
        return tuple(_build(a, v) for a, v in zip(args, value, strict=True))
    if dataclasses.is_dataclass(tp):
        hints = _hints(tp)
        return tp(**{name: _build(hints[name], v) for name, v in value.items()})
    return value


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _command_classes() -> dict[str, type[Command]]:
    # Every command the core can run, including those of plug-ins (SLA) registered by import.
    found: dict[str, type[Command]] = {}
    todo = list(Command.__subclasses__())
    while todo:
        cls = todo.pop()
        found[cls.__name__] = cls
        todo += cls.__subclasses__()
    return found
