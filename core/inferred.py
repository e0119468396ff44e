"""Inferred modules: a hierarchy for flat models (a Keras functional model's one level of layers).

A PyTorch model has a module tree to collapse; a Keras functional model (or an ONNX file
without namespaces) lists its layers side by side. When the model itself is flat (every
layer at the top, at least :data:`MIN_LAYERS` of them), synthetic modules are put between
the model and its layers, from these sources, in order of trust (a module of a tree, such
as an attention module full of functional ops, is left alone, and so is a Keras model
nested in another):

1. **Names** (``"names"``). Keras applications name their layers after the architecture:
   ``conv2_block1_1_conv`` (ResNet: stage ``conv2``, block ``conv2_block1``),
   ``block_3_expand`` (MobileNetV2: block ``block_3``), ``block2a_expand_conv``
   (EfficientNet: stage ``block2``, block ``block2a``), ``conv_dw_3`` and ``conv_pw_3``
   (MobileNet: block ``conv_3``), ``expanded_conv_project`` (a name of three tokens or
   more without a digit: ``expanded_conv``). A name's *keys* are its tokens (split at ``_``) that hold
   a digit, the first two levels of them (a token such as ``block2a`` is two levels,
   ``block2`` and ``block2a``). Consecutive layers with the same key at a level form a
   module at that level (a layout op of no layer between two of them, which tf2onnx may
   leave, goes with them). A name Keras made up (``conv2d_17``: the class in snake case
   and a counter) has no key. Merges named a word and a number, three or more
   (InceptionV3's Concatenates ``mixed0`` ... ``mixed10``), each end a block that starts
   after the one before.
2. **Skips** (``"skips"``). Among the layers no name grouped, a residual block (identity
   or projection skip) spans from the layer after its fork to its merge, and the norms and activations right after the
   merge (the seed ResNet's block ends with ReLU + BN): the outermost skips only (a
   squeeze-excitation gate inside a block stays inside it). The layers right before or
   after such a block with the types of its body are the same block without its shortcut
   (a stride-2 inverted residual); a body of pointwise, depthwise and pointwise
   convolutions is an ``InvertedResidual``.
3. **Concatenations** (``"concats"``). A DenseNet dense block, one module of the layers of
   its dense layers (fork exclusive to merge of a concat skip at one resolution, each
   forking from the concatenation the one before made), then its ``Transition`` (the
   layers up to the first that changes the resolution, a convolution among them). A U-Net: where concat skips cross a change of
   resolution, a new level starts at each layer that changes it; ``down1``...
   (``EncoderLevel``), the lowest ``bottleneck``, then ``up2``, ``up1`` (``DecoderLevel``,
   named after the encoder level whose skip they concatenate).
4. **Repeats** (``"blocks"``): each unit of a run of repeated units the core found in the
   flat module (:mod:`.blocks`) that no earlier source grouped, and the layers right
   before the run when they have the unit's types (a stage's strided first block).
5. **Shapes** (``"shapes"``): consecutive blocks from the sources above (modules of
   layers only) with no layer between them form stages: a new stage starts at a block
   whose output differs in shape from its input (the downsampling block of a ResNet
   stage, the first inverted residual of a MobileNetV2 stage). A stage holds two blocks
   or more; its class says what (``5 × ResidualBlock``, ``3 blocks``). Transitions and
   U-Net levels stand at a stage's level themselves.

The layers are taken in dependency order (each after the layers it reads), the order the
converter gave where that allows: a block's layers are then consecutive.

A candidate module is kept only if its layers are a contiguous subgraph: one layer
outside feeds it, and one of its layers feeds the layers after it; a named one also
holds every residual skip it touches whole (body and merge), not half a block. Names that share a
key but are not such a subgraph stay ungrouped, so the figure stays honest. A module
whose only child covers it is dropped (EfficientNet's stage ``block1`` of one block).
One exception, and why it is sound: a U-Net decoder level has a second way in, the
concat skip from its encoder level; the level is still one function of its inputs with
one way out, and the skip is drawn as an edge between the two levels' boxes.
The graph-side finders are in :mod:`._inferred_graph`.

Inferred modules are marked in the tree (:attr:`ModuleNode.inferred` names the source)
and in the JSON (``inferred_modules``); the layers' paths go through them, so every view
(drawings, tables, Mermaid, ``--depth``) collapses and folds them like a framework's own
modules.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Sequence
from dataclasses import replace

from ._inferred_graph import Contiguity, Group, dense_groups, exit_groups, level_groups, repeat_groups, skip_groups
from .analysis import Block, Layer, ModuleNode, Skip
from .kinds import LayerKind, SkipKind

#: A module with fewer layers than this is drawn as it is.
MIN_LAYERS = 12
#: Name levels read from a layer's name: stage, block.
NAME_LEVELS = 2

_K = LayerKind
_IO = (_K.INPUT, _K.OUTPUT)
_DIGIT = re.compile(r"\d")
_LETTERED = re.compile(r"^(\D*\d+)([a-z])$")  # block2a: stage block2, block block2a
_COUNTER = re.compile(r"_\d+$")


def infer_modules(
    layers: list[Layer], tree: dict[tuple[str, ...], ModuleNode], skips: Sequence[Skip], blocks: Sequence[Block]
) -> tuple[list[Layer], dict[tuple[str, ...], ModuleNode]]:
    """``layers`` and ``tree`` with inferred modules (see the module docstring); unchanged when
    no module is flat or nothing is found."""
    root = tree.get(())
    if root is None or len(root.children) < MIN_LAYERS or not all(tree[c].leaf for c in root.children):
        return layers, tree  # not flat: a module's own functional ops (attention's matmuls) are no model
    flat = [()]
    by_name = {layer.name: layer for layer in layers}
    paths: dict[str, tuple[str, ...]] = {}
    made: dict[tuple[str, ...], tuple[str, str]] = {}  # inferred path -> (class, source)
    for container in flat:
        seq = _in_order([n for n in tree[container].layers if by_name[n].kind not in _IO], by_name)
        groups = _find_groups(seq, by_name, skips, [b for b in blocks if b.parent == container and not b.shared])
        for group in groups:
            _place(group, container, seq, by_name, paths, made)
    if not paths:
        return layers, tree
    new_layers = [replace(layer, path=paths[layer.name]) if layer.name in paths else layer for layer in layers]
    return new_layers, _rebuild(new_layers, tree, made)


def _in_order(seq: list[str], by_name: dict[str, Layer]) -> list[str]:
    """``seq`` in an order where every layer comes after the layers it reads, the given order
    where that allows. A layer is listed where its first op is, and tf2onnx may move an op
    up the graph (the Transposes of InceptionV3's ``mixed9`` Concatenate come before the
    branches it concatenates), so a block's layers would not be consecutive."""
    at = {n: i for i, n in enumerate(seq)}
    readers: dict[str, list[str]] = {n: [] for n in seq}
    waiting = dict.fromkeys(seq, 0)
    for n in seq:
        for x in set(by_name[n].inputs) & readers.keys():
            readers[x].append(n)
            waiting[n] += 1
    ready = [at[n] for n in seq if not waiting[n]]
    out: list[str] = []
    while ready:
        n = seq[heapq.heappop(ready)]
        out.append(n)
        for m in readers[n]:
            waiting[m] -= 1
            if not waiting[m]:
                heapq.heappush(ready, at[m])
    return out if len(out) == len(seq) else seq  # a cycle (not from a converter): as given


