"""Skip connections, exactly as DESIGN.md defines them, found through dominators.

A merge op (``Add``/``Sum``, ``Concat``, ``Mul``) closes a skip connection when its data
inputs all descend from one fork tensor *t*, one input being *t* itself (or *t* through a
short shortcut) and another reaching the merge through a body with at least one learned
layer. The fork is the merge's immediate dominator in the data-flow graph
(:meth:`ModelGraph.data_flow`, shape and constant computations excluded), computed in
one pass over its topologically numbered nodes (:mod:`~modelmap.core.dataflow`).

====================  =======  ==================================================================
kind                  merge    shortcut
====================  =======  ==================================================================
``identity``          Add/Sum  *t* unchanged (reshape, dropout, identity, a parameter-free pool)
``projection``        Add/Sum  a linear map of *t*: one conv, linear or elementwise learned scale,
                               with norms, pools, reshapes, no nonlinearity; fewer learned
                               layers than the body (ResNet's 1x1 conv + BN, Mamba's ``x * D``)
``concat``            Concat   *t* unchanged (reshape, identity, dropout)
``gate``              Mul      *t* unchanged, times a learned branch ending in sigmoid/softmax
====================  =======  ==================================================================

What counts as learned and as nonlinear:

- *Learned layers* are conv, linear, norm, embedding, attention and recurrent ops, and ops
  reading a parameter that varies along one axis at most (a bias, a per-channel scale).
  A parameter over two or more axes read by an elementwise op is a constant table (rotary
  cos/sin, masks, ALiBi or relative-position biases; constant folding makes them
  initializers like any weight): reading one makes no layer learned.
- *Nonlinearities* are activations, nonlinear elementwise ops (GELU's ``Erf``, ``Exp``),
  products of two data tensors (attention scores), attention and recurrent ops; ops of a
  normalization layer are not counted. An Add/Sum whose branches all hold one (Falcon's
  ``mlp + attn``) sums parallel branches: no skip.

How it stays near-linear and where plain dominators break:

- *Several graph inputs.* A virtual source feeds every graph input; one
  :func:`~.dataflow.immediate_dominators` pass then covers the whole graph. A merge whose
  immediate dominator is the virtual source mixes data from several inputs; which one its
  main path comes from is decided per merge (:meth:`_Finder.across_inputs`), on the part
  of the graph that descends from that input alone, computed lazily once per input.
- *The fork tensor as one input* (DenseNet, U-Net, every residual): the fork is the
  producer of that input and the shortcut chain is empty.
- *More than two inputs* (``Sum``, DenseNet's ``Concat`` of all earlier features): one
  input is the shortcut, all the others form the body.
- *Bodies that are not chains* (attention with query/key/value branches): the body is the
  region between fork and merge, found by walking back from the merge's body inputs until
  the fork. Every node met is dominated by the fork, so the walks stay inside one block;
  their total cost is the sum of the blocks' sizes, not the graph's size per merge.
- *Parallel branches* (Inception, Falcon): no input is the fork tensor itself or a linear
  map of it, so nothing is a shortcut.

Every merge that is not a skip gets a :class:`Rejection` with one sentence saying why.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from . import ops as opt
from .analysis import Rejection, Skip
from .dataflow import SOURCE, immediate_dominators
from .graph import ModelGraph, Node
from .kinds import LayerKind, NodeRole, SkipKind

MAX_CHAIN = 64  # a shortcut longer than this is not "short"
MAX_REGION = 200_000  # safety bound on one body walk

_FLOW = (NodeRole.DATA, NodeRole.INPUT)
#: why a merge off the data flow is no skip, by its role
_OFF_FLOW = {
    NodeRole.SHAPE: "part of a shape computation, not data flow",
    NodeRole.CONST: "computes a constant, not data flow",
    NodeRole.PARAM: "combines parameters only, no data input",
}
#: op kinds that are nonlinear as a whole
_NONLINEAR_KINDS = (LayerKind.ACTIVATION, LayerKind.ATTENTION, LayerKind.RECURRENT)
#: op kinds that are one learned linear map (on a projection shortcut)
_LINEAR_MAPS = (LayerKind.CONV, LayerKind.LINEAR)
#: layer kinds whose merges with a constant are bias adds
_BIASED = (LayerKind.LINEAR, LayerKind.CONV, LayerKind.EMBEDDING)


@dataclass
class _Input:
    node: int  # data-flow number
    tensor: str
    chain: list[int]  # ops from the input back towards the fork (input first), fork excluded
    reached: bool  # the chain arrives at the fork


def find_skips(
    g: ModelGraph, op_layer: Mapping[str, str], layer_kinds: Mapping[str, LayerKind] | None = None
) -> tuple[list[Skip], list[Rejection]]:
    """All skip connections of ``g`` and, for every other merge op, why it is not one.

    Parameters
    ----------
    g : ModelGraph
    op_layer : mapping
        Node id -> layer name (:attr:`Grouping.op_layer`); names the skips' layers.
    layer_kinds : mapping, optional
        Layer name -> kind; lets a rejection say "bias add" or "normalization" (by default
        the kind is guessed from the layer's ops).

    Returns
    -------
    (skips, rejections), both in topological order of their merge ops.

    Examples
    --------
    >>> import onnx
    >>> from modelmap.core.graph import build_graph
    >>> m = onnx.parser.parse_model('''<ir_version: 8, opset_import: ["" : 17]>
    ... g (float[1,2] x) => (float[1,2] y) <float[2,2] W = {1., 2., 3., 4.}, float[2] b = {0., 1.}> {
    ...   h = MatMul(x, W)  r = Relu(h)  s = Add(r, x)  y = Add(s, b) }''')
    >>> skips, rejected = find_skips(build_graph(m), {})
    >>> [(s.kind.value, s.fork, s.merge, s.body) for s in skips]
    [('identity', 'input:x', 'Add_2', ('MatMul_0', 'Relu_1'))]
    >>> rejected[0].reason
    'Add at Add_3: one input is an initializer or constant (a bias or scale), not a skip'
    """
    return _Finder(g, op_layer, layer_kinds or {}).run()


class _Finder:
    """The detector's state. Nodes are handled by their number (:attr:`ModelGraph.nodes`)
    and named by node id only in its results."""

    def __init__(self, g: ModelGraph, op_layer: Mapping[str, str], layer_kinds: Mapping[str, LayerKind]) -> None:
        self.g = g
        self.layer_kinds = layer_kinds
        self.nodes = g.nodes  # number -> Node
        self.op_layer = op_layer
        self.pred = g.data_flow().preds
        self._idom: dict[int, int] | None = None
        self._colors: list[int] | None = None
        self._color_size: list[int] | None = None
        self._color_idom: dict[int, tuple[dict[int, int], set[int]]] = {}
        self._streams: list[int] | None = None
        self._learned: list[bool | None] = [None] * len(g.nodes)

    # -- naming ------------------------------------------------------------------
    def layer(self, n: int) -> str:
        """The layer of node number ``n``."""
        nid = self.nodes[n].id
        return self.op_layer.get(nid, nid)

    def where(self, m: Node) -> str:
        return f"{m.op_type} at {self.layer(m.number)}"

    # -- dominators ----------------------------------------------------------------
    def idom(self) -> dict[int, int]:
        """Immediate dominators, with a virtual source (:data:`SOURCE`) feeding every graph
        input and every data op without a data input."""
        if self._idom is None:
            self._idom = immediate_dominators(self.pred)
        return self._idom

    def colors(self) -> list[int]:
        """Bit i set when a node descends from graph input i (one topological pass)."""
        if self._colors is None:
            n_inputs = len(self.g.inputs)  # graph input i is node number i
            col = [1 << i for i in range(n_inputs)]
            for ps in self.pred[n_inputs:]:
                c = 0
                for p in ps:
                    c |= col[p]
                col.append(c)
            self._colors = col
        return self._colors

    def color_size(self, bit: int) -> int:
        """How many data-flow nodes descend from graph input ``bit``."""
        if self._color_size is None:
            sizes = [0] * len(self.g.inputs)
            for c in self.colors():
                b = 0
                while c:
                    if c & 1:
                        sizes[b] += 1
                    c >>= 1
                    b += 1
            self._color_size = sizes
        return self._color_size[bit]

    def color_idom(self, bit: int) -> tuple[dict[int, int], set[int]]:
        """Immediate dominators on the part of the data flow that descends from graph
        input ``bit`` (whose number is ``bit``), and that part."""
        if bit not in self._color_idom:
            mask = 1 << bit
            keep = [n for n, c in enumerate(self.colors()) if c & mask]
            self._color_idom[bit] = immediate_dominators(self.pred, keep, root=bit), set(keep)
        return self._color_idom[bit]

    def streams(self) -> list[int]:
        """The graph inputs a merge's main path can come from, the largest first.

        An input with no learned layer of its own (every op that descends from it alone is
        unlearned: an attention mask, position ids) is a side input; it can never be the
        main one, unless no input has a learned layer of its own.
        """
        if self._streams is None:
            n_inputs = len(self.g.inputs)
            own = [False] * n_inputs
            for n, c in enumerate(self.colors()):
                if n >= n_inputs and c and not c & (c - 1) and self.learned(n):
                    own[c.bit_length() - 1] = True
            main = [b for b in range(n_inputs) if own[b]] or list(range(n_inputs))
            self._streams = sorted(main, key=lambda b: (-self.color_size(b), b))
        return self._streams

    # -- op properties ---------------------------------------------------------------
    def kind(self, n: int) -> LayerKind:
        return _op_kind(self.nodes[n])

    def learned(self, n: int) -> bool:
        """Whether op ``n`` is a learned layer: a conv, linear, norm, embedding, attention or
        recurrent op, or one that reads a parameter varying along one axis at most (a bias,
        a per-channel scale). A parameter over two or more axes read by an elementwise op is
        a constant table (rotary cos/sin, a mask, an ALiBi or relative-position bias), however
        it was computed: reading it makes no layer learned."""
        v = self._learned[n]
        if v is None:
            d = self.nodes[n]
            if not d.is_op:
                v = False
            elif _op_kind(d) in opt.LEARNED_KINDS:
                v = True
            else:
                v = bool(d.params or d.reads_params) and not self.reads_table(d)
            self._learned[n] = v
        return v

    def reads_table(self, d: Node) -> bool:
        """Whether ``d`` reads a parameter with two or more axes longer than 1 (see :meth:`learned`)."""
        for (_, tensor, slot), p in zip(d.sources, d.producers):
            if slot >= 0 and opt.meta_slot(d.op_type, slot):
                continue
            info = self.g.initializers.get(tensor) if p < 0 else None
            if (info is not None and info.is_param) or (p >= 0 and self.nodes[p].role is NodeRole.PARAM):
                t = self.g.tensors.get(tensor)
                shape = t.shape if t is not None else None
                if shape is not None and sum(1 for dim in shape if dim != 1) >= 2:
                    return True
        return False

    def data_reads(self, d: Node) -> int:
        """How many of ``d``'s input slots read data (a product of two data tensors is nonlinear)."""
        reads = zip(d.sources, d.producers)
        return sum(p >= 0 and self.nodes[p].role in _FLOW and not opt.meta_slot(d.op_type, slot) for (_, _, slot), p in reads)

    def in_norm(self, n: int) -> bool:
        """Whether op ``n`` is a normalization, or part of a normalization layer (a decomposed one)."""
        return self.kind(n) is LayerKind.NORM or self.kind_of_layer(self.nodes[n].id) is LayerKind.NORM

    def nonlinear(self, n: int) -> bool:
        """Whether op ``n`` is a nonlinearity: an activation, a nonlinear elementwise op or a
        product of two data tensors, outside normalization layers; attention and recurrent ops."""
        d = self.nodes[n]
        if not d.is_op or self.in_norm(n):
            return False
        if self.kind(n) in _NONLINEAR_KINDS or opt.is_nonlinear(d.op_type):
            return True
        return opt.is_product(d.op_type) and self.data_reads(d) >= 2

    def nonlinearity(self, n: int) -> str:
        """Op ``n``'s type, said as a nonlinearity."""
        op_type = self.nodes[n].op_type
        return f"{op_type} of two tensors" if opt.is_product(op_type) else op_type

    def linear_map(self, chain: list[int]) -> list[str] | None:
        """The learned layers of a shortcut chain that is a linear map of the fork (one conv,
        linear or learned elementwise scale, with normalizations, pools and reshapes, no
        nonlinearity), else None."""
        maps: list[str] = []
        for n in chain:
            d = self.nodes[n]
            kind = self.kind(n)
            if self.in_norm(n) or (kind in opt.IDENTITY_SHORTCUT_KINDS and not self.learned(n)):
                continue
            if kind not in _LINEAR_MAPS and not (opt.is_affine(d.op_type) and self.data_reads(d) == 1):
                return None
            if self.learned(n) and self.layer(n) not in maps:
                maps.append(self.layer(n))
        return maps if len(maps) <= 1 else None

    def passes(self, n: int, kinds: frozenset[LayerKind]) -> bool:
        return not self.learned(n) and self.kind(n) in kinds

    def learned_layers(self, nodes: Iterable[int]) -> list[str]:
        out: list[str] = []
        for n in nodes:
            if self.learned(n):
                name = self.layer(n)
                if name not in out:
                    out.append(name)
        return out

    # -- walks -------------------------------------------------------------------------
    def chain(self, u: int, f: int, allowed: set[int] | None) -> _Input:
        pred = self.pred
        chain: list[int] = []
        cur = u
        while cur != f and len(chain) < MAX_CHAIN:
            ps = [p for p in pred[cur] if allowed is None or p in allowed]
            if len(ps) != 1:
                break
            chain.append(cur)
            cur = ps[0]
        return _Input(u, "", chain, cur == f)

    def region(self, starts: Iterable[int], f: int, allowed: set[int] | None) -> set[int]:
        """Nodes on paths from ``f`` to any of ``starts`` (``f`` excluded)."""
        pred = self.pred
        seen: set[int] = set()
        stack = [s for s in starts if s != f]
        while stack and len(seen) < MAX_REGION:
            n = stack.pop()
            if n in seen:
                continue
            seen.add(n)
            for p in pred[n]:
                if p != f and p not in seen and (allowed is None or p in allowed):
                    stack.append(p)
        return seen

    def gate_end(self, u: int, f: int) -> int:
        """The first op at or before ``u`` that is not a reshape/identity (the gate's activation)."""
        pred = self.pred
        cur = u
        for _ in range(MAX_CHAIN):
            if cur == f or not self.passes(cur, opt.UNCHANGED_KINDS):
                break
            ps = pred[cur]
            if len(ps) != 1:
                break
            cur = ps[0]
        return cur

    # -- the detector ------------------------------------------------------------------
    def run(self) -> tuple[list[Skip], list[Rejection]]:
        merges = [n for n in self.g.op_records if opt.is_skip_merge(n.op_type)]
        skips: list[Skip] = []
        rejections: list[Rejection] = []
        for m in merges:
            result = self.check(m)
            if isinstance(result, Skip):
                skips.append(result)
            else:
                rejections.append(Rejection(self.layer(m.number), m.id, f"{self.where(m)}: {result}"))
        return skips, rejections

    def check(self, d: Node) -> Skip | str:
        """A Skip, or the reason merge op ``d`` is not one."""
        m = d.id
        off_flow = _OFF_FLOW.get(d.role)
        if off_flow is not None:
            return off_flow
        data: list[tuple[int, str]] = []  # (producer number, tensor)
        other: list[NodeRole | None] = []  # roles of the other inputs (None: an initializer)
        for (u, tensor, slot), p in zip(d.sources, d.producers):
            if u is None:
                other.append(None)
            elif slot >= 0 and opt.meta_slot(d.op_type, slot):
                continue
            elif self.nodes[p].role in _FLOW:
                if tensor not in [t for _, t in data]:
                    data.append((p, tensor))
            else:
                other.append(self.nodes[p].role)
        if len(data) < 2:
            if other:
                return self.constant_reason(m, other)
            if len(d.inputs) >= 2:
                return "combines a tensor with itself, not a skip"
            return "has a single input, nothing to merge"

        mp = d.number
        inputs = [p for p, _ in data]
        f = self.idom()[mp]  # every data-flow node is reachable from the source
        result = self.across_inputs(m, mp, inputs) if f == SOURCE else self.classify(m, mp, f, inputs, None)
        if isinstance(result, str) and self.kind_of_layer(m) is LayerKind.NORM:
            return "arithmetic inside a normalization layer (its scale and shift), not a skip"
        return result

    def across_inputs(self, m: str, mp: int, inputs: list[int]) -> Skip | str:
        """Classify a merge whose inputs descend from several graph inputs.

        Its main path comes from a graph input of :meth:`streams` from which at least two
        of its inputs descend: each such input in turn, the one reaching most of the graph
        first, until the merge is a skip on the part of the graph that descends from that
        input alone, where anything else is a side input (a decoder's cross-attention
        residual: on the decoder's part, the encoder's memory enters through the key and
        value projections). A mask is never the main input (see :meth:`streams`), so
        BERT's mask add merges different inputs and is no skip.
        """
        colors = self.colors()
        cols = [colors[u] for u in inputs]
        first: str | None = None
        for bit in self.streams():
            if sum(1 for c in cols if c >> bit & 1) < 2:
                continue
            idom_b, allowed = self.color_idom(bit)
            mine = [u for u, c in zip(inputs, cols) if c >> bit & 1]
            result = self.classify(m, mp, idom_b.get(mp, bit), mine, allowed)
            if isinstance(result, Skip):
                return result
            first = first or result
        if first is not None:
            return first
        # graph input `bit` is data-flow node `bit`
        names = dict.fromkeys(self.layer(bit) for c in cols for bit in range(len(self.g.inputs)) if c >> bit & 1)
        return f"its inputs come from different graph inputs ({', '.join(names)}), not a skip"

    def constant_reason(self, m: str, other: list[NodeRole | None]) -> str:
        if NodeRole.SHAPE in other:
            return "one input is computed from tensor shapes only (an attention mask or position ids), not a skip"
        if NodeRole.PARAM in other:
            return "one input is computed from parameters only (a positional embedding or learned token), not a skip"
        if self.reads_table(self.g.by_id[m]):
            return "one input is a constant table (rotary cos/sin, a mask or a position bias), not a skip"
        layer_kind = self.kind_of_layer(m)
        if layer_kind in _BIASED:
            return "one input is an initializer: a bias add, not a skip"
        if layer_kind is LayerKind.NORM:
            return "one input is an initializer: the affine part of a normalization layer, not a skip"
        return "one input is an initializer or constant (a bias or scale), not a skip"

    def kind_of_layer(self, m: str) -> LayerKind | None:
        name = self.op_layer.get(m)
        if name is None:
            return None
        if name in self.layer_kinds:
            return self.layer_kinds[name]
        kinds = [_op_kind(self.g.by_id[n]) for n in self.layer_ops().get(name, ())]
        for k in opt.KIND_PRIORITY:
            if k in kinds:
                return k
        return None

    def layer_ops(self) -> dict[str, list[str]]:
        if not hasattr(self, "_layer_ops"):
            lo: dict[str, list[str]] = {}
            by_id = self.g.by_id
            for n, name in self.op_layer.items():
                if n in by_id and by_id[n].is_op:
                    lo.setdefault(name, []).append(n)
            self._layer_ops = lo
        return self._layer_ops

    def classify(self, m: str, mp: int, f: int, data: list[int], allowed: set[int] | None) -> Skip | str:
        """Classify merge ``m`` (data-flow node ``mp``) with fork ``f`` and data inputs ``data``."""
        site = _Site(self, m, mp, f, allowed, [self.chain(u, f, allowed) for u in data])
        op_type = self.nodes[mp].op_type
        if opt.is_add_merge(op_type):
            found = self.add_shortcut(site)
        else:
            found = self.unchanged_shortcut(site, opt.is_concat_merge(op_type))
        if isinstance(found, str):
            return found
        kind, sc, body, empty = found
        if not self.learned_layers(body):
            return empty
        return Skip(kind, site.merge, site.fork, site.names(body), site.names(reversed(sc.chain)), op=m)

    def add_shortcut(self, site: _Site) -> _Found | str:
        """An Add/Sum: an identity shortcut if an input arrives unchanged, else a projection:
        a linear map of the fork with fewer learned layers than the body."""
        inputs = site.inputs
        ok = [i for i in inputs if i.reached and all(self.passes(n, opt.IDENTITY_SHORTCUT_KINDS) for n in i.chain)]
        if ok:
            sc = min(ok, key=lambda i: len(i.chain))
            return SkipKind.IDENTITY, sc, site.body_beside(sc), site.elementwise
        maps = [i for i in inputs if i.reached and self.linear_map(i.chain)]
        if not maps or any(i.reached and not self.learned_layers(i.chain) for i in inputs):
            return self.no_shortcut(site)
        sc = min(maps, key=lambda i: (len(self.learned_layers(i.chain)), len(i.chain)))
        k_sc = len(self.learned_layers(sc.chain))  # its norms included, like the body's
        body = site.body_beside(sc)
        k_body = len(self.learned_layers(body))
        if k_sc >= k_body:
            return (
                f"parallel branches from {site.fork} with {k_sc} and {k_body} learned layers: "
                "neither is a shortcut, not a skip"
            )
        return SkipKind.PROJECTION, sc, body, site.elementwise

    def no_shortcut(self, site: _Site) -> str:
        """Why an Add/Sum none of whose inputs is the fork's tensor or a linear map of it is no skip."""
        fork, inputs = site.fork, site.inputs
        if not self.learned_layers(site.body_of(inputs, ())):
            return site.elementwise
        reached = [i for i in inputs if i.reached]
        plain = [i for i in reached if not self.learned_layers(i.chain)]
        if plain:
            sc = min(plain, key=lambda i: len(i.chain))
            what = ", ".join(dict.fromkeys(self.nodes[n].op_type for n in reversed(sc.chain)))
            return f"the path from {fork} applies {what} and holds no learned layer: {fork}'s tensor does not arrive unchanged, not a skip"
        firsts = [next((n for n in site.body_of([i], ()) if self.nonlinear(n)), None) for i in inputs]
        if all(n is not None for n in firsts):
            what = " and ".join(dict.fromkeys(self.nonlinearity(n) for n in firsts if n is not None))
            return (
                f"parallel branches from {fork} that each hold a nonlinearity ({what}): "
                "neither is a shortcut, not a skip"
            )
        if reached:
            sc = min(reached, key=lambda i: (len(self.learned_layers(i.chain)), len(i.chain)))
            layers = ", ".join(self.learned_layers(reversed(sc.chain)))
            return (
                f"the path from {fork} through {layers} is not a linear map (one conv, linear or learned scale, "
                "with norm, pool or reshape): no input is a shortcut, not a skip"
            )
        return f"no input is {fork}'s tensor or a short path from it: parallel branches, not a skip"

    def unchanged_shortcut(self, site: _Site, concat: bool) -> _Found | str:
        """A Concat (``concat``) or a Mul: one input must be the fork's tensor unchanged; a
        Mul's other inputs must end in a gate (sigmoid or softmax)."""
        fork, inputs = site.fork, site.inputs
        ok = [i for i in inputs if i.reached and all(self.passes(n, opt.UNCHANGED_KINDS) for n in i.chain)]
        if not ok and not self.learned_layers(site.body_of(inputs, ())):
            return site.elementwise
        if not ok:
            if concat:
                return (
                    f"none of its inputs is {fork}'s tensor itself: a concatenation of parallel branches "
                    "(Inception-style), not a skip"
                )
            return f"neither input is {fork}'s tensor itself: a product of two branches (a gated linear unit, say), not a skip"
        sc = min(ok, key=lambda i: len(i.chain))
        if concat:
            return SkipKind.CONCAT, sc, site.body_beside(sc), site.elementwise
        for i in inputs:
            if i is not sc and not opt.is_gate_op(self.nodes[self.gate_end(i.node, site.f)].op_type):
                return "the other input does not end in a sigmoid or softmax: a product, not a gate"
        empty = f"the gating branch from {fork} holds no learned layer (an activation such as SiLU), not a skip"
        return SkipKind.GATE, sc, site.body_beside(sc), empty


#: a skip found but not yet checked for a learned body: kind, shortcut input, body nodes,
#: and why it is no skip when the body holds no learned layer
_Found = tuple[SkipKind, _Input, list[int], str]


class _Site:
    """One merge being classified: its fork, its inputs' chains, and how to name and measure them."""

    def __init__(
        self, finder: _Finder, m: str, mp: int, f: int, allowed: set[int] | None, inputs: list[_Input]
    ) -> None:
        self.finder = finder
        self.f = f
        self.allowed = allowed
        self.inputs = inputs
        self.fork = finder.layer(f)
        self.merge = finder.layer(mp)
        self.elementwise = (
            f"no learned layer between {self.fork} and the merge: an elementwise function of {self.fork} "
            "(an activation such as GELU or SiLU, a rotary embedding), not a skip"
        )

    def body_of(self, rest: list[_Input], exclude: Iterable[int]) -> list[int]:
        """The region between the fork and the inputs ``rest``, less ``exclude``, in execution
        order (node numbers are topological)."""
        return sorted(self.finder.region([i.node for i in rest], self.f, self.allowed) - set(exclude))

    def body_beside(self, sc: _Input) -> list[int]:
        """The body when ``sc`` is the shortcut: every other input's region, less the shortcut."""
        return self.body_of([i for i in self.inputs if i is not sc], sc.chain)

    def names(self, nodes: Iterable[int]) -> tuple[str, ...]:
        """The layers of ``nodes``, each once, fork and merge left out."""
        out: list[str] = []
        skip = {self.fork, self.merge}
        for n in nodes:
            name = self.finder.layer(n)
            if name not in skip and name not in out:
                out.append(name)
        return tuple(out)


def _op_kind(d: Node) -> LayerKind:
    """The kind of op ``d``."""
    return opt.op_kind(d.op_type, bool(d.params or d.reads_params))


__all__ = ["find_skips"]
