"""A small name-keyed registry shared by converters and exporters.

A duplicate key is an error, not a silent override. Third-party plug-ins are
loaded lazily from an entry-point group the first time the registry is read.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class DuplicateKeyError(ValueError):
    """Two plug-ins claim the same name or file extension."""


class Registry(Generic[T]):
    """Items by unique name, optionally by unique file extension.

    >>> r = Registry("demo")
    >>> r.register("dot", object(), extensions=(".dot", ".gv"))
    >>> r.by_extension(".GV") is r.get("dot")
    True
    """

    def __init__(self, kind: str, entry_point_group: str | None = None) -> None:
        self.kind = kind
        self._group = entry_point_group
        self._items: dict[str, T] = {}
        self._extensions: dict[str, str] = {}
        self._plugins_loaded = entry_point_group is None

    def register(self, name: str, item: T, extensions: tuple[str, ...] = ()) -> None:
        if name in self._items:
            raise DuplicateKeyError(f"{self.kind} {name!r} is already registered")
        for ext in extensions:
            ext = ext.lower()
            if ext in self._extensions:
                raise DuplicateKeyError(
                    f"extension {ext!r} is already claimed by {self.kind} {self._extensions[ext]!r}"
                )
        self._items[name] = item
        for ext in extensions:
            self._extensions[ext.lower()] = name

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        from importlib.metadata import entry_points

        for ep in entry_points(group=self._group):
            ep.load()  # the plug-in registers itself on import

    def get(self, name: str) -> T:
        self._load_plugins()
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items))
            raise KeyError(f"no {self.kind} named {name!r} (known: {known})") from None

    def by_extension(self, ext: str) -> T | None:
        self._load_plugins()
        name = self._extensions.get(ext.lower())
        return None if name is None else self._items[name]

    def names(self) -> list[str]:
        self._load_plugins()
        return list(self._items)

    def extensions(self) -> list[str]:
        self._load_plugins()
        return sorted(self._extensions)

    def __iter__(self) -> Iterator[T]:
        self._load_plugins()
        return iter(list(self._items.values()))

    def __contains__(self, name: object) -> bool:
        self._load_plugins()
        return name in self._items
