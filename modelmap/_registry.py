"""A small name-keyed registry shared by converters and exporters, and hooks.

A duplicate key is an error, not a silent override. Third-party plug-ins are
loaded lazily from an entry-point group the first time the registry is read.
A :class:`Hook` lets a lower layer call what a higher one provides (the core shows an
Analysis in Jupyter through :data:`display_hook`, which the exporters provide).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
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


class Hook(Generic[T]):
    """One function that a lower layer calls and a higher layer provides.

    The core may not import the exporters, yet an Analysis shows itself in Jupyter as a
    diagram: the core calls :data:`display_hook`, which :mod:`modelmap.exporters`
    provides when it is imported (importing modelmap imports it). Providing a second,
    different function is an error, as a duplicate registry key is.

    >>> h = Hook("demo")
    >>> h.get() is None
    True
    >>> h.provide(len); h.get()("abc")
    3
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._item: T | None = None

    def provide(self, item: T) -> None:
        if self._item is not None and self._item is not item:
            raise DuplicateKeyError(f"hook {self.name!r} is already provided by {self._item!r}")
        self._item = item

    def get(self) -> T | None:
        """The function provided, or None when nothing provides it (yet)."""
        return self._item


#: ``display(analysis, include, exclude) -> {mime type: data}`` for Jupyter's ``_repr_mimebundle_``.
display_hook: Hook[Callable[..., dict[str, str]]] = Hook("display")
