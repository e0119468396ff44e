"""Exporters: one generator per format plus an atomic writer (see DESIGN.md, step 5).

============  ===================  =============================================
name          extensions           content
============  ===================  =============================================
``dot``       ``.dot .gv``         Graphviz DOT text (:mod:`.dot`)
``svg``       ``.svg``             rendered by Graphviz (:mod:`.render`)
``pdf``       ``.pdf``             rendered by Graphviz
``png``       ``.png``             rendered by Graphviz
``mermaid``   ``.mmd .mermaid``    Mermaid flowchart (:mod:`.mermaid`)
``markdown``  ``.md``              the Mermaid flowchart in a fenced block
``onnx``      ``.onnx``            Netron-ready annotated model (:mod:`.netron`)
``json``      ``.json``            ``analyze --json`` plus the layer graph
``html``      ``.html .htm``       interactive, self-contained page (:mod:`.html`)
============  ===================  =============================================

:data:`registry` maps names and extensions to :class:`Exporter` objects; third
parties add theirs from the ``modelmap.exporters`` entry-point group (a module that
calls ``registry.register`` when imported). :func:`export` picks the exporter for a
path (or a format name) and writes; :func:`generate` returns the content instead.
Architecture tables (``.tex``, ``.md``, ``.csv``; ``modelmap table``) have a registry of
their own, :data:`.table.table_registry`, since ``.md`` here means a Mermaid diagram.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from modelmap._errors import InputError
from modelmap._registry import Registry, display_hook

from ._base import DrawingWarning, Exporter, Generator
from ._escape import dot_string, mermaid_string, xml_text
from ._notebook import repr_mimebundle, repr_svg
from ._options import DIRECTIONS, FOLD_AUTO_LAYERS, STYLES, DrawOptions

if TYPE_CHECKING:  # pragma: no cover
    from modelmap.core import Analysis


def _lazy(module: str, function: str) -> Generator:
    """The generator ``exporters.<module>.<function>``, imported when first called.

    Each format's module loads only when it is first used, so that importing
    modelmap stays cheap (no onnx, networkx or pydot until something is drawn).
    """

    def generate(analysis: Analysis, options: DrawOptions) -> str | bytes:
        return getattr(importlib.import_module(f"{__name__}.{module}"), function)(analysis, options)

    generate.__name__ = generate.__qualname__ = function
    return generate


class _OnnxExporter(Exporter):
    """Writes the model, and with ``options.attachment`` Netron's sidecar next to it."""

    needs_weights = True  # the file is a runnable model: the API converts with weight values

    def write(self, analysis: Analysis, path: str | os.PathLike[str], options: DrawOptions) -> list[Path]:
        from .netron import write_onnx

        return write_onnx(analysis, path, options)


registry: Registry[Exporter] = Registry("exporter", entry_point_group="modelmap.exporters")
for _e in (
    Exporter("dot", (".dot", ".gv"), _lazy("render", "generate_fitted_dot"), "Graphviz DOT text"),
    Exporter("svg", (".svg",), _lazy("render", "generate_svg"), "SVG rendered by Graphviz"),
    Exporter("pdf", (".pdf",), _lazy("render", "generate_pdf"), "PDF rendered by Graphviz"),
    Exporter("png", (".png",), _lazy("render", "generate_png"), "PNG rendered by Graphviz"),
    Exporter("mermaid", (".mmd", ".mermaid"), _lazy("mermaid", "generate_mermaid"), "Mermaid flowchart"),
    Exporter("markdown", (".md",), _lazy("mermaid", "generate_markdown"), "Mermaid flowchart in a fenced Markdown block"),
    _OnnxExporter("onnx", (".onnx",), _lazy("netron", "generate_onnx"), "Netron-ready annotated ONNX model"),
    Exporter("json", (".json",), _lazy("json_export", "generate_json"), "analyze --json object plus the layer graph"),
    Exporter("html", (".html", ".htm"), _lazy("html", "generate_html"), "interactive, self-contained HTML view"),
):
    registry.register(_e.name, _e, _e.extensions)
del _e
display_hook.provide(repr_mimebundle)  # Analysis._repr_mimebundle_ (the core imports no exporter)


def exporter_for(
    path: str | os.PathLike[str] | None = None,
    format: str | None = None,  # noqa: A002
    formats: Registry[Exporter] | None = None,
) -> Exporter:
    """The exporter named ``format``, else the one for ``path``'s extension; InputError if none.

    ``formats`` is the registry to look in (default: :data:`registry`; the architecture
    tables have their own, :data:`.table.table_registry`).
    """
    known = registry if formats is None else formats
    if format is not None:
        name = format.lower().lstrip(".")
        if name in known:
            return known.get(name)
        by_ext = known.by_extension("." + name)
        if by_ext is not None:
            return by_ext
        raise InputError(f"unknown output format {format!r}; known: {', '.join(known.names())}")
    if path is None:
        raise InputError("no output format: give a file name with an extension or a format")
    ext = Path(path).suffix
    exporter = known.by_extension(ext) if ext else None
    if exporter is None:
        what = f"extension {ext!r}" if ext else "file name without an extension"
        raise InputError(
            f"{Path(path).name}: unknown output {what}; use one of {', '.join(known.extensions())} or --format"
        )
    return exporter


def generate(analysis: Analysis, format: str, options: DrawOptions | None = None) -> str | bytes:  # noqa: A002
    """The content of ``format`` for ``analysis``, without writing anything."""
    return exporter_for(format=format).generate(analysis, options or DrawOptions())


def export(
    analysis: Analysis,
    path: str | os.PathLike[str],
    options: DrawOptions | None = None,
    format: str | None = None,  # noqa: A002
) -> list[Path]:
    """Write ``analysis`` to ``path`` (format from ``format`` or the extension); the files written."""
    return exporter_for(path, format).write(analysis, path, options or DrawOptions())


__all__ = [
    "DIRECTIONS",
    "DrawOptions",
    "DrawingWarning",
    "Exporter",
    "FOLD_AUTO_LAYERS",
    "STYLES",
    "dot_string",
    "export",
    "exporter_for",
    "generate",
    "mermaid_string",
    "registry",
    "repr_mimebundle",
    "repr_svg",
    "xml_text",
]
