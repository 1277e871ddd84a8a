"""The one override convention of the command line: ``--set FIELD=VALUE`` on any frozen
configuration dataclass, each value parsed by the field's type hint and applied by
``dataclasses.replace`` (so the configuration's own validation runs)."""

from __future__ import annotations

import dataclasses
import types
import typing

from fasttransfer.errors import InputError

__all__ = ["apply_overrides"]


def _parse_field(text: str, hint, name: str):
    """``text`` as a value of the type ``hint`` (int, float, str, bool, None-able,
    tuple[X, ...])."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if text.strip().lower() == "none" and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _parse_field(text, inner[0], name)
    if origin is tuple:
        item = args[0] if args else str
        return tuple(_parse_field(t.strip(), item, name) for t in text.split(",") if t.strip())
    try:
        if hint is bool:
            low = text.strip().lower()
            if low not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(text)
            return low in ("true", "1", "yes")
        if hint in (int, float, str):
            return hint(text)
    except ValueError:
        raise InputError(f"set: {name}={text!r} is not a {hint.__name__}", param="set") from None
    raise InputError(f"set: field {name} cannot be set from the command line", param="set")


def apply_overrides(config, pairs) -> object:
    """``config`` (a frozen dataclass) with ``FIELD=VALUE`` pairs applied by
    ``dataclasses.replace`` (so its own validation runs); unknown fields are an error
    naming the fields there are."""
    if not pairs:
        return config
    hints = typing.get_type_hints(type(config))
    names = [f.name for f in dataclasses.fields(config)]
    changes = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip()
        if not sep or key not in names:
            raise InputError(
                f"set: expected FIELD=VALUE with FIELD one of {', '.join(names)}; got {pair!r}",
                param="set",
            )
        changes[key] = _parse_field(text, hints[key], key)
    return dataclasses.replace(config, **changes)
