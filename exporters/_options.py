"""Drawing options shared by every exporter, the CLI and the API."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from modelmap._errors import InputError

STYLES = ("detailed", "paper")
DIRECTIONS = ("TB", "LR")

#: Above this many layers in the chosen view, ``fold=None`` (auto) folds repeated blocks.
FOLD_AUTO_LAYERS = 60

#: Named text areas of ``fit``, in inches (width, height): a full page's text area and
#: one column of a two-column paper.
FIT_PAGES = {"page": (7.0, 9.0), "column": (3.35, 9.0)}
#: ``fit`` for no fitting: the depth and folding asked for, drawn at their own size.
NO_FIT = "none"
#: PNG resolution when ``dpi`` is not given.
DEFAULT_DPI = 150
DPI_RANGE = (36, 1200)


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
    ``fit``
        The text area the figure must fit with every text at 6 pt or more:
        ``"page"`` (7 x 9 in), ``"column"`` (3.35 x 9 in), ``"WxH"`` in inches
        (``"7x4.5"``), or ``"none"``. The depth and folding not given are chosen,
        from most detail to least, by rendering candidates (:mod:`._fit`).
        ``None`` (default): ``"page"`` in the paper style; the detailed style picks
        the deepest depth with a readable number of boxes.
    ``dpi``
        PNG only: resolution in dots per inch (default :data:`DEFAULT_DPI`).
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
    fit: str | None = None
    dpi: int | None = None

    def __post_init__(self) -> None:
        if self.depth is not None and (not isinstance(self.depth, int) or isinstance(self.depth, bool) or self.depth < 1):
            raise InputError(f"depth must be a positive integer (or None for every layer), not {self.depth!r}")
        if self.style not in STYLES:
            raise InputError(f"unknown style {self.style!r}; choose one of: {', '.join(STYLES)}")
        direction = str(self.direction).upper()
        if direction not in DIRECTIONS:
            raise InputError(f"unknown direction {self.direction!r}; choose one of: {', '.join(DIRECTIONS)}")
        object.__setattr__(self, "direction", direction)
        if self.fit is not None:
            object.__setattr__(self, "fit", _fit_name(self.fit))
        if self.dpi is not None and (
            not isinstance(self.dpi, int) or isinstance(self.dpi, bool) or not DPI_RANGE[0] <= self.dpi <= DPI_RANGE[1]
        ):
            raise InputError(f"dpi must be an integer from {DPI_RANGE[0]} to {DPI_RANGE[1]}, not {self.dpi!r}")

    @property
    def page(self) -> tuple[float, float] | None:
        """The text area of ``fit`` in inches (width, height); None for ``"none"`` or unset."""
        if self.fit is None or self.fit == NO_FIT:
            return None
        if self.fit in FIT_PAGES:
            return FIT_PAGES[self.fit]
        width, height = self.fit.split("x")
        return float(width), float(height)

    @classmethod
    def from_kwargs(cls, options: DrawOptions | None = None, **kwargs: Any) -> DrawOptions:
        """``options`` (or the defaults) with ``kwargs`` applied; unknown names are an InputError."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise InputError(f"unknown drawing option(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        base = options if options is not None else cls()
        return replace(base, **kwargs) if kwargs else base


def _fit_name(value: object) -> str:
    """``fit`` checked and normalised: ``"page"``, ``"column"``, ``"none"`` or ``"WxH"``
    (``"7 X 9"`` -> ``"7x9"``); anything else is an InputError."""
    text = "".join(str(value).split()).lower()
    if text in FIT_PAGES or text == NO_FIT:
        return text
    parts = text.split("x")
    try:
        width, height = (float(p) for p in parts) if len(parts) == 2 else (0.0, 0.0)
    except ValueError:
        width = height = 0.0
    if not (0.5 <= width <= 200 and 0.5 <= height <= 200):
        raise InputError(
            f"fit must be page (7x9 in), column (3.35x9 in), none, or WIDTHxHEIGHT in inches from 0.5 to 200 "
            f"such as 7x4.5, not {value!r}"
        )
    return f"{width:g}x{height:g}"


__all__ = ["DEFAULT_DPI", "DIRECTIONS", "DrawOptions", "FIT_PAGES", "FOLD_AUTO_LAYERS", "NO_FIT", "STYLES"]
