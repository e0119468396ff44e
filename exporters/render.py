"""SVG, PDF and PNG: the DOT text of :mod:`.dot` rendered by Graphviz's ``dot``.

Every format draws the candidate :func:`._fit.fit_drawing` chooses for the options (the
depth and folding that fit the page), and so does the DOT exporter
(:func:`generate_fitted_dot`), so that ``dot -Tpdf`` on a written ``.dot`` file gives
the same figure. PDFs are vector with their fonts embedded (cairo); PNGs are rendered
at ``options.dpi`` (default :data:`~._options.DEFAULT_DPI`).

``dot`` runs as a subprocess reading the DOT text on stdin; a missing ``dot`` is a
:class:`~modelmap.MissingDependencyError` that says how to install it. The SVG
is checked before it is returned: well-formed XML with no script, no event-handler
attribute and no ``javascript:`` link (Graphviz escapes all text; this guards the
guarantee, not the escaping).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import warnings
from dataclasses import replace
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from modelmap._errors import InputError, MissingDependencyError, ModelmapError
from modelmap._limits import GRAPHVIZ_NODES, GRAPHVIZ_SECONDS

from ._base import DrawingWarning
from ._fit import fit_drawing
from ._options import DEFAULT_DPI, DrawOptions
from ._view import build_view
from .dot import view_to_dot

if TYPE_CHECKING:  # pragma: no cover
    from modelmap.core import Analysis

INSTALL_HINT = (
    "Graphviz's `dot` is needed for .svg, .pdf and .png output and was not found on PATH; "
    "install Graphviz (apt-get install graphviz, or brew install graphviz) or write .dot or .mmd instead"
)

#: Raster resolution of PNG output when ``options.dpi`` is not given.
PNG_DPI = DEFAULT_DPI


def dot_program() -> str:
    """The path of Graphviz's ``dot``, or a MissingDependencyError."""
    path = shutil.which("dot")
    if path is None:
        raise MissingDependencyError(INSTALL_HINT)
    return path


def run_dot(dot_text: str, fmt: str, extra: tuple[str, ...] = ()) -> bytes:
    """Render DOT text to ``fmt`` (``svg``, ``pdf``, ``png``) with Graphviz; returns the bytes.

    Graphviz's warnings become :class:`DrawingWarning`; a failure is a ModelmapError
    (our DOT should always be valid, so it is an internal error, exit code 1). Graphviz
    gets :data:`~modelmap._limits.GRAPHVIZ_SECONDS`; a run that takes longer is stopped and
    is an InputError (a diagram too big to lay out).
    """
    cmd = [dot_program(), f"-T{fmt}", *extra]
    seconds = GRAPHVIZ_SECONDS.value()
    try:
        proc = subprocess.run(cmd, input=dot_text.encode("utf-8"), capture_output=True, check=False, timeout=seconds)
    except subprocess.TimeoutExpired:
        raise InputError(
            f"Graphviz did not finish laying out the diagram in {seconds} s ({GRAPHVIZ_SECONDS.hint()}); "
            "draw fewer boxes with --depth N or --fold, or write .html or .dot instead"
        ) from None
    except OSError as e:  # found but not runnable
        raise MissingDependencyError(f"{INSTALL_HINT} ({e})") from None
    err = proc.stderr.decode("utf-8", "replace").strip()
    if proc.returncode != 0 or not proc.stdout:
        first = err.splitlines()[0] if err else f"exit code {proc.returncode}"
        raise ModelmapError(f"Graphviz could not render the diagram: {first}")
    for line in err.splitlines():
        if line.strip():
            warnings.warn(f"Graphviz: {line.strip()}", DrawingWarning, stacklevel=2)
    return proc.stdout


