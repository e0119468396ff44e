"""The PyTorch export routes: the dynamo exporter and the TorchScript exporter.

``torch.onnx.export(dynamo=True, optimize=False)`` is the reference route: the exporter's
default optimizer would fuse BatchNorm into Conv and label the fused Conv with the
BatchNorm's scope, so it is left out (:mod:`._torch_tidy` folds constants instead). If the
dynamo exporter fails on an ``nn.Module`` (data-dependent control flow, say), the
TorchScript exporter is tried on a :func:`positional_adapter`, with one warning line on
stderr; if both fail, :class:`ConversionError` names the op or reason. An
``ExportedProgram`` has only the dynamo route.

**Structure first** (:func:`structure_route_suits`): a conversion that needs no weight
values (a drawing, a table, an analysis) of a model written in plain ``torch.nn`` tries
the TorchScript exporter first, silently, and takes the dynamo route only if it fails.
On a small CNN it is 5-15x faster than the dynamo exporter (no ``torch.export`` capture,
no decompositions, no torchlib registry), and ``tests/test_torch_routes.py`` checks that
both routes give the same analysis on the fixtures. Attention stays on the dynamo route:
``nn.MultiheadAttention`` lowers to other ops under TorchScript, and Hugging Face models'
mask code exports differently or not at all (BERT's extended mask loses its shapes, newer
masks call ``aten::diff``).
"""

from __future__ import annotations

import io
import sys
import warnings
from typing import Any

from modelmap._errors import ConversionError

from ._base import ConvertOptions, quiet, step
from ._torch_errors import failure_reason
from ._torch_weights import on_meta, state_as_initializers

ROUTE_DYNAMO = "torch.onnx dynamo"
ROUTE_TORCHSCRIPT = "torch.onnx torchscript"

#: The name under which :func:`positional_adapter` holds the model (removed again by
#: :func:`strip_adapter_names`).
ADAPTER_ROOT = "model"


def export_module(model: Any, args: tuple, kwargs: dict, options: ConvertOptions) -> tuple[Any, str]:
    """Export an ``nn.Module`` (in eval mode) with the dynamo exporter, else with TorchScript.

    Returns
    -------
    tuple
        The exporter's ``onnx_ir`` model and the route taken (:data:`ROUTE_DYNAMO` or
        :data:`ROUTE_TORCHSCRIPT`).

    Raises
    ------
    ConversionError
        Both exporters failed; the message gives both reasons.
    """
    what = type(model).__name__
    if structure_route_suits(model, options):
        try:
            with step(f"exporting {what} with the TorchScript exporter (structure only)", options), quiet(options):
                return export_torchscript(model, args, kwargs, options), ROUTE_TORCHSCRIPT
        except Exception:  # noqa: BLE001 - the dynamo route below is the reference; its error is the one to give
            pass
    try:
        with step(f"exporting {what} with the dynamo exporter", options), quiet(options):
            return export_dynamo(model, args, kwargs, options), ROUTE_DYNAMO
    except Exception as dynamo_error:
        return export_with_fallback(model, args, kwargs, options, dynamo_error), ROUTE_TORCHSCRIPT


def structure_route_suits(model: Any, options: ConvertOptions) -> bool:
    """True if ``model`` should try the TorchScript exporter first: no weight values are
    wanted, the model is not on the meta device, and it holds no attention module whose
    lowering the dynamo route shapes (``nn.MultiheadAttention``, through
    :func:`._torch_compat.math_attention`) and no module from ``transformers``."""
    import torch

    if options.weights or on_meta(model):
        return False
    for module in model.modules():
        if isinstance(module, torch.nn.MultiheadAttention):
            return False
        if type(module).__module__.split(".", 1)[0] == "transformers":
            return False
    return True


def export_program(program: Any, options: ConvertOptions) -> Any:
    """Export an ``ExportedProgram`` with the dynamo exporter (no fallback exists).

    Raises
    ------
    ConversionError
        The exporter failed; the message names the op or the reason.
    """
    try:
        with step("exporting the ExportedProgram with the dynamo exporter", options), quiet(options):
            return export_dynamo(program, (), {}, options)
    except Exception as e:
        raise ConversionError(f"torch.onnx cannot export the ExportedProgram: {failure_reason(e)}") from e


def export_with_fallback(model: Any, args: tuple, kwargs: dict, options: ConvertOptions, dynamo_error: Exception) -> Any:
    """Try the TorchScript exporter after the dynamo exporter failed; warn if it works.

    Raises
    ------
    ConversionError
        The TorchScript exporter failed too; the message gives both reasons.
    """
    what = type(model).__name__
    dynamo_reason = failure_reason(dynamo_error)
    try:
        with step(f"exporting {what} with the TorchScript exporter", options), quiet(options):
            ir_model = export_torchscript(model, args, kwargs, options)
    except Exception as e:
        raise ConversionError(
            f"torch.onnx cannot export {what}: dynamo exporter: {dynamo_reason}; "
            f"TorchScript exporter: {failure_reason(e)}"
        ) from e
    print(
        f"modelmap: warning: dynamo export failed ({dynamo_reason}); used the TorchScript exporter",
        file=sys.stderr,
        flush=True,
    )
    return ir_model