def _find_groups(seq: list[str], by_name: dict[str, Layer], skips: Sequence[Skip], blocks: Sequence[Block]) -> list[Group]:
    """The top-level inferred modules of one flat module, in order."""
    check = Contiguity(seq, by_name, skips)
    groups = _name_groups(seq, by_name, check, 0, 0, len(seq))
    taken = [False] * len(seq)
    for g in groups:
        taken[g.start : g.stop] = [True] * (g.stop - g.start)
    groups += exit_groups(seq, by_name, taken, check)
    groups += skip_groups(seq, by_name, skips, taken, check)
    groups += dense_groups(seq, by_name, skips, taken, check)
    groups += level_groups(seq, by_name, skips, taken, check)
    groups += repeat_groups(seq, by_name, blocks, taken, check, _ABBREVIATIONS)
    groups.sort(key=lambda g: g.start)
    return _stages(groups, seq, by_name, check)


# --------------------------------------------------------------------------- names


def name_keys(name: str, cls: str = "") -> tuple[str, ...]:
    """The levels of a layer's name (see the module docstring); ``()`` for a name Keras
    made up from the class ``cls``.

    >>> name_keys("conv2_block1_1_conv"), name_keys("block2a_expand_conv"), name_keys("conv_dw_3_bn")
    (('conv2', 'conv2_block1'), ('block2', 'block2a'), ('conv_dw_3',))
    >>> name_keys("expanded_conv_project_BN"), name_keys("top_conv")
    (('expanded_conv',), ())
    >>> name_keys("conv2d_17", "Conv2D"), name_keys("re_lu", "ReLU"), name_keys("predictions")
    ((), (), ())
    """
    if cls and _COUNTER.sub("", name).replace("_", "").lower() == cls.replace("_", "").lower():
        return ()
    tokens = name.split("_")
    if not _DIGIT.search(name):  # expanded_conv_depthwise, expanded_conv_project: expanded_conv
        return ("_".join(tokens[:2]),) if len(tokens) >= 3 and all(tokens) else ()
    levels: list[str] = []
    for i, token in enumerate(tokens):
        if not _DIGIT.search(token):
            continue
        m = _LETTERED.match(token)
        head = "_".join(tokens[:i])
        if m and len(levels) < NAME_LEVELS:
            levels.append((head + "_" if head else "") + m.group(1))
        levels.append("_".join(tokens[: i + 1]))
        if len(levels) >= NAME_LEVELS:
            break
    return tuple(levels[:NAME_LEVELS])


