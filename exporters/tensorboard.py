"""TensorBoard event files: the layer graph (Graphs tab) and weight histograms.

:func:`write_tensorboard` appends one event file to a run folder (``logdir``). The file
holds, at step ``step``:

- the layer graph as a TensorFlow ``GraphDef``: one node per layer, named by its place in
  the module tree (``stage1/0/conv1``), so TensorBoard draws modules as collapsible name
  scopes. Skip connections whose layers share their scope with other layers (a flat Keras
  functional model, say) get a scope of their own (``residual_3``, ``concat_1``,
  ``gate_2``) holding the body, the shortcut and the merge, so every residual block
  collapses to one box. Node attributes: ``_output_shapes`` (shown on edges), ``type``,
  ``kind``, ``params``, ``layer`` (the original name) and, on merges, ``skip``.
- one histogram per weight tensor, tagged ``<layer scope>/<role>`` (``stage1/0/conv1/weight``);
  the same tags for the same architecture, so several checkpoints written with
  increasing ``step`` values show histograms over steps. (TensorBoard reads a run's event
  files in name order, which here is write order, and takes a step lower than one it has
  read for a restart: it drops the later steps.)

Only the ``tensorboard`` package's own protos and ``EventFileWriter`` are used: no
TensorFlow. The file is written in a temporary folder next to ``logdir`` and moved into
``logdir`` when complete, so a failure leaves no partial event file.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
import tempfile
import time
import types
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from modelmap._errors import InputError, MissingDependencyError
from modelmap.core.kinds import SkipKind
from modelmap.core.weights import WeightOptions, iter_weights, stats_for

_SAFE = re.compile(r"[^A-Za-z0-9_.\-]")

#: scope prefix per skip kind
SKIP_SCOPES: Mapping[SkipKind, str] = {
    SkipKind.IDENTITY: "residual",
    SkipKind.PROJECTION: "residual",
    SkipKind.CONCAT: "concat",
    SkipKind.GATE: "gate",
}


@dataclass(frozen=True)
class TensorBoardOptions:
    """``step``: the global step of everything written; ``graph``/``histograms``: what to write."""

    step: int = 0
    graph: bool = True
    histograms: bool = True
    weights: WeightOptions = field(default_factory=WeightOptions)

    def __post_init__(self) -> None:
        if not isinstance(self.step, int) or isinstance(self.step, bool) or self.step < 0:
            raise InputError(f"step must be a non-negative integer, not {self.step!r}")


@dataclass(frozen=True)
class TensorBoardRun:
    """What :func:`write_tensorboard` wrote: the event file, the graph's node names, the tags."""

    logdir: Path
    event_file: Path
    nodes: Mapping[str, str]  # layer name -> GraphDef node name
    tags: tuple[str, ...]
    step: int


def _segment(text: str) -> str:
    """A scope segment TensorBoard accepts: ``[A-Za-z0-9_.-]``, not starting with ``_`` or ``-``."""
    s = _SAFE.sub("_", str(text)) or "_"
    if s[0] in "_-":
        s = "x" + s
    return s


def _short(segment: str, parent: str) -> str:
    """PyTorch qualified names repeat their parent: ``stage1.0.conv1`` under ``stage1.0`` -> ``conv1``."""
    if parent and segment.startswith(parent + ".") and len(segment) > len(parent) + 1:
        return segment[len(parent) + 1 :]
    return segment


def scope_names(analysis: Any) -> dict[str, str]:
    """Layer name -> ``/``-scoped GraphDef node name (unique, valid for TensorBoard).

    Scopes follow the module tree; skip connections whose layers are not alone in their
    module get a synthetic scope (see the module docstring).
    """
    layers = list(analysis.layers)
    paths: dict[str, tuple[str, ...]] = {}
    for layer in layers:
        path = tuple(layer.path) or (layer.name,)
        segs: list[str] = []
        parent = ""
        for seg in path:
            segs.append(_segment(_short(seg, parent)))
            parent = seg
        paths[layer.name] = tuple(segs)

    # synthetic scopes for skips at the model's root or sharing their module with other skips
    skips = sorted(getattr(analysis, "skips", ()), key=lambda s: len(s.body) + len(s.shortcut))
    planned: list[tuple[Any, list[str], tuple[str, ...]]] = []
    assigned: set[str] = set()
    per_parent: dict[tuple[str, ...], int] = {}
    for skip in skips:
        names = [n for n in (*skip.body, *skip.shortcut, skip.merge) if n in paths and n not in assigned]
        if skip.merge not in names:
            continue
        assigned.update(names)
        parent = tuple(os.path.commonprefix([list(paths[n][:-1]) for n in names]))
        per_parent[parent] = per_parent.get(parent, 0) + 1
        planned.append((skip, names, parent))
    order = {layer.name: i for i, layer in enumerate(layers)}
    planned.sort(key=lambda item: order.get(item[0].merge, 0))
    counters: dict[str, int] = {}
    for skip, names, parent in planned:
        if parent and per_parent[parent] == 1:
            continue  # the module holding the skip is the block already
        prefix = SKIP_SCOPES.get(skip.kind, "skip")
        counters[prefix] = counters.get(prefix, 0) + 1
        scope = f"{prefix}_{counters[prefix]}"
        for n in names:
            paths[n] = (*parent, scope, *paths[n][len(parent) :])

    # unique names, no node name equal to a scope
    scopes = {p[:i] for p in paths.values() for i in range(1, len(p))}
    used: set[str] = set()
    out: dict[str, str] = {}
    for layer in layers:
        p = paths[layer.name]
        name = "/".join(p)
        base = name
        k = 1
        while name in used or tuple(name.split("/")) in scopes:
            k += 1
            name = f"{base}_{k}"
        used.add(name)
        out[layer.name] = name
    return out


