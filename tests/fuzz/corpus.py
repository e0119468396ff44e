"""The corpus: seeded generators of broken and hostile inputs, one per class.

A :class:`Case` writes its input into a folder of its own and returns the CLI arguments
that run it (``analyze --json`` or ``draw`` to SVG, Mermaid, DOT or HTML, in rotation).
``cases(seed, total)`` deals ``total`` cases over the classes by their weights, so the
default run and the long run (``MODELMAP_FUZZ_CASES``) draw from the same generators.
Payloads that would run code create the file ``CANARY`` in the case's folder; it must
stay absent.
"""

from __future__ import annotations

import io
import json
import math
import os
import random
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import onnx
from onnx import TensorProto, helper

from . import hostile
from .models import chain, random_model, set_model_prop, set_namespace

CANARY = "CANARY"
#: A long run (``MODELMAP_FUZZ_CASES`` above 1,000) draws 100,000-op graphs too.
BIG = int(os.environ.get("MODELMAP_FUZZ_CASES", "1000")) > 1000


@dataclass(frozen=True)
class Case:
    cls: str
    number: int
    build: Callable[[Path], list[str]]  # writes the input into a folder, returns the CLI arguments
    subprocess: bool = False  # run only in a real process (it may end the process)


COMMANDS = (("analyze", "--json"), ("draw", "svg"), ("draw", "mmd"), ("draw", "dot"), ("draw", "html"), ("analyze",))


def command(rng: random.Random, model: str, folder: Path) -> list[str]:
    cmd = rng.choice(COMMANDS)
    if cmd[0] == "analyze":
        return ["analyze", model, *cmd[1:]]
    return ["draw", model, "-o", str(folder / f"out.{cmd[1]}")]


def save(folder: Path, model: onnx.ModelProto | bytes, name: str = "model.onnx") -> str:
    data = model if isinstance(model, bytes) else model.SerializeToString()
    (folder / name).write_bytes(data)
    return str(folder / name)


def onnx_case(make: Callable[[random.Random], onnx.ModelProto | bytes]) -> Callable[[random.Random], Callable[[Path], list[str]]]:
    """A class whose case is one ONNX file (made by ``make``) run by a random command."""

    def gen(rng: random.Random) -> Callable[[Path], list[str]]:
        def build(folder: Path) -> list[str]:
            return command(rng, save(folder, make(rng)), folder)

        return build

    return gen


# --------------------------------------------------------------------------- broken protobuf
def _valid(rng: random.Random) -> onnx.ModelProto:
    return random_model(rng)


def _truncated(rng: random.Random) -> bytes:
    data = random_model(rng).SerializeToString()
    return data[: rng.randrange(0, len(data))]


def _bitflip(rng: random.Random) -> bytes:
    data = bytearray(random_model(rng).SerializeToString())
    for _ in range(rng.choice([1, 1, 2, 4, 16])):
        i = rng.randrange(len(data))
        data[i] = rng.randrange(256) if rng.random() < 0.5 else data[i] ^ (1 << rng.randrange(8))
    return bytes(data)


def _varint(n: int) -> bytes:
    out = bytearray()
    n &= (1 << 64) - 1
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, wire: int, rng: random.Random) -> bytes:
    key = _varint(number << 3 | wire)
    if wire == 0:
        return key + _varint(rng.choice([0, 1, -1, 2**62, 2**63 - 1, rng.randrange(2**32)]))
    if wire == 1:
        return key + struct.pack("<q", rng.randrange(-(2**63), 2**63))
    if wire == 5:
        return key + struct.pack("<i", rng.randrange(-(2**31), 2**31))
    payload = rng.choice([b"", b"\xff\xfe", os.urandom(rng.randrange(1, 40)), b"\x08\x01", _varint(2**62)])
    return key + _varint(len(payload)) + payload