def export_dynamo(target: Any, args: tuple, kwargs: dict, options: ConvertOptions) -> Any:
    """``torch.onnx.export(dynamo=True, optimize=False)``; returns the ``onnx_ir`` model."""
    import torch

    from ._torch_compat import math_attention, translations

    with math_attention():
        program = torch.onnx.export(
            target,
            args,
            kwargs=kwargs or None,
            custom_translation_table=translations(),
            dynamo=True,
            optimize=False,
            external_data=False,
            opset_version=options.opset,
            verbose=options.verbose,
        )
    return program.model


def export_torchscript(model: Any, args: tuple, kwargs: dict, options: ConvertOptions) -> Any:
    """The TorchScript exporter on a positional adapter; returns the ``onnx_ir`` model.

    Constant folding is left to :func:`tidy` (the exporter's own would fuse BatchNorm
    into Conv), and initializers are kept as inputs so that the exporter does not merge
    equal-valued weights of different layers; :func:`tidy` removes them from the inputs.
    Without ``options.weights`` the parameters are not exported at all
    (:func:`._torch_weights.state_as_initializers`).
    """
    import onnx
    import onnx_ir as ir
    import torch

    adapter = positional_adapter(model, list(kwargs))
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation notice, TracerWarnings
        torch.onnx.export(
            adapter,
            tuple(args) + tuple(kwargs.values()),
            buffer,
            dynamo=False,
            do_constant_folding=False,
            export_params=options.weights,
            keep_initializers_as_inputs=True,
            input_names=input_names(model, len(args), list(kwargs)),
            opset_version=options.opset,
            verbose=options.verbose,
        )
    proto = onnx.load_from_string(buffer.getvalue())
    if not options.weights:
        state_as_initializers(proto, model, ADAPTER_ROOT)
    return ir.serde.deserialize_model(proto)


def positional_adapter(model: Any, kwarg_names: list[str]) -> Any:
    """Wrap ``model`` (as child ``model``) to take positional tensors and return a flat tuple.

    The TorchScript exporter neither passes keyword arguments reliably nor returns
    dataclass outputs; keyword arguments follow the positional ones, in ``kwarg_names``
    order. Outputs are flattened with ``torch.utils._pytree`` (transformers registers
    ``ModelOutput`` there), the order the dynamo exporter uses too.
    """
    import torch
    from torch.utils import _pytree

    class PositionalAdapter(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.add_module(ADAPTER_ROOT, model)

        def forward(self, *inputs: Any) -> tuple[Any, ...]:
            cut = len(inputs) - len(kwarg_names)
            out = model(*inputs[:cut], **dict(zip(kwarg_names, inputs[cut:])))
            return tuple(t for t in _pytree.tree_leaves(out) if isinstance(t, torch.Tensor))

    return PositionalAdapter()


def input_names(model: Any, n_args: int, kwarg_names: list[str]) -> list[str]:
    """Graph input names: ``forward``'s parameter names for positional args, then the keywords."""
    import inspect

    try:
        params = inspect.signature(model.forward).parameters.values()
        named = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        named = []
    positional = [named[i] if i < len(named) else f"input_{i}" for i in range(n_args)]
    return positional + kwarg_names


def strip_adapter_names(proto: Any) -> None:
    """Drop the adapter's ``model`` level from names (``model.conv.weight``, ``/model/conv/Conv``)."""
    graph = proto.graph
    taken = {i.name for i in graph.input} | {o for n in graph.node for o in n.output}
    renamed = {}
    for init in graph.initializer:
        short = init.name[len(ADAPTER_ROOT) + 1 :]
        if init.name.startswith(f"{ADAPTER_ROOT}.") and short not in taken:
            renamed[init.name] = short
    for name in taken:
        short = _without_adapter(name)
        if short != name:
            renamed[name] = short
    rename_values(proto, renamed)
    for node in graph.node:
        node.name = _without_adapter(node.name)


def _without_adapter(name: str) -> str:
    """``/model/conv/Conv`` -> ``/conv/Conv``. When the model is a container (``nn.Sequential``)
    TorchScript names its children from the adapter's attribute: ``/model/model.1/model.1.0/Concat``
    -> ``/1/1.0/Concat``."""
    if name.startswith(f"/{ADAPTER_ROOT}/"):
        name = name[len(ADAPTER_ROOT) + 1 :]
    if name.startswith(f"/{ADAPTER_ROOT}."):
        prefix = f"{ADAPTER_ROOT}."
        return "/".join(s[len(prefix) :] if s.startswith(prefix) else s for s in name.split("/"))
    return name


def rename_values(proto: Any, renamed: dict[str, str]) -> None:
    """Rename values (initializers, node inputs and outputs, value_info, graph outputs)."""
    graph = proto.graph
    for init in graph.initializer:
        init.name = renamed.get(init.name, init.name)
    for node in graph.node:
        for i, name in enumerate(node.input):
            node.input[i] = renamed.get(name, name)
        for i, name in enumerate(node.output):
            node.output[i] = renamed.get(name, name)
    for vi in (*graph.value_info, *graph.output):
        vi.name = renamed.get(vi.name, vi.name)
