"""How long drawing takes: a 48-layer GPT-2-style transformer, unfolded vs folded, every format.

The model is built synthetically with ``onnx.helper`` (no torch, no download): GPT-2's
op structure at small widths — embeddings, then per block a decomposed LayerNorm,
attention (``c_attn``, head split, scaled dot product with a causal mask, ``c_proj``),
a residual Add, LayerNorm, an MLP with tanh-GELU, another residual Add — namespaced
like the torch converter names GPT-2 (``h/h.0/h.0.attn/h.0.attn.c_attn``). With 48
blocks it has about 2,600 ONNX nodes.

Run::

    .venv/bin/python benchmarks/render.py              # the table (Markdown) on stdout
    .venv/bin/python benchmarks/render.py --layers 12 --formats dot,svg,mmd

Each cell is the best of ``--repeat`` runs of the exporter's generator (the text or
bytes, no disk), after one analysis of the model (timed on its own). "unfolded"
draws every layer (``fold=False, fit="none"``), "folded" the same view with the 48
blocks folded into one marked x 48 (``fold=True, fit="none"``). ONNX and JSON do not
fold; their two columns time the same work. Then the figures drawn with no option but
the style, fitted (:mod:`modelmap.exporters._fit`): the detailed style at a readable
depth, and the paper style fitted to a 7 x 9 in page, which renders candidates with
Graphviz until one fits (each run starts with no cached candidate). Targets: folded
SVG under 1 s, at least 5x faster than Graphviz on the unfolded graph, and the fitted
SVGs under 1 s too.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from modelmap import _metadata as md  # noqa: E402
from modelmap.core import analyze_onnx  # noqa: E402
from modelmap.exporters import DrawOptions, generate  # noqa: E402
from modelmap.exporters._fit import fit_drawing, fit_page, measure_svg  # noqa: E402

FORMATS = ["dot", "svg", "pdf", "png", "mermaid", "markdown", "onnx", "json"]


class _Net:
    """Appends annotated nodes (the torch converter's metadata) to one graph."""

    def __init__(self, seed: int = 0) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.rng = np.random.default_rng(seed)
        self.n = 0

    def name(self, stem: str) -> str:
        self.n += 1
        return f"{stem}_{self.n}"

    def init(self, value: np.ndarray, stem: str = "w") -> str:
        name = self.name(stem)
        self.inits.append(numpy_helper.from_array(value, name))
        return name

    def weight(self, *shape: int) -> str:
        return self.init((self.rng.standard_normal(shape) * 0.05).astype(np.float32))

    def op(self, op_type: str, inputs: list[str], ns: list[str], cls: list[str], **attrs: object) -> str:
        out = self.name(op_type.lower())
        node = helper.make_node(op_type, inputs, [out], name=self.name(f"node_{op_type}"), **attrs)
        if ns:
            md.annotate_node(node, ns, cls)
        self.nodes.append(node)
        return out

    def layer_norm(self, x: str, ns: list[str], cls: list[str], d: int) -> str:
        mean = self.op("ReduceMean", [x, self.init(np.array([-1], np.int64))], ns, cls, keepdims=1)
        xc = self.op("Sub", [x, mean], ns, cls)
        var = self.op("ReduceMean", [self.op("Mul", [xc, xc], ns, cls), self.init(np.array([-1], np.int64))], ns, cls, keepdims=1)
        std = self.op("Sqrt", [self.op("Add", [var, self.init(np.array(1e-5, np.float32))], ns, cls)], ns, cls)
        y = self.op("Div", [xc, std], ns, cls)
        return self.op("Add", [self.op("Mul", [y, self.weight(d)], ns, cls), self.weight(d)], ns, cls)

    def linear(self, x: str, ns: list[str], cls: list[str], din: int, dout: int) -> str:
        return self.op("Add", [self.op("MatMul", [x, self.weight(din, dout)], ns, cls), self.weight(dout)], ns, cls)


def gpt2_like(n_layer: int = 48, d: int = 16, heads: int = 2, seq: int = 8, vocab: int = 50) -> onnx.ModelProto:
    """A GPT-2-shaped ONNX model with ``n_layer`` blocks (see the module docstring)."""
    net = _Net()
    hd = d // heads
    tok = net.op("Gather", [net.weight(vocab, d), "input_ids"], ["wte"], ["Embedding"])
    pos = net.op("Gather", [net.weight(seq, d), net.init(np.arange(seq, dtype=np.int64)[None, :])], ["wpe"], ["Embedding"])
    x = net.op("Add", [tok, pos], [], [])
    mask = net.init(np.tril(np.ones((seq, seq), dtype=bool)))
    neg = net.init(np.array(-1e4, np.float32))
    split_heads = net.init(np.array([1, seq, heads, hd], np.int64))
    merge_heads = net.init(np.array([1, seq, d], np.int64))
    scale = net.init(np.array(np.sqrt(hd), np.float32))
    for i in range(n_layer):
        blk = ["h", f"h.{i}"]
        bcls = ["ModuleList", "GPT2Block"]
        ln1 = net.layer_norm(x, [*blk, f"h.{i}.ln_1"], [*bcls, "LayerNorm"], d)
        attn, acls = [*blk, f"h.{i}.attn"], [*bcls, "GPT2Attention"]
        qkv = net.linear(ln1, [*attn, f"h.{i}.attn.c_attn"], [*acls, "Conv1D"], d, 3 * d)
        q, k, v = (net.op("Slice", [qkv, net.init(np.array([j * d])), net.init(np.array([(j + 1) * d])), net.init(np.array([2]))], attn, acls) for j in range(3))
        q, k, v = (net.op("Transpose", [net.op("Reshape", [t, split_heads], attn, acls)], attn, acls, perm=[0, 2, 1, 3]) for t in (q, k, v))
        kt = net.op("Transpose", [k], attn, acls, perm=[0, 1, 3, 2])
        s = net.op("Div", [net.op("MatMul", [q, kt], attn, acls), scale], attn, acls)
        s = net.op("Softmax", [net.op("Where", [mask, s, neg], attn, acls)], attn, acls, axis=-1)
        o = net.op("Transpose", [net.op("MatMul", [s, v], attn, acls)], attn, acls, perm=[0, 2, 1, 3])
        o = net.op("Reshape", [o, merge_heads], attn, acls)
        o = net.linear(o, [*attn, f"h.{i}.attn.c_proj"], [*acls, "Conv1D"], d, d)
        x = net.op("Add", [x, o], blk, bcls)
        ln2 = net.layer_norm(x, [*blk, f"h.{i}.ln_2"], [*bcls, "LayerNorm"], d)
        mlp, mcls = [*blk, f"h.{i}.mlp"], [*bcls, "GPT2MLP"]
        hdn = net.linear(ln2, [*mlp, f"h.{i}.mlp.c_fc"], [*mcls, "Conv1D"], d, 4 * d)
        act, gcls = [*mlp, f"h.{i}.mlp.act"], [*mcls, "NewGELUActivation"]
        cube = net.op("Mul", [net.op("Mul", [hdn, hdn], act, gcls), hdn], act, gcls)
        inner = net.op("Add", [hdn, net.op("Mul", [cube, net.init(np.array(0.044715, np.float32))], act, gcls)], act, gcls)
        t = net.op("Tanh", [net.op("Mul", [inner, net.init(np.array(0.7978845608, np.float32))], act, gcls)], act, gcls)
        g = net.op("Mul", [net.op("Mul", [hdn, net.init(np.array(0.5, np.float32))], act, gcls), net.op("Add", [t, net.init(np.array(1.0, np.float32))], act, gcls)], act, gcls)
        y = net.linear(g, [*mlp, f"h.{i}.mlp.c_proj"], [*mcls, "Conv1D"], 4 * d, d)
        x = net.op("Add", [x, y], blk, bcls)
    x = net.layer_norm(x, ["ln_f"], ["LayerNorm"], d)
    net.nodes[-1].output[0] = "logits_in"
    logits = helper.make_node("MatMul", ["logits_in", net.weight(d, vocab)], ["logits"], name="node_lm_head")
    md.annotate_node(logits, ["lm_head"], ["Linear"])
    graph = helper.make_graph(
        [*net.nodes, logits], "gpt2_like",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, seq])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, seq, vocab])],
        initializer=net.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="modelmap-benchmark")
    model.ir_version = 8
    md.set_model_info(model, "pytorch", "synthetic (benchmarks/render.py)", None)
    return model


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (Graphviz), user + system."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def best_of(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--layers", type=int, default=48)
    p.add_argument("--repeat", type=int, default=1, help="best of N runs per cell")
    p.add_argument("--formats", default=",".join(FORMATS))
    args = p.parse_args(argv)
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]

    model = gpt2_like(args.layers)
    t0 = time.perf_counter()
    analysis = analyze_onnx(model)
    t_analyze = time.perf_counter() - t0
    layers = analysis.layer_graph().number_of_nodes()
    print(f"GPT-2-style model: {args.layers} blocks, {len(model.graph.node)} ONNX nodes, {layers} layers, "
          f"{len(analysis.skips)} skips, blocks {[f'{b.name} x{b.count}' for b in analysis.blocks]}; analysis {t_analyze:.2f} s\n")
    print("| format | unfolded (s) | folded (s) | speed-up | size unfolded | size folded |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    results = {}
    for fmt in formats:
        row = []
        marks = []
        for fold in (False, True):
            out: list[object] = []
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                t = best_of(lambda: out.append(generate(analysis, fmt, DrawOptions(fold=fold, fit="none"))),  # noqa: B023
                            args.repeat)
            row.append((t, len(out[-1])))
            marks.append(" *" if caught else "")
        results[fmt] = row
        (tu, su), (tf, sf) = row
        print(f"| {fmt} | {tu:.3f}{marks[0]} | {tf:.3f}{marks[1]} | {tu / tf:.1f}x | {su:,} | {sf:,} |", flush=True)
    print("\n\\* the exporter warned: Mermaid folded or collapsed the drawing to fit its limits; Graphviz scaled an oversized PNG down")
    fitted_ok = fitted_table(analysis, [f for f in formats if f in ("dot", "svg", "pdf", "png")], args.repeat)
    if "svg" in results:
        (tu, _), (tf, _) = results["svg"]
        ok = tf < 1.0 and tu / tf >= 5 and fitted_ok
        print(f"\nfolded SVG {tf:.3f} s (target < 1 s), {tu / tf:.1f}x faster than Graphviz on the unfolded graph "
              f"(target >= 5x); fitted SVGs under 1 s: {'met' if ok else 'NOT met'}")
        return 0 if ok else 1
    return 0


def fitted_table(analysis: object, formats: list[str], repeat: int) -> bool:
    """Time the default figures of each style (fitted, no cached candidate); True if every SVG took < 1 s."""
    print("\n| style (no other option) | drawn | format | time (s) | CPU (s) | size | smallest text at 7 x 9 in |")
    print("| --- | --- | --- | ---: | ---: | --- | ---: |")
    ok = True
    for style in ("detailed", "paper"):
        options = DrawOptions(style=style)

        def cold(fmt: str, options: DrawOptions = options) -> object:
            for key in [k for k in analysis._cache if isinstance(k, tuple) and k[:1] == ("exporters._fit",)]:
                del analysis._cache[key]  # each run lays the candidates out again
            return generate(analysis, fmt, options)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            chosen = fit_drawing(analysis, options).options
            size = measure_svg(generate(analysis, "svg", options))
            for fmt in formats:
                c0 = cpu_seconds()
                t = best_of(lambda: cold(fmt), repeat)  # noqa: B023
                cpu = (cpu_seconds() - c0) / repeat
                ok = ok and (fmt != "svg" or t < 1.0)
                page = fit_page(DrawOptions(fit="page"))
                drawn = f"depth {chosen.depth or 'all'}, {'folded' if chosen.fold else 'unfolded' if chosen.fold is False else 'fold auto'}"
                print(f"| {style} | {drawn} | {fmt} | {t:.3f} | {cpu:.3f} | {size.width_pt / 72:.1f} x {size.height_pt / 72:.1f} in "
                      f"| {size.smallest_text(page):.1f} pt |", flush=True)
    return ok


if __name__ == "__main__":
    sys.exit(main())