def _wire(rng: random.Random) -> bytes:
    """Known field numbers of ModelProto/GraphProto/NodeProto with the wrong wire types."""
    model = random_model(rng)
    base = model.SerializeToString()
    junk = b"".join(_field(rng.choice([1, 2, 3, 4, 5, 6, 7, 8, 14, 20, 25]), rng.choice([0, 1, 2, 5]), rng) for _ in range(rng.randint(1, 4)))
    if rng.random() < 0.5:  # inside the graph: node (1), initializer (5), input (11), value_info (13)
        graph = model.graph.SerializeToString()
        inner = b"".join(_field(rng.choice([1, 2, 5, 11, 12, 13]), rng.choice([0, 1, 5]), rng) for _ in range(rng.randint(1, 3)))
        model.ClearField("graph")
        base = model.SerializeToString() + _varint(7 << 3 | 2) + _varint(len(graph + inner)) + graph + inner
        return base
    return base + junk if rng.random() < 0.5 else junk + base


# --------------------------------------------------------------------------- graphs that lie
def _huge_dims(rng: random.Random) -> onnx.ModelProto:
    model = random_model(rng, layers=rng.randint(2, 5))
    huge = rng.choice([2**62, 2**63 - 1, 2**40, -(2**62), 10**15])
    g = model.graph
    what = rng.choice(["input", "value_info", "initializer", "reshape", "constant_of_shape", "output"])
    if what in ("input", "output"):
        vi = (g.input if what == "input" else g.output)[0]
        for d in vi.type.tensor_type.shape.dim:
            d.dim_value = huge if rng.random() < 0.6 else d.dim_value
    elif what == "value_info":
        g.value_info.append(helper.make_tensor_value_info(g.node[0].output[0], TensorProto.FLOAT, [huge, huge, 3]))
    elif what == "initializer":  # claims dims with no data behind them
        t = g.initializer.add()
        t.name, t.data_type = "big_w", TensorProto.FLOAT
        t.dims.extend([huge, 4, 3, 3])
        g.node.append(helper.make_node("Conv", [g.output[0].name, "big_w"], ["conv_out"], name="huge_conv"))
        g.output[0].name = "conv_out"
    else:
        shape = helper.make_tensor("shape", TensorProto.INT64, [3], [huge, huge, 1] if huge > 0 else [1, huge, 1])
        g.initializer.append(shape)
        op = "Reshape" if what == "reshape" else "ConstantOfShape"
        ins = [g.output[0].name, "shape"] if op == "Reshape" else ["shape"]
        g.node.append(helper.make_node(op, ins, ["big_out"], name="huge_" + op))
        g.output[0].name = "big_out"
    return model


def _cycle(rng: random.Random) -> onnx.ModelProto:
    model = random_model(rng, layers=rng.randint(3, 8))
    nodes = model.graph.node
    i, j = sorted(rng.sample(range(len(nodes)), 2))
    nodes[i].input[0] = nodes[j].output[0] if rng.random() < 0.8 else nodes[i].output[0]  # back edge or self-loop
    return model


def _dangling(rng: random.Random) -> onnx.ModelProto:
    model = random_model(rng, layers=rng.randint(2, 8))
    g = model.graph
    node = rng.choice(list(g.node))
    what = rng.choice(["input", "extra", "output", "empty", "produced_twice", "no_inputs"])
    if what == "input":
        node.input[0] = "nobody_makes_this"
    elif what == "extra":
        node.input.append(rng.choice(["ghost", "", "x" * 300]))
    elif what == "output":
        g.output[0].name = "never_made"
    elif what == "empty":
        node.output[0] = ""
    elif what == "produced_twice":
        node.output[0] = g.input[0].name
    else:
        del g.input[:]
    return model


def _unknown_ops(rng: random.Random) -> onnx.ModelProto:
    model = random_model(rng, layers=rng.randint(2, 6))
    for node in rng.sample(list(model.graph.node), rng.randint(1, len(model.graph.node))):
        node.op_type = rng.choice(["FancyOp", "", "Conv2D", "relu", "If", "Loop", "Scan", "a" * 500, hostile.pick(rng)])
        if rng.random() < 0.5:
            node.domain = rng.choice(["com.example", "ai.onnx.ml", "com.microsoft", "", "x" * 200, hostile.pick(rng)])
            if rng.random() < 0.5:
                model.opset_import.append(helper.make_opsetid(node.domain, rng.choice([1, 0, -5, 10**6])))
    return model


