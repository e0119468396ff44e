"""Hand-built, annotated ONNX graphs for the exporter tests (no framework needed).

Each builder returns an ``onnx.ModelProto`` annotated as a converter would
(:mod:`modelmap._metadata`): PyTorch-style qualified namespaces and class
hierarchies per node, the framework recorded on the model. The seed models mirror
``fixtures/torch_models.py`` layer for layer, with small random weights, so the
exporters can be tested, and their goldens kept, without torch.

The tests at the bottom only check that the builders make valid, runnable graphs.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from modelmap import _metadata as md

OPSET = 17


class Builder:
    """Appends annotated ONNX nodes; names tensors and nodes uniquely."""

    def __init__(self, name: str, seed: int = 0) -> None:
        self.name = name
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.rng = np.random.default_rng(seed)
        self._count = 0

    def _fresh(self, stem: str) -> str:
        self._count += 1
        return f"{stem}_{self._count}"

    def weight(self, stem: str, shape: Sequence[int], scale: float | None = None) -> str:
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else int(shape[0])
        scale = scale if scale is not None else 1.0 / np.sqrt(max(fan_in, 1))
        name = self._fresh(stem)
        self.inits.append(numpy_helper.from_array((self.rng.standard_normal(shape) * scale).astype(np.float32), name))
        return name

    def const(self, stem: str, value: np.ndarray) -> str:
        name = self._fresh(stem)
        self.inits.append(numpy_helper.from_array(value, name))
        return name

    def op(
        self,
        op_type: str,
        inputs: Sequence[str],
        namespace: Sequence[str] = (),
        classes: Sequence[str] = (),
        n_out: int = 1,
        **attrs: object,
    ) -> str:
        outs = [self._fresh(f"{op_type.lower()}_out") for _ in range(n_out)]
        node = helper.make_node(op_type, list(inputs), outs, name=self._fresh(op_type), **attrs)
        if namespace:
            md.annotate_node(node, list(namespace), list(classes))
        self.nodes.append(node)
        return outs[0]

    # -- layers (namespace = the module path, classes aligned) ------------------
    def conv(self, x: str, ns: Sequence[str], cls: Sequence[str], cin: int, cout: int, k: int, stride: int = 1, pad: int = 0) -> str:
        w = self.weight("weight", (cout, cin, k, k))
        b = self.weight("bias", (cout,), 0.1)
        return self.op("Conv", [x, w, b], ns, cls, kernel_shape=[k, k], strides=[stride, stride], pads=[pad] * 4)

    def bn(self, x: str, ns: Sequence[str], cls: Sequence[str], c: int) -> str:
        scale = self.const("bn_scale", (1 + 0.1 * self.rng.standard_normal(c)).astype(np.float32))
        bias = self.const("bn_bias", (0.1 * self.rng.standard_normal(c)).astype(np.float32))
        mean = self.const("bn_mean", (0.1 * self.rng.standard_normal(c)).astype(np.float32))
        var = self.const("bn_var", (0.5 + self.rng.random(c)).astype(np.float32))
        return self.op("BatchNormalization", [x, scale, bias, mean, var], ns, cls)

    def linear(self, x: str, ns: Sequence[str], cls: Sequence[str], cin: int, cout: int) -> str:
        w = self.weight("weight", (cout, cin))
        b = self.weight("bias", (cout,), 0.1)
        return self.op("Gemm", [x, w, b], ns, cls, transB=1)

    def model(self, inputs: dict[str, Sequence[int]], outputs: dict[str, str], framework: str = "pytorch") -> onnx.ModelProto:
        """Finish: ``inputs`` name -> shape; ``outputs`` output name -> tensor to expose."""
        nodes = list(self.nodes)
        rename = {tensor: out_name for out_name, tensor in outputs.items()}
        for node in nodes:  # the last ops write the graph outputs directly
            node.input[:] = [rename.get(t, t) for t in node.input]
            node.output[:] = [rename.get(t, t) for t in node.output]
        graph = helper.make_graph(
            nodes,
            self.name,
            [helper.make_tensor_value_info(n, TensorProto.FLOAT, list(s)) for n, s in inputs.items()],
            [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in outputs],
            initializer=self.inits,
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="modelmap-tests")
        model.ir_version = 8
        md.set_model_info(model, framework, "hand-built (tests)", None)
        return onnx.shape_inference.infer_shapes(model)


def _seed_net(residual: bool) -> onnx.ModelProto:
    """The seed residual network (or its plain twin), as the torch fixture names it."""
    b = Builder("seed_resnet" if residual else "seed_plain")
    x = b.bn("input", ["input_bn"], ["BatchNorm2d"], 3)
    x = b.conv(x, ["conv"], ["Conv2d"], 3, 64, 3, pad=1)
    x = b.op("Relu", [x], ["relu"], ["ReLU"])
    x = b.bn(x, ["bn"], ["BatchNorm2d"], 64)
    channels = 64
    per_stage = (2, 5, 5, 2) if residual else (4, 10, 10, 4)
    for i, count in enumerate(per_stage):
        filters = 64 * 2**i
        stage = f"stage{i + 1}"
        for j in range(count):
            down = j == 0 and i > 0
            blk = f"{stage}.{j}"
            cin = channels if j == 0 else filters
            if residual:
                cls = ["Sequential", "ResidualBlock"]

                def ns(leaf: str) -> list[str]:
                    return [stage, blk, f"{blk}.{leaf}"]  # noqa: B023

                y = b.conv(x, ns("conv1"), [*cls, "Conv2d"], cin, filters, 3, stride=2 if down else 1, pad=1)
                y = b.op("Relu", [y], ns("relu1"), [*cls, "ReLU"])
                y = b.bn(y, ns("bn1"), [*cls, "BatchNorm2d"], filters)
                y = b.conv(y, ns("conv2"), [*cls, "Conv2d"], filters, filters, 3, pad=1)
                s = b.conv(x, ns("shortcut"), [*cls, "Conv2d"], cin, filters, 1, stride=2) if down else x
                z = b.op("Add", [s, y], [stage, blk], cls)
                z = b.op("Relu", [z], ns("relu2"), [*cls, "ReLU"])
                x = b.bn(z, ns("bn2"), [*cls, "BatchNorm2d"], filters)
            else:
                cls = ["Sequential", "PlainLayer"]
                x = b.conv(x, [stage, blk, f"{blk}.conv"], [*cls, "Conv2d"], cin, filters, 3, stride=2 if down else 1, pad=1)
                x = b.op("Relu", [x], [stage, blk, f"{blk}.relu"], [*cls, "ReLU"])
                x = b.bn(x, [stage, blk, f"{blk}.bn"], [*cls, "BatchNorm2d"], filters)
        channels = filters
    x = b.op("AveragePool", [x], ["pool"], ["AvgPool2d"], kernel_shape=[4, 4], strides=[4, 4])
    x = b.op("Flatten", [x], ["flatten"], ["Flatten"], axis=1)
    x = b.linear(x, ["fc"], ["Linear"], channels, 10)
    x = b.op("Softmax", [x], ["softmax"], ["Softmax"], axis=1)
    return b.model({"input": (1, 3, 32, 32)}, {"output": x})


def seed_resnet() -> onnx.ModelProto:
    """14 residual blocks ([2, 5, 5, 2]), 3 with a 1x1 stride-2 projection shortcut."""
    return _seed_net(residual=True)


def seed_plain() -> onnx.ModelProto:
    """The plain twin: [4, 10, 10, 4] conv-relu-bn layers, no skips."""
    return _seed_net(residual=False)


def small_cnn() -> onnx.ModelProto:
    """Conv(32,3)-ReLU-MaxPool-Conv(64,3)-ReLU-MaxPool-Flatten-Linear(128)-ReLU-Linear(10), 64x64x3."""
    b = Builder("small_cnn")
    x = b.conv("input", ["conv1"], ["Conv2d"], 3, 32, 3)
    x = b.op("Relu", [x], ["relu1"], ["ReLU"])
    x = b.op("MaxPool", [x], ["pool1"], ["MaxPool2d"], kernel_shape=[2, 2], strides=[2, 2])
    x = b.conv(x, ["conv2"], ["Conv2d"], 32, 64, 3)
    x = b.op("Relu", [x], ["relu2"], ["ReLU"])
    x = b.op("MaxPool", [x], ["pool2"], ["MaxPool2d"], kernel_shape=[2, 2], strides=[2, 2])
    x = b.op("Flatten", [x], ["flatten"], ["Flatten"], axis=1)
    x = b.linear(x, ["fc1"], ["Linear"], 64 * 14 * 14, 128)
    x = b.op("Relu", [x], ["relu3"], ["ReLU"])
    x = b.linear(x, ["fc2"], ["Linear"], 128, 10)
    return b.model({"input": (1, 3, 64, 64)}, {"output": x})


def mlp() -> onnx.ModelProto:
    """Dense(64, relu, input 784)-Dense(64, relu)-Dense(10, softmax), Keras-style names."""
    b = Builder("mlp")
    x = b.linear("input", ["dense"], ["Dense"], 784, 64)
    x = b.op("Relu", [x], ["dense"], ["Dense"])
    x = b.linear(x, ["dense_1"], ["Dense"], 64, 64)
    x = b.op("Relu", [x], ["dense_1"], ["Dense"])
    x = b.linear(x, ["dense_2"], ["Dense"], 64, 10)
    x = b.op("Softmax", [x], ["dense_2"], ["Dense"], axis=1)
    return b.model({"input": (1, 784)}, {"output": x}, framework="keras")


def convnet() -> onnx.ModelProto:
    """Conv2d(1,32,3,pad 1)-ReLU-MaxPool(2)-view-Linear(32*14*14,128)-ReLU-Linear(128,10)."""
    b = Builder("convnet")
    x = b.conv("input", ["conv"], ["Conv2d"], 1, 32, 3, pad=1)
    x = b.op("Relu", [x])  # F.relu: a root-level op
    x = b.op("MaxPool", [x], ["pool"], ["MaxPool2d"], kernel_shape=[2, 2], strides=[2, 2])
    x = b.op("Flatten", [x], axis=1)
    x = b.linear(x, ["fc1"], ["Linear"], 32 * 14 * 14, 128)
    x = b.op("Relu", [x])
    x = b.linear(x, ["fc2"], ["Linear"], 128, 10)
    return b.model({"input": (1, 1, 28, 28)}, {"output": x})


#: Names that try to break out of every output language.
HOSTILE = [
    'quote " and \' apostrophe',
    "brackets [x] {y} (z) <w> |p|",
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "new\nline\r\nand\ttab",
    "a --> b -.-> c ==> d",
    "end",
    "graph",
    "subgraph",
    "click",
    "style",
    "classDef linkStyle %% comment ;",
    "back\\slash \\N \\G \\l",
    "&amp; &#0; &#x1F600; #quot; #35;",
    "`markdown` **bold** $math$",
    "ünïcödé 漢字 " + "Ω" * 280,
    "nul\x00 bell\x07 lone\ud800surrogate",
    "]]><!--",
    "digraph { a -> b }",
]


def hostile() -> onnx.ModelProto:
    """A small residual net whose node, tensor, namespace and graph names are all hostile.

    Layers ``h0..`` get a hostile name each (as the last namespace segment, under a
    hostile parent module), tensors are renamed hostile too, and so is the graph.
    """
    names = [n.replace("\ud800", "?").replace("\x00", "") for n in HOSTILE]  # protobuf needs valid UTF-8
    b = Builder("hostile")
    x = "input"
    parent = names[6]  # "end" as a module
    for i, name in enumerate(names):
        ns = [parent, f"{parent}.{i}", name]
        cls = ["Sequential", names[(i + 1) % len(names)], names[(i + 2) % len(names)]]
        if i % 3 == 2:
            w = b.weight("w", (8, 8))
            y = b.op("MatMul", [x, w], ns, cls)
            x = b.op("Add", [x, y], ns[:2], cls[:2])  # an identity skip around the hostile layer
        else:
            w = b.weight("w", (8, 8))
            x = b.op("MatMul", [x, w], ns, cls)
            x = b.op("Relu", [x], ns, cls)
    model = b.model({"input": (2, 8)}, {"output": x})
    # hostile tensor, node and graph names (kept unique)
    rename = {}
    for i, node in enumerate(model.graph.node):
        node.name = f"{names[i % len(names)]}#{i}"
        for k, out in enumerate(node.output):
            if out != "output":
                rename[out] = f"{names[(i + 3) % len(names)]}:{i}:{k}"
    for node in model.graph.node:
        node.input[:] = [rename.get(t, t) for t in node.input]
        node.output[:] = [rename.get(t, t) for t in node.output]
    for vi in model.graph.value_info:
        vi.name = rename.get(vi.name, vi.name)
    model.graph.name = names[2] + names[4]
    return model


SEEDS = {
    "seed_resnet": seed_resnet,
    "seed_plain": seed_plain,
    "small_cnn": small_cnn,
    "mlp": mlp,
    "convnet": convnet,
}


# ------------------------------------------------------------------------- tests


def _run(model: onnx.ModelProto) -> list[np.ndarray]:
    import onnxruntime as ort

    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = {}
    for i in sess.get_inputs():
        feeds[i.name] = np.random.default_rng(1).standard_normal([d if isinstance(d, int) else 1 for d in i.shape]).astype(np.float32)
    return sess.run(None, feeds)


def test_builders_make_valid_runnable_graphs() -> None:
    for name, build in {**SEEDS, "hostile": hostile}.items():
        model = build()
        onnx.checker.check_model(model, full_check=True)
        (out,) = _run(model)
        assert np.isfinite(out).all(), name
        # every op is annotated except convnet's functional ops
        bare = [n.op_type for n in model.graph.node if not md.node_namespace(n)[0]]
        assert bare == (["Relu", "Flatten", "Relu"] if name == "convnet" else []), name


def test_seed_resnet_mirrors_the_fixture() -> None:
    model = seed_resnet()
    ops = [n.op_type for n in model.graph.node]
    assert ops.count("Add") == 14
    # 1 stem conv + 2 per block + 3 projection shortcuts
    assert ops.count("Conv") == 1 + 2 * 14 + 3
    shortcuts = {md.node_namespace(n)[0][-1] for n in model.graph.node if md.node_namespace(n)[0][-1:] and md.node_namespace(n)[0][-1].endswith("shortcut")}
    assert shortcuts == {"stage2.0.shortcut", "stage3.0.shortcut", "stage4.0.shortcut"}
    (out,) = _run(model)
    assert out.shape == (1, 10)
    assert np.allclose(out.sum(axis=1), 1.0, atol=1e-5)  # softmax


# ------------------------------------------------------------------ analysis

ROOT = Path(__file__).resolve().parents[1]
MMDC = ROOT / ".tools" / "node_modules" / ".bin" / "mmdc"
CHROMIUM = Path("/usr/bin/chromium")
# what an error diagram holds (the stylesheet of every diagram names .error-icon too)
MERMAID_ERRORS = re.compile(r'Syntax error|Parse error|Lexical error|class="error-(?:icon|text)"|Maximum text size|Edge limit', re.I)


def mermaid_cli_available() -> bool:
    return MMDC.exists() and CHROMIUM.exists() and shutil.which("node") is not None


def render_mermaid(sources: dict[str, str], workdir: Path) -> dict[str, str]:
    """Render every Mermaid text with the real mermaid-cli; name -> SVG text.

    All diagrams go through ONE ``mmdc`` call (a Markdown file with one fenced block
    each: mmdc renders them in one browser). When that call fails, each diagram is
    rendered alone to name the one that broke. Raises AssertionError with mmdc's message.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "puppeteer.json"
    config.write_text('{"executablePath": "%s", "args": ["--no-sandbox", "--disable-gpu"]}' % CHROMIUM)
    names = list(sources)
    doc = "".join(f"```mermaid\n{sources[n]}```\n\n" for n in names)
    (workdir / "all.md").write_text(doc, encoding="utf-8")

    def mmdc(inp: Path, out: Path) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "PUPPETEER_SKIP_DOWNLOAD": "1"}
        return subprocess.run(
            [str(MMDC), "-p", str(config), "-i", str(inp), "-o", str(out), "-q"],
            capture_output=True, text=True, timeout=600, env=env,
        )

    r = mmdc(workdir / "all.md", workdir / "out.md")
    if r.returncode != 0:
        for n in names:
            one = workdir / f"one_{names.index(n)}.mmd"
            one.write_text(sources[n], encoding="utf-8")
            r1 = mmdc(one, one.with_suffix(".svg"))
            assert r1.returncode == 0, f"mermaid-cli rejects {n!r}: {(r1.stderr or r1.stdout).strip()[:1500]}"
        raise AssertionError(f"mermaid-cli failed on the batch only: {(r.stderr or r.stdout).strip()[:1500]}")
    return {n: (workdir / f"out-{i}.svg").read_text(encoding="utf-8") for i, n in enumerate(names, start=1)}




