"""Layers: ops grouped by namespace, their connections, and the module tree.

Rules, in order:

1. An op whose ``namespace`` names a *leaf* (a namespace no other op's namespace extends,
   and that the framework's layer table does not call a container) belongs to that leaf
   layer. A leaf module called several times (torchvision's shared ``relu``) becomes one
   layer per call: the first keeps the name, later calls are ``name#2``, ``name#3``.
2. A data-flow op outside any leaf (the ``Add`` in a BasicBlock's ``forward``, a root
   ``flatten``) is a layer of its own, named ``<parent>/<op>`` (``layer1.0/add``) or
   ``<op>`` at the root; in an ONNX file without namespaces, by its node name.
3. Shape, constant and parameter computations outside any leaf join the layer of the op
   that reads them.
4. Graph inputs and outputs are layers of kind ``input``/``output``; layers the
   framework lists but that left no op (a Keras ``Dropout``) are layers without ops,
   wired from the table's ``inbound`` names.

Connections follow tensors between layers; shape and constant tensors and shape-like input
slots (Reshape's second input) are not connections.

The steps, one module each: :mod:`.grouping` (which ops make a layer, and
:func:`group_layers` itself), :mod:`.naming`, :mod:`.describe` (kind, type, attributes,
shape), :mod:`.wiring` (connections), :mod:`.assemble` (parameters, the final records)
and :mod:`.tree` (the module tree); :mod:`.records` holds what they share.
"""

from __future__ import annotations

from .grouping import group_layers
from .records import Grouping
from .tree import build_tree

__all__ = ["Grouping", "build_tree", "group_layers"]
