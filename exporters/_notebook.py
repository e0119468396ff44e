"""Jupyter display of an Analysis: the SVG diagram (and a text summary).

:func:`repr_svg` and :func:`repr_mimebundle` are written to become
``Analysis._repr_svg_`` and ``Analysis._repr_mimebundle_``; they import Graphviz
lazily and fall back to text when ``dot`` is missing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelmap._errors import MissingDependencyError

from ._options import DrawOptions

if TYPE_CHECKING:  # pragma: no cover
    from modelmap.core import Analysis


def repr_svg(analysis: Analysis, options: DrawOptions | None = None) -> str | None:
    """The diagram as SVG text, or None when Graphviz is not installed."""
    from .render import generate_svg

    try:
        return generate_svg(analysis, options or DrawOptions())
    except MissingDependencyError:
        return None


def repr_mimebundle(
    analysis: Analysis, include: Any = None, exclude: Any = None, options: DrawOptions | None = None
) -> dict[str, str]:
    """``image/svg+xml`` (when Graphviz is there) and ``text/plain`` (the summary)."""
    bundle: dict[str, str] = {}
    wanted = lambda mime: (not include or mime in include) and not (exclude and mime in exclude)  # noqa: E731
    if wanted("image/svg+xml"):
        svg = repr_svg(analysis, options)
        if svg is not None:
            bundle["image/svg+xml"] = svg
    if wanted("text/plain"):
        bundle["text/plain"] = analysis.summary()
    return bundle


__all__ = ["repr_mimebundle", "repr_svg"]