def _shape_proto(shape: Sequence[Any] | None) -> Any:
    from tensorboard.compat.proto import tensor_shape_pb2

    proto = tensor_shape_pb2.TensorShapeProto()
    if shape is None:
        proto.unknown_rank = True
        return proto
    for d in shape:
        proto.dim.add(size=int(d) if isinstance(d, (int, np.integer)) and int(d) >= 0 else -1)
    return proto


def graph_def(analysis: Any, names: Mapping[str, str] | None = None) -> Any:
    """The layer graph as a ``tensorboard.compat.proto.graph_pb2.GraphDef``."""
    from tensorboard.compat.proto import attr_value_pb2, graph_pb2

    names = names or scope_names(analysis)
    skip_at = {}
    for skip in getattr(analysis, "skips", ()):
        skip_at[skip.merge] = f"{skip.kind} skip from {skip.fork}"
    gd = graph_pb2.GraphDef()
    for layer in analysis.layers:
        node = gd.node.add()
        node.name = names[layer.name]
        kind = str(layer.kind)
        node.op = _segment(layer.type or kind or "Layer")
        for src in layer.inputs:
            if src in names:
                node.input.append(names[src])
        node.attr["_output_shapes"].CopyFrom(
            attr_value_pb2.AttrValue(list=attr_value_pb2.AttrValue.ListValue(shape=[_shape_proto(layer.output_shape)]))
        )
        node.attr["layer"].s = str(layer.name).encode("utf-8", "replace")
        node.attr["type"].s = str(layer.type).encode("utf-8", "replace")
        node.attr["kind"].s = kind.encode()
        node.attr["params"].i = int(layer.params or 0)
        if layer.name in skip_at:
            node.attr["skip"].s = skip_at[layer.name].encode("utf-8", "replace")
    gd.versions.producer = 22
    return gd


def histogram_summary(tag: str, counts: Sequence[float], edges: Sequence[float], description: str = "") -> Any:
    """A ``Summary`` holding one histogram in the histograms plugin's tensor format ([k, 3])."""
    from tensorboard.compat.proto import summary_pb2
    from tensorboard.plugins.histogram import metadata
    from tensorboard.util import tensor_util

    buckets = np.array([[edges[i], edges[i + 1], counts[i]] for i in range(len(counts))], dtype=np.float64)
    tensor = tensor_util.make_tensor_proto(buckets, dtype=np.float64)
    summary = summary_pb2.Summary()
    summary.value.add(tag=tag, metadata=metadata.create_summary_metadata(display_name=None, description=description), tensor=tensor)
    return summary


def _events(analysis: Any, options: TensorBoardOptions, names: Mapping[str, str]) -> tuple[list[Any], list[str]]:
    from tensorboard.compat.proto import event_pb2

    events = []
    tags: list[str] = []
    now = time.time()
    if options.graph:
        gd = graph_def(analysis, names)
        events.append(event_pb2.Event(wall_time=now, step=options.step, graph_def=gd.SerializeToString()))
    if options.histograms:
        seen: dict[str, int] = {}
        cache: dict[str, Any] = {}
        for w in iter_weights(analysis):
            s = stats_for(w, options.weights, cache)
            if s.histogram_values == 0:
                continue
            tag = f"{names.get(w.layer, _segment(w.layer))}/{_segment(w.role)}"
            seen[tag] = seen.get(tag, 0) + 1
            if seen[tag] > 1:
                tag = f"{tag}_{seen[tag]}"
            counts = np.asarray(s.histogram.counts, dtype=np.float64)
            desc = f"`{w.name}`, shape {list(s.shape)}"
            if s.sampled:  # scale the sample's counts to the tensor's size
                counts = counts * ((s.count - s.nonfinite) / s.histogram_values)
                desc += f"; from a uniform sample of {s.histogram_values:,} of {s.count:,} values"
            summary = histogram_summary(tag, counts, s.histogram.edges, desc)
            events.append(event_pb2.Event(wall_time=now, step=options.step, summary=summary))
            tags.append(tag)
    return events, tags