def _identity(key: str) -> str:
    """What two keys must share to be one module: their tokens holding a digit
    (``conv_dw_3`` and ``conv_pw_3`` are both block ``3`` of MobileNet)."""
    return "_".join(t for t in key.split("_") if _DIGIT.search(t)) or key


def _name_groups(seq: list[str], by_name: dict[str, Layer], check: Contiguity, level: int, lo: int, hi: int) -> list[Group]:
    """The modules named at ``level`` among ``seq[lo:hi]`` (and their children, below)."""
    if level >= NAME_LEVELS:
        return []
    keys = [name_keys(n, by_name[n].type) for n in seq[lo:hi]]
    ids = [_identity(k[level]) if len(k) > level else "" for k in keys]
    for k in range(1, len(ids) - 1):  # a layout op tf2onnx left between two layers of one module is in it
        if not ids[k] and ids[k - 1] == ids[k + 1] and by_name[seq[lo + k]].kind is _K.RESHAPE and not by_name[seq[lo + k]].params:
            ids[k] = ids[k - 1]
    out: list[Group] = []
    i = 0
    while i < len(ids):
        j = i
        while j < len(ids) and ids[j] and ids[j] == ids[i]:
            j += 1
        if j - i >= 2 and check.whole(lo + i, lo + j):
            names = [keys[k][level] for k in range(i, j) if len(keys[k]) > level]
            group = Group(_common_name(names), _block_class(check, lo + i, lo + j), "names", lo + i, lo + j)
            group.children = _name_groups(seq, by_name, check, level + 1, lo + i, lo + j)
            if group.children:
                group.cls = "Stage"
            out.append(group)
        elif j - i >= 2:  # not a subgraph: perhaps its blocks are
            out += _name_groups(seq, by_name, check, level + 1, lo + i, lo + j)
        i = max(j, i + 1)
    return out


