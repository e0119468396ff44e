"""The Keras layer table: names, classes, parameters and wiring, and trace tokens.

The Keras layer graph is the truth for what the user sees in ``model.summary()``.
:func:`layer_table` walks a model recursively (nested models included) and gives
every layer a unique token such as ``mmL0007``. While :func:`tokens_as_names` is
active, every layer's ``name`` *is* its token: Keras 3 opens
``tf.name_scope(layer.name)`` when a layer is called, so each TensorFlow op, and
hence each ONNX node tf2onnx makes from it, carries the tokens of the layers it
ran in (``mmL0000_1/mmL0003_2/MatMul``). TensorFlow's uniquifying suffixes
(``_1``, ``_2``) can then be stripped without ambiguity, which they cannot be from
real names (is scope ``conv2d_1`` layer ``conv2d`` seen twice, or layer ``conv2d_1``?).

Nothing here imports Keras at module level; the functions receive Keras objects.
"""

from __future__ import annotations

import contextlib
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from modelmap._errors import ConversionError
from modelmap._metadata import LayerRecord, clean_segment

#: Token prefixes tried in turn; the first one no layer name contains is used.
_PREFIXES = ("mmL", "mmLq", "mmLzx")


@dataclass(frozen=True)
class LayerInfo:
    """One Keras layer (or nested model) in the table.

    ``path`` is the namespace of display names from the root model (exclusive)
    down to this layer; ``classes`` the matching class names.
    """

    layer: Any
    token: str
    path: tuple[str, ...]
    classes: tuple[str, ...]
    container: bool


@dataclass
class LayerTable:
    """Every layer of a model, by trace token, plus the records for the metadata."""

    root: Any
    root_token: str
    prefix: str
    infos: dict[str, LayerInfo] = field(default_factory=dict)
    records: list[LayerRecord] = field(default_factory=list)

    def token_pattern(self) -> re.Pattern[str]:
        """A scope segment made from a token: the token plus TF's ``_N`` suffixes."""
        return re.compile(rf"^(?P<token>{re.escape(self.prefix)}\d{{4,}})(?:_\d+)*(?P<port>:\d+)?$")

    def detokenize(self, text: str) -> str:
        """``text`` (an error message, say) with every token replaced by its layer's name."""
        names = {token: info.layer.name for token, info in self.infos.items()}
        names[self.root_token] = self.root.name
        pattern = re.compile(rf"{re.escape(self.prefix)}\d{{4,}}")
        return pattern.sub(lambda m: names.get(m.group(0), m.group(0)), text)

    def classes_of(self, path: tuple[str, ...]) -> tuple[str, ...]:
        """The class names along a namespace path (a prefix of some layer's path)."""
        if not path:
            return ()
        for info in self.infos.values():
            if info.path[: len(path)] == path:
                return info.classes[: len(path)]
        return ("",) * len(path)

    def layers_in_order(self) -> list[Any]:
        """The root model then every tokenised layer, in table order."""
        return [self.root] + [info.layer for info in self.infos.values()]


def is_model(keras: Any, layer: Any) -> bool:
    """True for a nested ``keras.Model`` (Sequential, functional or subclassed)."""
    return isinstance(layer, keras.Model)


def is_input_layer(keras: Any, layer: Any) -> bool:
    """True for the ``InputLayer`` placeholders that stand for model inputs."""
    return isinstance(layer, keras.layers.InputLayer)


def _choose_prefix(names: list[str]) -> str:
    for prefix in _PREFIXES:
        if not any(prefix in name for name in names):
            return prefix
    raise RuntimeError("cannot find a trace token prefix unused by the model's layer names")


def _all_layers(keras: Any, model: Any) -> Iterator[Any]:
    for layer in model.layers:
        yield layer
        if is_model(keras, layer):
            yield from _all_layers(keras, layer)


def layer_table(keras: Any, model: Any) -> LayerTable:
    """Walk ``model`` (recursively through nested models) into a :class:`LayerTable`.

    Parameters
    ----------
    keras:
        The imported ``keras`` module.
    model:
        A built ``keras.Model``.

    Returns
    -------
    LayerTable
        One :class:`LayerInfo` per distinct layer object except ``InputLayer``,
        keyed by token, and the matching :class:`LayerRecord` list.
    """
    names = [model.name] + [layer.name for layer in _all_layers(keras, model)]
    prefix = _choose_prefix(names)
    counter = itertools.count()
    table = LayerTable(root=model, root_token=f"{prefix}{next(counter):04d}", prefix=prefix)
    seen: set[int] = {id(model)}
    _walk(keras, model, (), (), (), table, counter, seen)
    return table


def _walk(
    keras: Any,
    model: Any,
    path: tuple[str, ...],
    classes: tuple[str, ...],
    outer_inbound: tuple[str, ...],
    table: LayerTable,
    counter: Iterator[int],
    seen: set[int],
) -> None:
    wiring = model_wiring(keras, model, outer_inbound)
    for layer in model.layers:
        if is_input_layer(keras, layer) or id(layer) in seen:
            continue
        seen.add(id(layer))
        container = is_model(keras, layer)
        info = LayerInfo(
            layer=layer,
            token=f"{table.prefix}{next(counter):04d}",
            path=path + (clean_segment(layer.name),),
            classes=classes + (type(layer).__name__,),
            container=container,
        )
        table.infos[info.token] = info
        inbound = wiring.get(id(layer), ())
        table.records.append(
            LayerRecord(
                name=layer.name,
                namespace="/".join(info.path),
                cls=type(layer).__name__,
                params=own_params(keras, layer) if container else count_params(layer),
                inbound=inbound,
                leaf=not container,
                output_shape=keras_output_shape(layer),
            )
        )
        if container:
            _walk(keras, layer, info.path, info.classes, inbound, table, counter, seen)


