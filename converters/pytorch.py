"""PyTorch front end: ``nn.Module``, ``torch.export.ExportedProgram`` and ``.pt2`` files.

The route for an ``nn.Module`` (details in the helper modules):

1. :mod:`._torch_layers` runs the model once with hooks and lists the modules that ran
   (the layer table: names, classes, parameters);
2. :mod:`._torch_export` exports it with ``torch.onnx.export(dynamo=True,
   optimize=False)``, else with the TorchScript exporter (one warning line on stderr);
3. :mod:`._torch_tidy` folds constants (BatchNorm stays visible) and drops what the
   exporters leave lying around;
4. :mod:`._torch_scopes` annotates every node (see :mod:`modelmap._metadata`) from the
   dynamo exporter's ``name_scopes`` or the TorchScript node names, and places the nodes
   the folder made by their neighbours (:mod:`._neighbours`).

An ``ExportedProgram`` takes the dynamo route only, its layer table read from the
program; a ``.pt2`` file is loaded first by :mod:`._torch_load`, which runs no code from
the file. torch is imported only inside :meth:`TorchConverter.convert`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from modelmap import _metadata as md
from modelmap._errors import InputError, MissingInputError

from ._base import ConvertOptions, path_of, prepare_environment, require, type_modules
from ._torch_export import ADAPTER_ROOT, ROUTE_DYNAMO, ROUTE_TORCHSCRIPT, export_module, export_program, strip_adapter_names
from ._torch_layers import layers_from_program, record_layers
from ._torch_load import load_pt2
from ._torch_scopes import annotate_from_node_names, annotate_from_scopes, fill_from_neighbours
from ._torch_tidy import tidy
from ._torch_weights import no_weights_error, on_meta, stand_in_values, state_names, to_meta


class TorchConverter:
    """The PyTorch front end (see the module docstring)."""

    name = "pytorch"
    extensions = (".pt2",)

    def match(self, ref: Any) -> bool:
        p = path_of(ref)
        if p is not None:
            return p.suffix.lower() in self.extensions
        return "torch" in type_modules(ref)

    def convert(self, ref: Any, example_input: Any, options: ConvertOptions) -> Any:
        """Convert ``ref`` to an annotated, self-contained ``onnx.ModelProto``.

        Parameters
        ----------
        ref:
            An ``nn.Module``, a ``torch.export.ExportedProgram`` or a ``.pt2`` path.
        example_input:
            For a module: a tensor, a tuple of tensors or a dict of keyword arguments;
            None to use ``options.input_shape``. Ignored for exported programs.
        options:
            Opset, input shape and verbosity.

        Returns
        -------
        onnx.ModelProto
            Every node annotated with ``namespace`` and ``class_hierarchy``; the model
            with framework, route and layer table.

        Raises
        ------
        MissingInputError
            A module with neither an example input nor ``options.input_shape``.
        InputError
            An example input of the wrong kind, or one the model fails to run on.
        ModelLoadError
            A ``.pt2`` file that ``torch.export.load`` cannot read.
        ConversionError
            Both exporters failed; the message names the op or the reason.
        """
        torch = import_torch()
        if path_of(ref) is not None:
            ref = load_pt2(str(ref), options)
        if isinstance(ref, torch.export.ExportedProgram):
            return convert_exported_program(ref, options)
        if not isinstance(ref, torch.nn.Module):
            raise InputError(f"cannot convert a {type(ref).__qualname__}: expected a torch.nn.Module or an ExportedProgram")
        return convert_module(ref, example_input, options)


def convert_module(model: Any, example_input: Any, options: ConvertOptions) -> Any:
    """Record layers, export (dynamo, else TorchScript), tidy and annotate a module.

    Without ``options.weights`` the model's state keeps only its shapes; a model on the
    meta device converts only that way (see :mod:`._torch_weights`).
    """
    meta = on_meta(model)
    if meta and options.weights:
        raise no_weights_error(type(model).__name__)
    args, kwargs = example_args(example_input, options, type(model).__name__, meta)
    kwargs = without_cache_output(model, kwargs)
    with eval_mode(model):
        layers = record_layers(model, args, kwargs, options, fake=meta)
        ir_model, route = export_module(model, args, kwargs, options)
    param_names = {name for name, _ in model.named_parameters(remove_duplicate=False)}
    state = state_names(model)
    if route == ROUTE_TORCHSCRIPT:
        param_names, state = ({f"{ADAPTER_ROOT}.{n}" for n in names} for names in (param_names, state))
    shape_only = None if options.weights else state
    if meta:  # no values: folded as on the CPU, from stand-ins that go again afterwards
        shape_only = state | stand_in_values(ir_model, param_names, state - param_names)
    proto = tidy(ir_model, param_names, options, shape_only=shape_only, every_dtype=meta)
    if route == ROUTE_DYNAMO:
        annotate_from_scopes(proto)
    else:
        strip_adapter_names(proto)
        annotate_from_node_names(proto, model)
    fill_from_neighbours(proto)
    md.set_model_info(proto, "pytorch", route, layers)
    return proto


def convert_exported_program(program: Any, options: ConvertOptions) -> Any:
    """Export, tidy and annotate an ``ExportedProgram`` (the dynamo route only).

    Its weights are handled as :func:`convert_module` handles a module's.
    """
    params = set(program.graph_signature.parameters)
    state = params | set(program.graph_signature.buffers)
    meta = any(t.is_meta for t in program.state_dict.values())
    if meta and options.weights:
        raise no_weights_error("the ExportedProgram")
    ir_model = export_program(program, options)
    shape_only = None if options.weights else state
    if meta:
        shape_only = state | stand_in_values(ir_model, params, state - params)
    proto = tidy(ir_model, params, options, shape_only=shape_only, every_dtype=meta)
    annotate_from_scopes(proto)
    fill_from_neighbours(proto)
    md.set_model_info(proto, "pytorch", ROUTE_DYNAMO, layers_from_program(program))
    return proto


def import_torch() -> Any:
    """Import torch, first removing an empty ``TORCH_LOGS`` (it breaks ``import torch``).

    Returns
    -------
    module
        The ``torch`` module.

    Raises
    ------
    MissingDependencyError
        torch is not installed.
    """
    prepare_environment(ConvertOptions())
    return require("torch", "torch")


def example_args(
    example_input: Any, options: ConvertOptions, what: str, meta: bool = False
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """``(args, kwargs)`` to call a model with.

    Parameters
    ----------
    example_input:
        A tensor, a tuple/list of tensors, a dict of keyword arguments, or None.
    options:
        ``input_shape`` gives float32 ``randn`` inputs when ``example_input`` is None.
    what:
        The model's name, for messages.
    meta:
        The model is on the meta device: the tensors move there too.

    Returns
    -------
    tuple
        Positional arguments and keyword arguments.

    Raises
    ------
    MissingInputError
        Neither an example input nor an input shape.
    InputError
        An example input of another kind.
    """
    args, kwargs = _example_args(example_input, options, what)
    return to_meta(args, kwargs) if meta else (args, kwargs)


def _example_args(example_input: Any, options: ConvertOptions, what: str) -> tuple[tuple[Any, ...], dict[str, Any]]:
    import torch

    if example_input is None:
        if not options.input_shape:
            raise MissingInputError(
                f"{what} needs an example input to be traced: pass an example input or --input-shape (e.g. 1,3,224,224)"
            )
        gen = torch.Generator().manual_seed(0)
        return tuple(torch.randn(*shape, generator=gen) for shape in options.input_shape), {}
    if isinstance(example_input, torch.Tensor):
        return (example_input,), {}
    if isinstance(example_input, (tuple, list)):
        return tuple(example_input), {}
    if isinstance(example_input, dict):
        return (), dict(example_input)
    raise InputError(
        f"example input for {what} is a {type(example_input).__qualname__}; "
        "expected a tensor, a tuple of tensors or a dict of keyword arguments"
    )


def without_cache_output(model: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Ask a ``transformers`` model not to return its key/value cache.

    With ``use_cache`` on (GPT-2's default) the output holds a ``DynamicCache``
    object, which the dynamo exporter cannot flatten; the cache is an inference
    convenience, not part of the architecture. Only when the model's ``forward``
    takes ``use_cache``, its config turns it on and the caller did not choose.

    >>> class M:
    ...     config = type("C", (), {"use_cache": True})()
    ...     def forward(self, input_ids, use_cache=None): ...
    >>> without_cache_output(M(), {"input_ids": 1})
    {'input_ids': 1, 'use_cache': False}
    >>> without_cache_output(M(), {"input_ids": 1, "use_cache": True})
    {'input_ids': 1, 'use_cache': True}
    """
    import inspect

    if "use_cache" in kwargs or not getattr(getattr(model, "config", None), "use_cache", False):
        return kwargs
    try:
        accepts = "use_cache" in inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return kwargs
    return {**kwargs, "use_cache": False} if accepts else kwargs


@contextlib.contextmanager
def eval_mode(model: Any) -> Iterator[None]:
    """Put every module in eval mode, and restore each one's own flag afterwards."""
    flags = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for m, training in flags:
            m.training = training
