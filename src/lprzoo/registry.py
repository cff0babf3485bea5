"""A small plugin registry (timm / torchvision style).

One :class:`Registry` per kind of plugin that is looked up by name: recognizer models (a record's ``arch``) and
plate specs (``--spec blue``); strategies and data modules are chosen by ``class_path`` instead.  Registration is a
decorator that raises on a duplicate name; lookup is :meth:`Registry.get`; listing matches shell patterns with
:mod:`fnmatch`, as in ``timm.list_models("lightcrnn*")``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps unique names to builders (functions or classes) of one kind of plugin.

    Args:
        kind: what is registered, for messages.
        builtins: the module that registers the built-in entries, imported on the first lookup, so that importing
            the registry (and ``import lprzoo``) stays light.
    """

    def __init__(self, kind: str, builtins: str | None = None) -> None:
        self.kind = kind
        self.builtins = builtins
        self._entries: dict[str, T] = {}

    @property
    def _loaded(self) -> dict[str, T]:
        if self.builtins is not None:
            import importlib

            module, self.builtins = self.builtins, None
            importlib.import_module(module)
        return self._entries

    def register(self, name: str | None = None) -> Callable[[T], T]:
        """Decorator: ``@MODELS.register("lightcrnn-1.2")``. The name defaults to the object's ``__name__``."""

        def decorator(obj: T) -> T:
            key = name or obj.__name__
            if key in self._entries:
                raise ValueError(f"{self.kind} {key!r} is already registered (by {self._entries[key]!r})")
            self._entries[key] = obj
            return obj

        return decorator

    def get(self, name: str) -> T:
        try:
            return self._loaded[name]
        except KeyError:
            close = fnmatch.filter(self._entries, f"*{name.split('-')[0]}*")
            hint = f" Did you mean one of {close}?" if close else ""
            raise KeyError(f"unknown {self.kind} {name!r}; registered: {sorted(self._entries)}.{hint}") from None

    def list(self, pattern: str = "*", exclude: str | None = None) -> list[str]:
        """Sorted names matching ``pattern`` (fnmatch), minus those matching ``exclude``."""
        names = fnmatch.filter(self._loaded, pattern)
        if exclude:
            names = [n for n in names if not fnmatch.fnmatch(n, exclude)]
        return sorted(names)

    def __contains__(self, name: object) -> bool:
        return name in self._loaded

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._loaded))

    def __len__(self) -> int:
        return len(self._loaded)


MODELS: Registry[Callable] = Registry("model", builtins="lprzoo.recognize.crnn")


def lazy_getattr(package_globals: dict, table: dict[str, str]) -> Callable[[str], object]:
    """A PEP 562 module ``__getattr__`` that imports ``name`` from ``table[name]`` (a module path) on first use.

    Used by ``lprzoo`` and ``lprzoo.render`` so that ``import lprzoo`` stays free of Lightning and OpenCV.
    """
    import importlib

    def __getattr__(name: str) -> object:
        if name not in table:
            raise AttributeError(f"module {package_globals['__name__']!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(table[name]), name)
        package_globals[name] = value
        return value

    return __getattr__
