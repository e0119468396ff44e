"""JSON: the ``modelmap analyze --json`` object plus the layer graph as node-link data.

The object is :meth:`Analysis.to_dict` at ``options.depth`` (else the analysis's own
default depth, :meth:`Analysis.view_depth`) with one more key,
``graph``: :meth:`Analysis.layer_graph` at the same depth as networkx node-link data
(``nodes``/``edges``), so ``networkx.node_link_graph(d["graph"], edges="edges")``
rebuilds it. Non-ASCII text is written as ``\\uXXXX`` escapes, so any name
(lone surrogates included) gives valid UTF-8 JSON.
"""

from __future__ import annotations

import enum
import json
from typing import TYPE_CHECKING, Any

import networkx as nx

from ._options import DrawOptions

if TYPE_CHECKING:  # pragma: no cover
    from modelmap.core import Analysis


def analysis_json(analysis: Analysis, options: DrawOptions | None = None) -> dict[str, Any]:
    """The JSON object as Python data."""
    options = options or DrawOptions()
    depth = analysis.view_depth(options.depth)
    data = analysis.to_dict(depth)  # collapses the layers at ``depth`` once: layer_graph reuses it
    data["graph"] = nx.node_link_data(analysis.layer_graph(depth), edges="edges")
    return json.loads(json.dumps(data, default=_default))


def generate_json(analysis: Analysis, options: DrawOptions | None = None) -> str:
    return json.dumps(analysis_json(analysis, options), indent=1, ensure_ascii=True) + "\n"


def _default(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


__all__ = ["analysis_json", "generate_json"]