@contextlib.contextmanager
def _without_tensorflow() -> Iterator[None]:
    """Let tensorboard use its TensorFlow stub for file I/O when TensorFlow is not loaded yet.

    ``EventFileWriter`` reaches files through ``tensorboard.compat.tf``, which imports the
    real TensorFlow when it is installed (seconds, and log lines on stderr). TensorBoard's
    own switch for the stub is the presence of a ``tensorboard.compat.notf`` module; it is
    present only while the file is written. If TensorFlow is already imported nothing
    changes. tensorboard caches its choice for the process; the stub handles local files
    exactly as TensorFlow's gfile does.
    """
    if "tensorflow" in sys.modules or "tensorboard.compat.notf" in sys.modules:
        yield
        return
    sys.modules["tensorboard.compat.notf"] = types.ModuleType("tensorboard.compat.notf")
    try:
        yield
    finally:
        sys.modules.pop("tensorboard.compat.notf", None)


def _event_file_name() -> str:
    """``events.out.tfevents.<seconds>.<nanoseconds>.<host>.<pid>.modelmap``.

    TensorBoard reads a run's event files in name order and treats a step lower than one
    already read as a restart (it drops the later steps). The writer's own names order
    files by whole seconds, then host and process id, so two runs of the command within one
    second could be read out of order; nanoseconds after the seconds keep write order.
    """
    import socket

    ns = time.time_ns()
    host = _SAFE.sub("_", socket.gethostname()) or "host"
    return f"events.out.tfevents.{ns // 10**9:010d}.{ns % 10**9:09d}.{host}.{os.getpid()}.modelmap"


def check_logdir(logdir: str | os.PathLike[str]) -> None:
    """Raise an InputError when ``logdir`` exists and is not a folder."""
    logdir = Path(logdir)
    if logdir.exists() and not logdir.is_dir():
        raise InputError(f"{logdir} exists and is not a folder; --logdir must be a folder")


def write_tensorboard(analysis: Any, logdir: str | os.PathLike[str], options: TensorBoardOptions | None = None) -> TensorBoardRun:
    """Append one event file with the graph and weight histograms to the run ``logdir``.

    Raises
    ------
    InputError
        ``logdir`` exists and is not a folder.
    MissingDependencyError
        The ``tensorboard`` package is not installed.
    """
    options = options or TensorBoardOptions()
    logdir = Path(logdir)
    check_logdir(logdir)
    try:
        from tensorboard.summary.writer.event_file_writer import EventFileWriter
    except ImportError as e:
        raise MissingDependencyError(f"tensorboard is not installed ({e}); install it with: pip install 'modelmap[all]'") from None
    names = scope_names(analysis)
    events, tags = _events(analysis, options, names)
    parent = logdir.parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{logdir.name}.", suffix=".part", dir=parent))
    try:
        with _without_tensorflow():
            writer = EventFileWriter(str(tmp), max_queue_size=max(10, len(events) + 1), flush_secs=3600, filename_suffix=".modelmap")
            for ev in events:
                writer.add_event(ev)
            writer.close()
        written = [p for p in tmp.iterdir() if "tfevents" in p.name]
        if len(written) != 1:
            raise RuntimeError(f"expected one event file, found {len(written)}")
        logdir.mkdir(parents=True, exist_ok=True)
        target = logdir / _event_file_name()
        os.replace(written[0], target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return TensorBoardRun(logdir, target, dict(names), tuple(tags), options.step)


def read_events(path: str | os.PathLike[str]) -> Iterable[Any]:
    """The events of one event file as written (for tests and checks), with tensorboard's reader.

    The raw loader is used: the plain ``EventFileLoader`` migrates events on the fly (a
    graph becomes a ``__run_graph__`` summary).
    """
    from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader
    from tensorboard.compat.proto import event_pb2

    with _without_tensorflow():
        for record in RawEventFileLoader(str(path)).Load():
            yield event_pb2.Event.FromString(record)


__all__ = [
    "TensorBoardOptions",
    "TensorBoardRun",
    "check_logdir",
    "graph_def",
    "histogram_summary",
    "read_events",
    "scope_names",
    "write_tensorboard",
]
