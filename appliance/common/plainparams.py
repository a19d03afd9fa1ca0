"""Option values converted without pydantic.

typer 0.2x (0.29.2 here; its metadata requires ``pydantic>=2.5.3``) converts every
non-flag option through a pydantic ``TypeAdapter`` built the first time the option is
processed (``typer/core.py: _TyperParameter.get_runtime_param`` ->
``typer/_coercion.py: build_runtime_param`` -> ``typer/_adapters.py``).  Importing
pydantic and building the adapters cost more than the rest of a command's start-up.

Our options are only ``str``, ``int`` (optionally bounded), ``bool``, ``Path`` and lists
or optionals of these, so ``install()`` puts a direct conversion in front of typer's for
exactly those annotations; paths still go through typer's own (pydantic-free)
``coerce_cli_path``, so their checks and messages are typer's.  Anything else, or a typer
whose internals differ, keeps typer's conversion.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union, get_args, get_origin

_installed = False
_TRUE = frozenset({"1", "true", "t", "yes", "y", "on"})
_FALSE = frozenset({"0", "false", "f", "no", "n", "off", ""})


def _unwrap_optional(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _leaf_kind(annotation: Any, info: Any) -> str | None:
    if getattr(info, "parser", None) is not None or getattr(info, "clamp", False):
        return None
    if annotation is str:
        return "str"
    if annotation is int:
        return "int"
    if annotation is bool:
        return "bool"
    if annotation is Path and getattr(info, "path_type", None) in (None, Path):
        return "path"
    return None


def install() -> None:
    """Put the direct conversion in front of typer's (idempotent; a no-op on other typers)."""
    global _installed
    if _installed:
        return
    _installed = True
    try:
        from typer import _coercion, core
        from typer._click.exceptions import BadParameter
        from typer._param_types import coerce_cli_path
    except ImportError:
        return
    original = getattr(core, "build_runtime_param", None)
    base = getattr(_coercion, "RuntimeParam", None)
    if original is None or base is None:
        return

    @dataclass(frozen=True)
    class PlainRuntimeParam(base):  # type: ignore[misc,valid-type]
        kind: str
        many: bool

        def _one(self, value: Any, param: Any, ctx: Any) -> Any:
            if self.kind == "str":
                return value if isinstance(value, str) else str(value)
            if self.kind == "path":
                path = value if isinstance(value, Path) else Path(value)
                return coerce_cli_path(path, self.parameter_info, path_type=Path, param=param, ctx=ctx)
            if self.kind == "bool":
                if isinstance(value, bool):
                    return value
                word = str(value).strip().lower()
                if word in _TRUE or word in _FALSE:
                    return word in _TRUE
                raise BadParameter(f"{value!r} is not a valid boolean.", ctx=ctx, param=param)
            if isinstance(value, bool):
                raise BadParameter(f"{value!r} is not a valid integer.", ctx=ctx, param=param)
            try:
                number = value if isinstance(value, int) else int(str(value).strip(), 10)
            except ValueError:
                raise BadParameter(f"{value!r} is not a valid integer.", ctx=ctx, param=param) from None
            low, high = self.parameter_info.min, self.parameter_info.max
            if low is not None and number < low:
                raise BadParameter(f"{number} is smaller than the minimum {low}.", ctx=ctx, param=param)
            if high is not None and number > high:
                raise BadParameter(f"{number} is larger than the maximum {high}.", ctx=ctx, param=param)
            return number

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            if self.many:
                items = value if isinstance(value, (list, tuple)) else [value]
                return [self._one(item, param, ctx) for item in items]
            return self._one(value, param, ctx)

    def build_runtime_param(descriptor: Any) -> Any:
        annotation = _unwrap_optional(descriptor.annotation)
        info = descriptor.parameter_info
        many = get_origin(annotation) is list
        leaf = get_args(annotation)[0] if many and len(get_args(annotation)) == 1 else annotation
        kind = None if descriptor.file_annotation is not None else _leaf_kind(leaf, info)
        if kind is None:
            return original(descriptor)
        return PlainRuntimeParam(parameter_info=info, annotation=descriptor.annotation, kind=kind, many=many)

    core.build_runtime_param = build_runtime_param  # type: ignore[attr-defined]