def _bad_opset(rng: random.Random) -> onnx.ModelProto:
    model = random_model(rng, layers=rng.randint(2, 5))
    what = rng.choice(["version", "none", "twice", "ir"])
    if what == "version":
        model.opset_import[0].version = rng.choice([0, -1, 1, 6, 99, 10**9, 2**62])
    elif what == "none":
        del model.opset_import[:]
    elif what == "twice":
        model.opset_import.append(helper.make_opsetid("", rng.choice([7, 13, 21])))
    else:
        model.ir_version = rng.choice([0, -1, 1, 99, 2**40])
    return model


def _ref_attr(rng: random.Random) -> onnx.ModelProto:
    model = random_model(rng, layers=rng.randint(2, 6))
    node = rng.choice(list(model.graph.node))
    a = node.attribute.add()
    a.name = rng.choice(["alpha", "pads", "mode", "axis"])
    a.ref_attr_name = rng.choice(["outer", "", "x" * 100])
    a.type = rng.choice([onnx.AttributeProto.FLOAT, onnx.AttributeProto.INTS, onnx.AttributeProto.STRING, onnx.AttributeProto.INT, 0])
    return model


# --------------------------------------------------------------------------- text and metadata
def _hostile_names(rng: random.Random) -> onnx.ModelProto:
    return random_model(rng, name=lambda base: hostile.name(rng, base))


def _metadata(rng: random.Random) -> onnx.ModelProto:
    model = random_model(rng, layers=rng.randint(2, 6))
    key = rng.choice(["modelmap.layers"] * 4 + ["modelmap.framework", "modelmap.converter"])
    set_model_prop(model, key, hostile.layers_json(rng, [n.name for n in model.graph.node]))
    if rng.random() < 0.3:
        set_model_prop(model, "modelmap.framework", rng.choice(["pytorch", "keras", "onnx", "", "tensorflow", "<b>"]))
    if rng.random() < 0.3:
        node = rng.choice(list(model.graph.node))
        del node.metadata_props[:]
        set_namespace(node, rng.choice([[""], ["", ""], ["a", "", "b"], ["/"], [hostile.pick(rng)]]), rng.choice([[""], ["A"], []]))
    return model


def _scope_literals(rng: random.Random) -> onnx.ModelProto:
    model = random_model(rng, layers=rng.randint(2, 5), scopes=False)
    for node in model.graph.node:
        for key in ("pkg.torch.onnx.name_scopes", "pkg.torch.onnx.class_hierarchy"):
            p = node.metadata_props.add()
            p.key, p.value = key, hostile.literal(rng)
    return model