def _common_name(keys: list[str]) -> str:
    """A module's name from its layers' keys: theirs if they agree, else the tokens they
    share at the start with the digit tokens (``conv_dw_3``, ``conv_pw_3`` -> ``conv_3``)."""
    if len(set(keys)) == 1:
        return keys[0]
    split = [k.split("_") for k in keys]
    head: list[str] = []
    for tokens in zip(*split, strict=False):
        if len(set(tokens)) != 1 or _DIGIT.search(tokens[0]):
            break
        head.append(tokens[0])
    return "_".join(head + [_identity(keys[0])])


# --------------------------------------------------------------------------- structure


def _stages(groups: list[Group], seq: list[str], by_name: dict[str, Layer], check: Contiguity) -> list[Group]:
    """Stages, then the stem and head around them (see the module docstring)."""
    out: list[Group] = []
    run: list[Group] = []
    for g in groups:
        if run and (g.children or g.level or g.start != run[-1].stop):
            out += _split_run(run, seq, by_name, check)
            run = []
        (out if g.children or g.level else run).append(g)
    out += _split_run(run, seq, by_name, check)
    out.sort(key=lambda g: g.start)
    if any(g.children for g in out):  # a lone block as big as a stage's is a stage of its own
        out = [Group("", "Stage", "shapes", g.start, g.stop, [g]) if not (g.children or g.level) and _main_layers(g, seq, by_name) >= 2
               else g for g in out]  # fmt: skip
    if any(g.children or g.level for g in out):
        out = _stem_and_head(out, seq, check)
    _number(out)
    return out


def _split_run(run: list[Group], seq: list[str], by_name: dict[str, Layer], check: Contiguity) -> list[Group]:
    """Adjacent blocks as stages: a new stage at a block that changes the shape."""
    stages: list[list[Group]] = []
    for g in run:
        first = by_name[seq[g.start]]
        src = by_name.get(first.inputs[0]) if first.inputs else None
        same = src is not None and src.output_shape == by_name[seq[g.stop - 1]].output_shape
        if stages and same:
            stages[-1].append(g)
        else:
            stages.append([g])
    out = []
    for stage in stages:
        if len(stage) >= 2 and check(stage[0].start, stage[-1].stop):
            out.append(Group("", "Stage", "shapes", stage[0].start, stage[-1].stop, stage))
        else:
            out.extend(stage)
    return out


def _main_layers(group: Group, seq: list[str], by_name: dict[str, Layer]) -> int:
    return sum(by_name[seq[i]].kind in _MAIN for i in range(group.start, group.stop))


_MAIN = (_K.CONV, _K.LINEAR, _K.ATTENTION, _K.RECURRENT)


def _stem_and_head(groups: list[Group], seq: list[str], check: Contiguity) -> list[Group]:
    """What comes before the first stage as ``stem``, after the last as ``head``, each when it
    holds two items (layers or blocks) or more; a block alone there is of class ``Stem``
    (``Head``)."""
    stages = [g for g in groups if g.children or g.level]
    first, last = stages[0].start, stages[-1].stop
    out = [g for g in groups if first <= g.start < last]
    for name, lo, hi in (("stem", 0, first), ("head", last, len(seq))):
        inner = [g for g in groups if lo <= g.start < hi]
        items = len(inner) + (hi - lo) - sum(g.stop - g.start for g in inner)
        if items >= 2 and check(lo, hi):
            out.append(Group(name, name.capitalize(), "position", lo, hi, inner))
        elif len(inner) == 1 and (inner[0].start, inner[0].stop) == (lo, hi) and not inner[0].children:
            inner[0].cls = name.capitalize()  # MobileNetV2's Conv1 is its stem
            out += inner
        else:
            out += inner
    return sorted(out, key=lambda g: g.start)


def _number(groups: list[Group]) -> None:
    """Names for the modules no name gave, in order: ``stage1``, ``stage2``... and
    ``block1``, ``block2``...; and a class for the named ones (``Block``, or a stage's)."""
    count = {"Stage": 0, "": 0}
    stack = list(reversed(groups))
    while stack:
        g = stack.pop()
        if not g.name:
            key = "Stage" if g.cls == "Stage" else ""
            count[key] += 1
            g.name = f"{'stage' if key else 'block'}{count[key]}"
        if not g.cls:
            g.cls = "Block"
        if g.cls == "Stage":
            g.cls = _stage_class(g)
        stack.extend(reversed(g.children))