def keras_output_shape(layer: Any) -> tuple[int | None, ...] | None:
    """The layer's single output shape as ``model.summary()`` shows it (batch ``None``).

    ``None`` for layers with several outputs and for layers of subclassed models,
    which have no symbolic output.
    """
    try:
        shape = layer.output.shape
    except (AttributeError, ValueError):
        return None
    if not isinstance(shape, tuple) or not all(d is None or isinstance(d, int) for d in shape):
        return None
    return tuple(shape)


def count_params(layer: Any) -> int:
    """``layer.count_params()``, or 0 for a layer that was never built."""
    try:
        return int(layer.count_params())
    except ValueError:  # "You tried to call count_params on layer ..., but the layer isn't built"
        return 0


def own_params(keras: Any, model: Any) -> int:
    """Weights a nested model holds itself, outside its child layers (usually 0)."""
    child_ids = {id(w) for layer in model.layers for w in layer.weights}
    return int(sum(_size(w) for w in model.weights if id(w) not in child_ids))


def _size(weight: Any) -> int:
    n = 1
    for d in weight.shape:
        n *= int(d)
    return n


def model_wiring(keras: Any, model: Any, outer_inbound: tuple[str, ...]) -> dict[int, tuple[str, ...]]:
    """Which layers feed each layer of ``model`` (by ``id(layer)``).

    Parameters
    ----------
    keras:
        The imported ``keras`` module.
    model:
        A Sequential, functional or subclassed model.
    outer_inbound:
        The layers feeding ``model`` itself when it is nested; they stand in
        for its ``InputLayer`` so a nested model's first layers name real producers.

    Returns
    -------
    dict
        ``id(layer) -> names``: the previous layer for Sequential, the parent
        nodes of the functional graph (through non-layer operations such as
        ``keras.ops`` calls) for functional models, and nothing for subclassed
        models, whose wiring lives in Python code.
    """
    if isinstance(model, keras.Sequential):
        return _sequential_wiring(keras, model, outer_inbound)
    if getattr(model, "_nodes_by_depth", None):
        return _functional_wiring(keras, model, outer_inbound)
    return {}


def _sequential_wiring(keras: Any, model: Any, outer_inbound: tuple[str, ...]) -> dict[int, tuple[str, ...]]:
    wiring: dict[int, tuple[str, ...]] = {}
    previous = outer_inbound
    for layer in model.layers:
        if is_input_layer(keras, layer):
            continue
        wiring[id(layer)] = previous
        previous = (layer.name,)
    return wiring


def _functional_wiring(keras: Any, model: Any, outer_inbound: tuple[str, ...]) -> dict[int, tuple[str, ...]]:
    own_nodes = [node for nodes in model._nodes_by_depth.values() for node in nodes]
    wiring: dict[int, list[str]] = {}
    for node in own_nodes:
        op = node.operation
        if not isinstance(op, keras.layers.Layer) or is_input_layer(keras, op):
            continue
        names = wiring.setdefault(id(op), [])
        for parent in node.parent_nodes:
            for name in _producers(keras, parent, outer_inbound):
                if name not in names:
                    names.append(name)
    return {k: tuple(v) for k, v in wiring.items()}


def _producers(keras: Any, node: Any, outer_inbound: tuple[str, ...]) -> list[str]:
    """Layer names behind a parent node, looking through non-layer operations."""
    op = node.operation
    if is_input_layer(keras, op):
        return list(outer_inbound)
    if isinstance(op, keras.layers.Layer):
        return [op.name]
    out: list[str] = []
    for parent in node.parent_nodes:
        out.extend(n for n in _producers(keras, parent, outer_inbound) if n not in out)
    return out


@contextlib.contextmanager
def tokens_as_names(table: LayerTable) -> Iterator[None]:
    """Give every layer (and the root model) its token as ``name``; restore on exit.

    Keras 3 keeps a layer's name in the plain attribute ``name`` (set in
    ``Operation.__init__``) and reads it in ``Layer._open_name_scope`` on every
    call, so the tokens show up as TensorFlow name scopes of a trace made inside
    this context. The original names come back even when the trace fails.

    Raises
    ------
    ConversionError
        When a layer's ``name`` cannot be assigned.
    """
    pairs = [(table.root, table.root_token)] + [(info.layer, token) for token, info in table.infos.items()]
    saved: list[tuple[Any, str]] = []
    try:
        for layer, token in pairs:
            name = layer.name
            try:
                layer.name = token
            except AttributeError:  # a class that made `name` read-only
                raise ConversionError(
                    f"cannot trace Keras layer {name!r} ({type(layer).__name__}): its name cannot be set"
                ) from None
            saved.append((layer, name))
        yield
    finally:
        for layer, name in reversed(saved):
            layer.name = name
