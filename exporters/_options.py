"""Drawing options shared by every exporter, the CLI and the API."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from modelmap._errors import InputError

STYLES = ("detailed", "paper")
DIRECTIONS = ("TB", "LR")

#: Above this many layers in the chosen view, ``fold=None`` (auto) folds repeated blocks.
FOLD_AUTO_LAYERS = 60


@dataclass(frozen=True)
class DrawOptions:
    """How a diagram looks; every exporter reads the fields that concern it.

    ``depth``
        Collapse the module tree to this many levels (``1``: the model's direct
        children, ``2``: theirs...); ``None`` draws every leaf layer.
    ``fold``
        Draw each run of repeated blocks as its first block marked ``x N``.
        ``None`` (auto) folds when the view has more than
        :data:`FOLD_AUTO_LAYERS` layers.
    ``style``
        ``detailed`` (colour, sans-serif, full labels) or ``paper`` (compact,
        grayscale-safe, serif: skip kinds differ by line style, not only colour).
    ``direction``
        ``TB`` (top to bottom) or ``LR`` (left to right).
    ``shapes``, ``params``
        Show output shapes and parameter counts in labels.
    ``legend``
        Add a legend of the skip-connection kinds drawn (only when there are some).
    ``title``
        A caption for the diagram; ``None`` uses the model's name when it has one.
    ``attachment``
        ONNX only: also write Netron's ``netron:attachment`` JSON next to the file.
    ``flat``
        ONNX only: one flat graph instead of modules nested as model-local functions.
    """

    depth: int | None = None
    fold: bool | None = None
    style: str = "detailed"
    direction: str = "TB"
    shapes: bool = True
    params: bool = True
    legend: bool = True
    title: str | None = None
    attachment: bool = False
    flat: bool = False

    def __post_init__(self) -> None:
        if self.depth is not None and (not isinstance(self.depth, int) or isinstance(self.depth, bool) or self.depth < 1):
            raise InputError(f"depth must be a positive integer (or None for every layer), not {self.depth!r}")
        if self.style not in STYLES:
            raise InputError(f"unknown style {self.style!r}; choose one of: {', '.join(STYLES)}")
        direction = str(self.direction).upper()
        if direction not in DIRECTIONS:
            raise InputError(f"unknown direction {self.direction!r}; choose one of: {', '.join(DIRECTIONS)}")
        object.__setattr__(self, "direction", direction)

    @classmethod
    def from_kwargs(cls, options: DrawOptions | None = None, **kwargs: Any) -> DrawOptions:
        """``options`` (or the defaults) with ``kwargs`` applied; unknown names are an InputError."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise InputError(f"unknown drawing option(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        base = options if options is not None else cls()
        return replace(base, **kwargs) if kwargs else base


__all__ = ["DIRECTIONS", "DrawOptions", "FOLD_AUTO_LAYERS", "STYLES"]
