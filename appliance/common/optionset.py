"""A set of command-line options that reaches a command as one value (both halves' CLIs use it).

A decorator such as the station's ``@connection_options()`` or the appliance's
``@ceremony_options()`` lays the options out in the signature the CLI library reads
(``parameters``) and wraps the command with ``bind`` so that they arrive as one object.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

Option = tuple[str, Any, Any]  # parameter name, annotation, default (the CLI library's option)
R = TypeVar("R")


def parameters(options: Sequence[Option]) -> list[inspect.Parameter]:
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    return [inspect.Parameter(name, kind, default=default, annotation=t) for name, t, default in options]


def bind(
    command: Callable[..., R],
    *,
    param: str,
    options: Sequence[Option],
    signature: Sequence[inspect.Parameter],
    build: Callable[..., Any],
) -> Callable[..., R]:
    """``command`` with ``signature`` (its own parameters but ``param``, plus ``options``); the
    options' values reach it as ``param=build(**values)``."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> R:
        given = {name: kwargs.pop(name) for name, _, _ in options if name in kwargs}  # direct calls may omit some
        return command(*args, **{param: build(**given)}, **kwargs)

    annotations = {k: v for k, v in command.__annotations__.items() if k != param}
    annotations |= {name: t for name, t, _ in options}
    wrapper.__annotations__ = annotations
    wrapper.__signature__ = inspect.signature(command).replace(parameters=list(signature))  # type: ignore[attr-defined]
    return wrapper
