"""Tidying an exported PyTorch model: constant folding, made-up Conv biases, ``value_info``.

Only constant folding and dead-code removal (``onnxscript.optimizer.fold_constants``,
``onnx_ir`` passes): no op that reads a model parameter is folded, and no other rewrite
runs, so BatchNorm stays a visible ``BatchNormalization`` node.
"""

from __future__ import annotations

from typing import Any

from modelmap.core import ops

from ._base import ConvertOptions, quiet, step
from ._torch_weights import clear_values, shape_only_names, strip_values


def tidy(
    ir_model: Any,
    param_names: set[str],
    options: ConvertOptions,
    shape_only: set[str] | None = None,
    every_dtype: bool = False,
) -> Any:
    """Fold constants and drop what the exporters leave lying around.

    Folds constants, but no op that reads a model parameter (else a small embedding
    lookup at constant positions, or the transpose of a tied weight, would turn into
    an anonymous initializer and its layer would vanish) and no other rewrite
    (BatchNorm stays). Then drops the all-zero Conv biases the dynamo exporter makes
    up for ``bias=False`` convolutions, removes dead nodes and initializers, lifts
    ``Constant`` nodes into initializers, removes initializers from the graph inputs,
    and prunes ``value_info`` down to intermediate values.

    Parameters
    ----------
    ir_model:
        The exporter's ``onnx_ir`` model; changed in place.
    param_names:
        Initializer names that are model parameters (never folded).
    options:
        For quiet output and progress.
    shape_only:
        Initializer names whose floating-point values are left out, after folding (see
        :mod:`._torch_weights`): the model's state when ``options.weights`` is False.
    every_dtype:
        Leave out the values of ``shape_only`` initializers of every type, not only
        floating-point ones (they are made up: a model on the meta device).

    Returns
    -------
    onnx.ModelProto
    """
    import onnx_ir as ir
    import onnx_ir.passes.common as passes
    import onnxscript.optimizer

    with step("folding constants", options), quiet(options):
        passes.RemoveInitializersFromInputsPass()(ir_model)
        onnxscript.optimizer.fold_constants(ir_model, should_fold=reads_no_parameter(param_names))
        drop_zero_conv_bias(ir_model, param_names)
        passes.RemoveUnusedNodesPass()(ir_model)
        passes.LiftConstantsToInitializersPass(lift_all_constants=True, size_limit=0)(ir_model)
        passes.RemoveUnusedOpsetsPass()(ir_model)
        strip_values(ir_model, shape_only or set(), floats_only=not every_dtype)
        proto = ir.serde.serialize_model(ir_model)
    clear_values(proto, shape_only_names(ir_model))
    prune_value_info(proto)
    return proto


def reads_no_parameter(param_names: set[str]) -> Any:
    """A ``should_fold`` rule for the folder: never fold an op that reads a parameter's values.

    ``Shape`` and ``Size`` read only a parameter's shape and may fold.
    """

    def should_fold(node: Any) -> bool | None:
        if ops.reads_only_shape(node.op_type):
            return None
        if any(v is not None and v.name in param_names for v in node.inputs):
            return False
        return None

    return should_fold


def drop_zero_conv_bias(ir_model: Any, keep_names: set[str]) -> None:
    """Remove Conv/ConvTranspose bias inputs that are made-up all-zero constants."""
    for node in ir_model.graph:
        if not ops.is_conv(node.op_type) or len(node.inputs) != 3:
            continue
        bias = node.inputs[2]
        if bias is None or bias.const_value is None or bias.name in keep_names:
            continue
        if not bias.const_value.numpy().any():
            node.resize_inputs(2)


def prune_value_info(proto: Any) -> None:
    """Keep ``value_info`` only for values that nodes produce and that are not graph outputs."""
    graph = proto.graph
    produced = {out for node in graph.node for out in node.output}
    skip = {o.name for o in graph.output}
    keep = [vi for vi in graph.value_info if vi.name in produced and vi.name not in skip]
    del graph.value_info[:]
    graph.value_info.extend(keep)
