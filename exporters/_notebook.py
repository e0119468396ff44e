"""Jupyter display of an Analysis: the interactive view, the SVG diagram and a text summary.

:func:`repr_mimebundle` reaches ``Analysis._repr_mimebundle_`` through
:data:`modelmap._registry.display_hook` (the core imports no exporter). Jupyter shows the
richest type it can: the interactive HTML view (:mod:`.html`, in a sandboxed iframe), else
the SVG (Graphviz, imported lazily; left out when ``dot`` is missing), else the text.
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
    """``text/html`` (the interactive view), ``image/svg+xml`` (when Graphviz is there) and
    ``text/plain`` (the summary)."""
    bundle: dict[str, str] = {}
    wanted = lambda mime: (not include or mime in include) and not (exclude and mime in exclude)  # noqa: E731
    if wanted("text/html"):
        from .html import repr_html_bundle

        bundle.update(repr_html_bundle(analysis, options))
    if wanted("image/svg+xml"):
        svg = repr_svg(analysis, options)
        if svg is not None:
            bundle["image/svg+xml"] = svg
    if wanted("text/plain"):
        bundle["text/plain"] = analysis.summary()
    return bundle


__all__ = ["repr_mimebundle", "repr_svg"]