def graphviz_dot(analysis: Analysis, options: DrawOptions | None = None) -> str:
    """The DOT text to hand to Graphviz, within its budget of boxes.

    A diagram with more than :data:`~modelmap._limits.GRAPHVIZ_NODES` boxes is collapsed
    to the deepest module depth that fits (with a warning); one that fits at no depth is
    refused: Graphviz would take minutes and gigabytes for it.
    """
    options = options or DrawOptions()
    budget = GRAPHVIZ_NODES.value()
    view = build_view(analysis, options)
    if len(view.nodes) <= budget:
        return view_to_dot(view, options)
    first = len(view.nodes)
    depth = analysis.view_depth(options.depth)
    start = (depth if depth is not None else analysis.max_depth) - 1
    for d in range(min(start, analysis.max_depth - 1), 0, -1):
        shallower = replace(options, depth=d)
        view = build_view(analysis, shallower)
        if len(view.nodes) <= budget:
            warnings.warn(f"{first:,} boxes are more than Graphviz's budget of {budget:,}; collapsed modules "
                          f"to depth {d} ({len(view.nodes):,} boxes)", DrawingWarning, stacklevel=2)
            return view_to_dot(view, shallower)
    raise InputError(
        f"the diagram has {len(view.nodes):,} boxes, more than Graphviz's budget of {budget:,} "
        f"({GRAPHVIZ_NODES.hint()}); write .html (interactive, any size) or .dot instead"
    )


def generate_svg(analysis: Analysis, options: DrawOptions | None = None) -> str:
    """The diagram as SVG text (the rendering measured while fitting, when there was one)."""
    chosen = fit_drawing(analysis, options or DrawOptions()).chosen
    if chosen.svg is None:
        svg = run_dot(chosen.dot, "svg").decode("utf-8")
    else:
        svg = chosen.svg
        for message in chosen.graphviz_warnings:
            warnings.warn(message, DrawingWarning, stacklevel=2)
    check_svg(svg)
    return svg


def generate_pdf(analysis: Analysis, options: DrawOptions | None = None) -> bytes:
    """The diagram as a vector PDF, its fonts embedded."""
    return run_dot(fit_drawing(analysis, options or DrawOptions()).dot, "pdf")


def generate_png(analysis: Analysis, options: DrawOptions | None = None) -> bytes:
    """The diagram as a PNG at ``options.dpi``: a figure W x H in wide is W*dpi x H*dpi pixels."""
    options = options or DrawOptions()
    return run_dot(fit_drawing(analysis, options).dot, "png", png_args(options))


def generate_fitted_dot(analysis: Analysis, options: DrawOptions | None = None) -> str:
    """The DOT text of the figure the rendered formats draw (the ``dot`` exporter)."""
    return fit_drawing(analysis, options or DrawOptions(), budget=False).dot


def png_args(options: DrawOptions) -> tuple[str, ...]:
    """Graphviz's arguments for a PNG at ``options.dpi``."""
    return (f"-Gdpi={options.dpi or PNG_DPI}",)


#: Attributes whose value a viewer follows as a link or loads.
_LINKS = frozenset({"href", "src", "action", "formaction", "from", "to", "values", "by"})
_ACTIVE = frozenset({"script", "foreignobject", "iframe", "object", "embed", "animate", "set", "handler", "listener"})
_INVISIBLE = re.compile(r"[\s\x00-\x1f]+")


def check_svg(svg: str) -> None:
    """Raise a ModelmapError unless ``svg`` is well-formed and inert.

    Inert: no ``script``, ``foreignObject``, embedding or animation element, no ``on*``
    attribute, no link (``href``, ``src``, ...) to a ``javascript:`` or ``data:`` URL.
    Text is not code: a tooltip (``xlink:title``) or label that reads ``javascript:alert(1)``
    is a harmless string.
    """
    try:
        root = ET.fromstring(svg.encode("utf-8"))
    except ET.ParseError as e:
        raise ModelmapError(f"Graphviz produced SVG that is not well-formed XML ({e})") from None
    for el in root.iter():
        tag = el.tag.rsplit("}", 1)[-1].lower()
        if tag in _ACTIVE:
            raise ModelmapError(f"refusing to write SVG with a <{tag}> element")
        for name, value in el.attrib.items():
            local = name.rsplit("}", 1)[-1].lower()
            if local.startswith("on"):
                raise ModelmapError(f"refusing to write SVG with an event-handler attribute {local!r}")
            if local in _LINKS and _INVISIBLE.sub("", value).lower().startswith(("javascript:", "data:", "vbscript:")):
                raise ModelmapError(f"refusing to write SVG with a script link in {local!r}")


__all__ = [
    "INSTALL_HINT",
    "check_svg",
    "dot_program",
    "generate_fitted_dot",
    "generate_pdf",
    "generate_png",
    "generate_svg",
    "graphviz_dot",
    "png_args",
    "run_dot",
]
