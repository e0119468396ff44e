"""Small random ONNX models (the seeds the corpus mutates), built with ``onnx.helper``.

A model is a chain of layers with some residual adds, every node annotated with a
``namespace`` (so module clusters, the tree and folding are exercised); the names come
from a function the caller gives, so hostile names reach every place a name goes.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

Namer = Callable[[str], str]


def plain_name(base: str) -> str:
    return base


def random_model(
    rng: random.Random,
    *,
    layers: int | None = None,
    name: Namer = plain_name,
    scopes: bool = True,
    opset: int = 17,
) -> onnx.ModelProto:
    """A valid model: ``layers`` of Conv/Relu/Add/MatMul on a ``[1, 4, 8, 8]`` input."""
    n = layers if layers is not None else rng.randint(2, 12)
    x = name("input")
    cur = x
    nodes: list[onnx.NodeProto] = []
    inits: list[onnx.TensorProto] = []
    fork = cur
    depth = rng.randint(1, 3)
    for i in range(n):
        op = rng.choice(["Conv", "Relu", "Relu", "Add", "Sigmoid", "Mul"])
        out = name(f"t{i}")
        nid = name(f"layer{i}")
        if op == "Conv":
            w = name(f"w{i}")
            inits.append(numpy_helper.from_array(np.full((4, 4, 3, 3), 0.01, np.float32), w))
            node = helper.make_node("Conv", [cur, w], [out], name=nid, pads=[1, 1, 1, 1])
        elif op in ("Add", "Mul"):
            node = helper.make_node(op, [cur, fork], [out], name=nid)
            fork = out
        else:
            node = helper.make_node(op, [cur], [out], name=nid)
        if scopes:
            block = name(f"block{i // 3}")
            path = [block] + [name(f"sub{k}") for k in range(depth - 1)] + [nid]
            classes = [name("Block")] + [name("Sub")] * (depth - 1) + [op]
            set_namespace(node, path, classes)
        nodes.append(node)
        cur = out
    graph = helper.make_graph(
        nodes,
        name("graph"),
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, 4, 8, 8])],
        [helper.make_tensor_value_info(cur, TensorProto.FLOAT, [1, 4, 8, 8])],
        initializer=inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name=name("fuzz"))


def set_namespace(node: onnx.NodeProto, path: list[str], classes: list[str]) -> None:
    """modelmap's own annotation (see modelmap/_metadata.py), written by hand."""
    for key, value in (("namespace", "/".join(path)), ("class_hierarchy", "/".join(classes))):
        p = node.metadata_props.add()
        p.key, p.value = key, value


def chain(n: int, op: str = "Relu") -> onnx.ModelProto:
    """``n`` ops in a row (a big graph made fast: nodes appended, not via make_graph)."""
    g = onnx.GraphProto(name="chain")
    g.input.append(helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4]))
    prev = "x"
    for i in range(n):
        node = g.node.add()
        node.op_type, node.name = op, f"op{i}"
        node.input.append(prev)
        prev = f"t{i}"
        node.output.append(prev)
    g.output.append(helper.make_tensor_value_info(prev, TensorProto.FLOAT, [1, 4]))
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def set_model_prop(model: onnx.ModelProto, key: str, value: str) -> None:
    p = model.metadata_props.add()
    p.key, p.value = key, value