def _bad_utf8(rng: random.Random) -> bytes:
    """Invalid UTF-8 put into a string field: node name, op type, tensor name, graph name, metadata ..."""
    model = random_model(rng, layers=rng.randint(2, 5))
    marker = "Q" * 12
    target = rng.choice(["node", "op", "input", "graph", "meta_key", "meta_value", "doc", "dim_param", "attr", "domain", "ns"])
    g = model.graph
    if target == "node":
        g.node[0].name = marker
    elif target == "op":
        g.node[-1].op_type = marker
    elif target == "input":
        g.node[0].input[0] = g.input[0].name = marker
    elif target == "graph":
        g.name = marker
    elif target in ("meta_key", "meta_value"):
        set_model_prop(model, marker if target == "meta_key" else "modelmap.converter", marker)
    elif target == "doc":
        model.doc_string = marker
    elif target == "dim_param":
        g.input[0].type.tensor_type.shape.dim[0].dim_param = marker
    elif target == "attr":
        g.node[0].attribute.append(helper.make_attribute("note", marker))
    elif target == "domain":
        g.node[0].domain = marker
    else:
        set_namespace(g.node[0], [marker, "x"], ["A", "B"])
    bad = rng.choice([b"\xff\xfe", b"\xc3(", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80"])
    return model.SerializeToString().replace(marker.encode(), bad + b"Q" * (12 - len(bad)))


def _deep_paths(rng: random.Random) -> onnx.ModelProto:
    model = random_model(rng, layers=rng.randint(2, 4), scopes=False)
    levels = rng.choice([990, 1500, 5000, 20000])
    for node in model.graph.node:
        path = [f"m{k}" for k in range(levels)] + [node.name]
        set_namespace(node, path, ["C"] * len(path))
    return model


# --------------------------------------------------------------------------- generators by class
def gen_onnx(make: Callable[[random.Random], onnx.ModelProto | bytes]) -> Callable[[random.Random], Callable[[Path], list[str]]]:
    return onnx_case(make)


def _external(rng: random.Random) -> Callable[[Path], list[str]]:
    from .files import external_data_case

    return lambda folder: command(rng, external_data_case(rng, folder), folder)


def _file_kind(rng: random.Random) -> Callable[[Path], list[str]]:
    from .files import file_kind_case

    return lambda folder: command(rng, file_kind_case(rng, folder), folder)


def _archive(rng: random.Random) -> Callable[[Path], list[str]]:
    from .files import archive_case

    return lambda folder: command(rng, archive_case(rng, folder), folder)


def _pt2(rng: random.Random) -> Callable[[Path], list[str]]:
    from .files import pt2_case

    return lambda folder: command(rng, pt2_case(rng, folder), folder)


def _big(rng: random.Random) -> Callable[[Path], list[str]]:
    n = rng.choice([6_000, 20_000] + ([100_000] if BIG else []))

    def build(folder: Path) -> list[str]:
        return ["draw", save(folder, chain(n)), "-o", str(folder / rng.choice(["out.svg", "out.dot"]))]

    return build


def _factory(rng: random.Random) -> Callable[[Path], list[str]]:
    from .factories import factory_case

    return lambda folder: factory_case(rng, folder)


#: class -> (generator, weight in a run of 1,000, runs only in a subprocess)
CLASSES: dict[str, tuple[Callable[[random.Random], Callable[[Path], list[str]]], int, bool]] = {
    "valid": (gen_onnx(_valid), 40, False),
    "truncated": (gen_onnx(_truncated), 70, False),
    "bitflip": (gen_onnx(_bitflip), 110, False),
    "wrong_wire_types": (gen_onnx(_wire), 70, False),
    "huge_dims": (gen_onnx(_huge_dims), 60, False),
    "cycles": (gen_onnx(_cycle), 40, False),
    "dangling": (gen_onnx(_dangling), 40, False),
    "hostile_names": (gen_onnx(_hostile_names), 110, False),
    "unknown_ops": (gen_onnx(_unknown_ops), 50, False),
    "bad_opsets": (gen_onnx(_bad_opset), 40, False),
    "metadata_json": (gen_onnx(_metadata), 80, False),
    "ref_attr": (gen_onnx(_ref_attr), 30, False),
    "scope_literals": (gen_onnx(_scope_literals), 50, False),
    "bad_utf8": (gen_onnx(_bad_utf8), 50, False),
    "deep_paths": (gen_onnx(_deep_paths), 20, False),
    "external_data": (_external, 40, False),
    "file_kinds": (_file_kind, 30, False),
    "keras_archives": (_archive, 30, False),
    "pt2_archives": (_pt2, 15, False),
    "big_graphs": (_big, 3, False),
    "factories": (_factory, 40, True),
}


def cases(seed: int = 12, total: int = 1000, only: set[str] | None = None) -> list[Case]:
    """``total`` cases dealt over the classes by weight (each class at least one), seeded."""
    weight = sum(w for _, w, _ in CLASSES.values())
    out = []
    for cls, (gen, w, sub) in CLASSES.items():
        if only and cls not in only:
            continue
        rng = random.Random(f"{seed}:{cls}")
        for k in range(max(1, math.ceil(total * w / weight))):
            out.append(Case(cls, k, gen(rng), sub))
    return out


def zip_bytes(entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()


def dumps(value: object) -> str:
    return json.dumps(value)