def analyze(model: onnx.ModelProto):  # -> modelmap.core.Analysis
    """The core's analysis of ``model``."""
    from modelmap.core import analyze_onnx

    return analyze_onnx(model)


_ANALYSES: dict[str, object] = {}


def seed_analysis(name: str):  # -> Analysis, cached: analyses are read-only in the tests
    if name not in _ANALYSES:
        build = hostile if name == "hostile" else SEEDS[name]
        _ANALYSES[name] = analyze(build())
    return _ANALYSES[name]


def dot_json(dot_text: str) -> dict:
    """Graphviz's own parse (and layout) of DOT text, as ``dot -Tjson0`` reports it.

    Asserts that Graphviz exits 0 and prints nothing on stderr (no syntax error, no warning).
    """
    r = subprocess.run(["dot", "-Tjson0"], input=dot_text.encode("utf-8"), capture_output=True, timeout=300)
    assert r.returncode == 0 and not r.stderr.strip(), r.stderr.decode("utf-8", "replace")[:2000]
    import json

    return json.loads(r.stdout)


def dot_parts(dot_text: str) -> tuple[dict[str, dict], list[dict], dict[str, dict]]:
    """(nodes by name, edges with tail/head names, clusters by name) from Graphviz's parse.

    A cluster title moved clear of an arrow may be an HTML-like label (a table of the title
    and an empty cell, or the title on two lines, exporters/_titles.py); its ``label`` here
    is the title's text on one line."""
    d = dot_json(dot_text)
    objects = d.get("objects", [])
    by_gvid = {o["_gvid"]: o for o in objects}
    nodes = {o["name"]: o for o in objects if "nodes" not in o and not o["name"].startswith("cluster")}
    clusters = {o["name"]: o for o in objects if o["name"].startswith("cluster")}
    for c in clusters.values():
        if re.search(r"<(table|br)\b", c.get("label", "")):
            c["label"] = html.unescape(re.sub(r"<[^>]*>", "", re.sub(r"<br[^>]*>(?!$)", " ", c["label"])))
    edges = []
    for e in d.get("edges", []):
        e = dict(e)
        e["tail_name"], e["head_name"] = by_gvid[e["tail"]]["name"], by_gvid[e["head"]]["name"]
        edges.append(e)
    return nodes, edges, clusters