def _stage_class(stage: Group) -> str:
    """A stage's class says what it holds: ``5 × ResidualBlock``, ``3 blocks``."""
    classes = {c.cls or "Block" for c in stage.children}
    n = len(stage.children)
    if len(classes) > 1:
        return f"{n} blocks"
    return classes.pop() if n == 1 else f"{n} \u00d7 {classes.pop()}"


#: Long class names shortened in the classes made of them (``Conv2D+ReLU+BN``: labels keep 32 characters)
_ABBREVIATIONS = {"BatchNormalization": "BN", "LayerNormalization": "LN", "GroupNormalization": "GN"}

#: The class of a named block by the skips merging in it, first match
_NAMED_CLASS = {SkipKind.IDENTITY: "ResidualBlock", SkipKind.PROJECTION: "ResidualBlock", SkipKind.CONCAT: "DenseLayer",
                SkipKind.GATE: "GatedBlock"}  # fmt: skip


def _block_class(check: Contiguity, start: int, stop: int) -> str:
    """A named block's class from the skips merging in it (``ResidualBlock``), else ``""``."""
    kinds = {check.merge_kind[n] for n in check.seq[start:stop] if n in check.merge_kind}
    return next((cls for kind, cls in _NAMED_CLASS.items() if kind in kinds), "")


# --------------------------------------------------------------------------- the new tree


def _place(
    group: Group, parent: tuple[str, ...], seq: list[str], by_name: dict[str, Layer],
    paths: dict[str, tuple[str, ...]], made: dict[tuple[str, ...], tuple[str, str]],
) -> None:  # fmt: skip
    """Give the layers of ``group`` (and of its children) their paths through it."""
    path = (*parent, group.name)
    made[path] = (group.cls, group.source)
    for i in range(group.start, group.stop):
        paths[seq[i]] = (*path, by_name[seq[i]].path[-1])
    for child in group.children:
        _place(child, path, seq, by_name, paths, made)


def _rebuild(
    layers: list[Layer], old: dict[tuple[str, ...], ModuleNode], made: dict[tuple[str, ...], tuple[str, str]]
) -> dict[tuple[str, ...], ModuleNode]:
    """The module tree of ``layers``' paths: the old nodes' classes and parameters, the
    inferred ones' from ``made``."""
    kids: dict[tuple[str, ...], list[tuple[str, ...]]] = {(): []}
    below: dict[tuple[str, ...], list[str]] = {(): []}
    params: dict[tuple[str, ...], int] = {(): 0}
    for layer in layers:
        for k in range(1, len(layer.path) + 1):
            p = layer.path[:k]
            if p not in kids:
                kids[p], below[p], params[p] = [], [], 0
                kids[p[:-1]].append(p)
        for k in range(len(layer.path)):
            below[layer.path[:k]].append(layer.name)
            params[layer.path[:k]] += layer.params
    leaf_at = {layer.path: layer for layer in layers}
    tree: dict[tuple[str, ...], ModuleNode] = {}
    for p in kids:
        layer = leaf_at.get(p)
        if layer is not None and not kids[p]:
            tree[p] = ModuleNode(p, layer.name, layer.type, (), (layer.name,), layer.params, leaf=True)
        elif p in made:
            tree[p] = ModuleNode(p, p[-1], made[p][0], tuple(kids[p]), tuple(below[p]), params[p], inferred=made[p][1])
        else:
            was = old.get(p)
            cls, own = (was.cls, was.params) if was is not None else ("", params[p])
            tree[p] = ModuleNode(p, p[-1] if p else "", cls, tuple(kids[p]), tuple(below[p]), own)
    return tree


__all__ = ["MIN_LAYERS", "infer_modules", "name_keys"]
